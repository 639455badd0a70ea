"""Database faults, the long version of tests/e2e/test_database_faults.py. Target: every post
ingested and its digest delivered exactly once (0 duplicates, 0 misses), every /paper asked
during an episode answered, each failed attempt one log line without a traceback, and the
database intact (integrity_check ok).

For --seconds (default 120) the bot runs in-process with its real scheduler (poll and
delivery every second) against the fake Discord; #papers and #general follow all of cs and a
post for a new day lands in the watched folder every 1.5-3.5 s (seeded). Every 3-5 s an
episode of 4-9 s starts, these three in turn:

* lock: another process holds BEGIN EXCLUSIVE; the bot's writes wait (busy_timeout, 5 s)
  without holding up reads, then fail;
* read-only: the database and its -wal made read-only under the running bot (chattr +i as
  root: its writes get an I/O error; chmod 0o444 otherwise, which an open connection does not
  notice);
* read-only restart: the bot is restarted while the database file is read-only (chattr +i /
  chmod 0o444), so SQLite opens it read-only; it must recover once the file is writable.

/paper is asked in the middle of each episode. catch_up_days is raised to 1000 so no day is
skipped by the catch-up limit, which is a policy, not a fault.

Run: .venv/bin/python -m bench.database_faults [--seconds 120] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import hashlib
import logging
import os
import random
import re
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import table
from bot.client.bot import HotPapersBot
from bot.samples import sample_posts
from tests.support.database import Locker, can_write, is_locked
from tests.support.fake_discord import (
    GENERAL_CHANNEL_ID,
    PAPERS_CHANNEL_ID,
    FakeDiscord,
    point_discord_at,
)
from tests.support.harness import database_path, running_bot

CHANNELS = (PAPERS_CHANNEL_ID, GENERAL_CHANNEL_ID)
PERCEIVER = "2103.03206"  # in the first post, 2021-03-05
PERCEIVER_TITLE = "Perceiver: General Perception with Iterative Attention"
KINDS = ("lock", "read-only", "read-only restart")
FIRST_NEW_DAY = dt.date(2021, 4, 1)


def retitled(text: str, date: dt.date) -> str:
    """The same post published as the Hot Papers of another day."""
    old = re.search(r"^title: Hot Papers (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    assert old is not None
    return text.replace(old[1], date.isoformat())


@contextlib.contextmanager
def read_only(paths: list[Path]) -> Iterator[bool]:
    """Make `paths` read-only (chattr +i as root, chmod 0o444 otherwise); yields whether
    they really were (os.open for writing failed). Never the -shm: SQLite maps it, and an
    immutable mapped file kills the process with SIGBUS."""
    undo = []
    try:
        for path in paths:
            if os.geteuid() == 0:
                subprocess.run(["chattr", "+i", str(path)], check=True)
                undo.append(["chattr", "-i", str(path)])
            else:
                mode = path.stat().st_mode & 0o7777
                path.chmod(0o444)
                undo.append(["chmod", f"{mode:o}", str(path)])
        yield not any(can_write(path) for path in paths)
    finally:
        for command in reversed(undo):
            subprocess.run(command, check=True)


class Collector(logging.Handler):
    """Every warning and error the bot (and its scheduler) logs, with the episode it fell in
    (or followed)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, logging.LogRecord]] = []
        self.episode = "none"

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("bot.", "apscheduler.")):  # not discord.py's voice notes
            self.records.append((self.episode, record))


