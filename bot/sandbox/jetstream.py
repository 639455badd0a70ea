"""A local Jetstream on 127.0.0.1: the v1-compatible `/subscribe` WebSocket, for the offline
sandbox, the tests and the benchmarks.

It serves what Jetstream's docs/README.md §5.1 documents: JSON text frames
``{"did", "time_us", "cursor", "kind", "commit"|"account"|"identity"}`` (the v2 sequence
number `cursor` can be left out, as v1 did), filtered by `wantedCollections` (repeated; exact
NSIDs or ``prefix.*``; commits only: account and identity events always come) and
`wantedDids`, from `?cursor=` (a sequence number below 1e15 or a unix-microsecond time from
1e15 on, inclusive; older than what it holds: its oldest event; in the future or absent: the
live tip). Delivery is at least once.

Usage::

    async with LocalJetstream() as jetstream:
        seq = jetstream.publish({"did": did, "commit": {"rev": ..., "operation": "create",
                                 "collection": "app.bsky.feed.post", "rkey": ..., ...}})
        ...connect to jetstream.url...

Events come from `publish` (the server numbers them and stamps them with its clock) or from
a `replay`: a recorded stream, (time_us, event) pairs drawn as fast as subscribers read.
It keeps the last `retain` events, and none older than `window_seconds`. Faults for tests
and benches: `drop_connections` (part of a frame, then the transport is aborted),
`close_connections`, `stop` and `start` again on the same port (keeping the events or not),
`redeliver`; what it did is counted in `stats`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import WSMsgType, web

SEQ_CURSOR_LIMIT = 10**15  # below: a sequence number; from here on: unix microseconds
WINDOW_SECONDS = 36 * 3600.0  # how far back Bluesky's instances let a cursor go
MAX_COLLECTIONS = 100
MAX_DIDS = 10_000
KINDS = ("commit", "account", "identity")
_NSID_FILTER = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*(?:\.[a-zA-Z0-9-]+)*(?:\.\*)?", re.ASCII)
_DID = re.compile(r"did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]", re.ASCII)
_REPLAY_CHUNK = 1000
_DRAIN_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Entry:
    seq: int
    time_us: int
    kind: str
    did: str
    collection: str | None  # of a commit
    frame: str  # the JSON text sent


class _Log:
    """The numbered events, oldest first; sequence numbers are consecutive."""

    def __init__(self, first_seq: int = 1) -> None:
        self._entries: list[_Entry] = []
        self._start = 0  # index of the oldest kept entry
        self.next_seq = first_seq

    def __len__(self) -> int:
        return len(self._entries) - self._start

    @property
    def first_seq(self) -> int:
        return self._entries[self._start].seq if len(self) else self.next_seq

    @property
    def first_time_us(self) -> int | None:
        return self._entries[self._start].time_us if len(self) else None

    @property
    def last_time_us(self) -> int:
        return self._entries[-1].time_us if len(self) else 0

    def append(self, entry: _Entry) -> None:
        self._entries.append(entry)
        self.next_seq = entry.seq + 1

    def get(self, seq: int) -> _Entry | None:
        index = self._start + seq - self.first_seq
        if len(self) and self._start <= index < len(self._entries):
            return self._entries[index]
        return None

    def seq_from_time(self, time_us: int) -> int:
        """The first event at or after `time_us` (next_seq when none is)."""
        index = bisect.bisect_left(self._entries, time_us, lo=self._start, key=_time_of)
        return self._entries[index].seq if index < len(self._entries) else self.next_seq

    def trim(self, retain: int, oldest_us: int) -> None:
        """Forget all but the last `retain` events, and those before `oldest_us`."""
        start = max(self._start, len(self._entries) - retain)
        start = bisect.bisect_left(self._entries, oldest_us, lo=start, key=_time_of)
        self._start = start
        if self._start > 4096 and self._start * 2 > len(self._entries):
            del self._entries[: self._start]
            self._start = 0


def _time_of(entry: _Entry) -> int:
    return entry.time_us


@dataclass
class JetstreamStats:
    """What the stand-in did, for tests and benches."""

    published: int = 0  # events numbered
    connections: int = 0  # subscriptions accepted
    refused: int = 0  # subscribe requests answered 400
    frames_sent: int = 0
    dropped: int = 0  # connections aborted mid-frame
    closed: int = 0  # connections closed by close_connections or stop
    clamped: int = 0  # cursors older than the oldest event kept
    redelivered: int = 0  # calls of redeliver


@dataclass(frozen=True, slots=True)
class Subscription:
    """One accepted `/subscribe` request: its cursor parameter and the first seq it got."""

    cursor: int | None
    start_seq: int
    collections: tuple[str, ...]
    dids: tuple[str, ...]


class _BadRequest(Exception):
    pass


@dataclass(eq=False)
class _Subscriber:
    ws: web.WebSocketResponse
    request: web.Request
    next_seq: int
    exact: frozenset[str]
    prefixes: tuple[str, ...]
    dids: frozenset[str]
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    drop: bool = False
    close: tuple[int, str] | None = None
    gone: bool = False  # the client closed or the connection broke
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, entry: _Entry) -> bool:
        if self.dids and entry.did not in self.dids:
            return False
        if entry.collection is None or not (self.exact or self.prefixes):
            return True  # account and identity events pass any collection filter
        return entry.collection in self.exact or entry.collection.startswith(self.prefixes)


class LocalJetstream:
    """Jetstream's `/subscribe` on 127.0.0.1 (an ephemeral port, kept across restarts).

    * ``clock``: seconds since the epoch (``time.time``); stamps published events, dates the
      window and tells a future cursor
    * ``send_seq``: frames carry v2's ``cursor`` sequence number (True) or not, like v1
    * ``retain`` (1,000,000) events at most, none older than ``window_seconds`` (36 h)
    * ``replay``: (time_us, event) pairs streamed after the published events, drawn only as
      subscribers read them
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        send_seq: bool = True,
        retain: int = 1_000_000,
        window_seconds: float = WINDOW_SECONDS,
        replay: Iterable[tuple[int, Mapping[str, Any]]] | None = None,
    ) -> None:
        self.clock = clock
        self.send_seq = send_seq
        self.retain = retain
        self.window_seconds = window_seconds
        self.stats = JetstreamStats()
        self.subscriptions: deque[Subscription] = deque(maxlen=10_000)
        self._replay: Iterator[tuple[int, Mapping[str, Any]]] | None = (
            iter(replay) if replay is not None else None
        )
        self._log = _Log()
        self._subscribers: set[_Subscriber] = set()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on 127.0.0.1: a free port the first time, the same one after `stop`."""
        if self._runner is not None:
            raise RuntimeError("LocalJetstream already started")
        app = web.Application()
        app.router.add_get("/subscribe", self._subscribe)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self._port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self, *, keep_log: bool = True) -> None:
        """Close every connection (1001, going away) and stop listening. Without
        `keep_log` its events are forgotten and numbering starts again at 1, as on another
        instance."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await self.close_connections(1001, "server shutting down")
            await runner.cleanup()
        if not keep_log:
            self._log = _Log()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("LocalJetstream was never started")
        return f"ws://127.0.0.1:{self._port}/subscribe"

    # -- events -------------------------------------------------------------------------------

    def publish(self, event: Mapping[str, Any], *, time_us: int | None = None) -> int:
        """Number and stamp `event` and send it to every subscriber that wants it; returns
        its seq. `event` holds one of ``commit``, ``account`` or ``identity`` (what Jetstream
        puts under that key) and ``did`` (or the account's or identity's own). `time_us` is
        for replaying a recorded stream: by default the server's clock stamps it; times
        never go backwards."""
        kinds = [kind for kind in KINDS if kind in event]
        if len(kinds) != 1:
            raise ValueError(f"an event holds one of {', '.join(KINDS)}; got {sorted(event)}")
        kind = kinds[0]
        part = event[kind]
        if not isinstance(part, Mapping):
            raise ValueError(f"an event's {kind} is an object, got {part!r}")
        did = event.get("did", part.get("did"))
        if not isinstance(did, str):
            raise ValueError(f"a {kind} event needs a did, got {did!r}")
        collection = part.get("collection") if kind == "commit" else None
        if kind == "commit" and not isinstance(collection, str):
            raise ValueError(f"a commit needs a collection, got {collection!r}")
        stamp = time_us if time_us is not None else int(self.clock() * 1_000_000)
        stamp = max(stamp, self._log.last_time_us)
        seq = self._log.next_seq
        frame: dict[str, Any] = {"did": did, "time_us": stamp}
        if self.send_seq:
            frame["cursor"] = seq
        frame["kind"] = kind
        frame[kind] = part
        text = json.dumps(frame, ensure_ascii=False, separators=(",", ":"))
        self._log.append(_Entry(seq, stamp, kind, did, collection, text))
        self._log.trim(self.retain, self._oldest_us())
        self.stats.published += 1
        for subscriber in self._subscribers:
            subscriber.wake.set()
        return seq

    @property
    def next_seq(self) -> int:
        """The seq the next event gets."""
        return self._log.next_seq

    @property
    def last_time_us(self) -> int:
        """The time of the newest event (0 before any)."""
        return self._log.last_time_us

    @property
    def replay_done(self) -> bool:
        """Every event of the replay is numbered (or there was none)."""
        return self._replay is None

    def _oldest_us(self) -> int:
        return int((self.clock() - self.window_seconds) * 1_000_000)

    def _draw_replay(self) -> bool:
        """Number the replay's next events; False when it has no more."""
        if self._replay is None:
            return False
        drawn = 0
        for time_us, event in self._replay:
            self.publish(event, time_us=time_us)
            drawn += 1
            if drawn == _REPLAY_CHUNK:
                return True
        self._replay = None
        return drawn > 0

    # -- faults -------------------------------------------------------------------------------

    def drop_connections(self) -> None:
        """Abort every connection in the middle of a frame: its next frame (or, when it is
        waiting at the live tip, a frame header and a few bytes) goes out in part, then the
        transport is aborted without a close handshake."""
        for subscriber in self._subscribers:
            subscriber.drop = True
            subscriber.wake.set()

    async def close_connections(self, code: int = 1000, message: str = "") -> None:
        """Close every connection cleanly with `code`, and wait until they are closed."""
        subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.close = (code, message)
            subscriber.wake.set()
        for subscriber in subscribers:
            await subscriber.done.wait()

    def redeliver(self, from_seq: int) -> None:
        """Send every subscriber again the events from `from_seq` (at least once delivery):
        each goes back there if it is further on."""
        self.stats.redelivered += 1
        start = max(from_seq, self._log.first_seq)
        for subscriber in self._subscribers:
            subscriber.next_seq = min(subscriber.next_seq, start)
            subscriber.wake.set()

    @property
    def active_connections(self) -> int:
        return len(self._subscribers)

    # -- the WebSocket --------------------------------------------------------------------------

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        try:
            cursor, collections, dids = _parse_query(request)
        except _BadRequest as exc:
            self.stats.refused += 1
            return web.json_response({"error": "BadRequest", "message": str(exc)}, status=400)
        ws = web.WebSocketResponse(timeout=2.0, compress=False)
        await ws.prepare(request)
        start = self._start_seq(cursor)
        self.stats.connections += 1
        self.subscriptions.append(Subscription(cursor, start, collections, dids))
        subscriber = _Subscriber(
            ws,
            request,
            start,
            frozenset(c for c in collections if not c.endswith(".*")),
            tuple(c[:-1] for c in collections if c.endswith(".*")),
            frozenset(dids),
        )
        self._subscribers.add(subscriber)
        reader = asyncio.create_task(self._read_client(subscriber))
        try:
            await self._stream(subscriber)
        except ConnectionError:
            pass  # the client went away mid-send
        finally:
            self._subscribers.discard(subscriber)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            subscriber.done.set()
        return ws

    def _start_seq(self, cursor: int | None) -> int:
        log = self._log
        if cursor is None:
            return log.next_seq
        if cursor < SEQ_CURSOR_LIMIT:
            if cursor >= log.next_seq:
                return log.next_seq
            if cursor < log.first_seq:
                self.stats.clamped += 1
                return log.first_seq
            return cursor
        oldest = log.first_time_us
        if oldest is None or cursor > self.clock() * 1_000_000:
            return log.next_seq
        if cursor < oldest:
            self.stats.clamped += 1
        return log.seq_from_time(cursor)

    async def _read_client(self, subscriber: _Subscriber) -> None:
        """Answer the client's close handshake and notice when it goes."""
        async for message in subscriber.ws:
            if message.type == WSMsgType.ERROR:
                break
        subscriber.gone = True
        subscriber.wake.set()

    async def _stream(self, subscriber: _Subscriber) -> None:
        ws, log = subscriber.ws, self._log
        while not subscriber.gone:
            if subscriber.close is not None:
                self.stats.closed += 1
                code, message = subscriber.close
                await ws.close(code=code, message=message.encode())
                return
            log = self._log  # stop(keep_log=False) starts a new one
            subscriber.next_seq = max(subscriber.next_seq, log.first_seq)
            entry = log.get(subscriber.next_seq)
            if entry is None:
                if subscriber.drop:
                    await self._abort_mid_frame(subscriber, '{"did":"did:plc:')
                    return
                if self._draw_replay():
                    continue
                subscriber.wake.clear()
                await subscriber.wake.wait()
                continue
            subscriber.next_seq += 1
            if not subscriber.wants(entry):
                continue
            if subscriber.drop:
                await self._abort_mid_frame(subscriber, entry.frame)
                return
            await ws.send_str(entry.frame)
            self.stats.frames_sent += 1

    async def _abort_mid_frame(self, subscriber: _Subscriber, frame: str) -> None:
        """Write a text frame's header and half its payload, then abort the transport."""
        transport = subscriber.request.transport
        if transport is None or transport.is_closing():
            return
        payload = frame.encode()
        transport.write(_text_frame_header(len(payload)) + payload[: max(1, len(payload) // 2)])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _DRAIN_SECONDS
        # Let the partial frame reach the socket first. Only the protocol (aiohttp's) hears
        # when a transport's buffer drains, so its size is polled, for a second at most.
        while transport.get_write_buffer_size() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        transport.abort()
        self.stats.dropped += 1


def _text_frame_header(length: int) -> bytes:
    """RFC 6455 §5.2: FIN + text opcode, then the payload length (unmasked, server to client)."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return bytes((0x81, 126)) + length.to_bytes(2, "big")
    return bytes((0x81, 127)) + length.to_bytes(8, "big")


def _parse_query(request: web.Request) -> tuple[int | None, tuple[str, ...], tuple[str, ...]]:
    query = request.query
    cursor = None
    values = query.getall("cursor", [])
    if len(values) > 1:
        raise _BadRequest("cursor may be given once")
    if values:
        if not values[0].isascii() or not values[0].isdigit():
            raise _BadRequest(
                f"cursor must be a sequence number or a unix time in microseconds, "
                f"got {values[0]!r}"
            )
        cursor = int(values[0])
    collections = tuple(query.getall("wantedCollections", []))
    if len(collections) > MAX_COLLECTIONS:
        raise _BadRequest(f"at most {MAX_COLLECTIONS} wantedCollections, got {len(collections)}")
    for collection in collections:
        if not _NSID_FILTER.fullmatch(collection):
            raise _BadRequest(
                f"wantedCollections must be NSIDs like app.bsky.feed.post or prefixes like "
                f"app.bsky.feed.*, got {collection!r}"
            )
    dids = tuple(query.getall("wantedDids", []))
    if len(dids) > MAX_DIDS:
        raise _BadRequest(f"at most {MAX_DIDS} wantedDids, got {len(dids)}")
    for did in dids:
        if not _DID.fullmatch(did):
            raise _BadRequest(f"wantedDids must be DIDs like did:plc:..., got {did!r}")
    return cursor, collections, dids
