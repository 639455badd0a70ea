"""Bluesky test machinery: waiting for a condition, the kept posts, injected sleeps and
clocks, and the collector killed at random moments (shared by tests and bench/collector.py)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.bluesky.posts import Cursor
from bot.sandbox.bluesky_synthetic import SyntheticStream
from bot.sandbox.jetstream import LocalJetstream
from bot.store import Store
from bot.store.bluesky import BlueskyBatch

from .collector_process import CollectorProcess, write_config
from .waiting import eventually

DEADLINE = 20.0  # seconds; generous for a loaded machine, never waited when things work
PAPERS = [f"2401.{n:05d}" for n in range(1, 300)] + ["hep-th/9901001", "math.GT/0309136"]


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, deadline: float = DEADLINE
) -> None:
    """Check `condition` every 10 ms until it holds; fail saying `what` after `deadline` s."""
    await eventually(condition, what, deadline)


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


async def replay_with_kills(tmp_path: Path, events: int, kills: int, seed: int) -> tuple[int, int]:
    """Replay `events` synthetic events to a collector process killed `kills` times at random
    moments, and check what it stored; returns the posts stored and the frames sent. Also
    run, longer, by `bench.collector kill9`."""
    rng = random.Random(seed)
    start_us = int(time.time() * 1e6) - 3_600_000_000  # an hour ago: inside the window
    synthetic = SyntheticStream(PAPERS, seed=seed, start_us=start_us, account_share=0.001)
    database = tmp_path / "archive.sqlite3"
    replay = synthetic.events(events)  # drawn as the collector reads
    async with LocalJetstream(replay=replay) as jetstream, await Store.open(database) as store:
        # As if it had run before: resume from the replay's start, not from the live tip.
        await store.bluesky.record(BlueskyBatch((), Cursor(start_us)))
        config = write_config(tmp_path, database, jetstream.url)
        collector = CollectorProcess(config)
        try:
            # A random point in each of `kills` stretches of the replay (the stand-in draws it
            # 1,000 events ahead of its readers), once the restarted process reads again.
            stretch = events // kills
            for n in range(kills):
                at = rng.randrange(n * stretch + 1000, (n + 1) * stretch)
                await collector.start()

                async def reached(at: int = at, connections: int = n + 1) -> bool:
                    return jetstream.stats.connections == connections and jetstream.next_seq > at

                await wait_until(reached, f"event {at} of the replay drawn")
                await collector.kill()
            await collector.start()

            async def caught_up() -> bool:
                cursor = await store.bluesky.cursor()
                return (
                    jetstream.replay_done
                    and cursor is not None
                    and cursor.time_us == jetstream.last_time_us
                )

            await wait_until(caught_up, "the stored cursor at the last event", deadline=120)
        finally:
            await collector.kill()
        stored = await kept(store)
        assert stored == synthetic.expected
        assert await store.bluesky.count() == len(synthetic.expected)
        assert jetstream.stats.connections == kills + 1
        # Killed mid-stream, each restart read the last few seconds again.
        assert jetstream.stats.frames_sent > events
        return len(stored), jetstream.stats.frames_sent
