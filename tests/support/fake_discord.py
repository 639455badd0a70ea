"""The tests' Discord: ``bot.sandbox.local_discord`` with Discord's rules checked on every request
and failures injected on demand.

``FakeDiscord`` is ``LocalDiscord`` whose default validator is ``schema.check_request`` (the
OpenAPI description, Discord's limits and our no-ping policy); problems are collected in
``schema_problems`` and bodies Discord would refuse get a 400. ``validator=None`` turns it
off. Its first interceptor is a ``Faults`` (``fail_next``, ``fail_randomly``,
``clear_failures``). Every public name of ``local_discord`` is re-exported, as is ``discord``
itself, so tests import everything from here.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from bot.sandbox.local_discord import (
    ADMIN_ROLE_ID,
    ADMIN_USER_ID,
    BOT_ROLE_ID,
    DEFAULT_BOT_USER_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    PAPERS_CHANNEL_ID,
    THREAD_ID,
    Answer,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    GatewayConnection,
    GatewaySession,
    Handle,
    InteractionHandle,
    Interceptor,
    LocalDiscord,
    Overwrite,
    Perm,
    RateLimits,
    RateLimitStats,
    RecordedRequest,
    RequestCheck,
    Validator,
    default_guild,
    point_discord_at,
)

from . import schema
from .faults import FailureRule, Faults, RandomFailures

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

__all__ = [
    "ADMIN_ROLE_ID",
    "ADMIN_USER_ID",
    "BOT_ROLE_ID",
    "DEFAULT_BOT_USER_ID",
    "GENERAL_CHANNEL_ID",
    "GUILD_ID",
    "MEMBER_USER_ID",
    "PAPERS_CHANNEL_ID",
    "THREAD_ID",
    "Answer",
    "FailureRule",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Faults",
    "GatewayConnection",
    "GatewaySession",
    "Handle",
    "InteractionHandle",
    "Interceptor",
    "LocalDiscord",
    "Overwrite",
    "Perm",
    "RandomFailures",
    "RateLimitStats",
    "RateLimits",
    "RecordedRequest",
    "RequestCheck",
    "Validator",
    "default_guild",
    "discord",
    "iter_problems",
    "point_discord_at",
]


class FakeDiscord(LocalDiscord):
    """``LocalDiscord`` that checks every request body and can be told to fail.

    Takes every ``LocalDiscord`` parameter; ``validator`` defaults to
    ``schema.check_request``, whose validators are compiled at ``start()``, not during the
    first request. ``faults`` is its first interceptor; ``fail_next``, ``fail_randomly`` and
    ``clear_failures`` are its methods (see ``Faults``).
    """

    def __init__(self, *, validator: Validator | None = schema.check_request, **options: Any):
        super().__init__(validator=validator, **options)
        self.faults = Faults()
        self.interceptors.append(self.faults)
        self.fail_next = self.faults.fail_next
        self.fail_randomly = self.faults.fail_randomly
        self.clear_failures = self.faults.clear

    async def start(self) -> None:
        if self.validator is schema.check_request:
            schema.warm_up()
        await super().start()


def iter_problems(fake: LocalDiscord) -> Iterator[str]:
    """Everything a clean test must not leave behind (used by the fixture)."""
    for record in fake.unknown_requests:
        yield f"unknown route: {record.method} {record.path} {record.query or ''}"
    yield from fake.schema_problems
