"""The Bluesky collector's throughput and memory, and its long kill -9 run.

`throughput` (the default): a local Jetstream in its own process serves a synthetic replay
(about 1% of the posts link arXiv papers, 5% of events delete posts) as fast as it is read;
the collector runs as its own process (`Collector`, as `run_collector` builds it, on a fresh
archive) and reports every 100,000 events its CPU time and resident memory. Prints events per
CPU-second of the collector (one core), the wall-clock rate, and the memory at each report.

`kill9`: the test suite's kill -9 scenario, longer: a replay of EVENTS events with the
collector process killed KILLS times at random moments and restarted; checks that exactly
the linking posts not deleted are stored, once.

Run: .venv/bin/python -m bench.collector [throughput [EVENTS]] | kill9 [EVENTS [KILLS]]
     (defaults: 1,000,000 events; kill9 200,000 events, 20 kills)
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import tempfile
import time
from pathlib import Path

from bench.common import table
from bot.bluesky.posts import Cursor
from bot.sandbox.bluesky_synthetic import SyntheticStream
from bot.sandbox.jetstream import LocalJetstream
from bot.store import Store
from bot.store.bluesky import BlueskyBatch
from tests.support.bluesky import PAPERS, replay_with_kills
from tests.support.collector_process import CollectorProcess, write_config

REPORT_EVERY = 100_000
SEED = 2024
ROOT = Path(__file__).resolve().parents[1]


async def serve(events: int) -> None:
    """The server process: number the whole replay first, then serve it until stdin closes.
    Prints the URL, the replay's first and last time and how many posts must be kept."""
    start_us = int(time.time() * 1e6) - 20 * 3_600_000_000  # inside the 36 h window
    synthetic = SyntheticStream(PAPERS, seed=SEED, start_us=start_us, mean_gap_us=100)
    gc.disable()  # a million live objects: collections would only rescan them
    async with LocalJetstream(retain=events) as jetstream:
        for time_us, event in synthetic.events(events):
            jetstream.publish(event, time_us=time_us)
        gc.freeze()
        gc.enable()
        print(
            json.dumps(
                {
                    "url": jetstream.url,
                    "first_us": start_us,
                    "last_us": jetstream.last_time_us,
                    "expected": len(synthetic.expected),
                }
            ),
            flush=True,
        )
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


async def throughput(events: int) -> None:
    print(f"command: .venv/bin/python -m bench.collector throughput {events}")
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.collector",
        "serve",
        str(events),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    started = time.perf_counter()
    replay = json.loads(await server.stdout.readline())
    print(
        f"replay of {events:,} events numbered by the server"
        f" in {time.perf_counter() - started:.0f} s"
    )
    reports: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(tmp) / "archive.sqlite3"
        async with await Store.open(database) as store:
            await store.bluesky.record(BlueskyBatch((), Cursor(replay["first_us"])))
        collector = CollectorProcess(
            write_config(Path(tmp), database, replay["url"]), report_every=REPORT_EVERY
        )
        await collector.start()
        try:
            while not reports or reports[-1]["events"] < events:
                reports.append(json.loads(await collector.report()))
            async with await Store.open(database) as store:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 60
                while (await store.bluesky.cursor() or Cursor(0)).time_us < replay["last_us"]:
                    if loop.time() > deadline:
                        raise SystemExit("the collector did not store its last batch in 60 s")
                    await asyncio.sleep(0.05)
                kept = await store.bluesky.count()
        finally:
            await collector.kill()
            server.stdin.close()
            await server.wait()
    first, last = reports[0], reports[-1]
    cpu_rate = (last["events"] - first["events"]) / (last["cpu_s"] - first["cpu_s"])
    wall_rate = (last["events"] - first["events"]) / (last["wall_s"] - first["wall_s"])
    memory = [r["rss_mb"] for r in reports]
    print(
        table(
            ("figure", "value", "target"),
            [
                ("events read", f"{last['events']:,}", ""),
                (
                    "linking posts kept (expected), share of events",
                    f"{kept:,} ({replay['expected']:,}), {kept / events:.1%}",
                    "equal",
                ),
                (
                    "events per CPU-second of the collector",
                    f"{cpu_rate:,.0f} (all: {last['events'] / last['cpu_s']:,.0f})",
                    ">= 20,000",
                ),
                ("events per wall-clock second", f"{wall_rate:,.0f}", ""),
                (
                    f"resident memory every {REPORT_EVERY:,} events, MB",
                    " ".join(f"{mb:.0f}" for mb in memory),
                    "< 150, flat",
                ),
                ("memory growth, first to last report", f"{memory[-1] - memory[0]:+.1f} MB", ""),
            ],
        )
    )
    if kept != replay["expected"]:
        raise SystemExit("the collector kept other posts than the replay's linking ones")


async def kill9(events: int, kills: int) -> None:
    print(f"command: .venv/bin/python -m bench.collector kill9 {events} {kills}")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        kept, sent = await replay_with_kills(Path(tmp), events, kills, seed=SEED)
    print(
        table(
            ("events", "kill -9s", "frames sent", "posts stored", "result", "seconds"),
            [
                (
                    f"{events:,}",
                    kills,
                    f"{sent:,}",
                    f"{kept:,}",
                    "exactly the linking posts not deleted, each once",
                    f"{time.perf_counter() - started:.0f}",
                )
            ],
        )
    )


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "throughput"
    numbers = [int(a) for a in argv[1:]]
    if mode == "serve":
        asyncio.run(serve(numbers[0]))
    elif mode == "throughput":
        asyncio.run(throughput(numbers[0] if numbers else 1_000_000))
    elif mode == "kill9":
        asyncio.run(kill9(*(numbers + [200_000, 20][len(numbers) :])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
