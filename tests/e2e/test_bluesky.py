"""End to end, a fresh install with Bluesky: a config that names no post source (only the
database and the stand-ins' endpoints), the real bot as `hotpapers run` builds it against the
local Discord with the real discord.py, collecting from the local Jetstream, building the day
when it is due on an injected clock (no waiting for a day to end) and delivering its digest.
Then `hotpapers make-day` and `hotpapers collect` as processes."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.bluesky import source
from bot.bluesky.posts import Cursor, PostLinked
from bot.bluesky.source import day_builder
from bot.cli import CommandError, build_parser, cmd_make_day
from bot.client.bot import HotPapersBot
from bot.config import load_config
from bot.sandbox.appview import LocalAppView
from bot.sandbox.arxiv_api import LocalArxiv
from bot.sandbox.jetstream import LocalJetstream
from bot.scheduler import POLL_JOB
from bot.store import Store
from bot.store.bluesky import BlueskyBatch
from tests.support.bluesky import (
    CV_COUNTS,
    CV_HEADER,
    CV_TITLES,
    DAY,
    IMAP,
    BlueskyDay,
    at,
    bluesky_day,
)
from tests.support.clock import FakeClock
from tests.support.delivery import PAPERS, WAIT, Harness, sent
from tests.support.fake_discord import FakeDiscord
from tests.support.harness import running_bot
from tests.support.processes import REPO_ROOT
from tests.support.waiting import eventually, scheduled_runs, until_committed

DUE = dt.datetime(2025, 6, 16, 12, tzinfo=dt.UTC)  # the day's end + publish_delay_hours (12)
BUILD_JOB = f"{POLL_JOB}-0"  # the only poll job: no post source is configured
PROCESS_TIMEOUT = 60.0


@dataclasses.dataclass
class Stand:
    """The stand-ins for Bluesky and arXiv, serving the day."""

    jetstream: LocalJetstream
    appview: LocalAppView
    arxiv: LocalArxiv
    day: BlueskyDay

    def overrides(self) -> dict[str, dict[str, Any]]:
        """Only the stand-ins' endpoints (and polls every second rather than every minute)."""
        return {
            "bluesky": {
                "jetstream_url": self.jetstream.url,
                "appview_url": self.appview.base_url,
            },
            "arxiv": {"api_url": self.arxiv.api_url},
            "source": {"poll_seconds": 1},
            "digest": {"deliver_seconds": 1},
        }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2025, 6, 15, 8, tzinfo=dt.UTC).timestamp())  # installed


@pytest.fixture
async def stand(clock: FakeClock) -> AsyncIterator[Stand]:
    day = bluesky_day()
    async with (
        LocalJetstream(clock=clock) as jetstream,
        LocalAppView() as appview,
        LocalArxiv.with_samples() as arxiv,
    ):
        day.serve(appview)
        yield Stand(jetstream, appview, arxiv, day)


async def collect_the_day(bot: HotPapersBot, stand: Stand) -> None:
    """Once the collector listens, the stream delivers the day; wait until it is stored."""
    await eventually(lambda: stand.jetstream.active_connections == 1, "the collector connected")
    events = stand.day.events()
    for time_us, event in events:
        stand.jetstream.publish(event, time_us=time_us)

    async def read_to_the_end() -> bool:
        cursor = await bot.store.bluesky.cursor()
        return cursor is not None and cursor.time_us == events[-1][0]

    await until_committed(bot.store.database, read_to_the_end, "the stream stored", WAIT)


def digest_of(harness: Harness) -> tuple[str, list[str], list[tuple[int, int]]]:
    """The digest #papers got: its header, its titles, and each paper's counts line."""
    [message] = harness.messages(PAPERS)
    counts = []
    for embed in message["embeds"]:
        found = re.search(r"🔁 ([\d,]+) \w+ · ❤️ ([\d,]+) \w+", embed["description"])
        assert found, embed["description"]
        counts.append((int(found[1].replace(",", "")), int(found[2].replace(",", ""))))
    return message["content"], [e["title"] for e in message["embeds"]], counts


