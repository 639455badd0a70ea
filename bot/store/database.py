"""The SQLite connection: WAL mode, numbered migrations, and serialised transactions."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


class StoreError(RuntimeError):
    """The archive cannot be opened or written; the message says which file and why."""


class StoreUnavailable(StoreError):
    """The database is locked by another process or cannot be written right now; nothing
    was changed, and the same operation may succeed later."""


def migrations() -> list[tuple[int, str, str]]:
    """The numbered `.sql` files shipped in `bot/store/migrations`, in order."""
    found = []
    for entry in resources.files("bot.store").joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.fullmatch(entry.name)
        if match:
            found.append((int(match[1]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations are not numbered 1..N without gaps: {numbers}")
    return found


class Database:
    """One aiosqlite connection shared by the process.

    Every statement goes through a lock so a transaction opened by one task never sees
    another task's statements interleaved with its own.
    """

    def __init__(self, connection: aiosqlite.Connection, path: str) -> None:
        self.connection = connection
        self.path = path
        self.lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Database:
        target = str(path)
        if target != ":memory:":
            location = Path(target).expanduser()  # noqa: ASYNC240 - one stat at start
            target, parent = str(location), location.parent
            if not parent.is_dir():
                raise StoreError(
                    f"cannot open database {target}: directory {parent} does not exist"
                )
        pending = aiosqlite.connect(target, isolation_level=None)
        try:
            connection = await pending
        except sqlite3.Error as exc:
            # aiosqlite stops its worker thread without waiting for it: wait while the loop
            # runs, or the thread reports to a closed loop and prints a traceback on stderr.
            worker = getattr(pending, "_thread", None)
            if isinstance(worker, threading.Thread) and worker.is_alive():
                await asyncio.to_thread(worker.join, 5)
            raise StoreError(f"cannot open database {target}: {exc}") from exc
        connection.row_factory = sqlite3.Row
        database = cls(connection, target)
        try:
            await database._configure()
            await database._migrate()
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        await self.connection.close()

    async def _configure(self) -> None:
        try:
            await self.connection.execute("PRAGMA busy_timeout = 5000")
            await self.connection.execute("PRAGMA journal_mode = WAL")
            await self.connection.execute("PRAGMA synchronous = NORMAL")
            await self.connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use database {self.path}: {exc}") from exc

    async def _migrate(self) -> None:
        """Apply the migrations newer than `PRAGMA user_version`, all in one transaction."""
        async with self.connection.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        pending = [m for m in migrations() if m[0] > current]
        if current > len(migrations()):
            raise StoreError(
                f"database {self.path} has schema version {current}, newer than this "
                f"program knows ({len(migrations())}); upgrade hotpapers"
            )
        if not pending:
            return
        script = "BEGIN IMMEDIATE;\n"
        for number, name, sql in pending:
            log.info("applying migration %s to %s", name, self.path)
            script += f"{sql}\nPRAGMA user_version = {number};\n"
        script += "COMMIT;"
        try:
            await self.connection.executescript(script)
        except sqlite3.Error as exc:
            if self.connection.in_transaction:
                await self.connection.execute("ROLLBACK")
            raise StoreError(f"cannot migrate database {self.path}: {exc}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """All statements inside commit together or not at all."""
        async with self.lock:
            try:
                await self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self.connection
                except BaseException:
                    if self.connection.in_transaction:
                        await self.connection.execute("ROLLBACK")
                    raise
                else:
                    await self.connection.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if self.connection.in_transaction:
                    await self.connection.execute("ROLLBACK")
                raise self._unavailable(exc) from exc

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads wait for any transaction in flight, so they never see half of one."""
        async with self.lock:
            try:
                yield self.connection
            except sqlite3.OperationalError as exc:
                raise self._unavailable(exc) from exc

    def _unavailable(self, exc: sqlite3.OperationalError) -> StoreUnavailable:
        return StoreUnavailable(f"database {self.path} is unavailable ({exc}); nothing was changed")
