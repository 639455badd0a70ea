"""The records the channel tables take and give: plain data, importable without loading
their repositories (`Store.subscriptions`, `Store.deliveries`), which `hotpapers ingest` never
needs."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.models import Follow


def now_iso() -> str:
    """Now in UTC, ISO 8601 to the second: when a row was made or changed."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """The settings a `/settings` call changes; None leaves a value as it is."""

    top: int | None = None
    min_score: int | None = None
    deliver_at: dt.time | None = None
    clear_deliver_at: bool = False
    timezone: str | None = None
    paused: bool | None = None


@dataclass(frozen=True, slots=True)
class EncodedDigest:
    """A digest's message bodies as stored once in `digests`, keyed by their hash."""

    digest_hash: str
    messages_json: str  # "" once written: later rows only refer to the hash

    def written(self) -> EncodedDigest:
        return EncodedDigest(self.digest_hash, "")


def encode_digest(messages: Sequence[dict[str, Any]]) -> EncodedDigest | None:
    """None for an empty digest (no paper matched): nothing to send."""
    if not messages:
        return None
    encoded = json.dumps(list(messages), ensure_ascii=False, sort_keys=True)
    return EncodedDigest(hashlib.sha256(encoded.encode()).hexdigest(), encoded)


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    """A digest decided for a channel and day; `digest` None means nothing matched."""

    channel_id: int
    date: dt.date
    due_at: dt.datetime
    digest: EncodedDigest | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A pending ledger row with the message bodies still to send."""

    channel_id: int
    guild_id: int
    date: dt.date
    messages: tuple[dict[str, Any], ...]
    parts_sent: int
    message_ids: tuple[int, ...]
    attempts: int
    problem: str | None = None  # why it cannot be sent, when its stored digest is unreadable


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """A ledger row as shown to admins and tests."""

    channel_id: int
    date: dt.date
    status: str
    due_at: dt.datetime
    parts_sent: int
    message_ids: tuple[int, ...]
    attempts: int
    last_error: str | None


FollowOutcome = Literal["added", "already", "full"]
"""What a follow request did: added, there already, or refused at the limit (limits.FOLLOWS)."""


@dataclass(frozen=True, slots=True)
class MemberFollows:
    """A member's personal follows, as planning reads them: one direct message per day."""

    user_id: int
    follows: tuple[Follow, ...]


@dataclass(frozen=True, slots=True)
class PlannedDirect:
    """A direct message decided for a member and day; `message` None means nothing matched."""

    user_id: int
    date: dt.date
    due_at: dt.datetime
    message: EncodedDigest | None


@dataclass(frozen=True, slots=True)
class DirectDelivery:
    """A pending direct message with its body, and the servers where the member made their
    follows, latest first (where the bot looks whether they are still a member)."""

    user_id: int
    date: dt.date
    message: dict[str, Any]
    attempts: int
    guild_ids: tuple[int, ...]
    problem: str | None = None  # why it cannot be sent, when its stored body is unreadable


@dataclass(frozen=True, slots=True)
class DirectRow:
    """A direct-message ledger row as shown to admins and tests."""

    user_id: int
    date: dt.date
    status: str
    attempts: int
    message_id: int | None
    last_error: str | None
