"""Bluesky test machinery: waiting for a condition, the kept posts, injected sleeps and
clocks, the collector killed at random moments (shared by tests and bench/collector.py), and
a small day about the sample papers for the end-to-end tests."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.bluesky.days import to_us
from bot.bluesky.posts import CollectedPost, Cursor
from bot.sandbox.appview import LocalAppView
from bot.sandbox.arxiv_api import sample_papers
from bot.sandbox.bluesky_synthetic import SyntheticStream
from bot.sandbox.jetstream import LocalJetstream
from bot.sandbox.live import LivePost, linking
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


# ---------------------------------------------------------------------------------------------
# A small Bluesky day about the sample papers, for the end-to-end tests: what the stream
# delivers, what the AppView counts, and the ranking and digest that must come of it.
# ---------------------------------------------------------------------------------------------

DAY = dt.date(2025, 6, 15)  # its window: 06-15 00:00 to 06-16 00:00 UTC (the defaults)
IMAP, PERCEIVER, CATALA, ANYCOST = "2103.12352", "2103.03206", "2103.03198", "2103.03243"
HUMANGAN, VARIANCE = "2103.06902", "2103.03098"


def at(hour: int, minute: int = 0, *, day: dt.date = DAY) -> int:
    """Stream time (time_us) of `hour:minute` UTC on `day`."""
    return to_us(dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC))


def _post(
    handle: str, arxiv_id: str, likes: int, reposts: int, time_us: int, serial: int
) -> LivePost:
    author = (f"did:plc:{handle}", f"{handle}.bsky.social", handle.title())
    link = f"https://arxiv.org/abs/{arxiv_id}"
    post = linking(author, f"3lte2e{serial:05d}", time_us, link, ("New paper:", ""))
    return dataclasses.replace(post, likes=likes, reposts=reposts)


@dataclasses.dataclass(frozen=True)
class BlueskyDay:
    """The day's posts in stream order (the deleted one among them) and the delete."""

    posts: tuple[LivePost, ...]
    deleted: LivePost
    deleted_at: int  # time_us of its delete

    def events(self) -> list[tuple[int, dict[str, Any]]]:
        """What the stream delivers, in order: every create, and the delete."""
        events = [(p.time_us, p.created()) for p in self.posts]
        events.append((self.deleted_at, self.deleted.deleted()))
        return sorted(events, key=lambda pair: pair[0])

    def collected(self) -> list[CollectedPost]:
        """What a collector keeps of them: every post but the deleted one."""
        return [
            CollectedPost(
                p.uri,
                p.did,
                p.rkey,
                p.text,
                ("en",),
                dt.datetime.fromtimestamp(p.time_us / 1e6, dt.UTC),
                p.time_us,
                p.arxiv_ids,
            )
            for p in self.posts
            if p != self.deleted
        ]

    def serve(self, appview: LocalAppView) -> None:
        """The AppView's counts: the deleted post still among them (its delete has not
        reached the AppView yet), so only the collector can leave it out."""
        for post in self.posts:
            appview.add_post(post.view())


def bluesky_day() -> BlueskyDay:
    """iMAP 50 likes + 10 reposts, Perceiver 40 + 7, Catala (cs.PL) 18 + 2, Anycost 12 + 1;
    a paper below min_score; a feed linking 21 papers at 100 likes each (left out); HumanGAN
    liked 900 times by a post deleted an hour later; and the next day's first post."""
    serial = iter(range(1, 1000))
    posts = [
        _post("ada", PERCEIVER, 30, 5, at(9), next(serial)),
        _post("bob", PERCEIVER, 10, 2, at(10), next(serial)),
        _post("carol", IMAP, 50, 10, at(11), next(serial)),
        _post("dave", ANYCOST, 12, 1, at(12), next(serial)),
        _post("erin", CATALA, 18, 2, at(13), next(serial)),
        _post("gus", VARIANCE, 5, 0, at(13, 30), next(serial)),
    ]
    feed_ids = [p.arxiv_id for p in sample_papers()[:21]]
    posts += [
        _post("papers-bot", arxiv_id, 100, 0, at(14, n), next(serial))
        for n, arxiv_id in enumerate(feed_ids)
    ]
    deleted = _post("eve", HUMANGAN, 900, 100, at(15), next(serial))
    posts.append(deleted)
    posts.append(_post("frank", ANYCOST, 100, 0, at(0, 5, day=DAY + dt.timedelta(days=1)), 999))
    return BlueskyDay(tuple(posts), deleted, at(16))


# The day's digest for a channel following cs.CV: iMAP, Perceiver and Anycost (Catala is
# cs.PL), with (reposts, likes) as the AppView counts them.
CV_HEADER = "**Hot Papers 2025-06-15** · 3 of 4 papers match cs.CV"
CV_TITLES = [
    "#1 · iMAP: Implicit Mapping and Positioning in Real-Time",
    "#2 · Perceiver: General Perception with Iterative Attention",
    "#4 · Anycost GANs for Interactive Image Synthesis and Editing",
]
CV_COUNTS = [(10, 50), (7, 40), (1, 12)]
