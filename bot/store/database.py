"""The SQLite connection: WAL mode, numbered migrations, and serialised transactions."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TypeVar, cast

import aiosqlite

from bot.store.functions import NAME_KEY, name_key

log = logging.getLogger(__name__)

T = TypeVar("T")

_MIGRATION_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")

# A write waiting for another process's lock gives the lock back between tries, so reads
# (slash commands) are not held up behind it; each try starts after at most this long.
_BUSY_PAUSE = 0.1

# Reads look whether the database file was deleted or replaced at most this often (every
# write looks first): reads alone would still notice it, but need not stat every time.
READ_CHECK_SECONDS = 30.0


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


def _primary_code(exc: sqlite3.Error) -> int:
    code: int = getattr(exc, "sqlite_errorcode", 0)  # absent when not raised by SQLite
    return code & 0xFF


def _is_busy(exc: sqlite3.Error) -> bool:
    return _primary_code(exc) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _is_read_only(exc: sqlite3.Error) -> bool:
    """SQLITE_READONLY and its extended codes (SQLITE_READONLY_DBMOVED, ...)."""
    return _primary_code(exc) == sqlite3.SQLITE_READONLY


def _unwritable(target: str) -> str | None:
    """The file that makes SQLite open `target` read-only, or None when it can be written.

    SQLite falls back to read-only when the database file, or its -wal or -shm file, cannot
    be opened to write. A read-only connection creates the -wal and -shm files with the
    database file's mode, so once the database file is writable again they are given its
    mode too (SQLite itself does so only for empty ones). Checked with access(2), which
    applies the rules open(2) does (modes, immutable flag, read-only mount): opening and
    closing a file SQLite has open would drop its locks.
    """
    if target == ":memory:":
        return None
    effective = os.access in os.supports_effective_ids

    def writable(path: str) -> bool:
        return os.access(path, os.W_OK, effective_ids=effective)

    if os.path.exists(target) and not writable(target):
        return target
    for path in (f"{target}-wal", f"{target}-shm"):
        if os.path.exists(path) and not writable(path):
            with contextlib.suppress(OSError):
                os.chmod(path, os.stat(target).st_mode & 0o666)
                log.info("gave %s the mode of database %s, so it can be written", path, target)
            if not writable(path):
                return path
    return None


class Database:
    """One aiosqlite connection shared by the process.

    Every statement goes through a lock so a transaction opened by one task never sees
    another task's statements interleaved with its own.

    SQLite opens a file it cannot write read-only, and that connection stays read-only
    after the file becomes writable. So once a write fails because the database is
    read-only, the next write first checks the file, and reopens the connection (at most
    once per operation) as soon as it can be written again; until then writes fail at once.

    A database file deleted or replaced (a restore) while open would take every later
    write with it: SQLite goes on writing into the unlinked file. So every write first
    compares the path's device and inode with the open file's, and once they differ every
    write fails, saying to restart; reads go on from the open file. Reopening by itself
    instead would start an empty archive, or mix a restored one with this process's state.
    The old file's -wal and -shm are taken away from the path then: SQLite would read a
    restored file through them, as if it held the old file's latest pages.
    """

    def __init__(
        self, connection: aiosqlite.Connection, path: str, *, busy_timeout: float = 5.0
    ) -> None:
        self.connection = connection
        self.path = path
        self.busy_timeout = busy_timeout
        self.lock = asyncio.Lock()
        self.read_only = False  # the connection cannot write: reopen once the file can be
        self.reopens = 0
        self.read_check_seconds = READ_CHECK_SECONDS
        # (device, inode) of the file opened and of its -wal and -shm; see _note_files.
        self._files: dict[str, tuple[int, int] | None] = {}
        self._gone: str | None = None  # how the file left its path, once noticed
        self._read_checked_at = -math.inf
        # How time passes for the busy waits and the read checks: the event loop's clock,
        # unless a test gives another one.
        self.clock: Callable[[], float] = _loop_time
        self.sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
        self.commits = 0  # write transactions committed since opened
        self._committed = asyncio.Condition()

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout: float = 5.0) -> Database:
        """Open (creating) and migrate the database; `busy_timeout` is how many seconds a
        write waits for another process's lock before it fails."""
        target = str(path)
        if target != ":memory:":
            location = Path(target).expanduser()  # noqa: ASYNC240 - one stat at start
            target, parent = str(location), location.parent
            if not parent.is_dir():
                raise StoreError(
                    f"cannot open database {target}: directory {parent} does not exist"
                )
        unwritable = await asyncio.to_thread(_unwritable, target)
        database = cls(await _connect(target), target, busy_timeout=busy_timeout)
        database.read_only = unwritable is not None
        try:
            await database._configure(database.connection)
            await database._migrate()
        except BaseException:
            await database.connection.close()
            raise
        database._note_files()
        if unwritable is not None:
            log.warning(
                "database %s is read-only (%s cannot be written): serving reads; every "
                "change fails until it can be written again",
                target,
                unwritable,
            )
        return database

    async def close(self) -> None:
        await self.connection.close()

    async def _configure(self, connection: aiosqlite.Connection) -> None:
        try:
            await connection.execute(f"PRAGMA busy_timeout = {self._busy_ms}")
            await connection.execute("PRAGMA journal_mode = WAL")
            await connection.execute("PRAGMA synchronous = NORMAL")
            await connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot use database {self.path}: {exc}") from exc

    @property
    def _busy_ms(self) -> int:
        return max(0, round(self.busy_timeout * 1000))

    async def _migrate(self) -> None:
        """Apply the migrations newer than `PRAGMA user_version`, all in one transaction."""
        current = await self._version()
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
            if await self._version() >= pending[-1][0]:
                # Another process (a second `hotpapers` started at the same moment) applied
                # them between our look at the version and our write lock.
                log.info("migrations of %s were applied by another process", self.path)
                return
            reason = (
                f"it is read-only ({exc}); make it writable, then start again"
                if _is_read_only(exc)
                else str(exc)
            )
            raise StoreError(f"cannot migrate database {self.path}: {reason}") from exc

    async def _version(self) -> int:
        async with self.connection.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """All statements inside commit together or not at all."""
        await self._begin(_nothing)  # holds self.lock from here on
        connection = self.connection
        try:
            try:
                yield connection
            except BaseException:
                await self._rollback()
                raise
            await connection.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            await self._rollback()
            if _is_read_only(exc):
                self.read_only = True
            raise self._unavailable(exc) from exc
        finally:
            self.lock.release()
        await self._notify_commit()

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(connection)` as one transaction, as in `transaction()`, but run whole on the
        connection's thread: one hop from the event loop for all its statements, where
        `transaction()` takes one per statement. For writes of many statements, such as a
        post's. `work` must not block on anything but SQLite.

        If the caller is cancelled meanwhile, `work` still runs to its end and commits: the
        connection's thread runs it as one piece, so no other statement comes between.
        """
        try:
            result = await self._begin(functools.partial(_committed, work))
        except sqlite3.OperationalError as exc:  # from `work` or COMMIT, rolled back
            if _is_read_only(exc):
                self.read_only = True
            raise self._unavailable(exc) from exc
        self.lock.release()
        await self._notify_commit()
        return result

    async def _notify_commit(self) -> None:
        self.commits += 1
        async with self._committed:
            self._committed.notify_all()

    async def committed_after(self, seen: int) -> int:
        """Return once more than `seen` write transactions have committed (`commits` read
        before looking at the data), with the new count: a way to wait for a change to the
        archive without polling it."""
        async with self._committed:
            await self._committed.wait_for(lambda: self.commits > seen)
        return self.commits

    async def _begin(self, then: Callable[[sqlite3.Connection], T]) -> T:
        """BEGIN IMMEDIATE, then `then(connection)` in the same hop to the connection's
        thread; returns with self.lock held, or raises with it released. A failed BEGIN
        raises StoreUnavailable; what `then` raises comes as it is.

        Another process's lock is waited out for busy_timeout seconds, but not while holding
        self.lock: each try asks SQLite not to wait, and the lock is free between tries.
        """
        deadline = self.clock() + self.busy_timeout
        pause = 0.005
        while True:
            await self.lock.acquire()
            try:
                self._check_file()
                if self.read_only:
                    await self._reopen_if_writable()
                return await _on_connection_thread(
                    self.connection, functools.partial(_begin_immediate, self._busy_ms, then)
                )
            except _NotBegun as failure:
                self.lock.release()
                exc = failure.error
                if not _is_busy(exc):
                    raise self._unavailable(exc) from exc
                remaining = deadline - self.clock()
                if remaining <= 0:
                    raise StoreUnavailable(
                        f"database {self.path} is locked by another process (still locked "
                        f"after {self.busy_timeout:g} s); nothing was changed"
                    ) from exc
            except BaseException:
                self.lock.release()
                raise
            await self.sleep(min(pause, remaining))
            pause = min(pause * 2, _BUSY_PAUSE)

    async def _reopen_if_writable(self) -> None:
        """The connection is read-only: reopen it if the file can be written now, else fail
        without trying (called with self.lock held, after _check_file: the file at the
        path is still the one opened)."""
        unwritable = await asyncio.to_thread(_unwritable, self.path)
        if unwritable is not None:
            raise StoreUnavailable(
                f"database {self.path} is read-only ({unwritable} cannot be written); "
                "nothing was changed"
            )
        try:
            connection = await _connect(self.path)
            try:
                await self._configure(connection)
            except BaseException:
                await connection.close()
                raise
        except StoreError as exc:
            raise StoreUnavailable(f"{exc}; nothing was changed") from exc
        old, self.connection = self.connection, connection
        self.read_only = False
        self.reopens += 1
        self._note_files()
        with contextlib.suppress(sqlite3.Error, ValueError):
            await old.close()
        log.info("database %s can be written again; reopened it", self.path)

    async def _rollback(self) -> None:
        if self.connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                await self.connection.execute("ROLLBACK")

    def _note_files(self) -> None:
        """Remember which files are open: the database's, and the -wal and -shm SQLite
        made beside it, which stay the same files while a connection is open."""
        if self.path != ":memory:":
            self._files = {path: _identity(path) for path in (self.path, *_companions(self.path))}

    def _check_file(self) -> None:
        """Raise StoreUnavailable if the open file is no longer the one at self.path; the
        first time, log it. A stat is cheap next to the write it guards."""
        opened = self._files.get(self.path)
        if self._gone is None and opened is not None:
            try:
                now = _identity(self.path)
            except OSError:
                now = opened  # cannot tell (a directory not searchable): SQLite will say
            if now != opened:
                self._gone = "was deleted or moved" if now is None else "was replaced"
                log.error(
                    "database %s %s while open: every change is refused from now on, since "
                    "it would be lost with the old file; restart hotpapers to open the file "
                    "now at that path (a new, empty archive if there is none)",
                    self.path,
                    self._gone,
                )
                self._take_away_companions()
        if self._gone is not None:
            raise StoreUnavailable(
                f"database {self.path} {self._gone} while open; nothing was changed: "
                "restart hotpapers to use the file now at that path"
            )

    def _take_away_companions(self) -> None:
        """Remove the old file's -wal and -shm from beside the path (only if still ours)."""
        for path in _companions(self.path):
            opened = self._files.get(path)
            try:
                if opened is not None and _identity(path) == opened:
                    os.unlink(path)
                    log.info("removed %s, which belongs to the old database file", path)
            except OSError as exc:
                log.error("could not remove %s of the old database file: %s", path, exc)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """Reads wait for any transaction in flight, so they never see half of one.

        They go on from the open file after it was deleted or replaced (noticed here at
        most every read_check_seconds, and logged once), since what it holds is intact."""
        async with self.lock:
            now = self.clock()
            if now - self._read_checked_at >= self.read_check_seconds:
                self._read_checked_at = now
                with contextlib.suppress(StoreUnavailable):
                    self._check_file()
            try:
                yield self.connection
            except sqlite3.OperationalError as exc:
                raise self._unavailable(exc) from exc

    def _unavailable(self, exc: sqlite3.OperationalError) -> StoreUnavailable:
        return StoreUnavailable(f"database {self.path} is {_reason(exc)}; nothing was changed")


def _reason(exc: sqlite3.Error) -> str:
    """What is wrong with the database, for a message such as "database X is ..."."""
    if _is_read_only(exc):
        return f"read-only ({exc})"
    if _is_busy(exc):
        return f"locked by another process ({exc})"
    return f"unavailable ({exc})"


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def _companions(path: str) -> tuple[str, str]:
    return f"{path}-wal", f"{path}-shm"


def _identity(path: str) -> tuple[int, int] | None:
    """The (device, inode) of the file at `path`; None when there is none."""
    try:
        found = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return found.st_dev, found.st_ino


async def _connect(target: str) -> aiosqlite.Connection:
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
    # The migrations and the archive's writes fold author names with it.
    await connection.create_function(NAME_KEY, 1, name_key, deterministic=True)
    return connection


class _NotBegun(Exception):
    """BEGIN IMMEDIATE (or what comes before it) failed; told apart from what follows it."""

    def __init__(self, error: sqlite3.OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


def _begin_immediate(
    busy_ms: int, then: Callable[[sqlite3.Connection], T], connection: sqlite3.Connection
) -> T:
    """On the connection's thread: BEGIN IMMEDIATE without waiting for another process's
    lock (the caller retries), then `then`."""
    try:
        if connection.in_transaction:  # left open by a task cancelled mid-statement
            connection.execute("ROLLBACK")
        connection.execute("PRAGMA busy_timeout = 0")
        try:
            connection.execute("BEGIN IMMEDIATE")
        finally:
            connection.execute(f"PRAGMA busy_timeout = {busy_ms}")
    except sqlite3.OperationalError as exc:
        raise _NotBegun(exc) from exc
    return then(connection)


def _nothing(connection: sqlite3.Connection) -> None:
    """What `transaction()` runs right after BEGIN: its statements come from the caller."""


def _committed(work: Callable[[sqlite3.Connection], T], connection: sqlite3.Connection) -> T:
    """`work`, then COMMIT; on any failure, ROLLBACK and raise it."""
    try:
        result = work(connection)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        raise
    return result


def _on_connection_thread(
    connection: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]
) -> Awaitable[T]:
    """`work(sqlite3 connection)`, run on the aiosqlite connection's own thread, the only
    one that may use it, in turn with the statements queued there.

    aiosqlite has no public call for this; its own methods all go through `_execute`, which
    queues a function for that thread, and `_conn`, the sqlite3 connection. Kept to this
    one place, so a change in aiosqlite's internals breaks only here (and the store tests).
    """
    queued = connection._execute(work, connection._conn)  # type: ignore[no-untyped-call]
    return cast("Awaitable[T]", queued)
