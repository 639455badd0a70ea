"""What a delivery run did: plain data, for the service and its callers (no Discord client)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class DeliveryReport:
    sent_messages: int = 0
    completed: int = 0
    retried: int = 0
    paused: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    failed: int = 0


@dataclass(slots=True)
class DirectReport:
    """What a run of direct messages did."""

    sent: int = 0
    closed: list[int] = field(default_factory=list)  # members whose DMs Discord refused
    forgotten: list[int] = field(default_factory=list)  # members in none of their servers
    retried: int = 0
    failed: int = 0
