"""The pacer keeps the bot's REST requests under Discord's global limit, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from bot.client.pacing import Pacer
from tests.support.clock import FakeClock


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