async def test_a_fresh_install_collects_builds_the_day_on_time_and_delivers_its_digest(
    fake_discord: FakeDiscord, tmp_path: Path, stand: Stand, clock: FakeClock
) -> None:
    async with running_bot(
        fake_discord,
        tmp_path,
        samples=False,
        config_overrides=stand.overrides(),
        run_jobs=True,
        clock=clock.utc,
        sleep=clock.sleep,
    ) as bot:
        assert (bot.config.source.directory, bot.config.source.url) == ("", "")
        assert bot.config.bluesky_enabled  # on by default: no post source
        harness = Harness(bot, fake_discord, tmp_path)
        await harness.subscribe("cs.CV")
        await collect_the_day(bot, stand)
        kept = {p.uri for p in await bot.store.bluesky.between(0, 2**62)}
        assert kept == {p.uri for p in stand.day.collected()}  # the deleted post is not
        assert await bot.store.bluesky.since() == at(9)  # collecting began with ada's post

        clock.now = (DUE - dt.timedelta(seconds=1)).timestamp()
        await scheduled_runs(bot.service.jobs, BUILD_JOB, 2)
        assert await bot.store.archive.days() == []  # not due yet
        assert stand.appview.requests == []

        clock.now = DUE.timestamp()
        [row] = await harness.wait_ledger(sent)

        assert (row.date, row.status) == (DAY, "sent")
        assert digest_of(harness) == (CV_HEADER, CV_TITLES, CV_COUNTS)
        [summary] = await bot.store.archive.days()
        assert (summary.source, summary.paper_count, summary.published_at) == (
            "bluesky",
            4,
            DUE,
        )
        assert len(stand.arxiv.requests) == 1


async def test_the_builder_tries_again_after_the_appview_was_down(
    fake_discord: FakeDiscord, tmp_path: Path, stand: Stand, clock: FakeClock
) -> None:
    async with running_bot(
        fake_discord,
        tmp_path,
        samples=False,
        config_overrides=stand.overrides(),
        run_jobs=True,
        clock=clock.utc,
        sleep=clock.sleep,
    ) as bot:
        harness = Harness(bot, fake_discord, tmp_path)
        await harness.subscribe("cs.CV")
        await collect_the_day(bot, stand)
        stand.appview.fail_next(5, status=503)  # one build's five attempts
        clock.now = DUE.timestamp()

        async def failed() -> bool:
            return bot.service.bluesky is not None and bot.service.bluesky.retry_at is not None

        await eventually(failed, "a failed build")
        assert [r.status for r in stand.appview.requests] == [503] * 5
        assert await bot.store.archive.days() == []
        await scheduled_runs(bot.service.jobs, BUILD_JOB, 2)
        assert len(stand.appview.requests) == 5  # not tried again before the backoff

        clock.advance(60)  # past the retry time
        [row] = await harness.wait_ledger(sent)
        assert row.date == DAY
        assert digest_of(harness) == (CV_HEADER, CV_TITLES, CV_COUNTS)


# ---------------------------------------------------------------------------------------------
# hotpapers make-day and hotpapers collect, as processes
# ---------------------------------------------------------------------------------------------


def write_config(tmp_path: Path, stand: Stand) -> Path:
    config = tmp_path / "hotpapers.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "bot.sqlite3"}"\n\n'
        f'[bluesky]\njetstream_url = "{stand.jetstream.url}"\n'
        f'appview_url = "{stand.appview.base_url}"\n\n'
        f'[arxiv]\napi_url = "{stand.arxiv.api_url}"\n',
        encoding="utf-8",
    )
    return config


