"""Start-up of the idle bot as a real process (`python -m bot run`) against the local Discord
served by this process, with the 100,000-paper archive alone and with 100,000 subscribed
channels: seconds from spawn to IDENTIFY, seconds until it answers a first /paper (ready to
serve), and its resident memory after 10 s idle (VmRSS, and the peak VmHWM).

Idle means nothing to deliver: the channels' newest days are planned and marked sent before
the bot starts, as after a restart of a bot that was serving them. The last row is a start
after downtime instead: the newest 3 days not yet planned for 100,000 channels (paused, so
nothing is posted), which the bot plans beside the gateway; it adds the seconds until that
catch-up is planned.
Run: .venv/bin/python -m bench.startup [CHANNELS...]   (default 0 100000, then the downtime row)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import archive_copy, table
from bot.planning import DeliveryPlanner
from bot.render import Renderer
from bot.sandbox.local_discord import LocalDiscord, RateLimits
from bot.store import Store
from tests.support.waiting import eventually

PAPERS = 100_000
ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 300.0
IDLE_SECONDS = 10.0
STOP_TIMEOUT = 10.0


async def prepare(path: Path, channels: int, missed: bool) -> tuple[str, str, int]:
    """Deliver the channels' newest days on paper (planned, then marked sent), or with
    `missed` leave them to plan with every channel paused; pick a paper of the archive for
    /paper. Returns its id and title, and the ledger rows the bot is to plan."""
    to_plan = 0
    async with await Store.open(path) as store:
        if missed:
            async with store.database.transaction() as db:
                await db.execute("UPDATE channels SET paused = 1, pause_reason = 'bench'")
                async with db.execute(
                    "SELECT sum((SELECT count(*) FROM channels c WHERE c.since_date <= d.date))"
                    " FROM (SELECT date FROM days ORDER BY date DESC LIMIT 3) d"
                ) as cursor:
                    row = await cursor.fetchone()
            to_plan = int(row[0]) if row and row[0] else 0
        elif channels:
            await DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=3).plan()
            sent_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            async with store.database.transaction() as db:
                await db.execute(
                    "UPDATE deliveries SET status = 'sent', sent_at = ?, parts_sent ="
                    " (SELECT json_array_length(messages) FROM digests g"
                    " WHERE g.digest_hash = deliveries.digest_hash) WHERE status = 'pending'",
                    (sent_at,),
                )
        days = await store.archive.days()
        day = await store.archive.day(days[len(days) // 2].date)
        assert day is not None
        paper = day.papers[0].paper
        return paper.arxiv_id, paper.title, to_plan


def ledger_rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path, timeout=10)) as db:
        return int(db.execute("SELECT count(*) FROM deliveries").fetchone()[0])


def status_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB) from /proc/PID/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


async def wait_until(
    check: Callable[[], object], process: asyncio.subprocess.Process, what: str
) -> None:
    """Until `check()` holds; an error once the bot exits or after START_TIMEOUT."""

    def ready() -> object:
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited with {process.returncode} before {what}")
        return check()

    await eventually(ready, f"no {what}", START_TIMEOUT, every=0.005)


async def stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it is still there after STOP_TIMEOUT."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
    await process.wait()


async def measure(channels: int, missed: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = await archive_copy(PAPERS, Path(tmp) / "startup.sqlite3", channels)
        arxiv_id, title, to_plan = await prepare(path, channels, missed)
        planned_s = None
        os.sync()  # the copy and the ledger written to disk now, not during the bot's start
        log = Path(tmp) / "bot.log"
        async with LocalDiscord(rate_limits=RateLimits()) as local:
            config = Path(tmp) / "cfg.toml"
            config.write_text(
                f'[database]\npath = "{path}"\n\n'
                f'[discord]\napi_base = "{local.api_base}"\ngateway_url = "{local.gateway_url}"\n'
                "\n[bluesky]\nenabled = false\n",  # offline: no collector reaching for Jetstream
                encoding="utf-8",
            )
            env = {k: v for k, v in os.environ.items() if k != "HOTPAPERS_DB"}
            env["DISCORD_TOKEN"] = "bench-token"
            with log.open("wb") as output:
                started = time.perf_counter()
                process = await asyncio.create_subprocess_exec(
                    *(sys.executable, "-m", "bot", "run", "--config", str(config)),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=output,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    cwd=ROOT,
                )
            try:
                await wait_until(lambda: local.identifies, process, "IDENTIFY")
                identify_s = time.perf_counter() - started
                handle = await local.interact("paper", {"id": arxiv_id}, timeout=START_TIMEOUT)
                reply = await handle.wait_reply(timeout=START_TIMEOUT)
                ready_s = time.perf_counter() - started
                assert [e.get("title") for e in reply["embeds"]][:1] == [title], reply
                if missed:
                    await wait_until(
                        lambda: ledger_rows(path) >= to_plan, process, "the catch-up plan"
                    )
                    planned_s = time.perf_counter() - started
                await asyncio.sleep(IDLE_SECONDS)
                assert process.returncode is None, "the bot exited while idle"
                memory = status_kb(process.pid)
            except BaseException:
                print(log.read_text(errors="replace")[-5000:], file=sys.stderr)
                raise
            finally:
                await stop(process)
            posted = len(local.find_requests("POST", "/channels/{x}/messages"))
            failures = local.rate_limit_stats.total_429
    return {
        "channels": f"{channels:,}" + (", 3 days missed" if missed else ""),
        "planned_s": "-" if planned_s is None else f"{planned_s:.2f}",
        "identify_s": identify_s,
        "ready_s": ready_s,
        "rss_mb": memory["VmRSS"] / 1024,
        "hwm_mb": memory["VmHWM"] / 1024,
        "posted": posted,
        "429s": failures,
    }


async def run(sizes: list[int]) -> None:
    results = [await measure(size) for size in sizes]
    results.append(await measure(100_000, missed=True))
    print(
        f"`python -m bot run` with a {PAPERS:,}-paper archive, memory after "
        f"{IDLE_SECONDS:.0f} s idle"
    )
    print(
        table(
            (
                "channels",
                "spawn → IDENTIFY s",
                "spawn → first /paper answer s",
                "spawn → catch-up planned s",
                "VmRSS MB",
                "VmHWM MB",
                "messages posted",
                "429s",
            ),
            [
                (
                    r["channels"],
                    f"{r['identify_s']:.2f}",
                    f"{r['ready_s']:.2f}",
                    r["planned_s"],
                    f"{r['rss_mb']:.0f}",
                    f"{r['hwm_mb']:.0f}",
                    r["posted"],
                    r["429s"],
                )
                for r in results
            ],
        )
    )


if __name__ == "__main__":
    asyncio.run(run([int(a) for a in sys.argv[1:]] or [0, 100_000]))
