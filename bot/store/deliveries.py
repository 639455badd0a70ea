"""The delivery ledger: which channel gets which day's digest, and how far sending got."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

from bot.models import Follow, Subscription
from bot.store.database import Database
from bot.store.records import Delivery, LedgerRow, PlannedDelivery
from bot.store.subscriptions import subscription_from_row

STAMP = "%Y-%m-%dT%H:%M:%SZ"


# Pending deliveries due by a time, in sending order; both parts read by index (0004).
DUE_QUERY = (
    "SELECT d.channel_id, c.guild_id, d.date, g.messages, d.parts_sent, d.message_ids,"
    " d.attempts FROM deliveries d JOIN channels c USING (channel_id)"
    " JOIN digests g USING (digest_hash)"
    " WHERE d.status = 'pending' AND d.due_at <= ? AND c.paused = 0"
    " AND NOT EXISTS (SELECT 1 FROM deliveries o INDEXED BY deliveries_pending_by_channel"
    " WHERE o.channel_id = d.channel_id AND o.date < d.date AND o.status = 'pending'"
    " AND o.due_at > d.due_at)"
    " ORDER BY d.due_at, d.date, d.channel_id LIMIT ?"
)


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(STAMP)


def parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, STAMP).replace(tzinfo=dt.UTC)


def _delivery(row: aiosqlite.Row) -> Delivery:
    """A due row; stored JSON that cannot be read (an edited archive) becomes the row's
    `problem`, so that row alone fails instead of every channel's delivery."""
    try:
        messages = tuple(json.loads(row[3]))
        message_ids = tuple(json.loads(row[5]))
        problem = None
    except (TypeError, ValueError) as exc:
        messages, message_ids = (), ()
        problem = f"the stored digest cannot be read ({exc})"
    return Delivery(
        channel_id=row[0],
        guild_id=row[1],
        date=dt.date.fromisoformat(row[2]),
        messages=messages,
        parts_sent=row[4],
        message_ids=message_ids,
        attempts=row[6],
        problem=problem,
    )


def now_stamp() -> str:
    """Now, as the ledgers store a moment."""
    return stamp(dt.datetime.now(dt.UTC))


