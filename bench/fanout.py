"""Digest fan-out: find the channels a new day concerns, plan and render their digests and
record them in the ledger, for 1,000 / 10,000 / 100,000 subscribed channels, with the
peak memory of each run. Target: 100,000 channels under 10 s and 200 MB resident.

Each size runs in a fresh process so its peak memory is its own.
Run: .venv/bin/python -m bench.fanout [SIZES...]   (default 1000 10000 100000)
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
from bot.planning import DeliveryPlanner
from bot.render import Renderer
from bot.store import Store

PAPERS = 100_000


async def measure(channels: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = await archive_copy(PAPERS, Path(tmp) / "fanout.sqlite3", channels)
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

            started = time.perf_counter()
            due = await store.deliveries.due(
                dt.datetime.now(dt.UTC) + dt.timedelta(days=2), limit=500
            )
            due_s = time.perf_counter() - started
    return {
        "channels": channels,
        "planned": planned,
        "due": len(due),
        "plan_s": plan_s,
        "due_s": due_s,
        "rss_mb": peak_rss_mb(),
        "baseline_mb": baseline,
    }


def main(sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.fanout", "--one", str(size)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rows.append(
            (
                f"{r['channels']:,}",
                f"{r['plan_s']:.2f}",
                f"{r['due_s']:.2f}",
                f"{r['planned']:,}",
                f"{r['rss_mb']:.0f} ({r['baseline_mb']:.0f})",
            )
        )
    print(f"one day's digests over a {PAPERS:,}-paper archive")
    print(
        table(
            (
                "channels",
                "find + plan + render + record s",
                "due query s",
                "ledger rows",
                "peak RSS MB",
            ),
            rows,
        )
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(asyncio.run(measure(int(sys.argv[2])))))
    else:
        main([int(a) for a in sys.argv[1:]] or [1000, 10_000, 100_000])
