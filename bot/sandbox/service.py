"""What the local stand-ins for Bluesky's AppView and arXiv's API share: an aiohttp server
on 127.0.0.1 on an ephemeral port, and public fault hooks for the tests and benches."""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass
from typing import Literal, Self

from aiohttp import web

__all__ = ["Fault", "LocalService"]

FaultKind = Literal["status", "hang", "malformed", "empty"]


@dataclass(slots=True)
class Fault:
    """An injected misbehaviour for the next `remaining` requests (see LocalService)."""

    kind: FaultKind
    remaining: int
    status: int = 500
    seconds: float = math.inf
    after: int = 0  # requests to answer normally first


class LocalService:
    """An aiohttp server on 127.0.0.1 (ephemeral port) with public fault hooks.

    Faults apply to the next requests in the order they were added, each after `after`
    requests answered normally: `fail_next` answers with a status, `hang_next` holds the
    answer back (until `seconds` pass or the server stops), `malformed_next` answers a body
    cut short, `empty_next` an empty result.
    """

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._release = asyncio.Event()

    def _routes(self) -> list[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        app = web.Application()
        app.add_routes(self._routes())
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self._release.clear()
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._release.set()  # hung answers end now
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, count: int = 1, status: int = 500, *, after: int = 0) -> None:
        """Answer the next `count` requests with `status`, each service in its own words."""
        self.faults.append(Fault("status", count, status=status, after=after))

    def hang_next(self, count: int = 1, seconds: float = math.inf, *, after: int = 0) -> None:
        """Hold the next `count` answers back for `seconds`, or until the server stops."""
        self.faults.append(Fault("hang", count, seconds=seconds, after=after))

    def malformed_next(self, count: int = 1, *, after: int = 0) -> None:
        """Answer the next `count` requests with a body cut off in the middle."""
        self.faults.append(Fault("malformed", count, after=after))

    def empty_next(self, count: int = 1, *, after: int = 0) -> None:
        """Answer the next `count` requests with a well-formed but empty result."""
        self.faults.append(Fault("empty", count, after=after))

    def clear_faults(self) -> None:
        self.faults.clear()

    def _take_fault(self) -> Fault | None:
        while self.faults:
            fault = self.faults[0]
            if fault.after > 0:
                fault.after -= 1
                return None
            if fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self.faults.pop(0)
                return fault
            self.faults.pop(0)
        return None

    async def _hang(self, seconds: float) -> None:
        timeout = None if math.isinf(seconds) else seconds
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), timeout)
