"""`hotpapers run` as real processes against the fake Discord: the restart and fault harness.

The bot runs as ``python -m bot run --config cfg.toml`` (``DISCORD_TOKEN`` set) against a
``FakeDiscord`` served by the caller's event loop, so the caller can kill it (SIGKILL) at any
moment and start it again over the same database. A ``Layout`` says which channels of the
fake's guild follow which categories, which days are published and how many papers a digest
lists; the default is twenty channels over two big days (the bundled posts' papers merged).
``expected_digests`` gives what each channel must end up with, as ``hotpapers digest --json``
renders it, and ``assert_exact_digests`` checks that every channel got exactly that, once.

Used by tests/e2e (test_delivery_restart.py, test_faults.py, test_stop_signals.py) and
bench/faults.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bot import taxonomy
from bot.store import Store
from tests.support.fake_discord import GUILD_ID, FakeChannel, FakeDiscord
from tests.support.posts import merged_post, sample_text
from tests.support.waiting import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token"
START_TIMEOUT = 20.0
DONE_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
TOP = 25
FIRST_CHANNEL_ID = 1101

# The channels follow these category sets in turn (channel i follows set i mod 5).
CATEGORY_SETS: tuple[tuple[str, ...], ...] = (
    ("cs",),
    ("cs.CV",),
    ("cs.LG", "stat.ML"),
    ("cs.AI", "cs.RO", "cs.CL"),
    ("cs.CV", "eess.IV"),
)


def make_channels(
    count: int = 20,
    category_sets: Iterable[Iterable[str]] = CATEGORY_SETS,
    first_id: int = FIRST_CHANNEL_ID,
) -> dict[int, tuple[str, ...]]:
    """``count`` channel ids from ``first_id``, following ``category_sets`` in turn."""
    sets = [tuple(taxonomy.normalize(c) for c in codes) for codes in category_sets]
    return {first_id + i: sets[i % len(sets)] for i in range(count)}


CHANNELS: dict[int, tuple[str, ...]] = make_channels()

# Two big days made of the bundled posts' papers (38 each, in different orders).
DAY_A = "2021-03-25"
DAY_B = "2021-03-26"


def day_text(date: str) -> str:
    """A big day published as ``date``: the three bundled posts merged (DAY_B reversed)."""
    order = ("2021-03-24", "2021-03-15", "2021-03-05")
    if date == DAY_B:
        order = order[::-1]
    return merged_post(date, (sample_text(d) for d in order))


Bodies = list[dict[str, Any]]
Expected = dict[tuple[str, int], Bodies]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Who follows what: channel id → categories, the days published, papers per digest."""

    channels: Mapping[int, tuple[str, ...]] = dataclasses.field(default_factory=lambda: CHANNELS)
    days: tuple[str, ...] = (DAY_A, DAY_B)
    top: int = TOP

    def text(self, date: str) -> str:
        return day_text(date)


