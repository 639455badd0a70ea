"""The local Discord's gateway: websocket connections, sessions and the events sent on them.

HELLO, IDENTIFY (READY, then GUILD_CREATE for each guild the session's shard covers),
heartbeats, RESUME (the events a dropped connection missed are replayed), member requests,
and ``dispatch`` for every event the world or a test sends. Only TEXT frames are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from bot.sandbox.local_discord.http import API_VERSION
from bot.sandbox.local_discord.payloads import guild_create_payload, me_payload, member_payload
from bot.sandbox.local_discord.world import Intent

if TYPE_CHECKING:
    from bot.sandbox.local_discord.server import LocalDiscord


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


class Gateway:
    """The gateway of one ``LocalDiscord``, with what it received and sent.

    Records: ``connections``, ``sessions`` (by id), ``identifies`` and ``resumes`` (their
    ``d``), ``presence_updates``, ``member_requests``, ``unknown_gateway_payloads`` and
    ``dispatched`` (event name and data of every ``dispatch``).
    """

    def __init__(self, local: LocalDiscord) -> None:
        self._local = local
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.presence_updates: list[dict[str, Any]] = []
        self.member_requests: list[dict[str, Any]] = []
        self.unknown_gateway_payloads: list[dict[str, Any]] = []
        self.dispatched: list[tuple[str, dict[str, Any]]] = []

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """One websocket connection, from HELLO until either side closes it."""
        ws = web.WebSocketResponse(timeout=2.0, autoping=True, heartbeat=None, max_msg_size=0)
        await ws.prepare(request)
        conn = GatewayConnection(ws, request.query)
        self.connections.append(conn)
        hello = {
            "heartbeat_interval": self._local.heartbeat_interval_ms,
            "_trace": ["fake-discord"],
        }
        await conn.send({"op": 10, "s": None, "t": None, "d": hello})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    payload = json.loads(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    payload = json.loads(msg.data.decode())
                else:
                    break
                conn.received.append(payload)
                await self._on_payload(conn, payload)
        finally:
            client_closed = conn.server_close_code is None
            conn.close_code = ws.close_code if client_closed else conn.server_close_code
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                if client_closed and ws.close_code in (1000, 1001):
                    session.ended = True  # the client closed cleanly: no RESUME, like Discord
            self._local.notifier.notify()
        return ws

    async def _on_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
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
        local = self._local
        self.identifies.append(data)
        if local.token is not None and data.get("token") != local.token:
            await conn.close(4004, "Authentication failed.")
            return
        intents = int(data.get("intents") or 0)
        shard_data = data.get("shard")
        shard = (int(shard_data[0]), int(shard_data[1])) if shard_data else None
        session = GatewaySession(secrets.token_hex(16), intents, shard)
        self.sessions[session.session_id] = session
        session.connection = conn
        conn.session = session
        guilds = [g for g in local.world.joined() if session.covers(g.id)]
        ready: dict[str, Any] = {
            "v": API_VERSION,
            "user": me_payload(local.bot_user),
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": local.resume_gateway_url or local.gateway_url,
            "application": {"id": str(local.application_id), "flags": 0},
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        await self._send_event(session, "READY", ready)
        if intents & Intent.GUILDS:
            for guild in guilds:
                payload = guild_create_payload(guild, intents, local.bot_user.id)
                await self._send_event(session, "GUILD_CREATE", payload)
        conn.ready.set()
        local.notifier.notify()

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        local = self._local
        self.resumes.append(data)
        session = self.sessions.get(str(data.get("session_id")))
        token_ok = local.token is None or data.get("token") == local.token
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
        local.notifier.notify()

    async def _request_members(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        self.member_requests.append(data)
        if conn.session is None:
            return
        raw = data.get("guild_id")
        guild_ids: list[Any] = raw if isinstance(raw, list) else [raw]
        for guild_id in guild_ids:
            guild = self._local.guilds.get(int(guild_id or 0))
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
                "members": [member_payload(m) for m in members],
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

    def live_sessions(self, guild_id: int | None = None) -> list[GatewaySession]:
        """Sessions not ended (those covering ``guild_id`` when given)."""
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
        """Send a DISPATCH event to every live session (see ``LocalDiscord.dispatch``)."""
        self.dispatched.append((event, data))
        sessions = [s for s in self.live_sessions(guild_id) if intent is None or s.intents & intent]
        for session in sessions:
            await self._send_event(session, event, data)
        return len(sessions)

    def ready_connection(self) -> GatewayConnection | None:
        """The newest connection that got READY (or RESUMED) and is still open."""
        return next((c for c in reversed(self.connections) if c.open and c.ready.is_set()), None)

    async def close_all(self, code: int, message: str) -> None:
        for conn in list(self.connections):
            await conn.close(code, message)