async def collected_day(tmp_path: Path, stand: Stand) -> Path:
    """The database of a collector that ran all day; returns the config naming it."""
    config = write_config(tmp_path, stand)
    async with await Store.open(tmp_path / "bot.sqlite3") as store:
        await store.bluesky.record(BlueskyBatch((), Cursor(at(0))))
        changes = [PostLinked(post) for post in stand.day.collected()]
        await store.bluesky.record(BlueskyBatch(changes, Cursor(at(0, 30, day=DAY + ONE_DAY))))
    return config


ONE_DAY = dt.timedelta(days=1)


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("HOTPAPERS_DB", "DISCORD_TOKEN")}


async def hotpapers(*args: str) -> tuple[int, str, str]:
    """`python -m bot ARGS...` without blocking the loop that serves the stand-ins."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(),
        cwd=REPO_ROOT,
    )
    out, err = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


RANKS = "rank   score  reposts   likes  posts  id          title"
MADE_DAY = "".join(
    f"{line}\n"
    for line in [
        "Hot Papers 2025-06-15 from Bluesky: 4 papers, stored (new)",
        "window: 2025-06-15 00:00 to 2025-06-16 00:00 UTC",
        "posts: 27 collected, 0 deleted since, 0 old (created over 2 days before the stream"
        " brought them: not counted); 4 papers reached min_score",
        "feeds left out: @papers-bot.bsky.social (did:plc:papers-bot)",
        "ignored: none",
        "unknown to arXiv: none",
        "",
        RANKS,
        "   1      60       10      50      1  2103.12352  "
        "iMAP: Implicit Mapping and Positioning in Real-Time",
        "   2      47        7      40      2  2103.03206  "
        "Perceiver: General Perception with Iterative Attention",
        "   3      20        2      18      1  2103.03198  "
        "Catala: A Programming Language for the Law",
        "   4      13        1      12      1  2103.03243  "
        "Anycost GANs for Interactive Image Synthesis and Editing",
    ]
)


async def test_make_day_builds_stores_and_prints_the_ranking(tmp_path: Path, stand: Stand) -> None:
    config = await collected_day(tmp_path, stand)

    code, out, err = await hotpapers("make-day", "--date", "2025-06-15", "--config", str(config))

    assert (code, err) == (0, "")
    assert out == MADE_DAY
    async with await Store.open(tmp_path / "bot.sqlite3") as store:
        day = await store.archive.day(DAY)
    assert day is not None
    assert [p.paper.arxiv_id for p in day.papers][:1] == [IMAP]

    code, out, err = await hotpapers(
        "make-day", "--date", "2025-06-15", "--config", str(config), "--json"
    )
    assert (code, err) == (0, "")
    made = json.loads(out)
    assert made["stored"] == "unchanged"  # the same counts: the same day
    assert (made["posts"], made["gone"], made["unknown"], made["notes"]) == (27, 0, [], [])
    assert made["feeds"] == [{"did": "did:plc:papers-bot", "handle": "papers-bot.bsky.social"}]
    assert made["papers"][0] == {
        "rank": 1,
        "score": 60,
        "reposts": 10,
        "likes": 50,
        "posts": 1,
        "arxiv_id": IMAP,
        "title": "iMAP: Implicit Mapping and Positioning in Real-Time",
    }


async def test_make_day_stores_nothing_when_arxiv_refuses(tmp_path: Path, stand: Stand) -> None:
    config = await collected_day(tmp_path, stand)
    stand.arxiv.fail_next(1, status=403)

    code, out, err = await hotpapers("make-day", "--date", "2025-06-15", "--config", str(config))

    assert (code, out) == (1, "")
    assert err == (
        "hotpapers: cannot build 2025-06-15: arXiv cannot be reached: arXiv refused the query: "
        "HTTP 403 Internal Server Error; nothing stored\n"
    )
    async with await Store.open(tmp_path / "bot.sqlite3") as store:
        assert await store.archive.days() == []


async def test_make_day_stores_nothing_when_arxiv_is_down(
    tmp_path: Path, stand: Stand, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """arXiv answering 503 to every try: in-process, so the retries' waits are the fake
    clock's rather than some twenty real seconds."""
    config = await collected_day(tmp_path, stand)
    monkeypatch.setattr(source, "day_builder", functools.partial(day_builder, sleep=clock.sleep))
    stand.arxiv.fail_next(10, status=503)
    args = build_parser().parse_args(["make-day", "--date", "2025-06-15"])

    with pytest.raises(CommandError) as failed:
        await cmd_make_day(load_config(config, {}), args)

    assert failed.value.code == 1
    assert str(failed.value) == (
        "cannot build 2025-06-15: arXiv cannot be reached: HTTP 503 Rate exceeded. after 4 "
        "attempts; nothing stored"
    )
    assert [r.status for r in stand.arxiv.requests] == [503] * 4
    # arXiv's backoff, each followed by what remains of its 3 s spacing (measured on the real
    # clock, which the fake waits do not move); none of it waited for real.
    assert clock.sleeps[0::2] == [3.0, 6.0, 12.0]
    assert all(0 < wait <= 3.0 for wait in clock.sleeps[1::2])
    async with await Store.open(tmp_path / "bot.sqlite3") as store:
        assert await store.archive.days() == []


