"""The archive and everything else the bot keeps, in one SQLite file; all SQL lives here."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from bot.store.archive import Archive, IngestOutcome, PaperMatch
from bot.store.bluesky import BlueskyPosts
from bot.store.database import Database, StoreError, StoreUnavailable
from bot.store.deliveries import Deliveries, Delivery, LedgerRow, PlannedDelivery
from bot.store.state import BotState
from bot.store.subscriptions import SettingsChange, Subscriptions

__all__ = [
    "Archive",
    "BlueskyPosts",
    "BotState",
    "Deliveries",
    "Delivery",
    "IngestOutcome",
    "LedgerRow",
    "PaperMatch",
    "PlannedDelivery",
    "SettingsChange",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Subscriptions",
]


class Store:
    """Opens the database once and hands out one repository per table group."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.archive = Archive(database)
        self.subscriptions = Subscriptions(database)
        self.state = BotState(database)
        self.deliveries = Deliveries(database)
        self.bluesky = BlueskyPosts(database)

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self.database.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
