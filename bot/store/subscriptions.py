"""Channels, the categories they subscribe to, and their digest settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import TypeVar

import aiosqlite

from bot.models import Follow, Subscription
from bot.store.database import Database
from bot.store.records import SettingsChange, now_iso


async def first_new_day(db: aiosqlite.Connection) -> str:
    """The day after the newest stored one: a new subscription (or a member's first follow)
    starts there, so it is not sent days published before it."""
    async with db.execute("SELECT max(date) FROM days") as cursor:
        row = await cursor.fetchone()
    latest = row[0] if row and row[0] else None
    if latest is None:
        return dt.date.min.isoformat()
    newest = dt.date.fromisoformat(latest)
    # An archive stored before posts dated in the future were refused may hold 9999-12-31:
    # `hotpapers forget-day` removes it; meanwhile a subscription starts there, not in error.
    return (newest if newest == dt.date.max else newest + dt.timedelta(days=1)).isoformat()


async def add_channel(db: aiosqlite.Connection, channel_id: int, guild_id: int) -> None:
    """The channel's row, made unless it is there: with its first subscription or follow,
    starting with the next day published."""
    now = now_iso()
    await db.execute(
        "INSERT INTO channels (channel_id, guild_id, since_date, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel_id) DO NOTHING",
        (channel_id, guild_id, await first_new_day(db), now, now),
    )


async def forget_unused_channel(db: aiosqlite.Connection, channel_id: int) -> None:
    """Forget the channel, with its settings, once it has no subscription and no follow."""
    await db.execute(
        "DELETE FROM channels WHERE channel_id = ?"
        " AND NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.channel_id = ?)"
        " AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.channel_id = ?)",
        (channel_id, channel_id, channel_id),
    )


class Subscriptions:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def subscribe(
        self, channel_id: int, guild_id: int, categories: Iterable[str]
    ) -> list[str]:
        """Add categories to a channel; returns those that were new. A new channel starts
        with the first day after the newest one already in the archive."""
        now = now_iso()
        added: list[str] = []
        async with self.database.transaction() as db:
            await add_channel(db, channel_id, guild_id)
            for category in categories:
                cursor = await db.execute(
                    "INSERT INTO subscriptions (channel_id, category, created_at)"
                    " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (channel_id, category, now),
                )
                if cursor.rowcount:
                    added.append(category)
        return added

    async def unsubscribe(self, channel_id: int, category: str) -> bool:
        """Remove one category; a channel left with none, and no follows, is forgotten with
        its settings."""
        async with self.database.transaction() as db:
            cursor = await db.execute(
                "DELETE FROM subscriptions WHERE channel_id = ? AND category = ?",
                (channel_id, category),
            )
            removed = cursor.rowcount > 0
            await forget_unused_channel(db, channel_id)
        return removed

    async def get(self, channel_id: int) -> Subscription | None:
        async with self.database.reading() as db:
            async with db.execute(
                "SELECT * FROM channels WHERE channel_id = ?", (channel_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            async with db.execute(
                "SELECT category FROM subscriptions WHERE channel_id = ? ORDER BY category",
                (channel_id,),
            ) as cursor:
                categories = tuple(r[0] for r in await cursor.fetchall())
            async with db.execute(
                "SELECT kind, text, key FROM follows WHERE channel_id = ? ORDER BY rowid",
                (channel_id,),
            ) as cursor:
                follows = tuple(Follow(*r) for r in await cursor.fetchall())
        return subscription_from_row(row, categories, follows)

    async def update_settings(self, channel_id: int, change: SettingsChange) -> Subscription | None:
        """Apply a settings change. Any change lifts a pause Discord caused (so delivery is
        tried again); a pause set with `paused` stays until `paused` is set to false."""
        sets: list[str] = ["updated_at = ?"]
        values: list[object] = [now_iso()]
        if change.paused is not None:
            sets += ["paused = ?", "pause_reason = NULL"]
            values.append(int(change.paused))
        else:
            sets += [
                "paused = CASE WHEN pause_reason IS NOT NULL THEN 0 ELSE paused END",
                "pause_reason = NULL",
            ]
        if change.top is not None:
            sets.append("top = ?")
            values.append(change.top)
        if change.min_score is not None:
            sets.append("min_score = ?")
            values.append(change.min_score)
        if change.clear_deliver_at:
            sets.append("deliver_at = NULL")
        elif change.deliver_at is not None:
            sets.append("deliver_at = ?")
            values.append(change.deliver_at.strftime("%H:%M"))
        if change.timezone is not None:
            sets.append("timezone = ?")
            values.append(change.timezone)
        async with self.database.transaction() as db:
            cursor = await db.execute(
                f"UPDATE channels SET {', '.join(sets)} WHERE channel_id = ?",
                (*values, channel_id),
            )
            if not cursor.rowcount:
                return None
        return await self.get(channel_id)

    async def pause(self, channel_id: int, reason: str) -> None:
        """Stop deliveries to a channel Discord refused, until its settings change."""
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE channels SET paused = 1, pause_reason = ?, updated_at = ?"
                " WHERE channel_id = ?",
                (reason, now_iso(), channel_id),
            )

    async def remove_channels(self, channel_ids: Iterable[int]) -> int:
        """Forget channels that no longer exist or that the bot can no longer see."""
        ids = list(channel_ids)
        async with self.database.transaction() as db:
            cursor = await db.executemany(
                "DELETE FROM channels WHERE channel_id = ?", [(i,) for i in ids]
            )
            return max(cursor.rowcount, 0)

    async def remove_guild(self, guild_id: int) -> int:
        async with self.database.transaction() as db:
            cursor = await db.execute("DELETE FROM channels WHERE guild_id = ?", (guild_id,))
            return max(cursor.rowcount, 0)

    async def count(self) -> int:
        async with (
            self.database.reading() as db,
            db.execute("SELECT count(*) FROM channels") as cursor,
        ):
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def subscription_from_row(
    row: aiosqlite.Row, categories: tuple[str, ...], follows: tuple[Follow, ...] = ()
) -> Subscription:
    """The channel's row as a Subscription. A value that cannot be read (an old or edited
    archive) never raises here, where it would stop every channel listed with it: the
    subscription carries the problem instead, and planning skips just that channel."""
    problems: list[str] = []
    since = _read(row, "since_date", dt.date.fromisoformat, dt.date.max, problems)
    deliver_at = _read(row, "deliver_at", dt.time.fromisoformat, None, problems)
    top, min_score = row["top"], row["min_score"]
    for name, value in (("top", top), ("min_score", min_score)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            problems.append(f"stored {name} {value!r} is not a whole number")
    return Subscription(
        channel_id=row["channel_id"],
        guild_id=row["guild_id"],
        categories=categories,
        since_date=since,
        top=top if isinstance(top, int) else None,
        min_score=min_score if isinstance(min_score, int) else 0,
        deliver_at=deliver_at,
        timezone=str(row["timezone"]),
        paused=bool(row["paused"]),
        pause_reason=row["pause_reason"],
        problem="; ".join(problems) or None,
        follows=follows,
    )


T = TypeVar("T")


def _read(
    row: aiosqlite.Row,
    column: str,
    parse: Callable[[str], T],
    fallback: T,
    problems: list[str],
) -> T:
    value = row[column]
    if value is None or value == "":
        return fallback
    try:
        return parse(value)
    except (TypeError, ValueError):
        problems.append(f"stored {column} {value!r} cannot be read")
        return fallback
