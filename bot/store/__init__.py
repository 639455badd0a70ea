"""The archive and everything else the bot keeps, in one SQLite file; all SQL lives here."""

from __future__ import annotations

import functools
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from bot.store.archive import Archive, IngestOutcome, PaperMatch
from bot.store.database import Database, StoreError, StoreUnavailable
from bot.store.records import (
    Delivery,
    DirectDelivery,
    DirectRow,
    EncodedDigest,
    FollowOutcome,
    LedgerRow,
    MemberFollows,
    PlannedDelivery,
    PlannedDirect,
    SettingsChange,
    encode_digest,
)
from bot.store.state import BotState

# The channels', the members', the collector's and the finder's repositories load when first
# used (`Store.subscriptions`, `Store.deliveries`, `Store.follows`, `Store.direct`,
# `Store.bluesky`, `Store.finder`): `hotpapers ingest` needs only the archive. Their records are
# in bot.store.records.
if TYPE_CHECKING:
    from bot.store.bluesky import BlueskyPosts
    from bot.store.deliveries import Deliveries
    from bot.store.direct import DirectMessages
    from bot.store.finder import Finder
    from bot.store.follows import Follows
    from bot.store.subscriptions import Subscriptions

# BlueskyPosts, Deliveries, DirectMessages, Finder, Follows and Subscriptions are named for type
# checkers; at run time they are the types of those properties.
__all__ = [
    "Archive",
    "BlueskyPosts",
    "BotState",
    "Deliveries",
    "Delivery",
    "DirectDelivery",
    "DirectMessages",
    "DirectRow",
    "EncodedDigest",
    "Finder",
    "FollowOutcome",
    "Follows",
    "IngestOutcome",
    "LedgerRow",
    "MemberFollows",
    "PaperMatch",
    "PlannedDelivery",
    "PlannedDirect",
    "SettingsChange",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "Subscriptions",
    "encode_digest",
]


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
    def finder(self) -> Finder:
        from bot.store.finder import Finder

        return Finder(self.database)

    @functools.cached_property
    def deliveries(self) -> Deliveries:
        from bot.store.deliveries import Deliveries

        return Deliveries(self.database)

    @functools.cached_property
    def follows(self) -> Follows:
        from bot.store.follows import Follows

        return Follows(self.database)

    @functools.cached_property
    def direct(self) -> DirectMessages:
        from bot.store.direct import DirectMessages

        return DirectMessages(self.database)

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
