"""kill -9 of a collector process at random moments of a 50,000-event replay, then restart:
every linking post of the replay not deleted is stored, once, and nothing else."""

from __future__ import annotations

import random
import time
from pathlib import Path

from bot.bluesky.events import Cursor
from bot.sandbox.bluesky_synthetic import SyntheticStream
from bot.sandbox.jetstream import LocalJetstream
from bot.store import Store
from bot.store.bluesky import BlueskyBatch

from .helpers import PAPERS, kept, wait_until
from .processes import CollectorProcess, write_config

EVENTS = 50_000
KILLS = 3


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


async def test_kill_9_at_random_moments_loses_no_post_and_counts_none_twice(
    tmp_path: Path,
) -> None:
    await replay_with_kills(tmp_path, EVENTS, KILLS, seed=11)
