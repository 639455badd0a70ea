"""Follows: the keywords and authors channels and members follow, and members' DM state.

A channel's follows need its `channels` row (its settings and ledger hang on it): following
creates one, and a channel left with neither follows nor subscriptions is forgotten. A member's
`members` row holds the day their direct messages start from and whether Discord refused the
last one; it goes, with their ledger, when their last follow does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import aiosqlite

from bot import limits
from bot.models import Follow
from bot.store.database import Database
from bot.store.records import FollowOutcome, now_iso
from bot.store.subscriptions import add_channel, first_new_day, forget_unused_channel

Owner = Literal["channel_id", "user_id"]


def _follow(row: aiosqlite.Row) -> Follow:
    return Follow(row[0], row[1], row[2])


class Follows:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def follow_channel(self, channel_id: int, guild_id: int, follow: Follow) -> FollowOutcome:
        """Add a follow to a channel (creating its row, starting with the next day)."""
        async with self.database.transaction() as db:
            await add_channel(db, channel_id, guild_id)
            return await _add(db, "channel_id", channel_id, guild_id, follow)

    async def follow_member(self, user_id: int, guild_id: int, follow: Follow) -> FollowOutcome:
        """Add a personal follow (a member's first starts their DMs with the next day)."""
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO members (user_id, since_date, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO NOTHING",
                (user_id, await first_new_day(db), now_iso()),
            )
            return await _add(db, "user_id", user_id, guild_id, follow)

    async def of_channel(self, channel_id: int) -> tuple[Follow, ...]:
        return await self._of("channel_id", channel_id)

    async def of_member(self, user_id: int) -> tuple[Follow, ...]:
        return await self._of("user_id", user_id)

    async def _of(self, owner: Owner, owner_id: int) -> tuple[Follow, ...]:
        """In the order they were made."""
        async with (
            self.database.reading() as db,
            db.execute(
                f"SELECT kind, text, key FROM follows WHERE {owner} = ? ORDER BY rowid",
                (owner_id,),
            ) as cursor,
        ):
            return tuple(_follow(r) for r in await cursor.fetchall())

    async def unfollow_channel(
        self, channel_id: int, follows: Iterable[Follow] | None = None
    ) -> int:
        """Remove these follows (by kind and key), or all with None; a channel left with no
        follows and no subscriptions is forgotten with its settings. How many were removed."""
        async with self.database.transaction() as db:
            removed = await _remove(db, "channel_id", channel_id, follows)
            await forget_unused_channel(db, channel_id)
        return removed

    async def unfollow_member(self, user_id: int, follows: Iterable[Follow] | None = None) -> int:
        """Remove these personal follows, or all with None; with the last one go the member's
        DM state and ledger. How many were removed."""
        async with self.database.transaction() as db:
            removed = await _remove(db, "user_id", user_id, follows)
            await db.execute(
                "DELETE FROM members WHERE user_id = ?"
                " AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.user_id = ?)",
                (user_id, user_id),
            )
        return removed

    async def member_guilds(self, user_id: int) -> tuple[int, ...]:
        """The servers where the member made their personal follows, latest first."""
        async with (
            self.database.reading() as db,
            db.execute(
                "SELECT guild_id FROM follows WHERE user_id = ? GROUP BY guild_id"
                " ORDER BY max(rowid) DESC",
                (user_id,),
            ) as cursor,
        ):
            return tuple(r[0] for r in await cursor.fetchall())

    async def forget_member(self, user_id: int) -> int:
        """Delete everything kept of a member: follows, DM state and ledger (they left every
        server where they made a follow). How many follows went."""
        async with self.database.transaction() as db:
            async with db.execute(
                "SELECT count(*) FROM follows WHERE user_id = ?", (user_id,)
            ) as cursor:
                row = await cursor.fetchone()
            await db.execute("DELETE FROM members WHERE user_id = ?", (user_id,))
        return int(row[0]) if row else 0

    async def forget_guild(self, guild_id: int) -> list[int]:
        """The bot left a server: forget the members who made all their personal follows
        there (no other server is known to be shared with them); returns them."""
        async with self.database.transaction() as db:
            async with db.execute(
                "SELECT DISTINCT user_id FROM follows f WHERE guild_id = ? AND user_id IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM follows o"
                " WHERE o.user_id = f.user_id AND o.guild_id <> ?) ORDER BY user_id",
                (guild_id, guild_id),
            ) as cursor:
                users = [r[0] for r in await cursor.fetchall()]
            await db.executemany("DELETE FROM members WHERE user_id = ?", [(u,) for u in users])
        return users

    async def owes_dm_note(self, user_id: int) -> bool:
        """Whether the member is still to be told that their DMs are closed."""
        async with (
            self.database.reading() as db,
            db.execute("SELECT note_owed FROM members WHERE user_id = ?", (user_id,)) as cursor,
        ):
            row = await cursor.fetchone()
        return bool(row and row[0])

    async def dm_note_shown(self, user_id: int) -> None:
        async with self.database.transaction() as db:
            await db.execute("UPDATE members SET note_owed = 0 WHERE user_id = ?", (user_id,))

    async def dms_closed(self, user_id: int) -> bool:
        """Whether Discord refused the member's last direct message."""
        async with (
            self.database.reading() as db,
            db.execute("SELECT dms_closed FROM members WHERE user_id = ?", (user_id,)) as cursor,
        ):
            row = await cursor.fetchone()
        return bool(row and row[0])


async def _add(
    db: aiosqlite.Connection, owner: Owner, owner_id: int, guild_id: int, follow: Follow
) -> FollowOutcome:
    async with db.execute(
        f"SELECT count(*), count(CASE WHEN kind = ? AND key = ? THEN 1 END) FROM follows"
        f" WHERE {owner} = ?",
        (follow.kind, follow.key, owner_id),
    ) as cursor:
        row = await cursor.fetchone()
    count, same = (row[0], row[1]) if row else (0, 0)
    if same:
        return "already"
    if count >= limits.FOLLOWS:
        return "full"
    await db.execute(
        f"INSERT INTO follows ({owner}, guild_id, kind, text, key, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (owner_id, guild_id, follow.kind, follow.text, follow.key, now_iso()),
    )
    return "added"


async def _remove(
    db: aiosqlite.Connection, owner: Owner, owner_id: int, follows: Iterable[Follow] | None
) -> int:
    if follows is None:
        cursor = await db.execute(f"DELETE FROM follows WHERE {owner} = ?", (owner_id,))
    else:
        cursor = await db.executemany(
            f"DELETE FROM follows WHERE {owner} = ? AND kind = ? AND key = ?",
            [(owner_id, f.kind, f.key) for f in follows],
        )
    return max(cursor.rowcount, 0)
