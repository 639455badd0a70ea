"""The tests' Discord: ``bot.sandbox.local_discord`` with Discord's rules checked on every request.

``FakeDiscord`` is ``LocalDiscord`` whose default validator is ``schema.check_request`` (the
OpenAPI description, Discord's limits and our no-ping policy); problems are collected in
``schema_problems`` and bodies Discord would refuse get a 400. ``FakeDiscord(validate=False)``
or ``validator=None`` turns it off. Every public name of ``local_discord`` is re-exported, as
is ``discord`` itself, so tests import everything from here.
"""

from __future__ import annotations

import warnings
from typing import Any

from bot.sandbox.local_discord import *  # noqa: F403
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
    FailureRule,
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
    RandomFailures,
    RateLimits,
    RateLimitStats,
    RecordedRequest,
    RequestCheck,
    Validator,
    default_guild,
    iter_problems,
    point_discord_at,
)

from . import schema

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

_DEFAULT: Any = object()


class FakeDiscord(LocalDiscord):
    """``LocalDiscord`` that checks every request body with ``schema.check_request``.

    Takes every ``LocalDiscord`` parameter; ``validator`` defaults to
    ``schema.check_request``, and ``validate=False`` (the older spelling) means no validator.
    The spec's validators are compiled at ``start()``, not during the first request.
    """

    def __init__(
        self, *, validator: Validator | None = _DEFAULT, validate: bool = True, **options: Any
    ) -> None:
        if validator is _DEFAULT:
            validator = schema.check_request if validate else None
        super().__init__(validator=validator, **options)

    @property
    def validate(self) -> bool:
        return self.validator is not None

    async def start(self) -> None:
        if self.validator is schema.check_request:
            schema.warm_up()
        await super().start()