def expected_digests(layout: Layout, work: Path) -> Expected:
    """(date, channel) → the message bodies `hotpapers digest --json` gives (no nonce).

    One ``digest`` process per distinct (day, category set), run side by side, over a
    database in ``work`` that holds the layout's days.
    """
    db = work / "expected.sqlite3"
    posts = []
    for date in layout.days:
        post = work / f"{date}---Hot-Papers.md"
        post.write_text(layout.text(date), encoding="utf-8")
        posts.append(str(post))
    cli = [sys.executable, "-m", "bot"]
    env = {k: v for k, v in os.environ.items() if k != "HOTPAPERS_DB"}
    subprocess.run(
        [*cli, "ingest", "--db", str(db), *posts], check=True, capture_output=True, env=env
    )
    runs = {
        (date, codes): subprocess.Popen(
            [
                *cli,
                "digest",
                "--db",
                str(db),
                "--date",
                date,
                "--top",
                str(layout.top),
                "--json",
                "--categories",
                ",".join(codes),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO_ROOT,
        )
        for date in layout.days
        for codes in set(layout.channels.values())
    }
    bodies: dict[tuple[str, tuple[str, ...]], Bodies] = {}
    for key, run in runs.items():
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err.decode()
        bodies[key] = json.loads(out)
    return {
        (date, channel): bodies[date, codes]
        for date in layout.days
        for channel, codes in layout.channels.items()
    }


def total_messages(expected: Expected, layout: Layout, dates: Iterable[str]) -> int:
    return sum(len(expected[d, c]) for d in dates for c in layout.channels)


def as_posted(body: dict[str, Any]) -> tuple[str, list[str], list[dict[str, Any]]]:
    """What a channel shows of a message: its text, its embeds' titles, the embeds whole."""
    embeds = body.get("embeds", [])
    return body.get("content") or "", [e["title"] for e in embeds], embeds


# ---------------------------------------------------------------------------------------------
# The bot process
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Setup:
    fake: FakeDiscord
    tmp_path: Path
    config: Path
    database: Path
    watch: Path
    log: Path
    layout: Layout = dataclasses.field(default_factory=Layout)

    @property
    def channels(self) -> Mapping[int, tuple[str, ...]]:
        return self.layout.channels


def prepare(fake: FakeDiscord, tmp_path: Path, layout: Layout | None = None) -> Setup:
    """The layout's channels in the fake's guild, a watched folder and the bot's config."""
    layout = layout or Layout()
    guild = fake.guilds[GUILD_ID]
    for index, channel_id in enumerate(layout.channels):
        name = f"papers-{index:02d}"
        guild.channels.append(FakeChannel(channel_id, name, 0, position=10 + index))
    watch = tmp_path / "posts"
    watch.mkdir()
    database = tmp_path / "bot.sqlite3"
    config = tmp_path / "cfg.toml"
    config.write_text(
        f"""
[database]
path = "{database}"

[discord]
api_base = "{fake.api_base}"
gateway_url = "{fake.gateway_url}"

[source]
directory = "{watch}"
poll_seconds = 1
settle_seconds = 0.2

[digest]
top = {layout.top}
deliver_seconds = 1
""",
        encoding="utf-8",
    )
    return Setup(fake, tmp_path, config, database, watch, tmp_path / "bot.log", layout)


async def subscribe_all(setup: Setup) -> None:
    """The channels' subscriptions, written before the bot starts (as /subscribe would)."""
    async with await Store.open(setup.database) as store:
        for channel_id, codes in setup.channels.items():
            assert await store.subscriptions.subscribe(channel_id, GUILD_ID, codes)


def publish(setup: Setup, date: str) -> None:
    """Put the day's post in the watched folder at once (written aside, then renamed)."""
    path = setup.watch / f"{date}---Hot-Papers.md"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(setup.layout.text(date), encoding="utf-8")
    past = temporary.stat().st_mtime - 60
    os.utime(temporary, (past, past))
    temporary.rename(path)


class Processes:
    """Starts `hotpapers run` processes, all logging to one file; kills leftovers at exit."""

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.running: list[subprocess.Popen[bytes]] = []
        self.starts = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.starts += 1
        env = {k: v for k, v in os.environ.items() if k != "HOTPAPERS_DB"}
        env["DISCORD_TOKEN"] = TOKEN
        with self.setup.log.open("ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            log.flush()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.setup.config), "-v"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO_ROOT,
            )
        self.running.append(process)
        return process

    async def start_connected(self) -> subprocess.Popen[bytes]:
        """Start a process and wait until it identified on the fake's gateway."""
        before = len(self.setup.fake.identifies)
        process = self.start()
        await poll_until(
            lambda: len(self.setup.fake.identifies) > before,
            START_TIMEOUT,
            "the bot never connected to the gateway",
            process,
        )
        return process

    def kill_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.kill()
                process.wait(STOP_TIMEOUT)

    def log_text(self) -> str:
        return self.setup.log.read_text(encoding="utf-8", errors="replace")


@contextlib.asynccontextmanager
async def bot_processes(setup: Setup) -> AsyncIterator[Processes]:
    processes = Processes(setup)
    try:
        yield processes
    except BaseException:
        processes.kill_all()
        print(f"----- output of the bot processes ({setup.log}) -----")
        print(processes.log_text()[-20000:])
        raise
    finally:
        processes.kill_all()


async def poll_until(
    check: Callable[[], bool],
    timeout: float,  # noqa: ASYNC109
    failure: str | Callable[[], str],
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Until ``check()``; fails with ``failure`` (or what it returns) on timeout or exit."""

    def done() -> bool:
        if process is not None and process.poll() is not None and not check():
            why = failure() if callable(failure) else failure
            raise AssertionError(f"{why}: the bot exited with {process.returncode}")
        return check()

    await eventually(done, failure, timeout, every=0.05)


async def wait_exit(process: subprocess.Popen[bytes]) -> int:
    await poll_until(lambda: process.poll() is not None, STOP_TIMEOUT, "the bot did not stop")
    return process.returncode


def ledger(database: Path) -> dict[tuple[int, str], tuple[str, int, list[int]]]:
    """(channel, date) → (status, parts sent, message ids), read beside the running bot."""
    with contextlib.closing(sqlite3.connect(database, timeout=5)) as db:
        rows = db.execute(
            "SELECT channel_id, date, status, parts_sent, message_ids FROM deliveries"
        ).fetchall()
    return {(r[0], r[1]): (r[2], r[3], json.loads(r[4])) for r in rows}


def posted(fake: FakeDiscord, channel_id: int) -> list[dict[str, Any]]:
    return fake.channel_messages(channel_id)


def delivered(fake: FakeDiscord, channels: Iterable[int] = CHANNELS) -> int:
    """Messages stored in ``channels`` (interaction replies aside), in one pass."""
    wanted = {str(c) for c in channels}
    return sum(
        1
        for m in fake.messages.values()
        if m["channel_id"] in wanted and "interaction_metadata" not in m
    )


async def wait_delivered(
    setup: Setup,
    dates: tuple[str, ...],
    expected: Expected,
    process: subprocess.Popen[bytes],
    timeout: float = DONE_TIMEOUT,  # noqa: ASYNC109
) -> None:
    """Until every channel has as many messages as its digests and the ledger says sent."""
    total = total_messages(expected, setup.layout, dates)
    await poll_until(
        lambda: delivered(setup.fake, setup.channels) >= total,
        timeout,
        lambda: f"{delivered(setup.fake, setup.channels)} of {total} messages arrived",
        process,
    )
    wanted = {(c, d) for c in setup.channels for d in dates}

    def all_sent() -> bool:
        rows = ledger(setup.database)
        return all(rows.get(key, ("",))[0] == "sent" for key in wanted)

    await poll_until(all_sent, timeout, "the ledger never said sent", process)


def assert_exact_digests(setup: Setup, dates: tuple[str, ...], expected: Expected) -> None:
    """Each channel holds exactly its digests, in order, and the ledger says so."""
    rows = ledger(setup.database)
    assert len(rows) == len(setup.channels) * len(dates)
    by_channel: dict[str, list[dict[str, Any]]] = {str(c): [] for c in setup.channels}
    for message in setup.fake.messages.values():  # in the order they were stored
        if message["channel_id"] in by_channel and "interaction_metadata" not in message:
            by_channel[message["channel_id"]].append(message)
    for channel in setup.channels:
        messages = by_channel[str(channel)]
        want = [as_posted(b) for d in dates for b in expected[d, channel]]
        got = [as_posted(m) for m in messages]
        assert got == want, f"channel {channel} ({setup.channels[channel]})"
        ids = [int(m["id"]) for m in messages]
        from_ledger: list[int] = []
        for date in dates:
            status, parts, message_ids = rows[channel, date]
            assert (status, parts) == ("sent", len(expected[date, channel]))
            from_ledger += message_ids
        assert from_ledger == ids, f"channel {channel}"


@dataclasses.dataclass
class Tally:
    """How a run over several channels ended: messages too many, too few, and wrong."""

    duplicates: int = 0  # messages beyond a channel's digests (or a digest's message twice)
    misses: int = 0  # digest messages a channel never got
    wrong: int = 0  # channels whose messages differ from their digests otherwise
    unsent: int = 0  # ledger rows not 'sent' with every part


def tally(setup: Setup, dates: tuple[str, ...], expected: Expected) -> Tally:
    """Counts, not asserts, for the benchmarks: what assert_exact_digests would reject."""
    result = Tally()
    rows = ledger(setup.database)
    by_channel: dict[str, list[dict[str, Any]]] = {str(c): [] for c in setup.channels}
    for message in setup.fake.messages.values():
        if message["channel_id"] in by_channel and "interaction_metadata" not in message:
            by_channel[message["channel_id"]].append(message)
    for channel in setup.channels:
        got = [as_posted(m) for m in by_channel[str(channel)]]
        want = [as_posted(b) for d in dates for b in expected[d, channel]]
        remaining = list(got)
        for item in want:
            if item in remaining:
                remaining.remove(item)
            else:
                result.misses += 1
        result.duplicates += len(remaining)
        if got != want and not remaining and len(got) == len(want):
            result.wrong += 1
        for date in dates:
            status, parts, _ = rows.get((channel, date), ("missing", 0, []))
            if (status, parts) != ("sent", len(expected[date, channel])):
                result.unsent += 1
    return result


class KillSwitch:
    """SIGKILLs the armed process the moment the fake stores the ``at``-th message.

    One of the fake's message listeners, which hear of a message once it is stored and before
    it is answered: the process dies and the answer is lost with it (as when a bot crashes
    while Discord answers). ``kills`` holds the message count at each kill.
    """

    def __init__(self, fake: FakeDiscord, channels: Iterable[int] = CHANNELS) -> None:
        self.fake = fake
        self.channels = {str(c) for c in channels}
        self.stored = delivered(fake, channels)
        self.kills: list[int] = []
        self._victim: subprocess.Popen[bytes] | None = None
        self._at = 0
        fake.message_listeners.append(self._stored)

    def _stored(self, message: dict[str, Any]) -> None:
        if message["channel_id"] not in self.channels:
            return
        self.stored += 1
        if self._victim is not None and self.stored >= self._at:
            self._victim.send_signal(signal.SIGKILL)
            self._victim = None
            self.kills.append(self.stored)

    def arm(self, process: subprocess.Popen[bytes], at: int) -> None:
        """Kill ``process`` when the ``at``-th message (counted from the start) is stored."""
        self._victim, self._at = process, at

    def disarm(self) -> None:
        self._victim = None

    @property
    def armed(self) -> bool:
        return self._victim is not None


async def kill_now(process: subprocess.Popen[bytes]) -> int:
    """SIGKILL ``process`` and wait for it; its exit status (-9 unless it had ended)."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    return await wait_exit(process)


# ---------------------------------------------------------------------------------------------
# Killing the bot at random moments
# ---------------------------------------------------------------------------------------------

STORED = "stored"  # SIGKILL the moment the K-th message is stored (its answer is lost)
TIMED = "timed"  # SIGKILL at a random moment while the process is posting


@dataclasses.dataclass(frozen=True)
class Kill:
    """One SIGKILL: how, the messages stored when that process was started and at its death,
    the ledger's rows not sent then, and the process's exit status."""

    kind: str
    began_at: int
    died_at: int
    unsent_rows: int
    status: int


@dataclasses.dataclass
class KillRun:
    kills: list[Kill]
    starts: int
    total: int  # messages the channels must end up with
    seconds: float


async def run_with_kills(
    setup: Setup,
    expected: Expected,
    kinds: Iterable[str],
    rng: random.Random,
    *,
    per_second: float,
    done_timeout: float = 120.0,
) -> KillRun:
    """Publish the layout's days, SIGKILL the bot once per entry of ``kinds`` and restart it.

    ``rng`` (a seeded ``random.Random``) places the kills: a STORED kill picks K among the
    next messages, a TIMED kill waits until the process has posted once and then a random
    delay; on average the kills split the messages still to post evenly, assuming the bot
    posts ``per_second`` messages a second (its pacing). After the last restart the run
    waits for every digest to be sent, stops the bot with SIGTERM and returns.
    """
    plan = list(kinds)
    dates = setup.layout.days
    total = total_messages(expected, setup.layout, dates)
    switch = KillSwitch(setup.fake, setup.channels)
    loop = asyncio.get_running_loop()
    started = loop.time()
    kills: list[Kill] = []
    async with bot_processes(setup) as processes:
        began = switch.stored
        process = await processes.start_connected()
        for date in dates:
            publish(setup, date)
        for index, kind in enumerate(plan):
            # Spread what is left over the kills to come (and the run after the last one).
            share = max(1, 2 * (total - began) // (len(plan) - index + 1))
            if kind == STORED:
                at = began + rng.randint(1, max(1, share - 1))
                await _die_at_message(switch, process, at, done_timeout)
            elif kind == TIMED:
                await _posting(switch, process, began, done_timeout)
                # At most 80 % of what is left, so the kill comes before the end.
                left = min(share, 0.8 * (total - switch.stored))
                await asyncio.sleep(rng.uniform(0, left / per_second))
                await kill_now(process)
            else:
                raise ValueError(f"unknown kill {kind!r}")
            status = await wait_exit(process)
            rows = ledger(setup.database)
            unsent = sum(1 for status_, _, _ in rows.values() if status_ != "sent")
            unsent += len(setup.channels) * len(dates) - len(rows)
            kills.append(Kill(kind, began, switch.stored, unsent, status))
            began = switch.stored
            process = await processes.start_connected()
        await wait_delivered(setup, dates, expected, process, timeout=done_timeout)
        process.send_signal(signal.SIGTERM)
        await wait_exit(process)
        starts = processes.starts
    return KillRun(kills, starts, total, loop.time() - started)


async def _die_at_message(
    switch: KillSwitch, process: subprocess.Popen[bytes], at: int, limit: float
) -> None:
    switch.arm(process, at)
    try:
        await poll_until(
            lambda: process.poll() is not None,
            limit,
            lambda: f"the kill at message {at} never came: {switch.stored} stored",
        )
    finally:
        switch.disarm()


async def _posting(
    switch: KillSwitch, process: subprocess.Popen[bytes], began: int, limit: float
) -> None:
    """Until ``process`` stored a message of its own."""
    await poll_until(
        lambda: switch.stored > began, limit, f"no message after the {began}th", process
    )
