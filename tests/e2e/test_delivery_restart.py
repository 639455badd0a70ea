"""End-to-end tests of delivery across restarts: `hotpapers run` as a real process.

The bot runs as ``python -m bot run --config cfg.toml`` against the fake Discord served by
this test's event loop. Twenty channels follow categories with big digests (several messages
each); the process is killed with SIGKILL in the middle of posting a day, at the very moment
the K-th message is stored (so its answer is lost too), then started again. Every channel
must end up with exactly its digest, as ``hotpapers digest --json`` renders it: nothing
missing, nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot import taxonomy
from bot.store import Store

from .fake_discord import GUILD_ID, FakeChannel, FakeDiscord
from .test_delivery import merged_post, sample_text

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token"
START_TIMEOUT = 20.0
DONE_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
TOP = 25

# 20 channels in the fake's guild, each following one of these category sets.
CATEGORY_SETS: tuple[tuple[str, ...], ...] = (
    ("cs",),
    ("cs.CV",),
    ("cs.LG", "stat.ML"),
    ("cs.AI", "cs.RO", "cs.CL"),
    ("cs.CV", "eess.IV"),
)
CHANNELS: dict[int, tuple[str, ...]] = {
    1101 + i: tuple(taxonomy.normalize(c) for c in CATEGORY_SETS[i % len(CATEGORY_SETS)])
    for i in range(20)
}

# Two big days made of the bundled posts' papers (38 each, in different orders).
DAY_A = "2021-03-25"
DAY_B = "2021-03-26"


def day_text(date: str) -> str:
    order = ("2021-03-24", "2021-03-15", "2021-03-05")
    if date == DAY_B:
        order = order[::-1]
    return merged_post(date, (sample_text(d) for d in order))


Bodies = list[dict[str, Any]]


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], Bodies]:
    """(date, channel) → the message bodies `hotpapers digest --json` gives (no nonce)."""
    work = tmp_path_factory.mktemp("expected")
    db = work / "expected.sqlite3"
    posts = []
    for date in (DAY_A, DAY_B):
        post = work / f"{date}---Hot-Papers.md"
        post.write_text(day_text(date), encoding="utf-8")
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
                str(TOP),
                "--json",
                "--categories",
                ",".join(codes),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO_ROOT,
        )
        for date in (DAY_A, DAY_B)
        for codes in set(CHANNELS.values())
    }
    bodies: dict[tuple[str, tuple[str, ...]], Bodies] = {}
    for key, run in runs.items():
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err.decode()
        bodies[key] = json.loads(out)
    found = {
        (date, channel): bodies[date, codes]
        for date in (DAY_A, DAY_B)
        for channel, codes in CHANNELS.items()
    }
    # Big digests: several messages for most channels.
    assert max(len(b) for b in found.values()) >= 3
    return found


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


def prepare(fake: FakeDiscord, tmp_path: Path) -> Setup:
    guild = fake.guilds[GUILD_ID]
    for index, channel_id in enumerate(CHANNELS):
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
top = {TOP}
deliver_seconds = 1
""",
        encoding="utf-8",
    )
    return Setup(fake, tmp_path, config, database, watch, tmp_path / "bot.log")


async def subscribe_all(setup: Setup) -> None:
    """The channels' subscriptions, written before the bot starts (as /subscribe would)."""
    async with await Store.open(setup.database) as store:
        for channel_id, codes in CHANNELS.items():
            assert await store.subscriptions.subscribe(channel_id, GUILD_ID, codes)


def publish(setup: Setup, date: str) -> None:
    path = setup.watch / f"{date}---Hot-Papers.md"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(day_text(date), encoding="utf-8")
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
    failure: str,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{failure}: the bot exited with {process.returncode}")
        if loop.time() > deadline:
            raise AssertionError(f"{failure} (after {timeout} s)")
        await asyncio.sleep(0.05)


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


def delivered(fake: FakeDiscord) -> int:
    return sum(len(posted(fake, c)) for c in CHANNELS)


