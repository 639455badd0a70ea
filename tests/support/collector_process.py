"""The collector as a real process (`run_collector` under `python -c`) reading a local Jetstream
served by the caller, so the caller can kill it (SIGKILL) at any moment and start it again
over the same database. Used by tests/bluesky/test_collector_kill.py and bench/collector.py.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 10.0

# `run_collector` as a deployment calls it. With `--report N` it runs the same Collector
# (as run_collector builds it) and prints a JSON line at the first batch stored after every N
# events read: events, resident MB, CPU seconds and wall seconds so far.
COLLECTOR = """
import asyncio, json, logging, resource, sys, time

import aiohttp

from bot.bluesky.collector import Collector, run_collector
from bot.config import load_config
from bot.store import Store


def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Reporting:
    # The collector's store, telling `report` each time a batch is stored.
    def __init__(self, posts):
        self.posts, self.stored = posts, asyncio.Event()

    async def record(self, batch):
        left_out = await self.posts.record(batch)
        self.stored.set()
        return left_out

    def __getattr__(self, name):
        return getattr(self.posts, name)


async def report(collector, stored, every):
    started, next_at = time.perf_counter(), every
    while True:
        await stored.wait()
        stored.clear()
        if collector.stats.events >= next_at:
            usage = resource.getrusage(resource.RUSAGE_SELF)
            print(json.dumps({
                "events": collector.stats.events,
                "rss_mb": rss_mb(),
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "wall_s": time.perf_counter() - started,
            }), flush=True)
            next_at += every


async def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    config = load_config(sys.argv[1], {})
    async with await Store.open(config.database.path) as store:
        async with aiohttp.ClientSession() as session:
            print("started", flush=True)
            if sys.argv[2:3] == ["--report"]:
                posts = Reporting(store.bluesky)
                collector = Collector(posts, config.bluesky.jetstream_url, session)
                every = int(sys.argv[3])
                await asyncio.gather(collector.run(), report(collector, posts.stored, every))
            else:
                await run_collector(config, store, session=session)


asyncio.run(main())
"""


def write_config(directory: Path, database: Path, jetstream_url: str) -> Path:
    path = directory / "collector.toml"
    path.write_text(
        f'[database]\npath = "{database}"\n\n[bluesky]\njetstream_url = "{jetstream_url}"\n'
    )
    return path


class CollectorProcess:
    """One `run_collector` process; start, kill -9 and wait for it from the caller's loop."""

    def __init__(self, config: Path, report_every: int = 0) -> None:
        self.config = config
        self.report_every = report_every
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        args = [sys.executable, "-c", COLLECTOR, str(self.config)]
        if self.report_every:
            args += ["--report", str(self.report_every)]
        self.process = await asyncio.create_subprocess_exec(
            *args, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 30)
        assert line == b"started\n", line

    async def report(self) -> str:
        """The next line the process prints (a report)."""
        assert self.process is not None
        assert self.process.stdout is not None
        return (await self.process.stdout.readline()).decode()

    async def kill(self) -> None:
        """SIGKILL: no cleanup of any kind runs in the collector."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
