"""The collector against the local Jetstream: what it keeps, and the faults it survives."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.bluesky.collector import DECODER_FAILED, Collector, run_collector, subscribe_url
from bot.bluesky.events import POST, Event, FrameDecoder
from bot.bluesky.posts import Cursor
from bot.config import BlueskyConfig, Config
from bot.sandbox.bluesky_synthetic import SyntheticStream
from bot.sandbox.jetstream import LocalJetstream
from bot.store import Store
from bot.store.database import Database
from tests.support.bluesky import PAPERS, FakeSleep, kept, wait_until
from tests.support.database import Locker

LOGGER = "bot.bluesky.collector"
MARGIN_US = 5_000_000  # the default resume margin


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
async def jetstream() -> AsyncIterator[LocalJetstream]:
    async with LocalJetstream() as local:
        yield local


def collector_for(
    store: Store,
    jetstream: LocalJetstream,
    session: aiohttp.ClientSession,
    sleep: FakeSleep | None = None,
    **options: Any,
) -> Collector:
    settings: dict[str, Any] = {"batch_size": 100, "flush_seconds": 0.02, "rng": random.Random(1)}
    settings |= options
    return Collector(store.bluesky, jetstream.url, session, sleep=sleep or FakeSleep(), **settings)


@contextlib.asynccontextmanager
async def running(collector: Collector) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(collector.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def connected(jetstream: LocalJetstream, count: int = 1) -> None:
    """Wait until `count` connections were accepted in all and one is open."""

    async def ready() -> bool:
        return jetstream.stats.connections >= count and jetstream.active_connections == 1

    await wait_until(ready, f"connection {count} to the local Jetstream")


async def caught_up(store: Store, jetstream: LocalJetstream) -> None:
    """Wait until the stored cursor is at the newest event."""

    async def done() -> bool:
        cursor = await store.bluesky.cursor()
        return cursor is not None and cursor.time_us == jetstream.last_time_us

    await wait_until(done, f"the stored cursor at the newest event {jetstream.last_time_us}")


def publish(jetstream: LocalJetstream, stream: SyntheticStream, count: int) -> None:
    for _, event in stream.events(count):
        jetstream.publish(event)


def stream(seed: int = 0) -> SyntheticStream:
    return SyntheticStream(PAPERS, seed=seed, link_share=0.05, account_share=0.002)


def test_subscribe_url_asks_for_posts_from_a_little_before_the_cursor() -> None:
    base = "wss://jetstream.example/subscribe"
    assert str(subscribe_url(base, None, 5.0)) == (
        "wss://jetstream.example/subscribe?wantedCollections=app.bsky.feed.post"
    )
    assert str(subscribe_url(base, Cursor(1_725_911_162_329_308, 77), 5.0)) == (
        "wss://jetstream.example/subscribe?wantedCollections=app.bsky.feed.post"
        "&cursor=1725911157329308"
    )
    assert str(subscribe_url(f"{base}?compress=false", Cursor(10_000_000), 2.5)) == (
        "wss://jetstream.example/subscribe?compress=false&wantedCollections=app.bsky.feed.post"
        "&cursor=7500000"
    )


async def test_collects_exactly_the_linking_posts_not_deleted(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    synthetic = stream()
    collector = collector_for(store, jetstream, session)
    async with running(collector):
        await connected(jetstream)
        publish(jetstream, synthetic, 3000)
        await caught_up(store, jetstream)
    assert await kept(store) == synthetic.expected
    assert len(synthetic.expected) > 100
    [first] = list(jetstream.subscriptions)
    assert first.cursor is None  # nothing stored yet: from the live tip
    assert first.collections == ("app.bsky.feed.post",)
    assert collector.stats.events == 3000
    assert collector.stats.malformed == {}
    assert collector.stats.reconnects == 0


async def test_a_lone_event_is_stored_once_flush_seconds_pass(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    collector = collector_for(store, jetstream, session, batch_size=1000, flush_seconds=0.05)
    synthetic = SyntheticStream(PAPERS, seed=3, link_share=1.0, delete_share=0, feed_share=0)
    async with running(collector):
        await connected(jetstream)
        publish(jetstream, synthetic, 1)
        await caught_up(store, jetstream)
    assert await kept(store) == synthetic.expected
    assert len(synthetic.expected) == 1


async def test_a_batch_is_stored_every_batch_size_events(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    # The clock stands still and the flush time is far off: only the size stores batches.
    collector = collector_for(
        store, jetstream, session, batch_size=10, flush_seconds=3600, clock=lambda: 0.0
    )
    synthetic = stream(4)
    async with running(collector):
        await connected(jetstream)
        times = []
        for time_us, event in synthetic.events(25):
            jetstream.publish(event, time_us=time_us)
            times.append(time_us)

        async def two_batches() -> bool:
            return collector.stats.batches == 2 and collector.stats.events == 25

        await wait_until(two_batches, "two batches stored, 25 events read")
        stored = await store.bluesky.cursor()
        assert stored is not None
        assert stored.time_us == times[19]


async def test_resumes_after_a_restart_from_the_stored_cursor_a_few_seconds_back(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    synthetic = stream(1)
    async with running(collector_for(store, jetstream, session)):
        await connected(jetstream)
        publish(jetstream, synthetic, 1000)
        await caught_up(store, jetstream)
    stored = await store.bluesky.cursor()
    assert stored is not None
    publish(jetstream, synthetic, 1000)  # while it is stopped
    again = collector_for(store, jetstream, session)
    async with running(again):
        await caught_up(store, jetstream)
    assert await kept(store) == synthetic.expected
    assert jetstream.subscriptions[-1].cursor == stored.time_us - MARGIN_US
    # Everything published in the margin came again and was kept once.
    assert again.stats.events > 1000


async def test_a_connection_cut_mid_frame_resumes_from_the_cursor(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    synthetic = stream(2)
    sleep = FakeSleep()
    collector = collector_for(store, jetstream, session, sleep)
    async with running(collector):
        for round_ in range(1, 5):
            await connected(jetstream, round_)
            publish(jetstream, synthetic, 500)
            await caught_up(store, jetstream)
            stored = await store.bluesky.cursor()
            assert stored is not None
            publish(jetstream, synthetic, 50)  # in flight when the connection drops
            jetstream.drop_connections()
        await connected(jetstream, 5)
        await caught_up(store, jetstream)
    assert await kept(store) == synthetic.expected
    assert jetstream.stats.dropped == 4
    assert collector.stats.reconnects == 4
    # Each drop followed progress, so each wait is the first step: 0.5 s with jitter.
    assert len(sleep.delays) == 4
    assert all(0.25 <= delay <= 0.5 for delay in sleep.delays), sleep.delays
    assert all(s.cursor is not None for s in list(jetstream.subscriptions)[1:])


async def test_backoff_doubles_while_the_server_is_down_and_resets_after_progress(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    synthetic = stream(3)
    sleep = FakeSleep(hold_after=8)
    collector = collector_for(store, jetstream, session, sleep)
    async with running(collector):
        await connected(jetstream)
        publish(jetstream, synthetic, 200)
        await caught_up(store, jetstream)
        await jetstream.stop()

        async def held() -> bool:
            return len(sleep.delays) == 8

        await wait_until(held, "eight reconnects")
        # First the close after progress, then 7 refused connections; 60 s at most.
        ceilings = [0.5, 1, 2, 4, 8, 16, 32, 60]
        for delay, ceiling in zip(sleep.delays, ceilings, strict=True):
            assert ceiling / 2 <= delay <= ceiling, sleep.delays
        await jetstream.start()
        publish(jetstream, synthetic, 200)
        sleep.hold_after = None
        sleep.released.set()
        await caught_up(store, jetstream)
        jetstream.drop_connections()

        async def ninth() -> bool:
            return len(sleep.delays) == 9

        await wait_until(ninth, "a reconnect after progress")
        assert 0.25 <= sleep.delays[8] <= 0.5
        await caught_up(store, jetstream)
    assert await kept(store) == synthetic.expected


@pytest.mark.parametrize("keep_log", [True, False])
async def test_the_server_closing_and_restarting_loses_nothing(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession, keep_log: bool
) -> None:
    synthetic = stream(4)
    collector = collector_for(store, jetstream, session)
    async with running(collector):
        await connected(jetstream)
        publish(jetstream, synthetic, 500)
        await caught_up(store, jetstream)
        await jetstream.close_connections(1000)
        await connected(jetstream, 2)
        publish(jetstream, synthetic, 500)
        await caught_up(store, jetstream)
        await jetstream.stop(keep_log=keep_log)
        await jetstream.start()
        await connected(jetstream, 3)
        publish(jetstream, synthetic, 500)
        await caught_up(store, jetstream)
    assert await kept(store) == synthetic.expected
    # Two reconnects, and more when it came back before the server did.
    assert collector.stats.reconnects >= 2
    # The cursor is a time, so it means the same on the restarted (or another) instance.
    stored = await store.bluesky.cursor()
    assert stored is not None
    assert stored.seq == (1500 if keep_log else 500)


async def test_redelivered_events_are_kept_once_and_an_edit_is_not_undone(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    synthetic = stream(5)
    did, rkey = "did:plc:editor", "3kedited2222a"
    record = {"$type": "app.bsky.feed.post", "createdAt": "2024-09-09T19:46:02.102Z"}
    created: dict[str, Any] = {"rev": "a", "operation": "create", "collection": POST}
    created |= {"rkey": rkey, "cid": "bafyrei"}
    created["record"] = {**record, "text": "arxiv.org/abs/2401.00001"}
    updated = {**created, "operation": "update"}
    updated["record"] = {**record, "text": "rather arxiv.org/abs/2401.00002"}
    edited = {f"at://{did}/app.bsky.feed.post/{rkey}": ("2401.00002",)}
    collector = collector_for(store, jetstream, session)
    async with running(collector):
        await connected(jetstream)
        publish(jetstream, synthetic, 300)
        jetstream.publish({"did": did, "commit": created})
        jetstream.publish({"did": did, "commit": updated})
        publish(jetstream, synthetic, 300)
        await caught_up(store, jetstream)
        assert await kept(store) == synthetic.expected | edited
        jetstream.redeliver(1)
        publish(jetstream, synthetic, 1)  # after the redelivered ones
        await caught_up(store, jetstream)
    assert await kept(store) == synthetic.expected | edited
    assert collector.stats.events == 2 * 602 + 1
    assert jetstream.stats.redelivered == 1


async def test_malformed_events_are_counted_and_skipped(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    good = {"$type": "app.bsky.feed.post", "createdAt": "2024-09-09T19:46:02.102Z"}

    def post(rkey: str, record: Any) -> dict[str, Any]:
        commit = {"rev": "a", "operation": "create", "collection": "app.bsky.feed.post"}
        return {"did": "did:plc:x", "commit": commit | {"rkey": rkey, "record": record}}

    link = "https://arxiv.org/abs/2401.00001"
    collector = collector_for(store, jetstream, session)
    async with running(collector) as task:
        await connected(jetstream)
        jetstream.publish(post("3ka", {**good, "text": f"first {link}"}))
        jetstream.publish(post("3kb", {**good, "text": link + " x" * 50_000}))
        jetstream.publish(post("3kc", {**good, "text": 2401.00001, "facets": link}))
        jetstream.publish(post("3kd", {**good, "$type": "app.example.post", "text": link}))
        jetstream.publish(post("3ke", [link]))
        jetstream.publish(post("3kf", {**good, "text": link, "langs": "en"}))
        jetstream.publish(
            {"did": "not a did", "commit": post("3kg", {**good, "text": link})["commit"]}
        )
        jetstream.publish(post("3kh", {**good, "text": f"last {link}"}))
        await caught_up(store, jetstream)
        assert not task.done()
    assert sorted(await kept(store)) == [
        "at://did:plc:x/app.bsky.feed.post/3ka",
        "at://did:plc:x/app.bsky.feed.post/3kh",
    ]
    assert collector.stats.malformed == {
        "post text longer than 3000 bytes": 1,
        "post text missing or not a string": 1,
        "record $type is not app.bsky.feed.post": 1,
        "record missing or not an object": 1,
        "post langs not a list of at most 3 language tags": 1,
        "did missing or invalid": 1,
    }


class BrokenDecoder(FrameDecoder):
    """A decoder with a bug that shows on frames mentioning "boom"."""

    def decode(self, frame: str | bytes) -> Event | None:
        if "boom" in str(frame):
            raise KeyError("boom")
        return super().decode(frame)


async def test_a_decoder_bug_skips_the_frame_and_is_logged_once(
    store: Store,
    jetstream: LocalJetstream,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    synthetic = stream(9)
    collector = collector_for(store, jetstream, session)
    collector.decoder = BrokenDecoder()
    identity = {"did": "did:plc:boom", "seq": 1, "time": "x"}
    async with running(collector) as task:
        await connected(jetstream)
        publish(jetstream, synthetic, 200)
        jetstream.publish({"identity": identity})
        publish(jetstream, synthetic, 200)
        jetstream.publish({"identity": identity})
        publish(jetstream, synthetic, 200)
        await caught_up(store, jetstream)
        assert not task.done()
    assert await kept(store) == synthetic.expected
    assert collector.stats.malformed == {DECODER_FAILED: 2}
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage().startswith('cannot decode a Jetstream frame: {"did":"did:plc:boom"')
    assert record.exc_info is not None


async def test_a_locked_database_stops_reading_until_it_can_store(
    tmp_path: Path, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    path = tmp_path / "archive.sqlite3"
    store = Store(await Database.open(path, busy_timeout=0.05))
    locker = Locker(path)
    synthetic = stream(6)
    sleep = FakeSleep()
    collector = collector_for(store, jetstream, session, sleep)
    try:
        async with running(collector):
            await connected(jetstream)
            publish(jetstream, synthetic, 300)
            await caught_up(store, jetstream)
            await locker.lock()
            publish(jetstream, synthetic, 300)

            async def refused_and_stopped_reading() -> bool:
                return collector.stats.store_errors >= 2 and jetstream.active_connections == 0

            await wait_until(refused_and_stopped_reading, "store errors and the connection closed")
            publish(jetstream, synthetic, 300)

            async def retried() -> bool:
                return collector.stats.store_errors >= 5

            await wait_until(retried, "more store errors")
            # While the batch cannot be stored, nothing more is read.
            assert jetstream.active_connections == 0
            assert jetstream.stats.connections == 1
            # Release the lock while the collector waits to retry (so the locker sees it free).
            sleep.hold_after = len(sleep.delays) + 1

            async def waiting() -> bool:
                return len(sleep.delays) == sleep.hold_after

            await wait_until(waiting, "the collector waiting to retry")
            await locker.release()
            sleep.released.set()
            await connected(jetstream, 2)
            await caught_up(store, jetstream)
        assert await kept(store) == synthetic.expected
    finally:
        await locker.release()
        await store.close()


async def test_one_warning_per_reconnect_with_the_reason(
    store: Store,
    jetstream: LocalJetstream,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    synthetic = stream(7)
    async with running(collector_for(store, jetstream, session)):
        await connected(jetstream)
        publish(jetstream, synthetic, 100)
        await caught_up(store, jetstream)
        stored = await store.bluesky.cursor()
        assert stored is not None
        await jetstream.close_connections(1000)
        await connected(jetstream, 2)
        publish(jetstream, synthetic, 1)
        await caught_up(store, jetstream)
        jetstream.drop_connections()
        await connected(jetstream, 3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert warnings[0].startswith(
        "Jetstream: the server closed the connection (code 1000); reconnecting in 0."
    )
    assert warnings[0].endswith(f" s from cursor {stored.time_us}")
    assert warnings[1].startswith(
        "Jetstream: the connection was lost without a close frame; reconnecting in 0."
    )


async def test_a_periodic_summary_is_logged(
    store: Store,
    jetstream: LocalJetstream,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    now = [0.0]
    collector = collector_for(store, jetstream, session, clock=lambda: now[0], summary_seconds=60)
    async with running(collector):
        await connected(jetstream)
        jetstream.publish({"did": "did:plc:x", "commit": {"collection": "app.bsky.feed.post"}})
        jetstream.publish({"identity": {"did": "did:plc:y", "seq": 1, "time": "x"}})
        await caught_up(store, jetstream)
        now[0] = 61.0
        jetstream.publish({"identity": {"did": "did:plc:y", "seq": 1, "time": "x"}})
        await caught_up(store, jetstream)
    summaries = [r.getMessage() for r in caplog.records if "collector: " in r.getMessage()]
    assert summaries == [
        "Jetstream collector: 3 events, 0 posts kept, 0 post deletes, 0 account deletes, "
        "1 malformed (1 unknown commit operation), 0 reconnects, 0 store errors, cursor "
        f"{jetstream.last_time_us}"
    ]


async def test_run_collector_reads_the_configured_jetstream(
    store: Store, jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    config = Config(bluesky=BlueskyConfig(jetstream_url=jetstream.url))
    synthetic = stream(8)
    task = asyncio.create_task(run_collector(config, store, session=session))
    try:
        await connected(jetstream)
        publish(jetstream, synthetic, 500)
        await caught_up(store, jetstream)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await kept(store) == synthetic.expected


def test_batch_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        Collector(None, "ws://x", None, batch_size=0)  # type: ignore[arg-type]
