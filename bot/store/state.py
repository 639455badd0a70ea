"""Small facts the bot keeps about itself, such as the hash of the commands last synced."""

from __future__ import annotations

from bot.store.database import Database


class BotState:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def get(self, key: str) -> str | None:
        async with (
            self.database.reading() as db,
            db.execute("SELECT value FROM bot_state WHERE key = ?", (key,)) as cursor,
        ):
            row = await cursor.fetchone()
        return None if row is None else str(row[0])

    async def set(self, key: str, value: str) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