async def test_collect_keeps_the_posts_until_sigterm(tmp_path: Path, stand: Stand) -> None:
    config = write_config(tmp_path, stand)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "collect",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(),
        cwd=REPO_ROOT,
    )
    try:
        await eventually(lambda: stand.jetstream.active_connections == 1, "collect connected")
        events = stand.day.events()
        for time_us, event in events:
            stand.jetstream.publish(event, time_us=time_us)
        async with await Store.open(tmp_path / "bot.sqlite3") as store:

            async def stored() -> bool:
                cursor = await store.bluesky.cursor()
                return cursor is not None and cursor.time_us == events[-1][0]

            await eventually(stored, "the day's posts stored by collect")
            kept = {p.uri for p in await store.bluesky.between(0, 2**62)}
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    assert kept == {p.uri for p in stand.day.collected()}
    assert out == b""
    summary = [line for line in err.decode().splitlines() if "collector stopping" in line]
    assert len(summary) == 1
    assert summary[0].endswith(
        f"Jetstream collector stopping: {len(events)} events, 29 posts kept, 1 post deletes, "
        f"0 account deletes, 0 malformed, 0 reconnects, 0 store errors, cursor {events[-1][0]}"
    )


async def test_run_collects_and_sigterm_stops_the_collector_cleanly(
    fake_discord: FakeDiscord, tmp_path: Path, stand: Stand
) -> None:
    config = write_config(tmp_path, stand)
    with config.open("a", encoding="utf-8") as more:
        more.write(
            f'\n[discord]\napi_base = "{fake_discord.api_base}"\n'
            f'gateway_url = "{fake_discord.gateway_url}"\n'
        )
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "run", "--config", str(config), "-v"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env={**environment(), "DISCORD_TOKEN": "test-token"},
        cwd=REPO_ROOT,
    )
    try:
        await eventually(lambda: stand.jetstream.active_connections == 1, "the bot collecting")
        events = stand.day.events()
        for time_us, event in events:
            stand.jetstream.publish(event, time_us=time_us)
        async with await Store.open(tmp_path / "bot.sqlite3") as store:

            async def stored() -> bool:
                cursor = await store.bluesky.cursor()
                return cursor is not None and cursor.time_us == events[-1][0]

            await eventually(stored, "the day's posts stored by the bot")
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), PROCESS_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = err.decode()
    assert process.returncode == 0, log[-5000:]
    assert "building each day from Bluesky: posts from ws://127.0.0.1:" in log
    assert "Jetstream collector stopping: 30 events, 29 posts kept, 1 post deletes" in log
    assert "Traceback" not in log
    await eventually(lambda: stand.jetstream.active_connections == 0, "the connection closed")
