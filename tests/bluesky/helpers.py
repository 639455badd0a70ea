"""Shared by the collector tests: waiting for a condition, the kept posts, an injected sleep."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from bot.store import Store

DEADLINE = 20.0  # seconds; generous for a loaded machine, never waited when things work
PAPERS = [f"2401.{n:05d}" for n in range(1, 300)] + ["hep-th/9901001", "math.GT/0309136"]


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, deadline: float = DEADLINE
) -> None:
    """Poll `condition` every 10 ms until it holds; fail saying `what` after `deadline` s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not await condition():
        if loop.time() > end:
            raise AssertionError(f"not within {deadline} s: {what}")
        await asyncio.sleep(0.01)


async def kept(store: Store) -> dict[str, tuple[str, ...]]:
    """The kept posts: uri → paper ids."""
    return {post.uri: post.arxiv_ids for post in await store.bluesky.between(0, 2**62)}


class FakeSleep:
    """Stands in for asyncio.sleep between reconnects: records each delay and waits for none,
    except that from the `hold_after`-th on it waits until `released` is set."""

    def __init__(self, hold_after: int | None = None) -> None:
        self.delays: list[float] = []
        self.hold_after = hold_after
        self.released = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.hold_after is not None and len(self.delays) >= self.hold_after:
            await self.released.wait()
        else:
            await asyncio.sleep(0)
