"""The database file deleted, or replaced by another (a restore), while the store has it open.

SQLite would go on writing into the unlinked file, and everything written after would be
lost with it. Instead every write is refused with a clear StoreUnavailable (restart to use
the file now at the path), logged once; reads go on from the open file; the file put in
its place is left untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store, StoreUnavailable

DB_LOGGER = "bot.store.database"


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[Store]:
    """A store on tmp_path/archive.sqlite3 that has written one subscription."""
    store = await Store.open(tmp_path / "archive.sqlite3")
    try:
        assert await store.subscriptions.subscribe(1, 10, ["cs.CV"]) == ["cs.CV"]
        yield store
    finally:
        await store.close()


def channels(path: Path) -> list[tuple[int, str]]:
    """(channel, category) of every subscription in the file at `path`, read with sqlite3."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("SELECT channel_id, category FROM subscriptions").fetchall()


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == DB_LOGGER and r.levelno >= 40]


async def test_writes_after_the_file_is_deleted_are_refused(
    opened: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "archive.sqlite3"
    os.unlink(path)

    for channel in (2, 3):  # refused each time, logged once
        with pytest.raises(StoreUnavailable) as info:
            await opened.subscriptions.subscribe(channel, 10, ["cs.LG"])
        assert str(info.value) == (
            f"database {path} was deleted or moved while open; nothing was changed: "
            "restart hotpapers to use the file now at that path"
        )
    assert errors(caplog) == [
        f"database {path} was deleted or moved while open: every change is refused from now "
        "on, since it would be lost with the old file; restart hotpapers to open the file now "
        "at that path (a new, empty archive if there is none)"
    ]
    # What was stored is still read; no file was made in its place.
    subscription = await opened.subscriptions.get(1)
    assert subscription is not None
    assert subscription.categories == ("cs.CV",)
    assert await opened.subscriptions.get(2) is None
    assert not path.exists()


async def test_writes_after_the_file_is_replaced_are_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "archive.sqlite3"
    restored = tmp_path / "backup.sqlite3"
    async with await Store.open(restored) as other:
        await other.subscriptions.subscribe(7, 70, ["math.AG"])
    async with await Store.open(path) as store:
        await store.subscriptions.subscribe(1, 10, ["cs.CV"])
        os.replace(restored, path)  # a backup restored while the bot runs

        with pytest.raises(StoreUnavailable) as info:
            await store.subscriptions.subscribe(2, 10, ["cs.LG"])
        assert str(info.value) == (
            f"database {path} was replaced while open; nothing was changed: "
            "restart hotpapers to use the file now at that path"
        )
        with pytest.raises(StoreUnavailable):
            await store.subscriptions.remove_guild(70)
        assert len(errors(caplog)) == 1
        # The restored file reads as restored, not through the old file's -wal.
        assert channels(path) == [(7, "math.AG")]
        assert await store.subscriptions.count() == 1  # the old file, still read
    assert channels(path) == [(7, "math.AG")]

    # Restarted: the restored archive, and writes go into it.
    async with await Store.open(path) as restarted:
        assert await restarted.subscriptions.subscribe(2, 10, ["cs.LG"]) == ["cs.LG"]
    assert sorted(channels(path)) == [(2, "cs.LG"), (7, "math.AG")]


async def test_reads_notice_a_deleted_file_now_and_then(
    opened: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=DB_LOGGER)
    opened.database.read_check_seconds = 3600.0
    assert await opened.subscriptions.count() == 1  # looks at the file: still there
    os.unlink(tmp_path / "archive.sqlite3")

    assert await opened.subscriptions.count() == 1  # not looked at again so soon
    assert errors(caplog) == []
    opened.database.read_check_seconds = 0.0
    assert await opened.subscriptions.count() == 1  # looked at this time
    assert await opened.subscriptions.count() == 1  # and the reads go on
    assert len(errors(caplog)) == 1
    assert errors(caplog)[0].startswith(f"database {tmp_path / 'archive.sqlite3'} was deleted")


async def test_a_file_only_renamed_back_is_still_written(opened: Store, tmp_path: Path) -> None:
    """The same file back at its path (moved away and back before any write) is fine."""
    path = tmp_path / "archive.sqlite3"
    os.rename(path, tmp_path / "aside.sqlite3")
    os.rename(tmp_path / "aside.sqlite3", path)
    assert await opened.subscriptions.subscribe(2, 10, ["cs.LG"]) == ["cs.LG"]
