"""End to end: SIGTERM or SIGINT stops `hotpapers run` cleanly, even in the middle of posting.

The bot runs as a real process against the fake Discord (tests/support/processes.py). The signal
is sent the moment the K-th digest message is stored, while the bot waits for Discord's
answer: the process must exit 0 with every message it posted recorded in the ledger (none
posted but unrecorded, which a restart would have to send again), and a restart must finish
the day with every digest exactly once, without a single resend.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_discord import FakeDiscord
from tests.support.processes import (
    DAY_A,
    Expected,
    Layout,
    assert_exact_digests,
    bot_processes,
    delivered,
    expected_digests,
    ledger,
    posted,
    prepare,
    publish,
    subscribe_all,
    total_messages,
    wait_delivered,
    wait_exit,
)

LAYOUT = Layout(days=(DAY_A,))
STOP_AT = 9  # the digest message whose arrival sends the signal


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> Expected:
    return expected_digests(LAYOUT, tmp_path_factory.mktemp("expected"))


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_mid_delivery_stops_cleanly(
    fake_discord: FakeDiscord, tmp_path: Path, expected: Expected, number: signal.Signals
) -> None:
    setup = prepare(fake_discord, tmp_path, LAYOUT)
    await subscribe_all(setup)
    total = total_messages(expected, LAYOUT, LAYOUT.days)
    victim: list[subprocess.Popen[bytes]] = []

    # The signal comes once the K-th message is stored, before Discord answers it.
    def signal_once_stored(message: dict[str, Any]) -> None:
        if victim and delivered(fake_discord, setup.channels) >= STOP_AT:
            victim.pop().send_signal(number)

    fake_discord.message_listeners.append(signal_once_stored)

    async with bot_processes(setup) as processes:
        first = await processes.start_connected()
        victim.append(first)
        publish(setup, DAY_A)
        assert await wait_exit(first) == 0, processes.log_text()[-5000:]
        stopped_at = delivered(fake_discord, setup.channels)
        assert STOP_AT <= stopped_at < total, "the signal came too late to matter"
        # Every message posted is in the ledger, in order; the rest is still to send.
        rows = ledger(setup.database)
        for channel in setup.channels:
            ids = [int(m["id"]) for m in posted(fake_discord, channel)]
            status, parts, recorded = rows.get((channel, DAY_A), ("unplanned", 0, []))
            assert (parts, recorded) == (len(ids), ids), f"channel {channel}: {status}"
        assert any(status != "sent" for status, _, _ in rows.values())
        name = number.name
        log = processes.log_text()
        assert f"{name}: stopping once the messages being posted are recorded" in log
        assert "Traceback" not in log

        second = await processes.start_connected()
        await wait_delivered(setup, LAYOUT.days, expected, second)
        second.send_signal(signal.SIGTERM)
        assert await wait_exit(second) == 0

    assert_exact_digests(setup, LAYOUT.days, expected)
    assert fake_discord.nonce_hits == 0  # nothing was posted without being recorded
