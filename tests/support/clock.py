"""A clock that only moves when something sleeps on it (or a test moves it), for waits that
take no real time."""

from __future__ import annotations

import asyncio
import datetime as dt

NOW = 1_750_000_000.0  # unix seconds


class FakeClock:
    """Call it for the time (`utc()` as a datetime); `sleep` moves it on at once and records
    each sleep. After `hold()`, a sleep moves the clock on, then waits for `release()`; a
    test awaits `asleep` to know that something went to sleep."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.sleeps: list[float] = []
        self.asleep = asyncio.Event()
        self._awake = asyncio.Event()
        self._awake.set()

    def __call__(self) -> float:
        return self.now

    def utc(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now, dt.UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def hold(self) -> None:
        self._awake.clear()

    def release(self) -> None:
        self._awake.set()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.asleep.set()
        await self._awake.wait()
        await asyncio.sleep(0)


class SteppedClock:
    """A monotonic clock that only a test moves: call it for the time; `sleep` returns once
    `advance` has moved the clock past the sleep's end, however long that is."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self._moved = asyncio.Condition()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        end = self.now + seconds
        async with self._moved:
            await self._moved.wait_for(lambda: self.now >= end)

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        async with self._moved:
            self._moved.notify_all()
