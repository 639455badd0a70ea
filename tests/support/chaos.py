"""The bot in process delivering digests while the fake Discord fails at random: the quick
chaos test and ``bench.faults chaos`` share it.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from bot.delivery.report import DeliveryReport
from bot.ingest.files import ingest_files
from tests.support.clock import FakeClock
from tests.support.fake_discord import GUILD_ID, FakeChannel, FakeDiscord, RandomFailures
from tests.support.harness import database_path, running_bot
from tests.support.processes import Layout, Setup

MESSAGES_PATH = "/channels/{channel_id}/messages"


@dataclasses.dataclass
class ChaosRun:
    failures: RandomFailures
    reports: list[DeliveryReport]
    posts: int  # POST /channels/{id}/messages requests the fake answered
    seconds: float

    @property
    def injected(self) -> int:
        return sum(self.failures.counts.values())

    @property
    def retried(self) -> int:
        """Digests the Deliverer put off after discord.py gave up (5 failures in a row)."""
        return sum(r.retried for r in self.reports)


async def deliver_through_chaos(
    fake: FakeDiscord,
    tmp_path: Path,
    layout: Layout,
    *,
    seed: int,
    server_errors: float = 0.10,
    rate_limits: float = 0.05,
    backoff: float = 0.5,
    runs: int = 500,
) -> ChaosRun:
    """The bot in-process delivers the layout's days while the fake fails at random.

    The Deliverer's backoff after discord.py gives up on a message (five failures in a row)
    is ``backoff`` seconds of its own clock, which moves on to the next pending digest after
    each run; delivery runs are repeated until the ledger says every digest was sent (at most
    ``runs`` of them). Channels are added to ``fake``'s guild.
    """
    guild = fake.guilds[GUILD_ID]
    for index, channel_id in enumerate(layout.channels):
        guild.channels.append(FakeChannel(channel_id, f"flaky-{index:03d}", 0, position=10 + index))
    posts = []
    for date in layout.days:
        post = tmp_path / f"{date}---Hot-Papers.md"
        post.write_text(layout.text(date), encoding="utf-8")
        posts.append(post)
    overrides = {"digest": {"top": layout.top}}
    async with running_bot(fake, tmp_path, samples=False, config_overrides=overrides) as bot:
        # Subscribed first: a channel gets the days after the newest one it found.
        for channel_id, codes in layout.channels.items():
            assert await bot.store.subscriptions.subscribe(channel_id, GUILD_ID, codes)
        ingested = await ingest_files(bot.store.archive, posts)
        assert ingested.new == len(posts), ingested.summary()
        # The deliverer's waits (its backoff, a halt after rate limits) pass on a clock of
        # its own: each run that leaves digests pending moves it to the next one due.
        clock = FakeClock()
        bot.service.planner.clock = bot.service.deliverer.clock = clock.utc
        bot.service.deliverer.base_backoff = backoff
        planned = await bot.service.planner.plan()
        assert planned == len(layout.channels) * len(layout.days)
        failures = fake.fail_randomly(
            "POST", MESSAGES_PATH, server_errors=server_errors, rate_limits=rate_limits, seed=seed
        )
        started = time.perf_counter()
        reports: list[DeliveryReport] = []
        for _ in range(runs):
            reports.append(await bot.service.deliverer.deliver_due())
            rows = await bot.store.deliveries.ledger()
            pending = [row.due_at for row in rows if row.status == "pending"]
            if not pending:
                break
            clock.now = max(clock.now, min(pending).timestamp())
        else:
            raise AssertionError(f"not delivered after {runs} delivery runs: {rows}")
        seconds = time.perf_counter() - started
        fake.clear_failures()
    answered = [r for r in fake.find_requests("POST", MESSAGES_PATH) if r.status]
    return ChaosRun(failures, reports, len(answered), seconds)


def prepare_view(fake: FakeDiscord, tmp_path: Path, layout: Layout) -> Setup:
    """A Setup over the in-process bot's database, for assert_exact_digests."""
    database = database_path(tmp_path)
    return Setup(fake, tmp_path, tmp_path / "unused.toml", database, tmp_path, tmp_path, layout)
