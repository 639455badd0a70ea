"""The Bluesky posts that link arXiv papers, and the collector's place in the stream."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.bluesky.posts import (
    AccountRemoved,
    Change,
    CollectedPost,
    Cursor,
    PostLinked,
    PostRemoved,
)
from bot.store.database import Database

# What sqlite3 raises binding a value SQLite cannot store.
_UNBINDABLE = (OverflowError, UnicodeEncodeError, sqlite3.ProgrammingError)

_COLUMNS = "uri, did, rkey, text, langs, created_at, time_us, arxiv_ids"
_INSERT = f"INSERT INTO bluesky_posts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
# Jetstream delivers at least once and the collector resumes a little before its cursor, so
# a create may come again: the post is kept once. An update replaces what the post says but
# keeps the time it was first kept, which places it in its day.
_CREATE = f"{_INSERT} ON CONFLICT (uri) DO NOTHING"
_UPDATE = (
    f"{_INSERT} ON CONFLICT (uri) DO UPDATE SET text = excluded.text, langs = excluded.langs,"
    " created_at = excluded.created_at, arxiv_ids = excluded.arxiv_ids"
)


@dataclass(frozen=True, slots=True)
class BlueskyBatch:
    """The changes read from the stream up to `cursor`, in stream order, stored together."""

    changes: Sequence[Change]
    cursor: Cursor


class BlueskyPosts:
    """Reads and writes `bluesky_posts` and `bluesky_cursor`; each method is one transaction
    or one read."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(self, batch: BlueskyBatch) -> int:
        """Apply the batch's changes in order and move the cursor to its end, all or nothing:
        the cursor never passes a change that is not stored. The first batch ever stored
        also sets where collecting began (`since`).

        A change holding what SQLite cannot take (text that is not Unicode, a number past 64
        bits: the decoder refuses both, so this is a safety net) is left out rather than
        stopping the stream at it for good; returns how many were.
        """
        kept = [c.post.time_us for c in batch.changes if isinstance(c, PostLinked)]
        since = min([*kept, batch.cursor.time_us])
        left_out = 0
        async with self.database.transaction() as db:
            for statement, rows in _statements(batch.changes):
                try:
                    await db.executemany(statement, rows)
                except _UNBINDABLE:
                    # Row by row: those before the bad one may be in already, and each
                    # statement is idempotent (a create kept once, an update or delete again).
                    for row in rows:
                        try:
                            await db.execute(statement, row)
                        except _UNBINDABLE:
                            left_out += 1
            await db.execute(
                "INSERT INTO bluesky_cursor (id, time_us, seq, since_us) VALUES (1, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET time_us = excluded.time_us, seq = excluded.seq",
                (batch.cursor.time_us, batch.cursor.seq, since),
            )
        return left_out

    async def cursor(self) -> Cursor | None:
        """Where the stored changes end; None before the first batch."""
        async with (
            self.database.reading() as db,
            db.execute("SELECT time_us, seq FROM bluesky_cursor WHERE id = 1") as cursor,
        ):
            row = await cursor.fetchone()
        return None if row is None else Cursor(int(row["time_us"]), row["seq"])

    async def since(self) -> int | None:
        """The stream time (time_us) from which posts were collected; None before any."""
        async with (
            self.database.reading() as db,
            db.execute("SELECT since_us FROM bluesky_cursor WHERE id = 1") as cursor,
        ):
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else int(row[0])

    async def between(self, start_us: int, end_us: int) -> list[CollectedPost]:
        """The posts kept with start_us <= time_us < end_us, by time_us then uri."""
        async with (
            self.database.reading() as db,
            db.execute(
                f"SELECT {_COLUMNS} FROM bluesky_posts WHERE time_us >= ? AND time_us < ?"
                " ORDER BY time_us, uri",
                (start_us, end_us),
            ) as cursor,
        ):
            return [_post(row) for row in await cursor.fetchall()]

    async def count(self) -> int:
        async with (
            self.database.reading() as db,
            db.execute("SELECT count(*) FROM bluesky_posts") as cursor,
        ):
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def prune_before(self, time_us: int) -> int:
        """Forget the posts kept before `time_us`; returns how many."""
        async with self.database.transaction() as db:
            cursor = await db.execute("DELETE FROM bluesky_posts WHERE time_us < ?", (time_us,))
            return cursor.rowcount


def _statements(changes: Sequence[Change]) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The changes as statements with their rows, runs of the same kind in one statement:
    order matters only between changes of one post or account, and runs keep it."""
    return [
        (statement, [_row(change) for change in run])
        for statement, run in itertools.groupby(changes, key=_statement)
    ]


def _statement(change: Change) -> str:
    if isinstance(change, PostLinked):
        return _UPDATE if change.update else _CREATE
    if isinstance(change, PostRemoved):
        return "DELETE FROM bluesky_posts WHERE uri = ?"
    return "DELETE FROM bluesky_posts WHERE did = ?"


def _row(change: Change) -> tuple[Any, ...]:
    if isinstance(change, PostRemoved):
        return (change.uri,)
    if isinstance(change, AccountRemoved):
        return (change.did,)
    post = change.post
    created = post.created_at
    return (
        post.uri,
        post.did,
        post.rkey,
        post.text,
        json.dumps(list(post.langs)),
        None if created is None else created.astimezone(dt.UTC).isoformat(),
        post.time_us,
        json.dumps(list(post.arxiv_ids)),
    )


def _post(row: aiosqlite.Row) -> CollectedPost:
    created = row["created_at"]
    return CollectedPost(
        uri=row["uri"],
        did=row["did"],
        rkey=row["rkey"],
        text=row["text"],
        langs=tuple(json.loads(row["langs"])),
        created_at=None if created is None else dt.datetime.fromisoformat(created),
        time_us=int(row["time_us"]),
        arxiv_ids=tuple(json.loads(row["arxiv_ids"])),
    )
