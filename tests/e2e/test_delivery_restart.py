"""End-to-end tests of delivery across restarts: `hotpapers run` as a real process.

The bot runs as ``python -m bot run --config cfg.toml`` against the fake Discord served by
this test's event loop. Twenty channels follow categories with big digests (several messages
each); the process is killed with SIGKILL in the middle of posting a day, at the very moment
the K-th message is stored (so its answer is lost too), then started again. Every channel
must end up with exactly its digest, as ``hotpapers digest --json`` renders it: nothing
missing, nothing twice. The process harness is tests/support/processes.py.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_discord import FakeDiscord
from tests.support.processes import (
    CHANNELS,
    DAY_A,
    DAY_B,
    Bodies,
    Expected,
    Layout,
    assert_exact_digests,
    bot_processes,
    delivered,
    expected_digests,
    ledger,
    prepare,
    publish,
    subscribe_all,
    wait_delivered,
    wait_exit,
)


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> Expected:
    """(date, channel) → the message bodies `hotpapers digest --json` gives (no nonce)."""
    found = expected_digests(Layout(), tmp_path_factory.mktemp("expected"))
    # Big digests: several messages for most channels.
    assert max(len(b) for b in found.values()) >= 3
    return found


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
    def kill_once_stored(message: dict[str, Any]) -> None:
        if victim and delivered(fake_discord) >= kill_after:
            victim.pop().send_signal(signal.SIGKILL)

    fake_discord.message_listeners.append(kill_once_stored)

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

        # The second bot polls day A's post again at start, then day B's with it: day A
        # must not be posted again (assert_exact_digests and no nonce hit, below).
        second = await processes.start_connected()
        publish(setup, DAY_B)
        await wait_delivered(setup, (DAY_A, DAY_B), expected, second)
        second.send_signal(signal.SIGTERM)
        await wait_exit(second)

    assert_exact_digests(setup, (DAY_A, DAY_B), expected)
    assert fake_discord.nonce_hits == 0