class Deliveries:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def unplanned(
        self, date: dt.date, *, after: int = 0, limit: int = -1
    ) -> list[Subscription]:
        """Channels that follow days like `date` and have no ledger row for it yet, by channel
        id; `after` and `limit` page through them so planning holds a page at a time."""
        key = date.isoformat()
        async with self.database.reading() as db:
            async with db.execute(
                "SELECT c.* FROM channels c WHERE c.channel_id > ? AND c.since_date <= ?"
                " AND NOT EXISTS (SELECT 1 FROM deliveries d"
                " WHERE d.channel_id = c.channel_id AND d.date = ?)"
                " ORDER BY c.channel_id LIMIT ?",
                (after, key, key, limit),
            ) as cursor:
                rows = list(await cursor.fetchall())
            if not rows:
                return []
            async with db.execute(
                "SELECT channel_id, category FROM subscriptions"
                " WHERE channel_id BETWEEN ? AND ? ORDER BY channel_id, category",
                (rows[0]["channel_id"], rows[-1]["channel_id"]),
            ) as cursor:
                category_rows = await cursor.fetchall()
            async with db.execute(
                "SELECT channel_id, kind, text, key FROM follows"
                " WHERE channel_id BETWEEN ? AND ? ORDER BY channel_id, rowid",
                (rows[0]["channel_id"], rows[-1]["channel_id"]),
            ) as cursor:
                follow_rows = await cursor.fetchall()
        categories: dict[int, list[str]] = {}
        for channel_id, category in category_rows:
            categories.setdefault(channel_id, []).append(category)
        follows: dict[int, list[Follow]] = {}
        for channel_id, kind, text, key in follow_rows:
            follows.setdefault(channel_id, []).append(Follow(kind, text, key))
        return [
            subscription_from_row(
                r,
                tuple(categories.get(r["channel_id"], ())),
                tuple(follows.get(r["channel_id"], ())),
            )
            for r in rows
        ]

    async def record_plan(self, planned: Sequence[PlannedDelivery]) -> int:
        """Write planned deliveries in one transaction; rows already there are kept as they are."""
        now = now_stamp()
        digests: dict[str, str] = {}
        rows = []
        for p in planned:
            if p.digest is not None and p.digest.messages_json:
                digests[p.digest.digest_hash] = p.digest.messages_json
            rows.append(
                (
                    p.channel_id,
                    p.date.isoformat(),
                    "empty" if p.digest is None else "pending",
                    None if p.digest is None else p.digest.digest_hash,
                    stamp(p.due_at),
                    now,
                )
            )
        async with self.database.transaction() as db:
            await db.executemany(
                "INSERT INTO digests (digest_hash, messages) VALUES (?, ?) ON CONFLICT DO NOTHING",
                list(digests.items()),
            )
            cursor = await db.executemany(
                "INSERT INTO deliveries (channel_id, date, status, digest_hash, due_at,"
                " created_at) SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS"
                " (SELECT 1 FROM channels WHERE channel_id = ?)"
                " ON CONFLICT DO NOTHING",
                [(*row, row[0]) for row in rows],
            )
            return max(cursor.rowcount, 0)

    async def due(self, now: dt.datetime, limit: int = 500) -> list[Delivery]:
        """Pending deliveries due by `now` to channels not paused, oldest day first.

        A channel gets its days in order: a day waits while an older one of the same channel
        is pending and due later (e.g. backing off after a server error). So every older day
        of a row returned comes before it in this order, and a cut by `limit` keeps them.
        """
        async with (
            self.database.reading() as db,
            db.execute(
                DUE_QUERY,
                (stamp(now), limit),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [_delivery(r) for r in rows]

    async def next_due(self, channel_id: int) -> dt.datetime | None:
        async with (
            self.database.reading() as db,
            db.execute(
                "SELECT min(due_at) FROM deliveries WHERE channel_id = ? AND status = 'pending'",
                (channel_id,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return parse_stamp(row[0]) if row and row[0] else None

    async def part_sent(
        self, channel_id: int, date: dt.date, part: int, message_id: int, last: bool
    ) -> None:
        """Record one posted message; the row turns `sent` with its last part."""
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET parts_sent = ?, message_ids = json_insert(message_ids,"
                " '$[#]', ?), status = CASE WHEN ? THEN 'sent' ELSE status END,"
                " sent_at = CASE WHEN ? THEN ? ELSE sent_at END, last_error = NULL"
                " WHERE channel_id = ? AND date = ? AND parts_sent = ?",
                (
                    part + 1,
                    message_id,
                    last,
                    last,
                    now_stamp(),
                    channel_id,
                    date.isoformat(),
                    part,
                ),
            )

    async def retry_later(
        self, channel_id: int, date: dt.date, error: str, at: dt.datetime
    ) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, due_at = ?"
                " WHERE channel_id = ? AND date = ? AND status = 'pending'",
                (error, stamp(at), channel_id, date.isoformat()),
            )

    async def fail(self, channel_id: int, date: dt.date, error: str) -> None:
        """Give up on a delivery Discord refused for good (never resend a refused request)."""
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?"
                " WHERE channel_id = ? AND date = ?",
                (error, channel_id, date.isoformat()),
            )

    async def skip_before(self, date: dt.date, reason: str) -> int:
        """Mark pending deliveries of days before `date` that were never begun as skipped;
        one partly posted is finished rather than left half-posted."""
        async with self.database.transaction() as db:
            cursor = await db.execute(
                "UPDATE deliveries SET status = 'skipped', last_error = ?"
                " WHERE status = 'pending' AND date < ? AND parts_sent = 0",
                (reason, date.isoformat()),
            )
            return max(cursor.rowcount, 0)

    async def forget_unsent(
        self, channel_ids: Iterable[int] = (), *, date: dt.date | None = None
    ) -> int:
        """Drop the deliveries not begun of these channels, or of that day, so planning
        makes them anew (new settings, a changed post).

        One already tried is kept as planned: its first message may be posted with the answer
        lost, and the retry's nonce would bring that message back as part of another digest.
        """
        unsent = "status IN ('pending', 'empty') AND parts_sent = 0 AND attempts = 0"
        async with self.database.transaction() as db:
            cursor = await db.executemany(
                f"DELETE FROM deliveries WHERE channel_id = ? AND {unsent}",
                [(c,) for c in channel_ids],
            )
            forgotten = max(cursor.rowcount, 0)
            if date is not None:
                cursor = await db.execute(
                    f"DELETE FROM deliveries WHERE date = ? AND {unsent}", (date.isoformat(),)
                )
                forgotten += max(cursor.rowcount, 0)
            return forgotten

    async def ledger(self, channel_id: int | None = None) -> list[LedgerRow]:
        query = (
            "SELECT channel_id, date, status, due_at, parts_sent, message_ids, attempts,"
            " last_error FROM deliveries"
        )
        params: tuple[Any, ...] = ()
        if channel_id is not None:
            query += " WHERE channel_id = ?"
            params = (channel_id,)
        async with (
            self.database.reading() as db,
            db.execute(query + " ORDER BY channel_id, date", params) as cursor,
        ):
            rows = await cursor.fetchall()
        return [
            LedgerRow(
                channel_id=r[0],
                date=dt.date.fromisoformat(r[1]),
                status=r[2],
                due_at=parse_stamp(r[3]),
                parts_sent=r[4],
                message_ids=tuple(json.loads(r[5])),
                attempts=r[6],
                last_error=r[7],
            )
            for r in rows
        ]
