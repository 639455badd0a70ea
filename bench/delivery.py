"""Delivery throughput: one day's digests for 500 / 2,000 channels posted by `Deliverer`
through discord.py's HTTP client to the local Discord enforcing Discord's rate limits
(50 requests a second, 5 messages per 5 s per channel). Target: at least 45 requests a
second sustained, no 429 beyond the first of each bucket, every message posted exactly once.

Run: .venv/bin/python -m bench.delivery [CHANNELS...]   (default 500 2000)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from bench.common import archive_copy, table
from bot.client.pacing import Pacer
from bot.delivery.deliverer import Deliverer
from bot.planning import DeliveryPlanner
from bot.render import Renderer
from bot.sandbox.local_discord import (
    GUILD_ID,
    FakeChannel,
    LocalDiscord,
    RateLimits,
    point_discord_at,
)
from bot.store import Store

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

PAPERS = 100_000
PER_SECOND = 48.0  # the bot's default [discord] requests_per_second


async def measure(channels: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = await archive_copy(PAPERS, Path(tmp) / "delivery.sqlite3", channels)
        async with await Store.open(path) as store:
            latest = await store.archive.latest_date()
            assert latest is not None
            day = await store.archive.day(latest)
            assert day is not None
            await DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=3).plan_day(day)
            later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
            # What each channel must get: its digest's messages, all due by `later`.
            expected = {
                d.channel_id: len(d.messages)
                for d in await store.deliveries.due(later, limit=channels + 1)
            }
            planned = [r for r in await store.deliveries.ledger() if r.date == latest]

            local = LocalDiscord(rate_limits=RateLimits())
            guild = local.guilds[GUILD_ID]
            for index, row in enumerate(planned):
                guild.channels.append(FakeChannel(row.channel_id, f"papers-{index}", 0))
            posted_at: list[float] = []
            local.message_listeners.append(lambda _: posted_at.append(time.perf_counter()))
            async with local:
                undo = point_discord_at(local)
                # Paced as the bot's client is: an aiohttp hook on every REST request.
                http = discord.http.HTTPClient(
                    asyncio.get_running_loop(), http_trace=Pacer(PER_SECOND).trace_config()
                )
                try:
                    await http.static_login("token")
                    deliverer = Deliverer(store, clock=lambda: later)
                    deliverer.attach(http)
                    report = await deliverer.deliver_due()
                finally:
                    await http.close()
                    undo()

            sent = {
                r.channel_id: r
                for r in await store.deliveries.ledger()
                if r.date == latest and r.status == "sent"
            }
    by_channel: dict[int, list[int]] = {}
    for message in local.messages.values():
        by_channel.setdefault(int(message["channel_id"]), []).append(int(message["id"]))
    exactly_once = (
        sent.keys() == expected.keys()
        and by_channel.keys() == expected.keys()
        and all(
            len(ids) == expected[c] and list(sent[c].message_ids) == ids
            for c, ids in by_channel.items()
        )
    )
    stats = local.rate_limit_stats
    elapsed = posted_at[-1] - posted_at[0] if len(posted_at) > 1 else 0.0
    return {
        "channels": channels,
        "digests": len(expected),
        "messages": len(posted_at),
        "expected": sum(expected.values()),
        "reported": report.sent_messages,
        "seconds": elapsed,
        "global_429": stats.global_429,
        "route_429": sum(stats.route_429.values()),
        "buckets_429": len(stats.route_429),
        "repeat_buckets": sum(1 for n in stats.route_429.values() if n > 1),
        "exactly_once": exactly_once,
    }


async def run(sizes: list[int]) -> None:
    results = [await measure(size) for size in sizes]
    print(
        f"one day's digests over a {PAPERS:,}-paper archive, posted against Discord's rate "
        "limits (50/s global, 5 per 5 s per channel)"
    )
    print(
        table(
            (
                "channels",
                "digests",
                "messages",
                "seconds",
                "requests/s",
                "global 429s",
                "route 429s (buckets)",
                "buckets 429'd >1",
                "exactly once",
            ),
            [
                (
                    f"{r['channels']:,}",
                    f"{r['digests']:,}",
                    f"{r['messages']:,}",
                    f"{r['seconds']:.1f}",
                    f"{r['messages'] / r['seconds']:.1f}" if r["seconds"] else "-",
                    r["global_429"],
                    f"{r['route_429']} ({r['buckets_429']})",
                    r["repeat_buckets"],
                    "yes" if r["exactly_once"] else "no",
                )
                for r in results
            ],
        )
    )


if __name__ == "__main__":
    asyncio.run(run([int(a) for a in sys.argv[1:]] or [500, 2000]))
