"""The archive and everything else the bot keeps, in one SQLite file; all SQL lives here."""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from bot.store.archive import Archive, IngestOutcome, PaperMatch
from bot.store.database import Database, StoreError, StoreUnavailable
from bot.store.state import BotState

if TYPE_CHECKING:
    from bot.store.bluesky import BlueskyPosts
    from bot.store.deliveries import Deliveries, Delivery, LedgerRow, PlannedDelivery
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

# The channels' and the collector's tables are loaded when first used: `hotpapers ingest`
# needs only the archive.
_LATER = {
    "BlueskyPosts": "bot.store.bluesky",
    "Deliveries": "bot.store.deliveries",
    "Delivery": "bot.store.deliveries",
    "LedgerRow": "bot.store.deliveries",
    "PlannedDelivery": "bot.store.deliveries",
    "SettingsChange": "bot.store.subscriptions",
    "Subscriptions": "bot.store.subscriptions",
}


def __getattr__(name: str) -> Any:
    if name not in _LATER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LATER[name]), name)


class Store:
    """Opens the database once and hands out one repository per table group."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.archive = Archive(database)
        self.state = BotState(database)

    @functools.cached_property
    def subscriptions(self) -> Subscriptions:
        from bot.store.subscriptions import Subscriptions

        return Subscriptions(self.database)

    @functools.cached_property
    def bluesky(self) -> BlueskyPosts:
        from bot.store.bluesky import BlueskyPosts

        return BlueskyPosts(self.database)

    @functools.cached_property
    def deliveries(self) -> Deliveries:
        from bot.store.deliveries import Deliveries

        return Deliveries(self.database)

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