async def wait_delivered(
    setup: Setup,
    dates: tuple[str, ...],
    expected: dict[tuple[str, int], Bodies],
    process: subprocess.Popen[bytes],
) -> None:
    """Until every channel has as many messages as its digests and the ledger says sent."""
    total = sum(len(expected[d, c]) for d in dates for c in CHANNELS)
    await poll_until(
        lambda: delivered(setup.fake) >= total,
        DONE_TIMEOUT,
        f"{delivered(setup.fake)} of {total} messages arrived",
        process,
    )
    wanted = {(c, d) for c in CHANNELS for d in dates}

    def all_sent() -> bool:
        rows = ledger(setup.database)
        return all(rows.get(key, ("",))[0] == "sent" for key in wanted)

    await poll_until(all_sent, DONE_TIMEOUT, "the ledger never said sent", process)


def assert_exact_digests(
    setup: Setup, dates: tuple[str, ...], expected: dict[tuple[str, int], Bodies]
) -> None:
    rows = ledger(setup.database)
    assert len(rows) == len(CHANNELS) * len(dates)
    for channel in CHANNELS:
        messages = posted(setup.fake, channel)
        want = [as_posted(b) for d in dates for b in expected[d, channel]]
        got = [as_posted(m) for m in messages]
        assert got == want, f"channel {channel} ({CHANNELS[channel]})"
        ids = [int(m["id"]) for m in messages]
        from_ledger: list[int] = []
        for date in dates:
            status, parts, message_ids = rows[channel, date]
            assert (status, parts) == ("sent", len(expected[date, channel]))
            from_ledger += message_ids
        assert from_ledger == ids, f"channel {channel}"


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kill_after", [1, 7, 19])
async def test_killed_while_posting_resumes_without_duplicates(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    expected: dict[tuple[str, int], Bodies],
    kill_after: int,
) -> None:
    setup = prepare(fake_discord, tmp_path)
    await subscribe_all(setup)
    victim: list[subprocess.Popen[bytes]] = []

    # SIGKILL the bot when the K-th digest message is stored, before Discord answers it.
    create_message = fake_discord._create_channel_message

    async def create_then_kill(call: Any) -> Any:
        message = await create_message(call)
        if victim and delivered(fake_discord) >= kill_after:
            victim.pop().send_signal(signal.SIGKILL)
        return message

    fake_discord._create_channel_message = create_then_kill  # type: ignore[method-assign]

    async with bot_processes(setup) as processes:
        victim.append(await processes.start_connected())
        first = processes.running[0]
        publish(setup, DAY_A)
        assert await wait_exit(first) == -signal.SIGKILL
        total = sum(len(expected[DAY_A, c]) for c in CHANNELS)
        assert kill_after <= delivered(fake_discord) < total, "killed too late to matter"
        cut_short = ledger(setup.database)
        assert any(status != "sent" for status, _, _ in cut_short.values())

        second = await processes.start_connected()
        await wait_delivered(setup, (DAY_A,), expected, second)
        second.send_signal(signal.SIGTERM)
        await wait_exit(second)

    assert_exact_digests(setup, (DAY_A,), expected)
    # The K-th message was stored but its answer lost: it was sent again with the same
    # nonce and Discord answered with the stored message instead of posting it twice.
    assert fake_discord.nonce_hits >= 1


async def test_restart_between_days_posts_each_day_once(
    fake_discord: FakeDiscord, tmp_path: Path, expected: dict[tuple[str, int], Bodies]
) -> None:
    setup = prepare(fake_discord, tmp_path)
    await subscribe_all(setup)
    async with bot_processes(setup) as processes:
        first = await processes.start_connected()
        publish(setup, DAY_A)
        await wait_delivered(setup, (DAY_A,), expected, first)
        # `hotpapers run` installs no SIGTERM handler today, so this ends it at once (-15);
        # between days that is as safe as a clean close, which is what this test checks.
        first.send_signal(signal.SIGTERM)
        await wait_exit(first)
        posts_of_day_a = len(fake_discord.find_requests("POST", "/channels/{id}/messages"))

        second = await processes.start_connected()
        await asyncio.sleep(2.5)  # a few poll and delivery runs over day A's post
        assert len(fake_discord.find_requests("POST", "/channels/{id}/messages")) == posts_of_day_a
        publish(setup, DAY_B)
        await wait_delivered(setup, (DAY_A, DAY_B), expected, second)
        second.send_signal(signal.SIGTERM)
        await wait_exit(second)

    assert_exact_digests(setup, (DAY_A, DAY_B), expected)
    assert fake_discord.nonce_hits == 0
