"""A local Discord (REST API + gateway) on 127.0.0.1 that the real discord.py client talks to.

The offline sandbox (``hotpapers sandbox``) runs the bot against it, and the
end-to-end tests drive it (``tests/support/fake_discord.py`` adds their request validation
and injected failures, on the public hooks described in ``LocalDiscord``).

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
...); every HTTP request is recorded in ``requests``; bodies are checked by the ``validator``
given to the constructor, if any (problems collected in ``schema_problems``); the
``interceptors`` may answer a request instead; gateway events are pushed with ``dispatch``
and the helpers built on it; ``message_listeners`` hear of every message posted to a channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import hashlib
import json
import logging
import re
import secrets
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, Self, TypeVar

import yarl
from aiohttp import BodyPartReader, WSMsgType, web

with warnings.catch_warnings():
    # discord.py's voice support imports audioop, deprecated since Python 3.11; under the
    # tests' filterwarnings=error that import would fail the whole session.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord
    import discord.gateway
    import discord.http

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
    "default_guild",
    "path_pattern",
    "point_discord_at",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
JSON = Any

API_VERSION = 10
DISCORD_EPOCH_MS = 1_420_070_400_000

GUILD_ID = 1000
PAPERS_CHANNEL_ID = 1001
GENERAL_CHANNEL_ID = 1002
THREAD_ID = 1003
ADMIN_ROLE_ID = 1010
BOT_ROLE_ID = 1012
ADMIN_USER_ID = 2001
MEMBER_USER_ID = 2002
DEFAULT_BOT_USER_ID = 4242


class RequestCheck(Protocol):
    """What a validator found in one request body."""

    @property
    def problems(self) -> list[str]:
        """Everything wrong with the body, including what Discord would accept anyway."""
        ...

    @property
    def rejected_by_discord(self) -> list[str]:
        """The problems for which Discord would answer 400."""
        ...


Validator = Callable[[str, str, Any], RequestCheck]
"""Checks one request: ``(method, API path without /api/v10, parsed JSON body)``."""


@dataclass(frozen=True)
class Answer:
    """What the local Discord answers one REST request."""

    status: int
    body: JSON = None
    headers: Mapping[str, str] = field(default_factory=dict)


Handle = Callable[[], Awaitable[Answer]]
"""Carries out the request (authorization, then its route) and gives the answer."""

Interceptor = Callable[["RecordedRequest", Handle], Awaitable[Answer]]
"""Consulted for each REST request of a known route, after validation and rate limits.

It returns the answer to send: its own (the request is not carried out), or what ``handle()``
gives, or its own after ``handle()`` (the request is carried out and its answer replaced).
Whatever it does after ``await handle()`` happens once the route stored its change and
before the answer is sent."""


class Perm:
    """Discord permission bits (only those the fake reasons about, plus common ones)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    SEND_MESSAGES_IN_THREADS = 1 << 38
    ALL = discord.Permissions.all().value

    EVERYONE_DEFAULT = (
        CREATE_INSTANT_INVITE
        | ADD_REACTIONS
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | USE_EXTERNAL_EMOJIS
        | USE_APPLICATION_COMMANDS
        | CREATE_PUBLIC_THREADS
        | SEND_MESSAGES_IN_THREADS
    )
    BOT_DEFAULT = (
        VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | ATTACH_FILES
        | READ_MESSAGE_HISTORY
        | SEND_MESSAGES_IN_THREADS
    )


class Intent:
    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12


THREAD_TYPES = frozenset({10, 11, 12})
TEXT_LIKE_TYPES = frozenset({0, 1, 3, 5, 10, 11, 12})


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class _Snowflakes:
    """Increasing snowflakes based on the current time (like Discord's)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate


# ---------------------------------------------------------------------------------------------
# World model (configuration)
# ---------------------------------------------------------------------------------------------


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "avatar_decoration_data": None,
            "primary_guild": None,
            "collectibles": None,
        }


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            payload["tags"] = {"bot_id": str(self.bot_id)}
        return payload


@dataclass
class Overwrite:
    """A channel permission overwrite; ``type`` 0 = role, 1 = member."""

    id: int
    type: int = 0
    allow: int = 0
    deny: int = 0

    def to_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class FakeChannel:
    """A guild channel (0 text, 2 voice, 4 category, 5 news, 11 public thread ...) or DM (1)."""

    id: int
    name: str
    type: int = 0
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    nsfw: bool = False
    overwrites: list[Overwrite] = field(default_factory=list)
    owner_id: int | None = None  # threads
    archived: bool = False  # threads
    recipient_id: int | None = None  # DMs

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES


@dataclass
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = "2021-03-01T12:00:00+00:00"

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    channels: list[FakeChannel] = field(default_factory=list)
    roles: list[FakeRole] = field(default_factory=list)
    members: list[FakeMember] = field(default_factory=list)
    preferred_locale: str = "en-US"
    features: list[str] = field(default_factory=list)

    def channel(self, channel_id: int) -> FakeChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)

    def role(self, role_id: int) -> FakeRole | None:
        return next((r for r in self.roles if r.id == role_id), None)

    def member(self, user_id: int) -> FakeMember | None:
        return next((m for m in self.members if m.id == user_id), None)

    @property
    def everyone(self) -> FakeRole:
        role = self.role(self.id)
        if role is None:
            role = FakeRole(id=self.id, name="@everyone", permissions=Perm.EVERYONE_DEFAULT)
            self.roles.insert(0, role)
        return role


def default_guild(bot_user: FakeUser) -> FakeGuild:
    """The default guild.

    "Reading Group" (1000): #papers 1001, #general 1002, thread 1003 in #papers; roles
    @everyone (1000), Admin (1010: Administrator + Manage Channels + Manage Guild) and the bot's
    managed role (1012); members alice (2001, Admin, owner), bob (2002, no roles) and the bot.
    """
    alice = FakeUser(ADMIN_USER_ID, "alice", "Alice")
    bob = FakeUser(MEMBER_USER_ID, "bob", "Bob")
    return FakeGuild(
        id=GUILD_ID,
        name="Reading Group",
        owner_id=ADMIN_USER_ID,
        channels=[
            FakeChannel(PAPERS_CHANNEL_ID, "papers", 0, position=0, topic="Daily hot papers"),
            FakeChannel(GENERAL_CHANNEL_ID, "general", 0, position=1),
            FakeChannel(
                THREAD_ID,
                "paper-discussion",
                11,
                parent_id=PAPERS_CHANNEL_ID,
                owner_id=ADMIN_USER_ID,
            ),
        ],
        roles=[
            FakeRole(GUILD_ID, "@everyone", Perm.EVERYONE_DEFAULT, position=0),
            FakeRole(
                ADMIN_ROLE_ID,
                "Admin",
                Perm.ADMINISTRATOR | Perm.MANAGE_CHANNELS | Perm.MANAGE_GUILD,
                position=2,
            ),
            FakeRole(
                BOT_ROLE_ID,
                bot_user.username,
                Perm.BOT_DEFAULT,
                position=1,
                managed=True,
                bot_id=bot_user.id,
            ),
        ],
        members=[
            FakeMember(alice, roles=[ADMIN_ROLE_ID]),
            FakeMember(bob, roles=[]),
            FakeMember(bot_user, roles=[BOT_ROLE_ID]),
        ],
    )


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One HTTP request the fake received."""

    method: str
    path: str  # API path without the /api/v10 prefix, e.g. "/channels/1001/messages"
    query: dict[str, str]
    json: JSON  # parsed JSON body (or multipart payload_json), None without body
    headers: dict[str, str]
    files: list[dict[str, Any]] = field(default_factory=list)  # multipart files
    route: str | None = None  # e.g. "POST /channels/{channel_id}/messages"; None = unknown
    status: int = 0
    response: JSON = None
    problems: list[str] = field(default_factory=list)  # schema / limit / policy problems
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class RateLimits:
    """Discord's rate limits, enforced when given as ``LocalDiscord(rate_limits=...)``.

    A global limit of ``global_per_second`` requests (interaction callbacks and webhooks are
    exempt, as on Discord) and per-route buckets: ``routes`` maps a route such as
    ``"POST /channels/{channel_id}/messages"`` to (requests, seconds), one bucket per major
    parameter (channel, guild or webhook); other routes share ``default``. Every answer carries
    the ``X-RateLimit-*`` headers of its bucket; a request over a limit gets a 429 with
    ``retry_after``, as Discord answers it.
    """

    global_per_second: int = 50
    routes: Mapping[str, tuple[int, float]] = field(
        default_factory=lambda: {"POST /channels/{channel_id}/messages": (5, 5.0)}
    )
    default: tuple[int, float] = (50, 1.0)


@dataclass
class _Window:
    """A fixed window of ``limit`` requests that opens at its first request."""

    limit: int
    period: float
    remaining: int = 0
    reset_at: float = 0.0

    def take(self, now: float) -> float:
        """0 when a request may pass now (and counts it), else the seconds to wait."""
        if now >= self.reset_at:
            self.remaining, self.reset_at = self.limit, now + self.period
        if self.remaining == 0:
            return self.reset_at - now
        self.remaining -= 1
        return 0.0


@dataclass
class RateLimitStats:
    """What the rate limiter did: requests it let through and the 429s it answered."""

    passed: int = 0
    global_429: int = 0
    route_429: dict[str, int] = field(default_factory=dict)  # bucket → 429s

    @property
    def total_429(self) -> int:
        return self.global_429 + sum(self.route_429.values())


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str, errors: Any = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.payload: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.payload["errors"] = errors


