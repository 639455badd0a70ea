"""A clock that only moves when something sleeps on it, for waits that take no real time."""

from __future__ import annotations

import asyncio

NOW = 1_750_000_000.0  # unix seconds


class FakeClock:
    """Call it for the time; `sleep` moves it on at once and records each sleep."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
