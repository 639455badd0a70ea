"""Follows in the planning step: 100,000 channel follows (20,000 channels following 5 keywords
or authors each, no categories) and 100,000 personal follows (25,000 members following 4 each)
matched against one day of the 100,000-paper archive. Target: under 5 s.

Printed: the whole planning step as the bot runs it (`DeliveryPlanner.plan_day`: read the
channels and members with their follows a page at a time, match, render each distinct digest
and direct message once, record both ledgers) with the process's peak memory then; and, apart,
the day's index (every phrase of its titles and abstracts, every author's name key) and the
matching alone (every owner's follows looked up). `--channels N` adds N channels subscribed to
categories (as bench.fanout's), planned in the same step.

The measure runs in a fresh process so its peak memory is its own.
Run: .venv/bin/python -m bench.follows [--channels N] [CHANNEL_FOLLOWS PERSONAL_FOLLOWS]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import archive_copy, peak_rss_mb, table
from bot.follows import DayIndex
from bot.planning import DeliveryPlanner
from bot.render import Renderer
from bot.store import Store

PAPERS = 100_000


async def measure(channel_follows: int, personal_follows: int, channels: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = await archive_copy(PAPERS, Path(tmp) / "follows.sqlite3", channels)
        subprocess.run(  # noqa: ASYNC221 - setup, not measured
            [
                sys.executable,
                "-m",
                "bench.synthetic",
                "--add-follows",
                str(path),
                str(channel_follows),
                str(personal_follows),
            ],
            check=True,
        )
        async with await Store.open(path) as store:
            latest = await store.archive.latest_date()
            assert latest is not None
            day = await store.archive.day(latest)
            assert day is not None
            baseline = peak_rss_mb()

            planner = DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=3)
            started = time.perf_counter()
            planned = await planner.plan_day(day)
            plan_s = time.perf_counter() - started
            rss = peak_rss_mb()

            later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
            sending = await store.direct.due(later, limit=personal_follows)
            # The matching alone, again, with every owner's follows in memory at once.
            await store.deliveries.forget_unsent(date=latest)
            await store.direct.forget_unsent(date=latest)
            owners = [s.follows for s in await store.deliveries.unplanned(latest) if s.follows]
            owners += [m.follows for m in await store.direct.unplanned(latest)]
            started = time.perf_counter()
            index = DayIndex(day)
            index_s = time.perf_counter() - started
            started = time.perf_counter()
            matched = sum(1 for follows in owners if index.matches(follows))
            match_s = time.perf_counter() - started
    return {
        "channel_follows": channel_follows,
        "personal_follows": personal_follows,
        "channels": channels,
        "papers_that_day": len(day.papers),
        "owners": len(owners),
        "matched": matched,
        "direct_messages": len(sending),
        "planned": planned,
        "index_s": index_s,
        "match_s": match_s,
        "plan_s": plan_s,
        "rss_mb": rss,
        "baseline_mb": baseline,
    }


def main(channel_follows: int, personal_follows: int, channels: int) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.follows",
            "--one",
            str(channel_follows),
            str(personal_follows),
            str(channels),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    r = json.loads(out.strip().splitlines()[-1])
    print(
        f"one day ({r['papers_that_day']} papers) of a {PAPERS:,}-paper archive against"
        f" {r['channel_follows']:,} channel follows and {r['personal_follows']:,} personal"
        f" follows ({r['owners']:,} channels and members, {r['matched']:,} with a match)"
        + (f", plus {r['channels']:,} channels subscribed to categories" if r["channels"] else "")
    )
    print(
        table(
            (
                "day index s",
                "matching s",
                "planning step s",
                "ledger rows",
                "direct messages",
                "peak RSS MB",
            ),
            [
                (
                    f"{r['index_s']:.3f}",
                    f"{r['match_s']:.2f}",
                    f"{r['plan_s']:.2f}",
                    f"{r['planned']:,}",
                    f"{r['direct_messages']:,}",
                    f"{r['rss_mb']:.0f} ({r['baseline_mb']:.0f})",
                )
            ],
        )
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--one"]:
        result = asyncio.run(measure(int(args[1]), int(args[2]), int(args[3])))
        print(json.dumps(result))
        sys.exit()
    subscribed = 0
    if args[:1] == ["--channels"]:
        subscribed, args = int(args[1]), args[2:]
    sizes = [int(a) for a in args] or [100_000, 100_000]
    main(sizes[0], sizes[1], subscribed)
