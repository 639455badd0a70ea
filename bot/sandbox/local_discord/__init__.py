"""A local Discord (REST API + gateway) on 127.0.0.1 that the real discord.py client talks to.

The offline sandbox (``hotpapers sandbox``) runs the bot against it, and the end-to-end tests
drive it (``tests/support/fake_discord.py`` adds their request validation and injected
failures, on the public hooks described in ``LocalDiscord``).

Usage::

    async with LocalDiscord() as local:
        undo = point_discord_at(local)      # Route.BASE + DiscordWebSocket.DEFAULT_GATEWAY
        try:
            await client.login("any-token")
            task = asyncio.create_task(client.connect())
            await client.wait_until_ready()
            await client.tree.sync()
            reply = await (await local.interact("hello")).wait_reply()
        finally:
            await client.close()
            await task
            undo()
        assert local.unknown_requests == [] and local.schema_problems == []

It is data driven: guilds, channels, roles and members are plain dataclasses (``FakeGuild``
...); every HTTP request is recorded in ``requests``; gateway events are pushed with
``dispatch`` and the helpers built on it.

Modules: ``world`` (the model, permissions), ``payloads`` (Discord's objects), ``server``
(``LocalDiscord``: lifecycle, request handling, hooks), ``http`` (records, answers, the route
table), ``rest``, ``messages`` and ``webhooks`` (the routes), ``direct`` (DMs closed to the bot,
members leaving), ``interactions`` (invoking commands), ``components`` (buttons and select menus
used, and the message updates that answer them), ``gateway``, ``ratelimits`` and ``notifier``
(waiting without sleeping).
"""

from bot.sandbox.local_discord.gateway import Gateway, GatewayConnection, GatewaySession
from bot.sandbox.local_discord.http import (
    Answer,
    Handle,
    Interceptor,
    RecordedRequest,
    RequestCheck,
    Validator,
    path_pattern,
)
from bot.sandbox.local_discord.interactions import InteractionHandle
from bot.sandbox.local_discord.ratelimits import RateLimits, RateLimitStats
from bot.sandbox.local_discord.server import LocalDiscord, point_discord_at
from bot.sandbox.local_discord.world import (
    ADMIN_ROLE_ID,
    ADMIN_USER_ID,
    BOT_ROLE_ID,
    DEFAULT_BOT_USER_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    PAPERS_CHANNEL_ID,
    THREAD_ID,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    Overwrite,
    Perm,
    World,
    default_guild,
)

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
    "FakeChannel",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "Gateway",
    "GatewayConnection",
    "GatewaySession",
    "Handle",
    "InteractionHandle",
    "Interceptor",
    "LocalDiscord",
    "Overwrite",
    "Perm",
    "RateLimitStats",
    "RateLimits",
    "RecordedRequest",
    "RequestCheck",
    "Validator",
    "World",
    "default_guild",
    "path_pattern",
    "point_discord_at",
]
