"""Digests against a Discord that enforces its rate limits: the bot stays under the global
limit by pacing its posts and under each channel's bucket by reading the X-RateLimit-*
headers (discord.py), so it is never answered 429 and every digest arrives whole."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store
from tests.support.fake_discord import (
    GUILD_ID,
    FakeChannel,
    FakeDiscord,
    RateLimits,
    iter_problems,
    point_discord_at,
)
from tests.support.harness import database_path, running_bot
from tests.support.posts import merged_post, sample_text

CHANNELS = tuple(range(1201, 1213))  # 12 channels following every cs category
GLOBAL_PER_SECOND = 10
BOT_PER_SECOND = 8.0
BUCKET = (2, 1.0)  # two messages a second in each channel
DATE = "2021-03-26"


@pytest.fixture
async def limited() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(
        rate_limits=RateLimits(
            global_per_second=GLOBAL_PER_SECOND,
            routes={"POST /channels/{channel_id}/messages": BUCKET},
        )
    )
    fake.guilds[GUILD_ID].channels.extend(
        FakeChannel(c, f"papers-{c}", 0, position=10 + i) for i, c in enumerate(CHANNELS)
    )
    await fake.start()
    undo = point_discord_at(fake)
    try:
        yield fake
    finally:
        undo()
        await fake.stop()
    assert fake.unknown_requests == [], list(iter_problems(fake))
    assert fake.schema_problems == [], list(iter_problems(fake))


def big_day() -> str:
    """The three bundled posts as one day of 38 papers: three messages for `cs` at top 25."""
    return merged_post(DATE, (sample_text(d) for d in ("2021-03-24", "2021-03-15", "2021-03-05")))


async def test_digests_stay_under_every_rate_limit(limited: FakeDiscord, tmp_path: Path) -> None:
    watch = tmp_path / "posts"
    watch.mkdir()
    overrides = {
        "discord": {"requests_per_second": BOT_PER_SECOND},
        "source": {"directory": str(watch), "settle_seconds": 0.0},
        "digest": {"top": 25},
    }
    async with running_bot(limited, tmp_path, samples=False, config_overrides=overrides) as bot:
        async with await Store.open(database_path(tmp_path)) as store:
            for channel in CHANNELS:
                assert await store.subscriptions.subscribe(channel, GUILD_ID, ["cs.*"])
        post = watch / f"{DATE}---Hot-Papers.md"
        post.write_text(big_day(), encoding="utf-8")
        os.utime(post, (post.stat().st_mtime - 60,) * 2)
        await bot.service.poll_sources()
        report = await bot.service.deliver_due()

    posts = limited.find_requests("POST", "/channels/{id}/messages")
    assert report.sent_messages == len(posts) == 3 * len(CHANNELS)
    assert report.completed == len(CHANNELS)
    for channel in CHANNELS:
        assert len(limited.channel_messages(channel)) == 3
    stats = limited.rate_limit_stats
    assert (stats.global_429, stats.route_429) == (0, {})
    assert all(p.status == 200 for p in posts)

    # Paced: 36 posts at 8 a second take at least 35/8 s; never more than 10 in a second.
    starts = sorted(p.at for p in posts)
    assert starts[-1] - starts[0] >= (len(starts) - 1) / BOT_PER_SECOND - 0.05
    assert max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts) <= GLOBAL_PER_SECOND
    # Each channel's third message waited for its bucket to refill (2 a second).
    for channel in CHANNELS:
        times = sorted(p.at for p in posts if p.path == f"/channels/{channel}/messages")
        assert times[2] - times[0] >= BUCKET[1] - 0.05
