"""The local Discord server: one bot's REST API and gateway on 127.0.0.1.

``LocalDiscord`` holds the world and everything it recorded, serves HTTP and the gateway
websocket on a free port, and takes each REST request through the same steps: route, the
``validator``, rate limits, the ``interceptors``, authorization, then the route itself.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Self

import yarl
from aiohttp import web

from bot.sandbox.local_discord import direct, messages, rest, webhooks
from bot.sandbox.local_discord.components import use_component
from bot.sandbox.local_discord.gateway import Gateway, GatewayConnection
from bot.sandbox.local_discord.http import (
    API_VERSION,
    Answer,
    ApiError,
    Call,
    Handle,
    Interceptor,
    RecordedRequest,
    Route,
    Validator,
    json_response,
    path_pattern,
    read_body,
)
from bot.sandbox.local_discord.interactions import InteractionHandle, create_interaction
from bot.sandbox.local_discord.notifier import Notifier
from bot.sandbox.local_discord.payloads import channel_payload
from bot.sandbox.local_discord.ratelimits import RateLimiter, RateLimits, RateLimitStats
from bot.sandbox.local_discord.world import (
    DEFAULT_BOT_USER_ID,
    FakeGuild,
    FakeUser,
    Snowflakes,
    World,
    default_guild,
)

with warnings.catch_warnings():
    # discord.py's voice support imports audioop, deprecated since Python 3.11.
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord.gateway
    import discord.http

MessageListener = Callable[[dict[str, Any]], None]
# Routes that authenticate by their token in the path, not the Authorization header.
TOKEN_ROUTES = ("/webhooks/", "/interactions/")


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

    Records: ``requests`` (every one, ``unknown_requests`` those of no known route),
    ``schema_problems``, ``messages`` (by id, ``deleted_messages``), ``nonce_hits``,
    ``commands`` (by guild id, None = global), ``interactions``, ``identifies``, ``resumes``;
    the rest of the gateway's in ``gateway``. The world is in ``world`` (``guilds``, ``users``,
    ``left_guilds`` and ``deleted_channels`` here too). ``ids``, ``notifier``, ``nonces`` and
    ``interaction_tokens`` are shared with the route modules.
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
        self.ids = Snowflakes()
        bot_user = FakeUser(bot_user_id, bot_name, None, bot=True)
        self.application_id = application_id if application_id is not None else bot_user_id
        self.world = World(
            bot_user,
            list(guilds) if guilds is not None else [default_guild(bot_user)],
            enforce_permissions=enforce_permissions,
            ids=self.ids,
        )
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_ack_timeout = interaction_ack_timeout
        self.nonce_ttl = nonce_ttl
        self.validator = validator
        self.reject_invalid = reject_invalid
        self.enforce_command_gates = enforce_command_gates
        self.interceptors: list[Interceptor] = []
        self.message_listeners: list[MessageListener] = []
        self.rate_limit_stats = RateLimitStats()
        self._limiter = RateLimiter(rate_limits, self.rate_limit_stats) if rate_limits else None
        # READY's resume address (None: this server); a test may name another one.
        self.resume_gateway_url: str | None = None

        self.requests: list[RecordedRequest] = []
        self.unknown_requests: list[RecordedRequest] = []
        self.schema_problems: list[str] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.deleted_messages: list[dict[str, Any]] = []
        self.nonce_hits = 0
        # (channel id, nonce) → (message id, when): what enforce_nonce deduplicates by.
        self.nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.interactions: list[InteractionHandle] = []
        self.interaction_tokens: dict[str, InteractionHandle] = {}

        self.notifier = Notifier()
        self.gateway = Gateway(self)
        self._routes: list[Route] = [*rest.ROUTES, *messages.ROUTES, *webhooks.ROUTES]
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("LocalDiscord already started")
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.serve)
        app.router.add_route("*", "/{tail:.*}", self._serve_http)
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
        await self.gateway.close_all(1001, "fake-discord shutting down")
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

    # -- the world ----------------------------------------------------------------------------

    @property
    def bot_user(self) -> FakeUser:
        return self.world.bot_user

    @property
    def guilds(self) -> dict[int, FakeGuild]:
        return self.world.guilds

    @property
    def users(self) -> dict[int, FakeUser]:
        return self.world.users

    @property
    def left_guilds(self) -> set[int]:
        return self.world.left_guilds

    @property
    def deleted_channels(self) -> set[int]:
        return self.world.deleted_channels

    async def delete_channel(self, channel_id: int) -> None:
        """Delete a guild channel and dispatch CHANNEL_DELETE; REST then answers 404."""
        guild = self.world.guild_of_channel(channel_id)
        if guild is None:
            raise KeyError(channel_id)
        channel = guild.channel(channel_id)
        assert channel is not None
        payload = channel_payload(channel, guild)
        self.world.deleted_channels.add(channel_id)
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
        self.world.left_guilds.add(guild_id)
        await self.dispatch("GUILD_DELETE", {"id": str(guild_id)}, guild_id=guild_id)

    # -- direct messages and members leaving -------------------------------------------------

    def close_dms(self, user_id: int, closed: bool = True) -> None:
        """The user takes no DMs from the bot (closed) or takes them again; a message to
        their DM channel is then refused with 403, code 50007."""
        if closed:
            self.world.closed_dms.add(user_id)
        else:
            self.world.closed_dms.discard(user_id)

    async def remove_member(self, guild_id: int, user_id: int) -> None:
        """The member leaves the guild: GET of the member answers 404, code 10007."""
        await direct.remove_member(self, guild_id, user_id)

    def dm_messages(self, user_id: int) -> list[dict[str, Any]]:
        """The bot's messages in its DM channel with the user, oldest first."""
        return direct.dm_messages(self, user_id)

    async def wait_for_dms(
        self,
        user_id: int,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        """At least ``count`` messages from the bot in its DM channel with the user."""
        return await self.notifier.wait_for(
            lambda: self.dm_messages(user_id) if len(self.dm_messages(user_id)) >= count else None,
            timeout,
            lambda: f"user {user_id} has {len(self.dm_messages(user_id))} direct messages",
        )

    # -- queries for tests --------------------------------------------------------------------

    @property
    def identifies(self) -> list[dict[str, Any]]:
        return self.gateway.identifies

    @property
    def resumes(self) -> list[dict[str, Any]]:
        return self.gateway.resumes

    @property
    def intents(self) -> int | None:
        """Intents of the last IDENTIFY (None before any)."""
        return self.identifies[-1].get("intents") if self.identifies else None

    @property
    def heartbeats(self) -> int:
        return sum(c.heartbeats for c in self.gateway.connections)

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
        return await self.notifier.wait_for(
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

    # -- REST -----------------------------------------------------------------------------------

    async def _serve_http(self, request: web.Request) -> web.StreamResponse:
        prefix = f"/api/v{API_VERSION}/"
        is_api = request.path.startswith(prefix)
        record = RecordedRequest(
            method=request.method,
            path=request.path[len(prefix) - 1 :] if is_api else request.path,
            query=dict(request.query),
            json=None,
            headers=dict(request.headers),
        )
        await read_body(request, record)
        self.requests.append(record)
        try:
            answer = await self._answer(request, record, is_api)
        except ApiError as exc:
            answer = exc.answer()
        record.status = answer.status
        record.response = answer.body
        self.notifier.notify()
        return json_response(answer)

    async def _answer(self, request: web.Request, record: RecordedRequest, is_api: bool) -> Answer:
        found = self._match(record) if is_api else None
        if found is None:
            self.unknown_requests.append(record)
            return Answer(404, {"message": "404: Not Found", "code": 0})
        route, params = found
        record.route = route.name
        self._validate(record)
        limit_headers: Mapping[str, str] = {}
        if self._limiter is not None:
            limited = self._limiter.check(route, params)
            if isinstance(limited, Answer):
                return limited
            limit_headers = limited
        call = Call(request=request, record=record, params=params)
        handle: Handle = functools.partial(self._carry_out, route, call, limit_headers)
        for interceptor in reversed(self.interceptors):
            handle = functools.partial(interceptor, record, handle)
        return await handle()

    async def _carry_out(self, route: Route, call: Call, headers: Mapping[str, str]) -> Answer:
        """Authorization, then the route; its answer carries the rate-limit ``headers``."""
        try:
            if not route.path.startswith(TOKEN_ROUTES):
                self._check_auth(call.request)
            result = await route.handler(self, call)
        except ApiError as exc:
            return exc.answer()
        if result is None:
            return Answer(204, None, headers)
        if isinstance(result, tuple):
            status, body = result
            return Answer(status, body, headers)
        return Answer(200, result, headers)

    def _match(self, record: RecordedRequest) -> tuple[Route, dict[str, str]] | None:
        for route in self._routes:
            params = route.match(record.method, record.path)
            if params is not None:
                return route, params
        return None

    def _validate(self, record: RecordedRequest) -> None:
        """Run the validator; ``ApiError`` 400 for what Discord would reject."""
        if self.validator is None or record.json is None:
            return
        check = self.validator(record.method, record.path, record.json)
        if check.problems:
            record.problems = check.problems
            self.schema_problems.extend(
                f"{record.method} {record.path}: {p}" for p in check.problems
            )
        if self.reject_invalid and check.rejected_by_discord:
            raise ApiError(
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

    def _check_auth(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bot ") or (self.token is not None and auth != f"Bot {self.token}"):
            raise ApiError(401, 0, "401: Unauthorized")

    # -- gateway --------------------------------------------------------------------------------

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
        return await self.gateway.dispatch(event, data, guild_id=guild_id, intent=intent)

    async def wait_until_connected(self, timeout: float = 5.0) -> GatewayConnection:  # noqa: ASYNC109
        """A connection that got READY (or RESUMED) and is still open."""
        return await self.notifier.wait_for(
            self.gateway.ready_connection,
            timeout,
            lambda: f"no ready gateway connection; identifies={len(self.identifies)}",
        )

    async def close_gateway(self, code: int = 4000) -> None:
        """Close every gateway connection from the server side (4000 = resumable)."""
        await self.gateway.close_all(code, "fake-discord closed the connection")

    # -- interactions ---------------------------------------------------------------------------

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
        return await create_interaction(
            self,
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
        return await create_interaction(
            self,
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

    async def click(
        self,
        message_id: int,
        custom_id: str,
        *,
        user_id: int | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """A member clicks the button ``custom_id`` of a message: INTERACTION_CREATE type 3
        (``components.use_component``). In a guild the member defaults to its first non-bot
        member (alice); on an ephemeral message, to the member it is shown to."""
        return await use_component(
            self, message_id, custom_id, None, user_id=user_id, locale=locale, timeout=timeout
        )

    async def choose(
        self,
        message_id: int,
        custom_id: str,
        values: Sequence[str],
        *,
        user_id: int | None = None,
        locale: str = "en-US",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> InteractionHandle:
        """A member picks ``values`` in the select menu ``custom_id`` of a message."""
        return await use_component(
            self, message_id, custom_id, values, user_id=user_id, locale=locale, timeout=timeout
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
