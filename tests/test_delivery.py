"""The delivery module's own pieces: nonces, and the pacer under Discord's global limit."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools

import pytest

from bot.client.pacing import Pacer
from bot.delivery.nonces import delivery_nonce, with_nonce
from bot.render import Message


def test_nonce_is_stable_short_and_distinct_per_part() -> None:
    date = dt.date(2021, 3, 15)
    nonce = delivery_nonce(1_234_567_890_123_456_789, date, 0)
    assert nonce == "9do1sj396nf9.210315.0"  # base 36
    assert delivery_nonce(1_234_567_890_123_456_789, date, 0) == nonce
    assert delivery_nonce(1_234_567_890_123_456_789, date, 1) != nonce
    assert len(delivery_nonce(2**64 - 1, date, 99)) <= 25


async def test_pacer_spaces_concurrent_callers_evenly() -> None:
    pacer = Pacer(50.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    times: list[float] = []

    async def caller() -> None:
        await pacer.wait()
        times.append(loop.time() - started)

    await asyncio.gather(*(caller() for _ in range(11)))
    times.sort()
    assert times[0] < 0.01  # the first goes at once
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.018  # 1/50 s apart, give or take the timer's resolution
    assert times[-1] >= 10 / 50 - 0.005


async def test_pacer_does_not_save_up_idle_time() -> None:
    pacer = Pacer(20.0)
    await pacer.wait()
    await asyncio.sleep(0.2)  # idle: no burst of four afterwards
    loop = asyncio.get_running_loop()
    started = loop.time()
    await pacer.wait()
    await pacer.wait()
    assert loop.time() - started >= 0.045


def test_pacer_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="per_second must be positive, got 0"):
        Pacer(0)


def test_a_body_with_its_nonce_keeps_mentions_off() -> None:
    body = with_nonce(Message(content="hi").body(), "n-1")
    assert body == {
        "allowed_mentions": {"parse": []},
        "content": "hi",
        "nonce": "n-1",
        "enforce_nonce": True,
    }