@dataclass
class Run:
    fake: FakeDiscord
    root: Path
    watch: Path
    seed: int
    bot: HotPapersBot | None = None
    stack: contextlib.AsyncExitStack | None = None
    reopens: int = 0
    published: dict[str, str] = field(default_factory=dict)  # date → sha256 of the post
    episodes: collections.Counter[str] = field(default_factory=collections.Counter)
    enforced: collections.Counter[str] = field(default_factory=collections.Counter)
    asked: collections.Counter[str] = field(default_factory=collections.Counter)
    answered: collections.Counter[str] = field(default_factory=collections.Counter)
    slowest_answer: float = 0.0

    @property
    def database(self) -> Path:
        return database_path(self.root)

    async def start(self) -> None:
        overrides = {
            "source": {"directory": str(self.watch), "poll_seconds": 1, "settle_seconds": 0.2},
            "digest": {"deliver_seconds": 1, "catch_up_days": 1000},
        }
        self.stack = contextlib.AsyncExitStack()
        self.bot = await self.stack.enter_async_context(
            running_bot(
                self.fake, self.root, samples=False, config_overrides=overrides, run_jobs=True
            )
        )

    async def stop(self) -> None:
        assert self.bot is not None
        assert self.stack is not None
        self.reopens += self.bot.store.database.reopens
        await self.stack.aclose()
        self.bot = self.stack = None

    def publish(self, date: dt.date, text: str) -> None:
        """Written beside, backdated past settle_seconds, then renamed in: never half seen."""
        partial = self.watch / f".{date}.partial"
        partial.write_text(text, encoding="utf-8")
        past = time.time() - 60
        os.utime(partial, (past, past))
        partial.rename(self.watch / f"{date}---Hot-Papers.md")
        self.published[date.isoformat()] = hashlib.sha256(text.encode()).hexdigest()

    async def ask_paper(self, kind: str) -> None:
        self.asked[kind] += 1
        started = time.monotonic()
        handle = await self.fake.interact("paper", {"id": PERCEIVER}, channel_id=CHANNELS[0])
        with contextlib.suppress(TimeoutError):
            reply = await handle.wait_reply(10)
            if [e.get("title") for e in reply.get("embeds", [])] == [PERCEIVER_TITLE]:
                self.answered[kind] += 1
                self.slowest_answer = max(self.slowest_answer, time.monotonic() - started)

    async def episode(self, kind: str, seconds: float, collector: Collector) -> None:
        collector.episode = kind
        self.episodes[kind] += 1
        if kind == "lock":
            locker = Locker(self.database)
            await locker.lock()
            try:
                self.enforced[kind] += is_locked(self.database)
                await self._during(kind, seconds)
            finally:
                await locker.release()
        elif kind == "read-only":
            wal = self.database.with_name(self.database.name + "-wal")
            paths = [self.database, *([wal] if wal.exists() else [])]
            with read_only(paths) as enforced:
                self.enforced[kind] += enforced
                await self._during(kind, seconds)
        else:
            await self.stop()
            with read_only([self.database]) as enforced:
                self.enforced[kind] += enforced
                await self.start()
                await self._during(kind, seconds)
        collector.episode = "after " + kind

    async def _during(self, kind: str, seconds: float) -> None:
        await asyncio.sleep(seconds / 2)
        await self.ask_paper(kind)
        await asyncio.sleep(seconds / 2)


async def publish_posts(run: Run, until: float, rng: random.Random) -> None:
    texts = [path.read_text(encoding="utf-8") for path in sample_posts()]
    day = FIRST_NEW_DAY
    while time.monotonic() < until:
        run.publish(day, retitled(texts[(day - FIRST_NEW_DAY).days % len(texts)], day))
        day += dt.timedelta(days=1)
        await asyncio.sleep(rng.uniform(1.5, 3.5))


def stored_days(database: Path) -> dict[str, str]:
    connection = sqlite3.connect(database)
    try:
        return dict(connection.execute("SELECT date, content_hash FROM days"))
    finally:
        connection.close()


def delivered(fake: FakeDiscord) -> collections.Counter[tuple[int, str]]:
    """Digest messages per (channel, day, part), read from their nonces."""
    found: collections.Counter[tuple[int, str]] = collections.Counter()
    for channel in CHANNELS:
        for message in fake.channel_messages(channel):
            _, day, part = str(message["nonce"]).split(".")
            found[channel, f"{day}.{part}"] += 1
    return found


def digests(counts: collections.Counter[tuple[int, str]]) -> int:
    """(channel, day) pairs whose digest was posted (its first part)."""
    return sum(1 for _, key in counts if key.endswith(".0"))