def path_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """``{name}`` matches one path segment, ``*`` anything; a compiled regex is used as is."""
    if isinstance(pattern, re.Pattern):
        return pattern
    out = []
    for part in re.split(r"(\{[^}/]+\}|\*)", pattern):
        if part == "*":
            out.append(".*")
        elif part.startswith("{") and part.endswith("}"):
            out.append("[^/]+")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


class _Notifier:
    """Wake-up for ``wait_*`` helpers whenever the fake's state changes."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float,  # noqa: ASYNC109
        describe: Callable[[], str],
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result is not None and result is not False:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"after {timeout}s: {describe()}")
            event = self._event
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)


# ---------------------------------------------------------------------------------------------
# Interactions
# ---------------------------------------------------------------------------------------------


class InteractionHandle:
    """An INTERACTION_CREATE the fake dispatched, and what the bot answered.

    Attributes: ``id``, ``token``, ``type`` (2 command, 4 autocomplete), ``payload`` (what was
    dispatched), ``callback`` (body of the callback POST, e.g. ``{"type": 4, "data": {...}}``),
    ``original`` (the current original response message), ``original_edits`` (PATCH bodies),
    ``followups`` (follow-up messages), ``replies`` (message objects in the order they appeared:
    original response, deferred-then-edited original, follow-ups), ``original_deleted``.
    """

    def __init__(self, fake: LocalDiscord, payload: dict[str, Any]) -> None:
        self._fake = fake
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.channel_id: int | None = (
            int(payload["channel_id"]) if payload.get("channel_id") else None
        )
        self.guild_id: int | None = int(payload["guild_id"]) if payload.get("guild_id") else None
        self.user: dict[str, Any] = (
            payload["member"]["user"] if "member" in payload else payload["user"]
        )
        self.created_at = time.monotonic()
        self.callback: dict[str, Any] | None = None
        self.original: dict[str, Any] | None = None
        self.original_edits: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []
        self.original_deleted = False

    def __repr__(self) -> str:
        return (
            f"<InteractionHandle id={self.id} type={self.type} "
            f"callback_type={self.callback_type} replies={len(self.replies)}>"
        )

    @property
    def callback_type(self) -> int | None:
        return None if self.callback is None else self.callback.get("type")

    @property
    def acknowledged(self) -> bool:
        return self.callback is not None

    def _describe(self) -> str:
        return (
            f"interaction {self.id} ({self.payload.get('data', {}).get('name')!r}): "
            f"callback={self.callback!r}, followups={len(self.followups)}, "
            f"edits={len(self.original_edits)}; requests for it: "
            + repr([f"{r.method} {r.path} -> {r.status}" for r in self._own_requests()])
        )

    def _own_requests(self) -> list[RecordedRequest]:
        return [r for r in self._fake.requests if self.token in r.path]

    async def wait_callback(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The callback body (``{"type": ..., "data": ...}``) once the bot answered."""
        return await self._fake._notifier.wait_for(lambda: self.callback, timeout, self._describe)

    async def wait_reply(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The bot's reply.

        * callback type 4/7: the original response message,
        * type 5/6 (deferred): the message of the first PATCH of @original or the first
          follow-up, whichever comes first,
        * type 8 (autocomplete): the callback ``data`` (``{"choices": [...]}``),
        * other types (9 modal ...): the callback ``data``.
        """

        def ready() -> dict[str, Any] | None:
            if self.callback is None:
                return None
            kind = self.callback.get("type")
            if kind in (4, 7):
                return self.original
            if kind in (5, 6):
                return self.replies[0] if self.replies else None
            data: dict[str, Any] = self.callback.get("data") or {}
            return data

        return await self._fake._notifier.wait_for(ready, timeout, self._describe)

    async def wait_choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """The choices of an autocomplete (type 8) answer."""
        callback = await self.wait_callback(timeout)
        if callback.get("type") != 8:
            raise AssertionError(f"expected an autocomplete result (type 8), got {callback!r}")
        choices: list[dict[str, Any]] = (callback.get("data") or {}).get("choices") or []
        return choices

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """At least ``count`` follow-up messages."""
        return await self._fake._notifier.wait_for(
            lambda: list(self.followups) if len(self.followups) >= count else None,
            timeout,
            self._describe,
        )

    async def wait_replies(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """At least ``count`` reply messages (original response and follow-ups, in order)."""
        return await self._fake._notifier.wait_for(
            lambda: list(self.replies) if len(self.replies) >= count else None,
            timeout,
            self._describe,
        )

    async def wait_original_edit(self, count: int = 1, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The original response after at least ``count`` PATCHes of @original."""
        return await self._fake._notifier.wait_for(
            lambda: self.original if len(self.original_edits) >= count else None,
            timeout,
            self._describe,
        )

    @property
    def ephemeral(self) -> bool:
        """Whether the first reply is ephemeral (flag 64)."""
        if self.replies:
            return bool(int(self.replies[0].get("flags", 0)) & 64)
        data = (self.callback or {}).get("data") or {}
        return bool(int(data.get("flags") or 0) & 64)


# ---------------------------------------------------------------------------------------------
# Gateway
# ---------------------------------------------------------------------------------------------


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    connection: GatewayConnection | None = None
    ended: bool = False  # closed by the client with 1000/1001 or invalidated

    def covers(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events of ``guild_id`` (DMs: shard 0)."""
        if self.shard is None:
            return True
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % count == shard_id


class GatewayConnection:
    """One websocket connection to /gateway."""

    def __init__(self, ws: web.WebSocketResponse, query: Mapping[str, str]) -> None:
        self.ws = ws
        self.query = dict(query)
        self.session: GatewaySession | None = None
        self.ready = asyncio.Event()
        self.heartbeats = 0
        self.received: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.server_close_code: int | None = None  # set when the fake closed it
        self._lock = asyncio.Lock()

    @property
    def open(self) -> bool:
        return not self.ws.closed

    async def send(self, payload: dict[str, Any]) -> None:
        # TEXT frames only: discord.py zlib-inflates binary frames (it asked for
        # compress=zlib-stream, which a server may ignore).
        async with self._lock:
            if not self.ws.closed:
                with contextlib.suppress(ConnectionResetError, RuntimeError):
                    await self.ws.send_str(json.dumps(payload))

    async def send_dispatch(self, seq: int, event: str, data: dict[str, Any]) -> None:
        await self.send({"op": 0, "s": seq, "t": event, "d": data})

    async def close(self, code: int, message: str = "") -> None:
        """Close from the server side (the close code is kept: aiohttp reports 1000 to the
        reading task when another task closes the socket)."""
        if self.ws.closed:
            return
        self.server_close_code = code
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code=code, message=message.encode()), 2.0)


# ---------------------------------------------------------------------------------------------
# The fake
# ---------------------------------------------------------------------------------------------

_Handler = Callable[["_Call"], Any]


@dataclass
class _Call:
    request: web.Request
    record: RecordedRequest
    params: dict[str, str]

    @property
    def body(self) -> Any:
        return self.record.json

    def int_param(self, name: str) -> int:
        value = self.params[name]
        if not value.isdigit():
            raise _ApiError(404, 0, "404: Not Found")
        return int(value)


class LocalDiscord:
    """Discord's REST API + gateway on 127.0.0.1 (random free port), for one bot.

    Constructor parameters (all keyword-only, all optional):

    * ``bot_user_id`` (4242), ``bot_name`` ("HotPapers"), ``application_id`` (= bot user id)
    * ``guilds``: list of ``FakeGuild`` (default: ``[default_guild(bot_user)]``); the bot is
      added as a member (without roles) where it is not one
    * ``token``: if set, REST requests and IDENTIFY must use it (else 401 / close 4004)
    * ``heartbeat_interval_ms`` (41250)
    * ``interaction_ack_timeout`` (3.0 s, like Discord; None = no limit): a callback later than
      this after the interaction was dispatched gets 404 Unknown interaction
    * ``nonce_ttl`` (300 s): how long an ``enforce_nonce`` nonce deduplicates
    * ``validator``: run on every request with a JSON body (None: no validation); its
      problems are collected in ``schema_problems``
    * ``reject_invalid``: answer 400 (code 50035) when the validator finds a problem Discord
      would reject (True); other problems (e.g. a no-ping policy) are only collected
    * ``enforce_permissions``: 403 when the bot lacks View Channel / Send Messages (True)
    * ``enforce_command_gates``: see the attribute below (True)
    * ``rate_limits``: a ``RateLimits`` to enforce Discord's rate limits (None: no limits);
      what it did is in ``rate_limit_stats``

    Hooks:

    * ``validator`` (above) checks request bodies.
    * ``interceptors``: a list of ``Interceptor``, consulted in order for each REST request of
      a known route after validation and rate limits. Each may answer instead (an ``Answer``)
      or let the request through (``await handle()``), and may act between the route
      storing its change and the answer being sent (after ``await handle()``).
    * ``message_listeners``: called with each message posted to a channel (not interaction
      replies) once it is stored, before the answer is sent.
    * ``enforce_command_gates``: ``interact`` raises ``PermissionError`` where Discord's
      client would not offer the command (a member without its
      ``default_member_permissions``, a context it is not enabled in). False delivers the
      interaction anyway: a server's Integrations settings can override
      ``default_member_permissions``, and a bot must not rely on either gate.
    """

    def __init__(
        self,
        *,
        bot_user_id: int = DEFAULT_BOT_USER_ID,
        bot_name: str = "HotPapers",
        application_id: int | None = None,
        guilds: Sequence[FakeGuild] | None = None,
        token: str | None = None,
        heartbeat_interval_ms: int = 41250,
        interaction_ack_timeout: float | None = 3.0,
        nonce_ttl: float = 300.0,
        validator: Validator | None = None,
        reject_invalid: bool = True,
        enforce_permissions: bool = True,
        enforce_command_gates: bool = True,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.bot_user = FakeUser(bot_user_id, bot_name, None, bot=True)
        self.application_id = application_id if application_id is not None else bot_user_id
        guild_list = list(guilds) if guilds is not None else [default_guild(self.bot_user)]
        self.guilds: dict[int, FakeGuild] = {g.id: g for g in guild_list}
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_ack_timeout = interaction_ack_timeout
        self.nonce_ttl = nonce_ttl
        self.validator = validator
        self.reject_invalid = reject_invalid
        self.enforce_permissions = enforce_permissions
        self.enforce_command_gates = enforce_command_gates
        self.interceptors: list[Interceptor] = []
        self.rate_limits = rate_limits
        # READY's resume address (None: this server); a test may name another one.
        self.resume_gateway_url: str | None = None
        self.rate_limit_stats = RateLimitStats()

        self.users: dict[int, FakeUser] = {self.bot_user.id: self.bot_user}
        for guild in guild_list:
            self._adopt_guild(guild)
        self.left_guilds: set[int] = set()
        self.deleted_channels: set[int] = set()

        # records
        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.schema_problems: list[str] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.message_listeners: list[Callable[[dict[str, Any]], None]] = []
        self.deleted_messages: list[dict[str, Any]] = []
        self.nonce_hits = 0
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: list[InteractionHandle] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.presence_updates: list[dict[str, Any]] = []
        self.member_requests: list[dict[str, Any]] = []
        self.unknown_gateway_payloads: list[dict[str, Any]] = []
        self.dispatched: list[tuple[str, dict[str, Any]]] = []
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}

        self._ids = _Snowflakes()
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._global_window: _Window | None = None
        self._buckets: dict[tuple[str, str], _Window] = {}
        self._dm_channels: dict[int, FakeChannel] = {}
        self._interactions_by_token: dict[str, InteractionHandle] = {}
        self._notifier = _Notifier()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._routes: list[tuple[str, re.Pattern[str], str, _Handler]] = []
        self._register_routes()

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("LocalDiscord already started")
        app = web.Application()
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_route("*", "/{tail:.*}", self._http_handler)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        assert host == "127.0.0.1"
        self._port = int(port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for conn in list(self.connections):
            await conn.close(1001, "fake-discord shutting down")
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("LocalDiscord is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v{API_VERSION}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- queries for tests -------------------------------------------------------------------------

    @property
    def intents(self) -> int | None:
        """Intents of the last IDENTIFY (None before any)."""
        return self.identifies[-1].get("intents") if self.identifies else None

    @property
    def heartbeats(self) -> int:
        return sum(c.heartbeats for c in self.connections)

    def find_requests(
        self, method: str | None = None, path: str | re.Pattern[str] | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests by method and path pattern (``{x}`` = one segment, ``*`` = any)."""
        pattern = path_pattern(path) if path is not None else None
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (pattern is None or pattern.fullmatch(r.path))
        ]

    def channel_messages(
        self, channel_id: int, *, include_interaction_replies: bool = False
    ) -> list[dict[str, Any]]:
        """Stored (not deleted) messages of a channel, oldest first."""
        return [
            m
            for m in self.messages.values()
            if m["channel_id"] == str(channel_id)
            and (include_interaction_replies or "interaction_metadata" not in m)
        ]

    async def wait_for_messages(
        self,
        channel_id: int,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """At least ``count`` messages in the channel (interaction replies excluded)."""
        return await self._notifier.wait_for(
            lambda: (
                self.channel_messages(channel_id)
                if len(self.channel_messages(channel_id)) >= count
                else None
            ),
            timeout,
            lambda: f"channel {channel_id} has {len(self.channel_messages(channel_id))} messages",
        )

    def command(self, name: str, guild_id: int | None = None) -> dict[str, Any] | None:
        """A synced command by name (``guild_id`` None = global)."""
        return next((c for c in self.commands.get(guild_id, []) if c["name"] == name), None)

    # -- HTTP plumbing ------------------------------------------------------------------------

    def _route(self, method: str, template: str) -> Callable[[_Handler], _Handler]:
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}/]+\})", template)
            if part
        )

        def register(handler: _Handler) -> _Handler:
            self._routes.append((method, re.compile(regex), f"{method} {template}", handler))
            return handler

        return register

    async def _http_handler(self, request: web.Request) -> web.StreamResponse:
        prefix = f"/api/v{API_VERSION}"
        full_path = request.path
        api_path = full_path[len(prefix) :] if full_path.startswith(prefix + "/") else full_path
        record = RecordedRequest(
            method=request.method,
            path=api_path,
            query=dict(request.query),
            json=None,
            headers=dict(request.headers),
        )
        await self._read_body(request, record)
        self.requests.append(record)
        try:
            answer = await self._process(request, record, full_path, prefix)
        except _ApiError as exc:
            answer = Answer(exc.status, exc.payload)
        record.status = answer.status
        record.response = answer.body
        self._notifier.notify()
        return _json_response(answer.status, answer.body, answer.headers)

    async def _read_body(self, request: web.Request, record: RecordedRequest) -> None:
        if not request.can_read_body:
            return
        content_type = request.content_type
        if content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read()
                if part.name == "payload_json":
                    record.json = json.loads(data.decode())
                else:
                    record.files.append(
                        {
                            "name": part.name,
                            "filename": part.filename,
                            "size": len(data),
                            "content_type": part.headers.get("Content-Type"),
                            "data": bytes(data),
                        }
                    )
            return
        raw = await request.read()
        if not raw:
            return
        try:
            record.json = json.loads(raw)
        except ValueError:
            record.json = raw.decode(errors="replace")

    async def _process(
        self, request: web.Request, record: RecordedRequest, full_path: str, prefix: str
    ) -> Answer:
        route = None
        if full_path.startswith(prefix + "/"):
            for method, regex, name, handler in self._routes:
                if method != request.method:
                    continue
                match = regex.fullmatch(record.path)
                if match:
                    route = (name, handler, match.groupdict())
                    break
        if route is None:
            self.unknown_requests.append(record)
            return Answer(404, {"message": "404: Not Found", "code": 0})
        name, handler, params = route
        record.route = name

        if self.validator is not None and record.json is not None:
            check = self.validator(record.method, record.path, record.json)
            if check.problems:
                record.problems = check.problems
                self.schema_problems.extend(
                    f"{record.method} {record.path}: {p}" for p in check.problems
                )
            if self.reject_invalid and check.rejected_by_discord:
                raise _ApiError(
                    400,
                    50035,
                    "Invalid Form Body",
                    {
                        "_fake_discord": {
                            "_errors": [
                                {"code": "FAKE_VALIDATION", "message": p}
                                for p in check.rejected_by_discord
                            ]
                        }
                    },
                )

        call = _Call(request=request, record=record, params=params)
        limit_headers: dict[str, str] = {}
        if self.rate_limits is not None:
            limited = self._rate_limit(self.rate_limits, name, params)
            if isinstance(limited, tuple):
                return Answer(*limited)
            limit_headers = limited

        async def carry_out() -> Answer:
            try:
                if not name.split(" ", 1)[1].startswith(("/webhooks/", "/interactions/")):
                    self._check_auth(request)
                result = await handler(call)
            except _ApiError as exc:
                return Answer(exc.status, exc.payload)
            if result is None:
                return Answer(204, None, limit_headers)
            if isinstance(result, tuple):
                status, payload = result
                return Answer(status, payload, limit_headers)
            return Answer(200, result, limit_headers)

        handle: Handle = carry_out
        for interceptor in reversed(self.interceptors):
            handle = functools.partial(interceptor, record, handle)
        return await handle()

    def _rate_limit(
        self, limits: RateLimits, route: str, params: Mapping[str, str]
    ) -> dict[str, str] | tuple[int, JSON, dict[str, str]]:
        """The bucket's headers for a request that may pass, or the 429 Discord would answer."""
        now = time.time()
        path = route.split(" ", 1)[1]
        if not path.startswith(("/interactions/", "/webhooks/")):
            if self._global_window is None:
                self._global_window = _Window(limits.global_per_second, 1.0)
            wait = self._global_window.take(now)
            if wait:
                self.rate_limit_stats.global_429 += 1
                return _rate_limited(wait, {"X-RateLimit-Global": "true"}, scope="global")
        major = params.get("channel_id") or params.get("guild_id") or params.get("token") or ""
        limit, period = limits.routes.get(route, limits.default)
        bucket_id = hashlib.sha1(route.encode()).hexdigest()[:16]
        window = self._buckets.setdefault((route, major), _Window(limit, period))
        wait = window.take(now)
        headers = {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": f"{window.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{window.reset_at - now:.3f}",
            "X-RateLimit-Bucket": bucket_id,
        }
        if wait:
            # The global window counted this request, as Discord does for refused ones.
            key = f"{route} [{major}]"
            self.rate_limit_stats.route_429[key] = self.rate_limit_stats.route_429.get(key, 0) + 1
            return _rate_limited(wait, headers, scope="user")
        self.rate_limit_stats.passed += 1
        return headers

    def _check_auth(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bot ") or (self.token is not None and auth != f"Bot {self.token}"):
            raise _ApiError(401, 0, "401: Unauthorized")

    # -- world helpers ------------------------------------------------------------------------

    def _guild_of_channel(self, channel_id: int) -> FakeGuild | None:
        return next((g for g in self.guilds.values() if g.channel(channel_id)), None)

    def _channel(self, channel_id: int) -> tuple[FakeChannel, FakeGuild | None]:
        """A channel the bot can see, or the error Discord would answer."""
        for dm in self._dm_channels.values():
            if dm.id == channel_id:
                return dm, None
        guild = self._guild_of_channel(channel_id)
        if guild is None or channel_id in self.deleted_channels:
            raise _ApiError(404, 10003, "Unknown Channel")
        if guild.id in self.left_guilds:
            raise _ApiError(403, 50001, "Missing Access")
        channel = guild.channel(channel_id)
        assert channel is not None
        if self.enforce_permissions:
            perms = self.channel_permissions(guild, self.bot_user.id, channel)
            if not perms & Perm.VIEW_CHANNEL:
                raise _ApiError(403, 50001, "Missing Access")
        return channel, guild

    def _guild(self, guild_id: int) -> FakeGuild:
        guild = self.guilds.get(guild_id)
        if guild is None:
            raise _ApiError(404, 10004, "Unknown Guild")
        if guild_id in self.left_guilds:
            raise _ApiError(403, 50001, "Missing Access")
        return guild

    def base_permissions(self, guild: FakeGuild, user_id: int) -> int:
        """Guild-level permissions of a member (Discord's algorithm)."""
        if user_id == guild.owner_id:
            return Perm.ALL
        member = guild.member(user_id)
        perms = guild.everyone.permissions
        for role_id in member.roles if member else []:
            role = guild.role(role_id)
            if role is not None:
                perms |= role.permissions
        return Perm.ALL if perms & Perm.ADMINISTRATOR else perms

    def channel_permissions(self, guild: FakeGuild, user_id: int, channel: FakeChannel) -> int:
        """Permissions of a member in a channel, overwrites applied (threads use the parent's)."""
        perms = self.base_permissions(guild, user_id)
        if perms & Perm.ADMINISTRATOR:
            return Perm.ALL
        source = channel
        if channel.is_thread and channel.parent_id is not None:
            source = guild.channel(channel.parent_id) or channel
        member = guild.member(user_id)
        role_ids = set(member.roles) if member else set()
        for ow in source.overwrites:
            if ow.type == 0 and ow.id == guild.id:
                perms = (perms & ~ow.deny) | ow.allow
        allow = deny = 0
        for ow in source.overwrites:
            if ow.type == 0 and ow.id in role_ids:
                allow |= ow.allow
                deny |= ow.deny
        perms = (perms & ~deny) | allow
        for ow in source.overwrites:
            if ow.type == 1 and ow.id == user_id:
                perms = (perms & ~ow.deny) | ow.allow
        if not perms & Perm.VIEW_CHANNEL:
            return 0
        return perms

    def dm_channel(self, user_id: int) -> FakeChannel:
        """The DM channel between the bot and a user (created on first use)."""
        channel = self._dm_channels.get(user_id)
        if channel is None:
            channel = FakeChannel(self._ids.next(), "", type=1, recipient_id=user_id)
            self._dm_channels[user_id] = channel
        return channel

    def _adopt_guild(self, guild: FakeGuild) -> None:
        """Register a guild's users; make the bot a member (with no roles) if it is not."""
        if guild.member(self.bot_user.id) is None:
            guild.members.append(FakeMember(self.bot_user))
        for member in guild.members:
            self.users.setdefault(member.id, member.user)

    def _user(self, user_id: int) -> FakeUser:
        user = self.users.get(user_id)
        if user is None:
            user = FakeUser(user_id, f"user{user_id}")
            self.users[user_id] = user
        return user

    # -- payload builders ---------------------------------------------------------------------

    def _me_payload(self) -> dict[str, Any]:
        return {
            **self.bot_user.to_payload(),
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "locale": "en-US",
            "email": None,
            "banner": None,
            "accent_color": None,
        }

    def channel_payload(self, channel: FakeChannel, guild: FakeGuild | None) -> dict[str, Any]:
        """A channel object as Discord sends it."""
        if channel.type == 1:
            recipient = self._user(channel.recipient_id or 0)
            return {
                "id": str(channel.id),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [recipient.to_payload()],
            }
        assert guild is not None
        payload: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(guild.id),
            "name": channel.name,
            "parent_id": str(channel.parent_id) if channel.parent_id else None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }
        if channel.is_thread:
            payload.update(
                {
                    "owner_id": str(channel.owner_id or guild.owner_id),
                    "message_count": 0,
                    "member_count": 1,
                    "total_message_sent": 0,
                    "thread_metadata": {
                        "archived": channel.archived,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": "2021-03-05T12:00:00+00:00",
                        "locked": False,
                        "create_timestamp": "2021-03-05T12:00:00+00:00",
                    },
                }
            )
        else:
            payload.update(
                {
                    "position": channel.position,
                    "permission_overwrites": [o.to_payload() for o in channel.overwrites],
                    "nsfw": channel.nsfw,
                    "topic": channel.topic,
                }
            )
            if channel.type == 2:
                payload.update({"bitrate": 64000, "user_limit": 0, "rtc_region": None})
        return payload

    def member_payload(self, guild: FakeGuild, member: FakeMember) -> dict[str, Any]:
        return {
            "user": member.user.to_payload(),
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in member.roles],
            "joined_at": member.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def guild_payload(self, guild: FakeGuild) -> dict[str, Any]:
        """The REST guild object (no channels / members)."""
        text = [c for c in guild.channels if c.type == 0]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": [r.to_payload() for r in guild.roles],
            "emojis": [],
            "stickers": [],
            "features": list(guild.features),
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(text[0].id) if text else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "max_presences": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.preferred_locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "incidents_data": None,
        }

    def guild_create_payload(self, guild: FakeGuild, intents: int) -> dict[str, Any]:
        """GUILD_CREATE data; members are only the bot unless GUILD_MEMBERS is requested."""
        members = (
            guild.members
            if intents & Intent.GUILD_MEMBERS
            else [m for m in guild.members if m.id == self.bot_user.id]
        )
        return {
            **self.guild_payload(guild),
            "joined_at": "2021-03-01T12:00:00+00:00",
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": [self.member_payload(guild, m) for m in members],
            "channels": [self.channel_payload(c, guild) for c in guild.channels if not c.is_thread],
            "threads": [self.channel_payload(c, guild) for c in guild.channels if c.is_thread],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
        }

    def _build_message(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        body: Mapping[str, Any],
        files: Sequence[Mapping[str, Any]] = (),
        message_type: int = 0,
        extra_flags: int = 0,
        interaction: InteractionHandle | None = None,
    ) -> dict[str, Any]:
        message_id = self._ids.next()
        attachments = [
            {
                "id": str(self._ids.next()),
                "filename": f.get("filename") or "file",
                "size": f.get("size", 0),
                "url": f"{self.base_url}/attachments/{channel_id}/{f.get('filename')}",
                "proxy_url": f"{self.base_url}/attachments/{channel_id}/{f.get('filename')}",
                "content_type": f.get("content_type"),
            }
            for f in files
        ]
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": self.bot_user.to_payload(),
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": [_normalize_embed(e) for e in body.get("embeds") or []],
            "pinned": False,
            "type": message_type,
            "flags": int(body.get("flags") or 0) | extra_flags,
            "components": list(body.get("components") or []),
        }
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if body.get("poll") is not None:
            message["poll"] = body["poll"]
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user,
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
            }
        return message

    def _store_message(self, message: dict[str, Any]) -> None:
        self.messages[int(message["id"])] = message

    @staticmethod
    def _apply_edit(message: dict[str, Any], body: Mapping[str, Any]) -> None:
        for key in ("content", "components", "poll"):
            if key in body:
                message[key] = body[key] if body[key] is not None else _empty(key)
        if "embeds" in body:
            message["embeds"] = [_normalize_embed(e) for e in body["embeds"] or []]
        if "attachments" in body and body["attachments"] is not None:
            keep = {str(a.get("id")) for a in body["attachments"]}
            message["attachments"] = [a for a in message["attachments"] if a["id"] in keep]
        if "flags" in body and body["flags"] is not None:
            # only SUPPRESS_EMBEDS (4) can be changed by an edit; ephemeral etc. stay
            message["flags"] = (int(message["flags"]) & ~4) | (int(body["flags"]) & 4)
        message["flags"] = int(message["flags"]) & ~128  # no longer "thinking"
        message["edited_timestamp"] = _now_iso()

    # -- routes -------------------------------------------------------------------------------

    def _register_routes(self) -> None:
        route = self._route

        @route("GET", "/users/@me")
        async def get_me(call: _Call) -> JSON:
            return self._me_payload()

        @route("GET", "/users/{user_id}")
        async def get_user(call: _Call) -> JSON:
            user = self.users.get(call.int_param("user_id"))
            if user is None:
                raise _ApiError(404, 10013, "Unknown User")
            return user.to_payload()

        @route("POST", "/users/@me/channels")
        async def open_dm(call: _Call) -> JSON:
            recipient = int((call.body or {}).get("recipient_id", 0))
            return self.channel_payload(self.dm_channel(recipient), None)

        @route("DELETE", "/users/@me/guilds/{guild_id}")
        async def leave_guild(call: _Call) -> JSON:
            guild = self._guild(call.int_param("guild_id"))
            await self.remove_guild(guild.id)
            return None

        @route("GET", "/gateway")
        async def get_gateway(call: _Call) -> JSON:
            return {"url": self.gateway_url}

        @route("GET", "/gateway/bot")
        async def get_gateway_bot(call: _Call) -> JSON:
            return {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }

        async def application(call: _Call) -> JSON:
            owner = self.users.get(ADMIN_USER_ID) or FakeUser(ADMIN_USER_ID, "owner")
            return {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": owner.to_payload(),
                "team": None,
                "bot": self.bot_user.to_payload(),
                "rpc_origins": [],
                "redirect_uris": [],
                "tags": [],
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.guilds) - len(self.left_guilds),
                "integration_types_config": {"0": {}},
            }

        route("GET", "/applications/@me")(application)
        route("GET", "/oauth2/applications/@me")(application)

        # commands
        @route("GET", "/applications/{application_id}/commands")
        async def list_global(call: _Call) -> JSON:
            self._check_application(call)
            return copy.deepcopy(self.commands.get(None, []))

        @route("PUT", "/applications/{application_id}/commands")
        async def put_global(call: _Call) -> JSON:
            self._check_application(call)
            return self._overwrite_commands(None, call.body)

        @route("POST", "/applications/{application_id}/commands")
        async def post_global(call: _Call) -> JSON:
            self._check_application(call)
            return self._upsert_command(None, call.body)

        @route("GET", "/applications/{application_id}/guilds/{guild_id}/commands")
        async def list_guild(call: _Call) -> JSON:
            self._check_application(call)
            guild = self._guild(call.int_param("guild_id"))
            return copy.deepcopy(self.commands.get(guild.id, []))

        @route("PUT", "/applications/{application_id}/guilds/{guild_id}/commands")
        async def put_guild(call: _Call) -> JSON:
            self._check_application(call)
            guild = self._guild(call.int_param("guild_id"))
            return self._overwrite_commands(guild.id, call.body)

        @route("POST", "/applications/{application_id}/guilds/{guild_id}/commands")
        async def post_guild(call: _Call) -> JSON:
            self._check_application(call)
            guild = self._guild(call.int_param("guild_id"))
            return self._upsert_command(guild.id, call.body)

        async def get_one(call: _Call) -> JSON:
            return copy.deepcopy(self._find_command(call))

        async def delete_one(call: _Call) -> JSON:
            found = self._find_command(call)
            key = int(found["guild_id"]) if found.get("guild_id") else None
            self.commands[key] = [c for c in self.commands[key] if c["id"] != found["id"]]
            return None

        for template in (
            "/applications/{application_id}/commands/{command_id}",
            "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}",
        ):
            route("GET", template)(get_one)
            route("DELETE", template)(delete_one)

        # guilds
        @route("GET", "/guilds/{guild_id}")
        async def get_guild(call: _Call) -> JSON:
            guild = self._guild(call.int_param("guild_id"))
            return {
                **self.guild_payload(guild),
                "approximate_member_count": len(guild.members),
            }

        @route("GET", "/guilds/{guild_id}/channels")
        async def get_guild_channels(call: _Call) -> JSON:
            guild = self._guild(call.int_param("guild_id"))
            return [
                self.channel_payload(c, guild)
                for c in guild.channels
                if not c.is_thread and c.id not in self.deleted_channels
            ]

        @route("GET", "/guilds/{guild_id}/roles")
        async def get_roles(call: _Call) -> JSON:
            guild = self._guild(call.int_param("guild_id"))
            return [r.to_payload() for r in guild.roles]

        @route("GET", "/guilds/{guild_id}/members/{user_id}")
        async def get_member(call: _Call) -> JSON:
            guild = self._guild(call.int_param("guild_id"))
            member = guild.member(call.int_param("user_id"))
            if member is None:
                raise _ApiError(404, 10007, "Unknown Member")
            return self.member_payload(guild, member)

        @route("GET", "/guilds/{guild_id}/members")
        async def list_members(call: _Call) -> JSON:
            guild = self._guild(call.int_param("guild_id"))
            limit = int(call.record.query.get("limit", "1"))
            after = int(call.record.query.get("after", "0"))
            members = sorted((m for m in guild.members if m.id > after), key=lambda m: m.id)
            return [self.member_payload(guild, m) for m in members[:limit]]

        # channels and messages
        @route("GET", "/channels/{channel_id}")
        async def get_channel(call: _Call) -> JSON:
            channel, guild = self._channel(call.int_param("channel_id"))
            return self.channel_payload(channel, guild)

        @route("POST", "/channels/{channel_id}/typing")
        async def typing(call: _Call) -> JSON:
            self._channel(call.int_param("channel_id"))
            return None

        @route("POST", "/channels/{channel_id}/messages")
        async def create_message(call: _Call) -> JSON:
            return await self._create_channel_message(call)

        @route("GET", "/channels/{channel_id}/messages")
        async def list_messages(call: _Call) -> JSON:
            channel, _ = self._channel(call.int_param("channel_id"))
            limit = int(call.record.query.get("limit", "50"))
            found = self.channel_messages(channel.id, include_interaction_replies=True)
            return copy.deepcopy(list(reversed(found))[:limit])

        @route("GET", "/channels/{channel_id}/messages/{message_id}")
        async def get_message(call: _Call) -> JSON:
            return copy.deepcopy(self._channel_message(call))

        @route("PATCH", "/channels/{channel_id}/messages/{message_id}")
        async def edit_message(call: _Call) -> JSON:
            message = self._channel_message(call)
            if message["author"]["id"] != str(self.bot_user.id):
                raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
            self._apply_edit(message, call.body or {})
            self._notifier.notify()
            return copy.deepcopy(message)

        @route("DELETE", "/channels/{channel_id}/messages/{message_id}")
        async def delete_message(call: _Call) -> JSON:
            message = self._channel_message(call)
            if message["author"]["id"] != str(self.bot_user.id):
                channel, guild = self._channel(call.int_param("channel_id"))
                perms = self.channel_permissions(guild, self.bot_user.id, channel) if guild else 0
                if not perms & Perm.MANAGE_MESSAGES:
                    raise _ApiError(403, 50013, "Missing Permissions")
            self.deleted_messages.append(self.messages.pop(int(message["id"])))
            return None

        # interactions
        @route("POST", "/interactions/{interaction_id}/{token}/callback")
        async def callback(call: _Call) -> JSON:
            return await self._interaction_callback(call)

        @route("GET", "/webhooks/{application_id}/{token}/messages/@original")
        async def get_original(call: _Call) -> JSON:
            handle = self._webhook_interaction(call)
            if handle.original is None or handle.original_deleted:
                raise _ApiError(404, 10008, "Unknown Message")
            return copy.deepcopy(handle.original)

        @route("PATCH", "/webhooks/{application_id}/{token}/messages/@original")
        async def edit_original(call: _Call) -> JSON:
            handle = self._webhook_interaction(call)
            if handle.original is None or handle.original_deleted:
                raise _ApiError(404, 10008, "Unknown Message")
            return self._edit_interaction_message(handle, handle.original, call.body or {})

        @route("DELETE", "/webhooks/{application_id}/{token}/messages/@original")
        async def delete_original(call: _Call) -> JSON:
            handle = self._webhook_interaction(call)
            if handle.original is None or handle.original_deleted:
                raise _ApiError(404, 10008, "Unknown Message")
            handle.original_deleted = True
            self.deleted_messages.append(self.messages.pop(int(handle.original["id"])))
            self._notifier.notify()
            return None

        @route("POST", "/webhooks/{application_id}/{token}")
        async def followup(call: _Call) -> JSON:
            handle = self._webhook_interaction(call)
            if handle.callback is None:
                raise _ApiError(404, 10015, "Unknown Webhook")
            body = call.body or {}
            message = self._build_message(
                channel_id=handle.channel_id or 0,
                guild_id=handle.guild_id,
                body=body,
                files=call.record.files,
                message_type=20,
                interaction=handle,
            )
            self._store_message(message)
            handle.followups.append(message)
            handle.replies.append(message)
            self._notifier.notify()
            if call.record.query.get("wait") in ("1", "true", "True"):
                return copy.deepcopy(message)
            return None

        @route("GET", "/webhooks/{application_id}/{token}/messages/{message_id}")
        async def get_webhook_message(call: _Call) -> JSON:
            handle = self._webhook_interaction(call)
            return copy.deepcopy(self._interaction_message(handle, call))

        @route("PATCH", "/webhooks/{application_id}/{token}/messages/{message_id}")
        async def edit_webhook_message(call: _Call) -> JSON:
            handle = self._webhook_interaction(call)
            message = self._interaction_message(handle, call)
            return self._edit_interaction_message(handle, message, call.body or {})

        @route("DELETE", "/webhooks/{application_id}/{token}/messages/{message_id}")
        async def delete_webhook_message(call: _Call) -> JSON:
            handle = self._webhook_interaction(call)
            message = self._interaction_message(handle, call)
            if message is handle.original:
                handle.original_deleted = True
            self.deleted_messages.append(self.messages.pop(int(message["id"])))
            self._notifier.notify()
            return None

    # -- route implementations ----------------------------------------------------------------

    def _check_application(self, call: _Call) -> None:
        if call.params.get("application_id") != str(self.application_id):
            raise _ApiError(403, 50001, "Missing Access")

    def _command_record(
        self, guild_id: int | None, body: Mapping[str, Any], previous: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        command_type = body.get("type", 1) or 1
        old = next(
            (c for c in previous if c["name"] == body.get("name") and c["type"] == command_type),
            None,
        )
        permissions = body.get("default_member_permissions")
        record: dict[str, Any] = {
            "id": old["id"] if old else str(self._ids.next()),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": command_type,
            "name": body.get("name"),
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description") or "",
            "description_localizations": body.get("description_localizations"),
            "options": copy.deepcopy(body.get("options") or []),
            "default_member_permissions": None if permissions is None else str(permissions),
            "dm_permission": body.get("dm_permission", True) if guild_id is None else None,
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types") or [0],
            "nsfw": bool(body.get("nsfw", False)),
        }
        if guild_id is not None:
            record["guild_id"] = str(guild_id)
        return record

    def _overwrite_commands(self, guild_id: int | None, body: Any) -> JSON:
        if not isinstance(body, list):
            raise _ApiError(400, 50035, "Invalid Form Body")
        previous = self.commands.get(guild_id, [])
        self.commands[guild_id] = [self._command_record(guild_id, c, previous) for c in body]
        self._notifier.notify()
        return copy.deepcopy(self.commands[guild_id])

    def _upsert_command(self, guild_id: int | None, body: Any) -> JSON:
        if not isinstance(body, dict):
            raise _ApiError(400, 50035, "Invalid Form Body")
        previous = self.commands.get(guild_id, [])
        record = self._command_record(guild_id, body, previous)
        self.commands[guild_id] = [c for c in previous if c["id"] != record["id"]] + [record]
        self._notifier.notify()
        return 201, copy.deepcopy(record)

    def _find_command(self, call: _Call) -> dict[str, Any]:
        self._check_application(call)
        key = call.int_param("guild_id") if "guild_id" in call.params else None
        command_id = call.params["command_id"]
        found = next((c for c in self.commands.get(key, []) if c["id"] == command_id), None)
        if found is None:
            raise _ApiError(404, 10063, "Unknown application command")
        return found

    async def _create_channel_message(self, call: _Call) -> JSON:
        channel, guild = self._channel(call.int_param("channel_id"))
        body = call.body if isinstance(call.body, dict) else {}
        if channel.type not in TEXT_LIKE_TYPES:
            raise _ApiError(400, 50008, "Cannot send messages in a non-text channel")
        if guild is not None and self.enforce_permissions:
            perms = self.channel_permissions(guild, self.bot_user.id, channel)
            needed = Perm.SEND_MESSAGES_IN_THREADS if channel.is_thread else Perm.SEND_MESSAGES
            if not perms & needed:
                raise _ApiError(403, 50013, "Missing Permissions")
            if channel.is_thread and channel.archived:
                raise _ApiError(400, 50083, "Thread is archived")
        if not any(
            body.get(k) for k in ("content", "embeds", "components", "sticker_ids", "poll")
        ) and not (call.record.files):
            raise _ApiError(400, 50006, "Cannot send an empty message")

        nonce = body.get("nonce")
        now = time.monotonic()
        if nonce is not None and body.get("enforce_nonce"):
            key = (channel.id, str(nonce))
            seen = self._nonces.get(key)
            if seen is not None and now - seen[1] <= self.nonce_ttl and seen[0] in self.messages:
                self.nonce_hits += 1
                return copy.deepcopy(self.messages[seen[0]])
        message = self._build_message(
            channel_id=channel.id,
            guild_id=guild.id if guild else None,
            body=body,
            files=call.record.files,
        )
        self._store_message(message)
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[(channel.id, str(nonce))] = (int(message["id"]), now)
        self._notifier.notify()
        for listener in list(self.message_listeners):
            try:
                listener(copy.deepcopy(message))
            except Exception:
                log.exception("message listener %r failed", listener)
        await self._dispatch_message_create(message, guild)
        return copy.deepcopy(message)

    async def _dispatch_message_create(
        self, message: dict[str, Any], guild: FakeGuild | None
    ) -> None:
        wanted = Intent.GUILD_MESSAGES if guild is not None else Intent.DIRECT_MESSAGES
        if not any(s.intents & wanted for s in self._live_sessions(None)):
            return
        data = copy.deepcopy(message)
        if guild is not None:
            member = guild.member(self.bot_user.id)
            if member is not None:
                data["member"] = {
                    k: v for k, v in self.member_payload(guild, member).items() if k != "user"
                }
        await self.dispatch(
            "MESSAGE_CREATE",
            data,
            guild_id=guild.id if guild else None,
            intent=wanted,
        )

    def _channel_message(self, call: _Call) -> dict[str, Any]:
        channel, _ = self._channel(call.int_param("channel_id"))
        message = self.messages.get(call.int_param("message_id"))
        if message is None or message["channel_id"] != str(channel.id):
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    def _webhook_interaction(self, call: _Call) -> InteractionHandle:
        if call.params["application_id"] != str(self.application_id):
            raise _ApiError(404, 10015, "Unknown Webhook")
        handle = self._interactions_by_token.get(call.params["token"])
        if handle is None:
            raise _ApiError(401, 50027, "Invalid Webhook Token")
        return handle

    def _interaction_message(self, handle: InteractionHandle, call: _Call) -> dict[str, Any]:
        message_id = call.params["message_id"]
        candidates = [*handle.followups]
        if handle.original is not None and not handle.original_deleted:
            candidates.append(handle.original)
        for message in candidates:
            if message["id"] == message_id and int(message_id) in self.messages:
                return message
        raise _ApiError(404, 10008, "Unknown Message")

    def _edit_interaction_message(
        self, handle: InteractionHandle, message: dict[str, Any], body: Mapping[str, Any]
    ) -> JSON:
        was_loading = bool(int(message["flags"]) & 128)
        self._apply_edit(message, body)
        if message is handle.original:
            handle.original_edits.append(dict(body))
            if was_loading:
                message["edited_timestamp"] = None
                if message not in handle.replies:
                    handle.replies.append(message)
        self._notifier.notify()
        return copy.deepcopy(message)

    async def _interaction_callback(self, call: _Call) -> JSON:
        handle = self._interactions_by_token.get(call.params["token"])
        if handle is None or call.params["interaction_id"] != str(handle.id):
            raise _ApiError(404, 10062, "Unknown interaction")
        if (
            self.interaction_ack_timeout is not None
            and time.monotonic() - handle.created_at > self.interaction_ack_timeout
        ):
            raise _ApiError(404, 10062, "Unknown interaction")
        if handle.callback is not None:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = call.body if isinstance(call.body, dict) else {}
        kind = body.get("type")
        allowed = {2: {4, 5, 9}, 4: {8}, 3: {4, 5, 6, 7, 9}, 5: {4, 5, 6, 7}, 1: {1}}
        if kind not in allowed.get(handle.type, set()):
            raise _ApiError(400, 40043, f"Interaction callback type {kind} is not allowed here")
        handle.callback = copy.deepcopy(body)
        data = body.get("data") or {}
        resource: dict[str, Any] = {"type": kind}
        if kind == 4:
            message = self._build_message(
                channel_id=handle.channel_id or 0,
                guild_id=handle.guild_id,
                body=data,
                files=call.record.files,
                message_type=20,
                interaction=handle,
            )
            self._store_message(message)
            handle.original = message
            handle.replies.append(message)
            resource["message"] = copy.deepcopy(message)
        elif kind == 5:
            message = self._build_message(
                channel_id=handle.channel_id or 0,
                guild_id=handle.guild_id,
                body={"flags": int(data.get("flags") or 0)},
                message_type=20,
                extra_flags=128,
                interaction=handle,
            )
            self._store_message(message)
            handle.original = message
            resource["message"] = copy.deepcopy(message)
        self._notifier.notify()

        if call.record.query.get("with_response") not in ("1", "true", "True"):
            return None
        original = handle.original
        interaction_info: dict[str, Any] = {"id": str(handle.id), "type": handle.type}
        if original is not None:
            interaction_info.update(
                {
                    "response_message_id": original["id"],
                    "response_message_loading": bool(int(original["flags"]) & 128),
                    "response_message_ephemeral": bool(int(original["flags"]) & 64),
                }
            )
        return {"interaction": interaction_info, "resource": resource}

    # -- gateway ------------------------------------------------------------------------------

    async def _gateway_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=2.0, autoping=True, heartbeat=None, max_msg_size=0)
        await ws.prepare(request)
        conn = GatewayConnection(ws, request.query)
        self.connections.append(conn)
        await conn.send({"op": 10, "s": None, "t": None, "d": self._hello()})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    payload = json.loads(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    payload = json.loads(msg.data.decode())
                else:
                    break
                conn.received.append(payload)
                await self._on_gateway_payload(conn, payload)
        finally:
            client_closed = conn.server_close_code is None
            conn.close_code = ws.close_code if client_closed else conn.server_close_code
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                if client_closed and ws.close_code in (1000, 1001):
                    session.ended = True  # the client closed cleanly: no RESUME, like Discord
            self._notifier.notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-discord"]}

    async def _on_gateway_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == 1:
            conn.heartbeats += 1
            await conn.send({"op": 11, "s": None, "t": None, "d": None})
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif op == 3:
            self.presence_updates.append(data or {})
        elif op == 8:
            await self._request_members(conn, data or {})
        elif op == 4:
            pass  # voice state update: nothing to do
        else:
            self.unknown_gateway_payloads.append(payload)

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if self.token is not None and data.get("token") != self.token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        shard_data = data.get("shard")
        shard = (int(shard_data[0]), int(shard_data[1])) if shard_data else None
        session = GatewaySession(secrets.token_hex(16), intents, shard)
        self.sessions[session.session_id] = session
        session.connection = conn
        conn.session = session
        guilds = [
            g for g in self.guilds.values() if g.id not in self.left_guilds and session.covers(g.id)
        ]
        ready: dict[str, Any] = {
            "v": API_VERSION,
            "user": self._me_payload(),
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_gateway_url or self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        await self._send_event(session, "READY", ready)
        if intents & Intent.GUILDS:
            for guild in guilds:
                await self._send_event(
                    session, "GUILD_CREATE", self.guild_create_payload(guild, intents)
                )
        conn.ready.set()
        self._notifier.notify()

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        self.resumes.append(data)
        session = self.sessions.get(str(data.get("session_id")))
        token_ok = self.token is None or data.get("token") == self.token
        if session is None or session.ended or not token_ok:
            await conn.send({"op": 9, "s": None, "t": None, "d": False})
            return
        old = session.connection
        if old is not None and old is not conn:
            await old.close(4000, "session resumed elsewhere")
        session.connection = conn
        conn.session = session
        last = int(data.get("seq") or 0)
        for seq, event, event_data in list(session.events):
            if seq > last:
                await conn.send_dispatch(seq, event, event_data)
        session.seq += 1
        await conn.send_dispatch(session.seq, "RESUMED", {"_trace": ["fake-discord"]})
        conn.ready.set()
        self._notifier.notify()

    async def _request_members(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        self.member_requests.append(data)
        if conn.session is None:
            return
        raw = data.get("guild_id")
        guild_ids: list[Any] = raw if isinstance(raw, list) else [raw]
        for guild_id in guild_ids:
            guild = self.guilds.get(int(guild_id or 0))
            if guild is None:
                continue
            members = guild.members
            user_ids = data.get("user_ids")
            if user_ids:
                wanted = {int(u) for u in user_ids}
                members = [m for m in members if m.id in wanted]
            query = data.get("query")
            if query:
                members = [m for m in members if m.user.username.startswith(query)]
            limit = int(data.get("limit") or 0)
            if limit:
                members = members[:limit]
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [self.member_payload(guild, m) for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if data.get("nonce"):
                chunk["nonce"] = data["nonce"]
            await self._send_event(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _send_event(self, session: GatewaySession, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        session.events.append((session.seq, event, data))
        conn = session.connection
        if conn is not None and conn.open:
            await conn.send_dispatch(session.seq, event, data)

    def _live_sessions(self, guild_id: int | None) -> list[GatewaySession]:
        return [
            s
            for s in self.sessions.values()
            if not s.ended and (guild_id is None or s.covers(guild_id))
        ]

    async def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        guild_id: int | None = None,
        intent: int | None = None,
    ) -> int:
        """Send a DISPATCH event to every live session (the one covering ``guild_id`` when
        sharded; only sessions that asked for ``intent`` if given). Events for a session whose
        connection dropped are kept and replayed on RESUME. Returns the number of sessions."""
        self.dispatched.append((event, data))
        sessions = [
            s for s in self._live_sessions(guild_id) if intent is None or s.intents & intent
        ]
        for session in sessions:
            await self._send_event(session, event, data)
        return len(sessions)

    async def wait_until_connected(self, timeout: float = 5.0) -> GatewayConnection:  # noqa: ASYNC109
        """A connection that got READY (or RESUMED) and is still open."""
        return await self._notifier.wait_for(
            lambda: next(
                (c for c in reversed(self.connections) if c.open and c.ready.is_set()), None
            ),
            timeout,
            lambda: f"no ready gateway connection; identifies={len(self.identifies)}",
        )

    async def close_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection from the server side (4000 = resumable)."""
        for conn in list(self.connections):
            await conn.close(code, "fake-discord closed the connection")

    # -- world events -------------------------------------------------------------------------

    async def delete_channel(self, channel_id: int) -> None:
        """Delete a guild channel and dispatch CHANNEL_DELETE; REST then answers 404."""
        guild = self._guild_of_channel(channel_id)
        if guild is None:
            raise KeyError(channel_id)
        channel = guild.channel(channel_id)
        assert channel is not None
        payload = self.channel_payload(channel, guild)
        self.deleted_channels.add(channel_id)
        if channel.is_thread:
            await self.dispatch(
                "THREAD_DELETE",
                {
                    "id": str(channel.id),
                    "guild_id": str(guild.id),
                    "parent_id": str(channel.parent_id),
                    "type": channel.type,
                },
                guild_id=guild.id,
            )
        else:
            await self.dispatch("CHANNEL_DELETE", payload, guild_id=guild.id)

    async def remove_guild(self, guild_id: int) -> None:
        """The bot is removed from a guild: GUILD_DELETE (not unavailable); REST then 403s."""
        self.left_guilds.add(guild_id)
        await self.dispatch("GUILD_DELETE", {"id": str(guild_id)}, guild_id=guild_id)

    # -- interactions -------------------------------------------------------------------------

    async def interact(
        self,
        command: str,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        permissions: int | str | None = None,
        app_permissions: int | str | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """Dispatch a slash-command INTERACTION_CREATE (type 2) as a user would invoke it.

        ``command`` is the command path: ``"hello"``, ``"digest subscribe"`` (subcommand) or
        ``"digest admin reset"`` (group + subcommand). ``options`` maps leaf option names to
        values (types come from the synced command: channel/user/role values are ids and get
        ``resolved`` data) or is a raw list of option objects. In a guild (default: the first
        guild, its first text channel, its first non-bot member - alice, an admin) the
        ``member`` carries ``permissions`` (computed from roles and overwrites unless given);
        ``dm=True`` invokes it in the user's DM with the bot (``user``, context 1).
        Raises ``LookupError`` when the command was not synced and ``PermissionError`` when
        Discord would not let this user invoke it (see ``enforce_command_gates``).
        """
        return await self._create_interaction(
            2,
            command,
            options,
            focused=None,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            dm=dm,
            permissions=permissions,
            app_permissions=app_permissions,
            locale=locale,
            timeout=timeout,
        )

    async def autocomplete(
        self,
        command: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        dm: bool = False,
        permissions: int | str | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """Dispatch an autocomplete INTERACTION_CREATE (type 4); ``focused`` names the option
        being typed (its value is what the user typed so far). ``await handle.wait_choices()``.
        """
        return await self._create_interaction(
            4,
            command,
            options,
            focused=focused,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            dm=dm,
            permissions=permissions,
            app_permissions=None,
            locale=locale,
            timeout=timeout,
        )

    async def _create_interaction(
        self,
        interaction_type: int,
        command: str,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
        *,
        focused: str | None,
        user_id: int | None,
        guild_id: int | None,
        channel_id: int | None,
        dm: bool,
        permissions: int | str | None,
        app_permissions: int | str | None,
        locale: str,
        timeout: float,  # noqa: ASYNC109
    ) -> InteractionHandle:
        await self.wait_until_connected(timeout)
        path = command.strip().lstrip("/").split()
        if not path:
            raise ValueError("empty command")
        root = path[0]

        guild: FakeGuild | None = None
        member: FakeMember | None = None
        if dm:
            user = self._user(user_id if user_id is not None else ADMIN_USER_ID)
            channel = self.dm_channel(user.id)
            member_perms = 0
            bot_perms = (
                Perm.VIEW_CHANNEL
                | Perm.SEND_MESSAGES
                | Perm.EMBED_LINKS
                | Perm.ATTACH_FILES
                | Perm.READ_MESSAGE_HISTORY
                | Perm.USE_EXTERNAL_EMOJIS
            )
        else:
            if guild_id is None:
                guild_id = next((g for g in self.guilds if g not in self.left_guilds), None)
            if guild_id is None or guild_id not in self.guilds or guild_id in self.left_guilds:
                raise LookupError(f"the bot is not in guild {guild_id}")
            guild = self.guilds[guild_id]
            if user_id is None:
                member = next(m for m in guild.members if m.id != self.bot_user.id)
            else:
                member = guild.member(user_id)
                if member is None:
                    raise KeyError(f"user {user_id} is not a member of guild {guild.id}")
            user = member.user
            if channel_id is None:
                channel_id = next(
                    c.id
                    for c in guild.channels
                    if c.type == 0 and c.id not in self.deleted_channels
                )
            found = guild.channel(channel_id)
            if found is None or channel_id in self.deleted_channels:
                raise KeyError(f"channel {channel_id} is not in guild {guild.id}")
            channel = found
            member_perms = self.channel_permissions(guild, member.id, channel)
            bot_perms = self.channel_permissions(guild, self.bot_user.id, channel)
        if permissions is not None:
            member_perms = int(permissions)
        if app_permissions is not None:
            bot_perms = int(app_permissions)

        definition = None
        if guild is not None:
            definition = self.command(root, guild.id)
        if definition is None:
            definition = self.command(root, None)
        if definition is None or definition.get("type", 1) != 1:
            synced = {k: [c["name"] for c in v] for k, v in self.commands.items()}
            raise LookupError(f"/{root} was not synced (synced commands: {synced})")
        if self.enforce_command_gates:
            self._check_invocable(definition, member_perms, dm, guild)

        resolved: dict[str, dict[str, Any]] = {}
        leaf_defs: list[dict[str, Any]] = definition.get("options") or []
        chain: list[tuple[int, str]] = []
        for name in path[1:]:
            sub = next(
                (o for o in leaf_defs if o.get("name") == name and o.get("type") in (1, 2)), None
            )
            if sub is None:
                raise LookupError(f"/{command}: no subcommand or group {name!r} in {root}")
            chain.append((sub["type"], name))
            leaf_defs = sub.get("options") or []
        if any(o.get("type") in (1, 2) for o in leaf_defs):
            raise LookupError(f"/{command} is a group; name a subcommand")

        leaf = self._build_options(options, leaf_defs, focused, guild, resolved)
        nested: list[dict[str, Any]] = leaf
        for option_type, name in reversed(chain):
            nested = [{"type": option_type, "name": name, "options": nested}]

        data: dict[str, Any] = {
            "id": definition["id"],
            "name": root,
            "type": 1,
        }
        if nested:
            data["options"] = nested
        if resolved:
            data["resolved"] = resolved
        if definition.get("guild_id"):
            data["guild_id"] = definition["guild_id"]

        interaction_id = self._ids.next()
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
            "version": 1,
            "data": data,
            "channel_id": str(channel.id),
            "channel": {
                **self.channel_payload(channel, guild),
                "permissions": str(member_perms),
            },
            "app_permissions": str(bot_perms),
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild is not None and member is not None:
            payload.update(
                {
                    "guild_id": str(guild.id),
                    "guild": {
                        "id": str(guild.id),
                        "locale": guild.preferred_locale,
                        "features": list(guild.features),
                    },
                    "guild_locale": guild.preferred_locale,
                    "member": {
                        **self.member_payload(guild, member),
                        "permissions": str(member_perms),
                    },
                    "authorizing_integration_owners": {"0": str(guild.id)},
                    "context": 0,
                }
            )
        else:
            payload.update(
                {
                    "user": user.to_payload(),
                    "authorizing_integration_owners": {"0": "0"},
                    "context": 1,
                }
            )

        handle = InteractionHandle(self, payload)
        self.interactions.append(handle)
        self._interactions_by_token[handle.token] = handle
        reached = await self.dispatch(
            "INTERACTION_CREATE", payload, guild_id=guild.id if guild else None
        )
        if not reached:
            raise RuntimeError("no live gateway session to deliver the interaction to")
        return handle

    def _check_invocable(
        self,
        definition: Mapping[str, Any],
        member_perms: int,
        dm: bool,
        guild: FakeGuild | None,
    ) -> None:
        contexts = definition.get("contexts")
        if dm:
            if contexts is not None and 1 not in contexts:
                raise PermissionError(f"/{definition['name']} is not available in DMs")
            if contexts is None and definition.get("dm_permission") is False:
                raise PermissionError(f"/{definition['name']} is not available in DMs")
            return
        if contexts is not None and 0 not in contexts:
            raise PermissionError(f"/{definition['name']} is not available in guilds")
        required = definition.get("default_member_permissions")
        if required is not None and guild is not None:
            needed = int(required)
            if member_perms & Perm.ADMINISTRATOR:
                return
            if needed == 0 or member_perms & needed != needed:
                raise PermissionError(
                    f"Discord hides /{definition['name']} from a member without "
                    f"permissions {needed} (has {member_perms})"
                )

    def _build_options(
        self,
        options: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
        definitions: Sequence[Mapping[str, Any]],
        focused: str | None,
        guild: FakeGuild | None,
        resolved: dict[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Option objects for the leaf command; refuses what Discord's client would not send
        (unknown or missing required options, values outside ``choices``, channels of a type
        outside ``channel_types``) - except for autocomplete, where input is partial."""
        if options is not None and not isinstance(options, Mapping):
            return [dict(o) for o in options]
        given: Mapping[str, Any] = options or {}
        if focused is not None and focused not in given:
            raise KeyError(f"focused option {focused!r} is not among the options")
        if focused is None:
            known = {str(d.get("name")) for d in definitions}
            unknown = [name for name in given if name not in known]
            if unknown:
                raise LookupError(f"no options {unknown} (the command has {sorted(known)})")
            missing = [
                d["name"] for d in definitions if d.get("required") and d["name"] not in given
            ]
            if missing:
                raise ValueError(f"Discord requires the options {missing}")
        built: list[dict[str, Any]] = []
        for name, value in given.items():
            definition = next((d for d in definitions if d.get("name") == name), None)
            option_type = int(definition["type"]) if definition else _guess_option_type(value)
            option: dict[str, Any] = {"name": name, "type": option_type}
            if name == focused:
                option["value"] = value
                option["focused"] = True
            else:
                option["value"] = self._option_value(option_type, value, guild, resolved)
                if definition is not None and focused is None:
                    self._check_option_value(definition, option["value"], guild)
            built.append(option)
        return built

    @staticmethod
    def _check_option_value(
        definition: Mapping[str, Any], value: Any, guild: FakeGuild | None
    ) -> None:
        choices = definition.get("choices")
        if choices and value not in [c.get("value") for c in choices]:
            raise ValueError(f"{value!r} is not a choice of option {definition['name']!r}")
        channel_types = definition.get("channel_types")
        if channel_types and guild is not None:
            channel = guild.channel(int(value))
            if channel is not None and channel.type not in channel_types:
                raise ValueError(
                    f"option {definition['name']!r} takes channel types {channel_types}, "
                    f"not {channel.type}"
                )

    def _option_value(
        self,
        option_type: int,
        value: Any,
        guild: FakeGuild | None,
        resolved: dict[str, dict[str, Any]],
    ) -> Any:
        if option_type == 3:
            return str(value)
        if option_type == 4:
            return int(value)
        if option_type == 5:
            return bool(value)
        if option_type == 10:
            return float(value)
        if option_type in (6, 7, 8, 9):
            snowflake = int(value)
            key = str(snowflake)
            channel = guild.channel(snowflake) if guild is not None else None
            role = guild.role(snowflake) if guild is not None else None
            if option_type == 7 or (option_type == 9 and channel is not None):
                if channel is None or guild is None:
                    raise KeyError(f"channel {snowflake} not found")
                entry = self.channel_payload(channel, guild)
                entry["permissions"] = str(
                    self.channel_permissions(guild, self.bot_user.id, channel)
                )
                resolved.setdefault("channels", {})[key] = entry
            elif option_type == 8 or (option_type == 9 and role is not None):
                if role is None:
                    raise KeyError(f"role {snowflake} not found")
                resolved.setdefault("roles", {})[key] = role.to_payload()
            else:
                user = self._user(snowflake)
                resolved.setdefault("users", {})[key] = user.to_payload()
                member = guild.member(snowflake) if guild is not None else None
                if member is not None and guild is not None:
                    entry = self.member_payload(guild, member)
                    del entry["user"]
                    entry["permissions"] = str(self.base_permissions(guild, member.id))
                    resolved.setdefault("members", {})[key] = entry
            return key
        raise NotImplementedError(f"option type {option_type} is not supported by the fake")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def _guess_option_type(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


def _empty(key: str) -> Any:
    return "" if key == "content" else ([] if key == "components" else None)


def _normalize_embed(embed: Any) -> dict[str, Any]:
    if not isinstance(embed, dict):
        return {"type": "rich"}
    out = {k: v for k, v in embed.items() if v is not None}
    out.setdefault("type", "rich")
    return out


def _rate_limited(
    wait: float, headers: Mapping[str, str], *, scope: str
) -> tuple[int, JSON, dict[str, str]]:
    """The 429 Discord answers a request over a limit (`scope` "global" or "user")."""
    body = {"message": "You are being rate limited.", "retry_after": round(wait, 3)}
    body["global"] = scope == "global"
    return (
        429,
        body,
        {
            **headers,
            "Retry-After": str(max(1, round(wait))),
            "X-RateLimit-Scope": scope,
            # discord.py treats a 429 without Via as a Cloudflare ban and raises at once
            "Via": "1.1 google",
        },
    )


def _json_response(status: int, payload: JSON, headers: Mapping[str, str]) -> web.Response:
    if payload is None or status == 204:
        return web.Response(status=status, headers=dict(headers))
    # Content-Type exactly "application/json": discord.py's json_or_text compares it verbatim,
    # and aiohttp would append "; charset=utf-8" when given text= or content_type=.
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={**dict(headers), "Content-Type": "application/json"},
    )


def point_discord_at(fake: LocalDiscord) -> Callable[[], None]:
    """Point discord.py's REST base and default gateway at ``fake``; returns an undo callable.

    Sets ``discord.http.Route.BASE`` (read whenever a Route is built, REST and webhooks alike)
    and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (a plain ``Client`` connects to it
    directly - only ``AutoShardedClient`` asks GET /gateway/bot - and falls back to it after an
    invalidated session).
    """
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

    def undo() -> None:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return undo
