"""Database.write: a whole transaction run in one hop to the connection's thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import aiosqlite
import pytest

from bot.ingest.files import content_hash
from bot.ingest.parser import parse_post
from bot.samples import sample_posts
from bot.store import Store, StoreUnavailable
from bot.store.database import Database
from tests.support.clock import NOW, FakeClock
from tests.support.database import Locker, filled, read_only


def put(key: str, value: str) -> Callable[[sqlite3.Connection], int]:
    """A write that sets one bot_state row and returns how many rows it changed."""

    def work(db: sqlite3.Connection) -> int:
        return db.execute(
            "INSERT INTO bot_state (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        ).rowcount

    return work


async def test_write_commits_and_returns_what_the_work_returns(store: Store) -> None:
    assert await store.database.write(put("key", "value")) == 1
    assert await store.state.get("key") == "value"
    assert not store.database.connection.in_transaction


async def test_a_failing_write_is_rolled_back_and_raised_as_it_is(store: Store) -> None:
    def fail(db: sqlite3.Connection) -> None:
        put("first", "1")(db)
        put("second", "2")(db)
        raise ValueError("no good")

    with pytest.raises(ValueError, match=r"^no good$"):
        await store.database.write(fail)
    assert await store.state.get("first") is None
    assert await store.state.get("second") is None
    assert not store.database.connection.in_transaction
    await store.database.write(put("after", "3"))  # the lock was given back
    assert await store.state.get("after") == "3"


async def test_an_sqlite_error_in_a_write_is_store_unavailable(store: Store) -> None:
    def bad_sql(db: sqlite3.Connection) -> None:
        put("first", "1")(db)
        db.execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(StoreUnavailable) as raised:
        await store.database.write(bad_sql)
    assert str(raised.value) == (
        f"database {store.database.path} is unavailable (no such table: no_such_table); "
        "nothing was changed"
    )
    assert await store.state.get("first") is None
    assert not store.database.connection.in_transaction


async def test_a_post_is_stored_in_one_hop_to_the_database_thread(store: Store) -> None:
    path = sample_posts()[0]
    data = path.read_bytes()
    day = parse_post(data, str(path))
    execute = aiosqlite.Connection._execute
    with mock.patch.object(aiosqlite.Connection, "_execute", autospec=True) as hop:
        hop.side_effect = execute
        await store.archive.ingest(day, source=str(path), content_hash=content_hash(data))
    assert hop.call_count == 1
    assert await store.archive.counts() == (1, len(day.papers), day.tweet_count)


async def test_a_cancelled_write_still_commits_whole(store: Store) -> None:
    """The connection's thread runs the work as one piece: cancelling the caller cannot
    leave half of it, nor let another statement in between."""
    started, go_on = threading.Event(), threading.Event()

    def slow(db: sqlite3.Connection) -> None:
        put("first", "1")(db)
        started.set()
        assert go_on.wait(10)
        put("second", "2")(db)

    write = asyncio.create_task(store.database.write(slow))
    assert await asyncio.to_thread(started.wait, 10)
    write.cancel()
    with pytest.raises(asyncio.CancelledError):
        await write
    go_on.set()
    assert await store.state.get("first") == "1"  # queued behind the write: sees all of it
    assert await store.state.get("second") == "2"
    await store.database.write(put("after", "3"))
    assert await store.state.get("after") == "3"


async def test_a_write_waits_for_another_process_lock(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    await filled(path)
    async with await Store.open(path) as store, Locker(path) as locker:
        clock = FakeClock()
        store.database.clock, store.database.sleep = clock, clock.sleep
        clock.hold()
        write = asyncio.create_task(store.database.write(put("key", "value")))
        await asyncio.wait_for(clock.asleep.wait(), 10)  # found it locked; waits
        assert not write.done()
        # Reads go on meanwhile: the write does not hold the bot's own lock while it waits.
        assert await asyncio.wait_for(store.archive.counts(), 5) == (3, 38, 48)
        await locker.release()
        clock.release()
        assert await asyncio.wait_for(write, 5) == 1
        assert await store.state.get("key") == "value"


async def test_a_write_gives_up_after_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    await filled(path)
    store = Store(await Database.open(path, busy_timeout=0.5))
    clock = FakeClock()
    store.database.clock, store.database.sleep = clock, clock.sleep
    try:
        async with Locker(path):
            with pytest.raises(StoreUnavailable) as raised:
                await store.database.write(put("key", "value"))
            assert clock() - NOW == pytest.approx(0.5)
        assert str(raised.value) == (
            f"database {path} is locked by another process (still locked after 0.5 s); "
            "nothing was changed"
        )
        assert await store.state.get("key") is None
    finally:
        await store.close()


async def test_a_write_to_a_read_only_file_is_refused_then_works_once_writable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    await filled(path)
    with read_only(path):
        store = Store(await Database.open(path))
        try:
            with pytest.raises(StoreUnavailable) as raised:
                await store.database.write(put("key", "value"))
            assert str(raised.value) == (
                f"database {path} is read-only ({path} cannot be written); nothing was changed"
            )
        except BaseException:
            await store.close()
            raise
    try:
        assert await store.database.write(put("key", "value")) == 1
        assert store.database.reopens == 1
        assert await store.state.get("key") == "value"
    finally:
        await store.close()
