"""Pacing the bot's REST requests under Discord's global rate limit: a concern of the HTTP
client, which every request goes through (digests and command syncs alike)."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable

import aiohttp
from discord.http import Route


class Pacer:
    """Spaces requests evenly at `per_second`, under Discord's global limit (50 a second).

    discord.py waits out a route's bucket once its headers say it is empty, but only reacts
    to a global 429 after the fact. The pacer is an aiohttp hook (`trace_config`), so it acts
    as each request is sent, after any bucket wait: requests released together by a bucket
    still leave one by one.
    """

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """`clock` and `sleep` are the event loop's unless given (a test's clock)."""
        if not per_second > 0:
            raise ValueError(f"per_second must be positive, got {per_second}")
        self.interval = 1.0 / per_second
        self._clock = clock
        self._sleep = sleep
        self._next = -math.inf

    async def wait(self) -> None:
        """Return at this caller's slot: the first at once, each next `interval` later."""
        now = self._clock() if self._clock else asyncio.get_running_loop().time()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            await self._sleep(slot - now)

    def trace_config(self) -> aiohttp.TraceConfig:
        """Paces every REST request (`Route.BASE`) but interaction responses, which Discord
        exempts from the global limit; for discord.py's `http_trace`."""
        trace = aiohttp.TraceConfig()

        async def on_request_start(
            session: aiohttp.ClientSession,
            context: object,
            params: aiohttp.TraceRequestStartParams,
        ) -> None:
            url = str(params.url)
            if url.startswith(Route.BASE) and not _EXEMPT.match(url, len(Route.BASE)):
                await self.wait()

        trace.on_request_start.append(on_request_start)
        return trace


_EXEMPT = re.compile(r"/(interactions|webhooks)/")
