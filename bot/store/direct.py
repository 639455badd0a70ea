"""The direct-message ledger: which member is sent which day's papers they follow, and how far
sending got. Like the channels' ledger (`deliveries`), a row is written before anything is
sent and turns `sent` with Discord's answer, so a restart never sends one twice nor drops one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

import aiosqlite

from bot.models import Follow
from bot.store.database import Database
from bot.store.deliveries import now_stamp, stamp
from bot.store.records import DirectDelivery, DirectRow, MemberFollows, PlannedDirect

DUE_QUERY = (
    "SELECT d.user_id, d.date, g.messages, d.attempts,"
    " (SELECT group_concat(guild_id) FROM (SELECT guild_id FROM follows f"
    " WHERE f.user_id = d.user_id GROUP BY guild_id ORDER BY max(f.rowid) DESC))"
    " FROM direct_messages d JOIN digests g USING (digest_hash)"
    " WHERE d.status = 'pending' AND d.due_at <= ?"
    " ORDER BY d.due_at, d.date, d.user_id LIMIT ?"
)
# Not tried yet: a message waiting, or a day with nothing for the member. A changed post
# plans both anew; changed follows only the messages waiting (UNTRIED), so that a follow added
# later brings no message about a day that had none when it was published.
UNSENT = "status IN ('pending', 'empty') AND attempts = 0"
UNTRIED = "status = 'pending' AND attempts = 0"


def _delivery(row: aiosqlite.Row) -> DirectDelivery:
    """A due row; a stored body that cannot be read fails that row alone."""
    guild_ids = tuple(int(g) for g in (row[4] or "").split(",") if g)
    try:
        messages = json.loads(row[2])
        if not isinstance(messages, list) or len(messages) != 1:
            raise ValueError(f"{len(messages)} messages where one is sent")
        message, problem = dict(messages[0]), None
    except (TypeError, ValueError) as exc:
        message, problem = {}, f"the stored direct message cannot be read ({exc})"
    return DirectDelivery(
        user_id=row[0],
        date=dt.date.fromisoformat(row[1]),
        message=message,
        attempts=row[3],
        guild_ids=guild_ids,
        problem=problem,
    )


class DirectMessages:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def unplanned(
        self, date: dt.date, *, after: int = 0, limit: int = -1
    ) -> list[MemberFollows]:
        """Members whose direct messages cover `date` and who have no ledger row for it, by
        user id, with their follows; `after` and `limit` page through them."""
        key = date.isoformat()
        async with self.database.reading() as db:
            async with db.execute(
                "SELECT m.user_id FROM members m WHERE m.user_id > ? AND m.since_date <= ?"
                " AND NOT EXISTS (SELECT 1 FROM direct_messages d"
                " WHERE d.user_id = m.user_id AND d.date = ?)"
                " ORDER BY m.user_id LIMIT ?",
                (after, key, key, limit),
            ) as cursor:
                users = [r[0] for r in await cursor.fetchall()]
            if not users:
                return []
            async with db.execute(
                "SELECT user_id, kind, text, key FROM follows"
                " WHERE user_id BETWEEN ? AND ? ORDER BY user_id, rowid",
                (users[0], users[-1]),
            ) as cursor:
                rows = await cursor.fetchall()
        follows: dict[int, list[Follow]] = {}
        for user_id, kind, text, follow_key in rows:
            follows.setdefault(user_id, []).append(Follow(kind, text, follow_key))
        return [MemberFollows(u, tuple(follows.get(u, ()))) for u in users]

    async def record_plan(self, planned: Sequence[PlannedDirect]) -> int:
        """Write planned direct messages in one transaction; rows already there are kept."""
        now = now_stamp()
        bodies: dict[str, str] = {}
        rows = []
        stamps: dict[dt.datetime, str] = {}  # a plan's rows share their due time
        for p in planned:
            due = stamps.get(p.due_at)
            if due is None:
                due = stamps[p.due_at] = stamp(p.due_at)
            if p.message is not None and p.message.messages_json:
                bodies[p.message.digest_hash] = p.message.messages_json
            rows.append(
                (
                    p.user_id,
                    p.date.isoformat(),
                    "empty" if p.message is None else "pending",
                    None if p.message is None else p.message.digest_hash,
                    due,
                    now,
                    p.user_id,
                )
            )
        async with self.database.transaction() as db:
            await db.executemany(
                "INSERT INTO digests (digest_hash, messages) VALUES (?, ?) ON CONFLICT DO NOTHING",
                list(bodies.items()),
            )
            cursor = await db.executemany(
                "INSERT INTO direct_messages (user_id, date, status, digest_hash, due_at,"
                " created_at) SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS"
                " (SELECT 1 FROM members WHERE user_id = ?) ON CONFLICT DO NOTHING",
                rows,
            )
            return max(cursor.rowcount, 0)

    async def due(self, now: dt.datetime, limit: int = 500) -> list[DirectDelivery]:
        """Pending direct messages due by `now`, oldest day first."""
        async with (
            self.database.reading() as db,
            db.execute(DUE_QUERY, (stamp(now), limit)) as cursor,
        ):
            rows = await cursor.fetchall()
        return [_delivery(r) for r in rows]

    async def sent(self, user_id: int, date: dt.date, message_id: int) -> None:
        """Discord took the message: so the member's DMs are open (again)."""
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE direct_messages SET status = 'sent', message_id = ?, sent_at = ?,"
                " last_error = NULL WHERE user_id = ? AND date = ?",
                (message_id, now_stamp(), user_id, date.isoformat()),
            )
            await db.execute(
                "UPDATE members SET dms_closed = 0, note_owed = 0 WHERE user_id = ?", (user_id,)
            )

    async def closed(self, user_id: int, date: dt.date, error: str) -> bool:
        """Discord refused the message because the member's DMs are closed (50007): the day's
        message is not tried again, and the member is owed a note, once per closing. Whether
        this refusal is news (their DMs were open before)."""
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE direct_messages SET status = 'failed', attempts = attempts + 1,"
                " last_error = ? WHERE user_id = ? AND date = ?",
                (error, user_id, date.isoformat()),
            )
            cursor = await db.execute(
                "UPDATE members SET dms_closed = 1, note_owed = 1"
                " WHERE user_id = ? AND dms_closed = 0",
                (user_id,),
            )
            return cursor.rowcount > 0

    async def retry_later(self, user_id: int, date: dt.date, error: str, at: dt.datetime) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE direct_messages SET attempts = attempts + 1, last_error = ?, due_at = ?"
                " WHERE user_id = ? AND date = ? AND status = 'pending'",
                (error, stamp(at), user_id, date.isoformat()),
            )

    async def fail(self, user_id: int, date: dt.date, error: str) -> None:
        """Give up on a direct message Discord refused for good."""
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE direct_messages SET status = 'failed', attempts = attempts + 1,"
                " last_error = ? WHERE user_id = ? AND date = ?",
                (error, user_id, date.isoformat()),
            )

    async def skip_before(self, date: dt.date, reason: str) -> int:
        """Mark pending direct messages of days before `date` as skipped."""
        async with self.database.transaction() as db:
            cursor = await db.execute(
                "UPDATE direct_messages SET status = 'skipped', last_error = ?"
                " WHERE status = 'pending' AND date < ?",
                (reason, date.isoformat()),
            )
            return max(cursor.rowcount, 0)

    async def forget_unsent(
        self, user_ids: Iterable[int] = (), *, date: dt.date | None = None
    ) -> int:
        """Drop the direct messages waiting, never tried, of these members (their follows
        changed), and those never tried of that day, empty ones too (its post changed), so
        planning makes them anew."""
        async with self.database.transaction() as db:
            cursor = await db.executemany(
                f"DELETE FROM direct_messages WHERE user_id = ? AND {UNTRIED}",
                [(u,) for u in user_ids],
            )
            forgotten = max(cursor.rowcount, 0)
            if date is not None:
                cursor = await db.execute(
                    f"DELETE FROM direct_messages WHERE date = ? AND {UNSENT}",
                    (date.isoformat(),),
                )
                forgotten += max(cursor.rowcount, 0)
            return forgotten

    async def ledger(self, user_id: int | None = None) -> list[DirectRow]:
        query = (
            "SELECT user_id, date, status, attempts, message_id, last_error FROM direct_messages"
        )
        params: tuple[int, ...] = ()
        if user_id is not None:
            query += " WHERE user_id = ?"
            params = (user_id,)
        async with (
            self.database.reading() as db,
            db.execute(query + " ORDER BY user_id, date", params) as cursor,
        ):
            rows = await cursor.fetchall()
        return [
            DirectRow(
                user_id=r[0],
                date=dt.date.fromisoformat(r[1]),
                status=r[2],
                attempts=r[3],
                message_id=r[4],
                last_error=r[5],
            )
            for r in rows
        ]
