"""Making a database locked by another process or read-only, provably, for tests and benches.

"Locked" is a real second process holding ``BEGIN EXCLUSIVE`` (``Locker``); "read-only" is
``chattr +i`` as root (mode bits do not bind root) or ``chmod 0o444`` otherwise
(``read_only``), proven by ``os.open(path, os.O_WRONLY)`` failing, and always undone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import pytest

from bot.ingest.files import ingest_files
from bot.samples import sample_posts
from bot.store import Store

_LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
connection.close()
print("released", flush=True)
"""


class Locker:
    """Another process holding the database's write lock (BEGIN EXCLUSIVE) until released."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.process: asyncio.subprocess.Process | None = None

    async def lock(self) -> None:
        assert self.process is None, "already locked"
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _LOCKER,
            self.path,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), 10)
        assert line == b"locked\n", line
        assert is_locked(self.path), "the locker process does not hold the write lock"

    async def release(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(b"\n")
            await process.stdin.drain()
            process.stdin.close()
            assert await asyncio.wait_for(process.stdout.read(), 10) == b"released\n"
            assert await asyncio.wait_for(process.wait(), 10) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert not is_locked(self.path), "the database is still locked after the release"

    async def __aenter__(self) -> Locker:
        await self.lock()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()


def is_locked(path: Path | str) -> bool:
    """Whether another connection holds the write lock: BEGIN IMMEDIATE fails without waiting."""
    probe = sqlite3.connect(str(path), isolation_level=None, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if str(exc) != "database is locked":
            raise
        return True
    else:
        probe.execute("ROLLBACK")
        return False
    finally:
        probe.close()


def can_write(path: Path | str) -> bool:
    try:
        descriptor = os.open(path, os.O_WRONLY)
    except PermissionError:
        return False
    os.close(descriptor)
    return True


@contextlib.contextmanager
def read_only(*paths: Path | str) -> Iterator[None]:
    """The files cannot be written by this process inside the block; undone on exit.

    As root ``chattr +i`` (file modes do not bind root), otherwise ``chmod 0o444``; skips the
    test, with the reason, where neither makes the file read-only.
    """
    undo: list[Callable[[], object]] = []
    try:
        for given in paths:
            path = str(given)
            if os.geteuid() == 0:
                try:
                    subprocess.run(["chattr", "+i", path], check=True, capture_output=True)
                except (OSError, subprocess.CalledProcessError) as exc:
                    pytest.skip(f"running as root and `chattr +i {path}` failed: {exc}")
                undo.append(
                    lambda path=path: subprocess.run(
                        ["chattr", "-i", path], check=True, capture_output=True
                    )
                )
            else:
                mode = os.stat(path).st_mode & 0o7777
                os.chmod(path, 0o444)
                undo.append(lambda path=path, mode=mode: os.chmod(path, mode))
            if can_write(path):
                pytest.skip(f"cannot make {path} read-only here: it is still writable")
        yield
    finally:
        for step in reversed(undo):
            step()


async def filled(path: Path) -> None:
    """A closed database at `path` holding the three sample posts."""
    async with await Store.open(path) as store:
        report = await ingest_files(store.archive, sample_posts())
        assert (report.new, report.rejected) == (3, [])
