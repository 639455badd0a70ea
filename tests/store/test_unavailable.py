"""The database locked by another process or read-only: clear errors, nothing lost, recovery.

"Locked" is a real second process holding ``BEGIN EXCLUSIVE`` (``Locker``); "read-only" is
``chattr +i`` as root (mode bits do not bind root) or ``chmod 0o444`` otherwise
(``read_only``), proven by ``os.open(path, os.O_WRONLY)`` failing, and always undone; both
are in tests/support/database.py.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.store import Store, StoreError, StoreUnavailable
from bot.store.database import Database, migrations
from tests.support.clock import NOW, FakeClock
from tests.support.database import Locker, filled, is_locked, read_only

ARCHIVE_TABLES = ("days", "papers", "appearances", "paper_categories", "tweets")
DB_LOGGER = "bot.store.database"

# --- helpers -------------------------------------------------------------------------------


async def query(store: Store, sql: str) -> list[tuple[Any, ...]]:
    async with store.database.reading() as db, db.execute(sql) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(await query(store, f"SELECT * FROM {t}")) for t in ARCHIVE_TABLES}


async def healthy(store: Store) -> None:
    assert await query(store, "PRAGMA integrity_check") == [("ok",)]
    assert await query(store, "PRAGMA foreign_key_check") == []


def messages(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == DB_LOGGER and r.levelno >= level]


async def pragmas(connection: aiosqlite.Connection) -> tuple[object, ...]:
    found = []
    for name in ("busy_timeout", "journal_mode", "synchronous", "foreign_keys"):
        async with connection.execute(f"PRAGMA {name}") as cursor:
            row = await cursor.fetchone()
            assert row is not None
            found.append(row[0])
    return tuple(found)


# --- locked by another process -------------------------------------------------------------


async def test_locked_write_waits_busy_timeout_then_fails_clearly_while_reads_go_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    await filled(path)
    store = Store(await Database.open(path, busy_timeout=1.0))
    clock = FakeClock()
    store.database.clock, store.database.sleep = clock, clock.sleep
    try:
        before = await snapshot(store)
        async with Locker(path):
            clock.hold()
            started = clock()
            write = asyncio.create_task(store.state.set("key", "value"))
            await asyncio.wait_for(clock.asleep.wait(), 10)  # found it locked; waits
            assert not write.done()
            # The write waits for the other process without holding the bot's own lock:
            # reads (slash commands) are answered meanwhile.
            assert await asyncio.wait_for(store.archive.counts(), 5) == (3, 38, 48)
            assert (await store.archive.paper("2103.06902")) is not None
            assert not write.done()
            clock.release()
            with pytest.raises(StoreUnavailable) as raised:
                await write
            assert is_locked(path)  # still locked when the write gave up
        assert str(raised.value) == (
            f"database {path} is locked by another process (still locked after 1 s); "
            "nothing was changed"
        )
        assert clock() - started == pytest.approx(1.0)  # busy_timeout, slept in short tries
        assert len(clock.sleeps) > 5
        assert max(clock.sleeps) <= 0.1
        assert await store.state.get("key") is None
        await store.state.set("key", "value")  # released: the same write now succeeds
        assert await store.state.get("key") == "value"
        assert await snapshot(store) == before
        await healthy(store)
    finally:
        await store.close()


async def test_write_waits_for_a_short_lock_and_then_succeeds(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    await filled(path)
    async with await Store.open(path) as store, Locker(path) as locker:
        assert store.database.busy_timeout == 5.0  # the default
        clock = FakeClock()
        store.database.clock, store.database.sleep = clock, clock.sleep
        clock.hold()
        write = asyncio.create_task(store.state.set("key", "value"))
        await asyncio.wait_for(clock.asleep.wait(), 10)  # found it locked; waits
        assert not write.done()
        assert is_locked(path)
        await locker.release()
        clock.release()
        await asyncio.wait_for(write, 5)
        assert clock() - NOW < 5.0  # well within busy_timeout
        assert await store.state.get("key") == "value"
        await healthy(store)


# --- read-only -----------------------------------------------------------------------------


async def test_read_only_at_start_serves_reads_refuses_writes_then_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=DB_LOGGER)
    path = tmp_path / "db.sqlite3"
    await filled(path)
    async with await Store.open(path) as store:
        before = await snapshot(store)
    caplog.clear()
    refused = f"database {path} is read-only ({path} cannot be written); nothing was changed"

    with read_only(path):
        store = Store(await Database.open(path))
        try:
            assert messages(caplog, logging.WARNING) == [
                f"database {path} is read-only ({path} cannot be written): serving reads; "
                "every change fails until it can be written again"
            ]
            assert await store.archive.counts() == (3, 38, 48)
            assert await snapshot(store) == before
            # SQLite really opened it read-only: a direct write is refused.
            with pytest.raises(sqlite3.OperationalError) as direct:
                await store.database.connection.execute("PRAGMA user_version = 99")
            assert direct.value.sqlite_errorname == "SQLITE_READONLY"
            for _ in range(3):  # each write fails at once, without reopening anything
                with pytest.raises(StoreUnavailable) as raised:
                    await store.state.set("key", "value")
                assert str(raised.value) == refused
            assert store.database.reopens == 0
        except BaseException:
            await store.close()
            raise

    try:
        caplog.clear()
        await store.state.set("key", "value")  # writable again: reopened once, then written
        assert store.database.reopens == 1
        assert store.database.read_only is False
        assert f"database {path} can be written again; reopened it" in messages(caplog)
        assert messages(caplog, logging.WARNING) == []
        # The new connection is configured like the first one.
        assert await pragmas(store.database.connection) == (5000, "wal", 1, 1)
        await store.state.set("other", "value")
        assert store.database.reopens == 1
        assert await snapshot(store) == before
        await healthy(store)
    finally:
        await store.close()
    async with await Store.open(path) as store:  # and it is all on disk
        assert await store.state.get("key") == "value"
        assert await snapshot(store) == before


async def test_a_write_refused_as_read_only_reopens_the_connection_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A connection that turns out read-only (SQLITE_READONLY from SQLite itself) is
    replaced at the next write, once."""
    caplog.set_level(logging.INFO, logger=DB_LOGGER)
    path = tmp_path / "db.sqlite3"
    await filled(path)
    async with await Store.open(path) as store:
        database = store.database
        writable = database.connection
        database.connection = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
        await writable.close()
        before = await snapshot(store)
        caplog.clear()

        with pytest.raises(StoreUnavailable) as raised:
            await store.state.set("key", "value")
        assert str(raised.value) == (
            f"database {path} is read-only (attempt to write a readonly database); "
            "nothing was changed"
        )
        assert (database.read_only, database.reopens) == (True, 0)

        await store.state.set("key", "value")
        assert (database.read_only, database.reopens) == (False, 1)
        await store.state.set("key", "again")
        assert database.reopens == 1
        assert await store.state.get("key") == "again"
        assert await snapshot(store) == before
        assert messages(caplog) == [f"database {path} can be written again; reopened it"]


async def test_pending_migrations_on_a_read_only_file_are_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    old = sqlite3.connect(path)
    old.execute("PRAGMA journal_mode = WAL")
    old.execute("CREATE TABLE kept (x)")
    old.execute("INSERT INTO kept VALUES (1)")
    old.commit()
    old.close()
    content = path.read_bytes()

    with read_only(path), pytest.raises(StoreError) as raised:
        await Database.open(path)
    assert str(raised.value) == (
        f"cannot migrate database {path}: it is read-only (attempt to write a readonly "
        "database); make it writable, then start again"
    )
    assert path.read_bytes() == content

    async with await Store.open(path) as store:  # writable: migrated, nothing lost
        assert await query(store, "PRAGMA user_version") == [(len(migrations()),)]
        assert await query(store, "SELECT x FROM kept") == [(1,)]
