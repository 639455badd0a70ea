"""The delivery module's own pieces: nonces, and the pacer under Discord's global limit."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.client.pacing import Pacer
from bot.delivery.nonces import delivery_nonce, with_nonce
from bot.render import Message
from tests.support.clock import FakeClock


def test_nonce_is_stable_short_and_distinct_per_part() -> None:
    date = dt.date(2021, 3, 15)
    nonce = delivery_nonce(1_234_567_890_123_456_789, date, 0)
    assert nonce == "9do1sj396nf9.210315.0"  # base 36
    assert delivery_nonce(1_234_567_890_123_456_789, date, 0) == nonce
    assert delivery_nonce(1_234_567_890_123_456_789, date, 1) != nonce
    assert len(delivery_nonce(2**64 - 1, date, 99)) <= 25


async def test_pacer_spaces_concurrent_callers_evenly() -> None:
    clock = FakeClock(0.0)
    pacer = Pacer(50.0, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(pacer.wait() for _ in range(11)))
    # The first goes at once, each next 1/50 s after the one before (the clock moves on as
    # each sleeps): eleven callers take ten intervals, none goes together with another.
    assert clock.sleeps == pytest.approx([1 / 50] * 10)
    assert clock() == pytest.approx(10 / 50)


async def test_pacer_does_not_save_up_idle_time() -> None:
    clock = FakeClock(0.0)
    pacer = Pacer(20.0, clock=clock, sleep=clock.sleep)
    await pacer.wait()
    clock.advance(0.2)  # idle: no burst of four afterwards
    await pacer.wait()  # at once
    await pacer.wait()  # 1/20 s later
    assert clock.sleeps == pytest.approx([0.05])


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