async def drain(run: Run, limit: float) -> float:
    """Wait until every published post is stored and every digest posted; seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        days = stored_days(run.database)
        posted = digests(delivered(run.fake))
        if all(days.get(d) == h for d, h in run.published.items()) and posted == len(
            CHANNELS
        ) * len(run.published):
            break
        await asyncio.sleep(0.5)
    return time.monotonic() - started


def template(record: logging.LogRecord, root: Path) -> str:
    """The message with the run's paths and numbers hidden, to group like lines."""
    text = record.getMessage().replace(str(root), "…")
    text = re.sub(r"\d{4}-\d{2}-\d{2}( \d\d:\d\d:\d\d)?", "<day>", text)
    return re.sub(r"after [\d.]+ s", "after N s", text)


async def measure(seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    collector = Collector()
    logging.getLogger().addHandler(collector)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        watch = root / "posts"
        watch.mkdir()
        fake = FakeDiscord()
        await fake.start()
        undo = point_discord_at(fake)
        run = Run(fake, root, watch, seed)
        try:
            await run.start()
            for channel in CHANNELS:
                handle = await fake.interact("subscribe", {"category": "cs"}, channel_id=channel)
                reply = await handle.wait_reply(10)
                assert "subscribed" in reply["content"].lower(), reply
            run.publish(dt.date(2021, 3, 5), sample_posts()[0].read_text(encoding="utf-8"))
            started = time.monotonic()
            until = started + seconds
            publisher = asyncio.create_task(publish_posts(run, until - 9, rng))
            await asyncio.sleep(3)
            kinds = iter(KINDS * 1000)
            while time.monotonic() + 9 < until:
                await run.episode(next(kinds), rng.uniform(4, 9), collector)
                await asyncio.sleep(rng.uniform(3, 5))
            await publisher
            collector.episode = "drain"
            drained = await drain(run, 60)
            await run.stop()
        finally:
            if run.stack is not None:
                await run.stack.aclose()
            undo()
            await fake.stop()
            logging.getLogger().removeHandler(collector)
        days = stored_days(run.database)
        connection = sqlite3.connect(run.database)
        try:
            [(integrity,)] = connection.execute("PRAGMA integrity_check").fetchall()
            ledger = dict(
                connection.execute("SELECT status, count(*) FROM deliveries GROUP BY status")
            )
        finally:
            connection.close()

    counts = delivered(fake)
    expected = len(CHANNELS) * len(run.published)
    errors = collections.Counter(
        kind.removeprefix("after ") for kind, r in collector.records if r.name.startswith("bot.")
    )
    skipped = collections.Counter(
        kind.removeprefix("after ") for kind, r in collector.records if r.name.startswith("apsch")
    )
    tracebacks = sum(1 for _, r in collector.records if r.exc_info)
    print(
        f"database faults: {seconds:g} s, seed {seed}, {len(CHANNELS)} channels following cs, "
        f"busy_timeout 5 s, poll and delivery every 1 s"
    )
    print(
        table(
            (
                "episode",
                "episodes",
                "fault proven",
                "errors logged",
                "poll runs skipped",
                "/paper answered",
            ),
            [
                (
                    kind,
                    run.episodes[kind],
                    f"{run.enforced[kind]}/{run.episodes[kind]}",
                    errors[kind],
                    skipped[kind],
                    f"{run.answered[kind]}/{run.asked[kind]}",
                )
                for kind in KINDS
            ],
        )
    )
    print()
    ingested = sum(1 for d, h in run.published.items() if days.get(d) == h)
    print(
        table(
            (
                "posts",
                "ingested",
                "digests due",
                "delivered",
                "duplicates",
                "misses",
                "resent (nonce)",
                "reopens",
                "tracebacks",
                "integrity",
                "drain s",
            ),
            [
                (
                    len(run.published),
                    ingested,
                    expected,
                    digests(counts),
                    sum(c - 1 for c in counts.values()),
                    expected - digests(counts),
                    fake.nonce_hits,
                    run.reopens,
                    tracebacks,
                    integrity,
                    f"{drained:.1f}",
                )
            ],
        )
    )
    print(f"ledger: {dict(sorted(ledger.items()))}; slowest /paper {run.slowest_answer:.2f} s")
    print("log lines (warnings and errors), by kind:")
    lines = collections.Counter(template(r, root) for _, r in collector.records)
    for text, count in lines.most_common():
        print(f"  {count:4d} x {text[:150]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(measure(args.seconds, args.seed))


if __name__ == "__main__":
    main()
