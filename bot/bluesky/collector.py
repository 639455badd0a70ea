"""The collector: Jetstream's posts stream → the posts that link papers, kept in the store.

It reads `{jetstream_url}?wantedCollections=app.bsky.feed.post`, decodes each frame
(`bot.bluesky.events`), and stores the changes in batches, each with the stream position it
reached, in one transaction. After a restart or a dropped connection it resumes from the
stored position a few seconds back: Jetstream delivers at least once and the store keeps a
post once, so nothing is lost or counted twice while the stream still holds that window
(36 hours on Bluesky's instances).

Entry point: `run_collector(config, store, session=...)`, until cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import yarl

from bot.bluesky.events import POST, FrameDecoder
from bot.bluesky.posts import AccountRemoved, Change, Cursor, PostLinked, PostRemoved
from bot.config import Config
from bot.store import Store, StoreError
from bot.store.bluesky import BlueskyBatch, BlueskyPosts

log = logging.getLogger(__name__)

# Jetstream's Go client reads frames up to 32 MiB; larger ones end the connection. Frames
# past the decoder's own limit are skipped, never fatal.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
DECODER_FAILED = "the decoder failed (logged once)"
NOT_STORABLE = "a value the database cannot store (logged once)"


@dataclass
class CollectorStats:
    """What the collector did since it started; logged in its periodic summary."""

    events: int = 0  # frames read
    # Changes stored; a post delivered again after a resume counts again.
    kept: int = 0  # posts linking papers, created or updated
    deletes: int = 0  # posts deleted, or updated to link no paper
    accounts: int = 0  # accounts deleted
    batches: int = 0  # batches stored
    reconnects: int = 0
    store_errors: int = 0
    cursor: Cursor | None = None  # the position stored last
    malformed: dict[str, int] = field(default_factory=dict)  # by reason, from the decoder

    def summary(self) -> str:
        malformed = sum(self.malformed.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.malformed.items()))
        return (
            f"{self.events} events, {self.kept} posts kept, {self.deletes} post deletes, "
            f"{self.accounts} account deletes, {malformed} malformed"
            f"{f' ({reasons})' if reasons else ''}, {self.reconnects} reconnects, "
            f"{self.store_errors} store errors, cursor "
            f"{self.cursor.time_us if self.cursor else 'none'}"
        )


class Backoff:
    """Exponential delays: base, 2 x base, ... up to cap; with `rng`, each drawn between half
    and all of that (jitter), so many collectors do not come back at once."""

    def __init__(self, base: float, cap: float, rng: random.Random | None) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng
        self.failures = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** min(self.failures, 32))
        self.failures += 1
        return ceiling if self.rng is None else ceiling * (0.5 + self.rng.random() / 2)

    def reset(self) -> None:
        self.failures = 0


def subscribe_url(url: str, cursor: Cursor | None, margin_seconds: float) -> yarl.URL:
    """The stream of posts from a little before `cursor` (None: from the live tip).

    The cursor is given as a unix-microsecond timestamp, never as a sequence number: Jetstream
    v1 and v2 both take it (v2 tells the two apart by magnitude, 1e15), and it means the same
    moment on every instance, while sequence numbers are instance-local. A resume point older
    than the instance's window starts at its oldest event.
    """
    query: dict[str, str] = {"wantedCollections": POST}
    if cursor is not None:
        query["cursor"] = str(max(0, cursor.time_us - round(margin_seconds * 1_000_000)))
    return yarl.URL(url).update_query(query)


class Collector:
    """Keeps the posts of one Jetstream stream that link papers; `run` until cancelled.

    `clock` (monotonic seconds) times the periodic summary and `sleep` waits between
    reconnects: tests inject both. A batch is stored after `batch_size` events or
    `flush_seconds` after its first. A StoreError stops reading (the connection is closed)
    and the batch is retried with backoff, so memory holds at most one batch; once stored,
    the collector reconnects from the stored cursor.
    """

    def __init__(
        self,
        store: BlueskyPosts,
        url: str,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        batch_size: int = 2000,
        flush_seconds: float = 1.0,
        resume_margin: float = 5.0,
        summary_seconds: float = 600.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 60.0,
        heartbeat: float = 30.0,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.store = store
        self.url = url
        self.session = session
        self.clock = clock
        self.sleep = sleep
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.resume_margin = resume_margin
        self.summary_seconds = summary_seconds
        self.heartbeat = heartbeat
        rng = rng or random.Random()
        self.backoff = Backoff(backoff_base, backoff_cap, rng)
        self.stats = CollectorStats()
        self.decoder = FrameDecoder()
        self._changes: list[Change] = []
        self._events = 0  # events read since the last stored batch
        self._time_us = 0  # the position of the last event read
        self._seq: int | None = None
        self._unstored: BlueskyBatch | None = None  # a batch the store refused, to retry
        self._progress = False  # a batch was stored on the current connection
        self._summary_at = clock()

    async def run(self) -> None:
        """Collect until cancelled; every failure is logged, then waited out and retried."""
        log.info("collecting Bluesky posts that link arXiv papers from %s", self.url)
        while True:
            reason = await self._connect_and_read()
            await self._store_unstored()
            if self._progress:
                self.backoff.reset()
            delay = self.backoff.next()
            self.stats.reconnects += 1
            log.warning(
                "Jetstream: %s; reconnecting in %.1f s from cursor %s",
                reason,
                delay,
                self.stats.cursor.time_us if self.stats.cursor else "none (live tip)",
            )
            await self.sleep(delay)

    async def _connect_and_read(self) -> str:
        """Read one connection until it ends; returns why it ended."""
        self._progress = False
        try:
            cursor = await self.store.cursor()
        except StoreError as exc:
            self.stats.store_errors += 1
            return f"cannot read the stored cursor: {exc}"
        self.stats.cursor = cursor
        url = subscribe_url(self.url, cursor, self.resume_margin)
        try:
            async with self.session.ws_connect(
                url,
                heartbeat=self.heartbeat,
                max_msg_size=MAX_MESSAGE_BYTES,
                compress=0,
            ) as ws:
                log.info("connected to %s", url)
                return await self._read(ws)
        except aiohttp.WSServerHandshakeError as exc:
            return f"the server refused the connection (HTTP {exc.status} {exc.message})"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return f"cannot connect or the connection broke ({type(exc).__name__}: {exc})"
        finally:
            self._changes.clear()  # not stored: read again from the stored cursor
            self._events = 0

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        while True:
            # A batch starts with its first event, however long that takes; then it fills for
            # at most flush_seconds. One deadline per batch, not one per frame: the stream
            # may bring tens of thousands of frames a second.
            ended = await self._receive(ws)
            if ended is None and self._events:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.flush_seconds):
                        while ended is None and self._events < self.batch_size:
                            ended = await self._receive(ws)
            if self._events and not await self._flush():
                return "the database cannot be written; stopped reading"
            if ended is not None:
                return ended

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> str | None:
        """Read and decode one frame into the batch; None, or why the connection ended."""
        message = await ws.receive()
        if message.type is aiohttp.WSMsgType.TEXT or message.type is aiohttp.WSMsgType.BINARY:
            self.stats.events += 1
            try:
                event = self.decoder.decode(message.data)
            except Exception:  # a bug: one frame must not stop the stream
                self.decoder.malformed[DECODER_FAILED] += 1
                if self.decoder.malformed[DECODER_FAILED] == 1:
                    log.exception("cannot decode a Jetstream frame: %.300s", message.data)
                return None
            if event is not None:
                self._events += 1
                if event.change is not None:
                    self._changes.append(event.change)
                self._time_us, self._seq = event.time_us, event.seq
            return None
        if message.type is aiohttp.WSMsgType.ERROR:
            return f"the connection failed ({ws.exception()!r})"
        if ws.close_code in (None, aiohttp.WSCloseCode.ABNORMAL_CLOSURE):
            return "the connection was lost without a close frame"
        return f"the server closed the connection (code {ws.close_code})"

    async def _flush(self) -> bool:
        """Store the batch read so far with its end position; False when the store refused
        it (kept in `_unstored` to retry once reading has stopped)."""
        batch = BlueskyBatch(tuple(self._changes), Cursor(self._time_us, self._seq))
        self._changes.clear()
        self._events = 0
        try:
            self._left_out(await self.store.record(batch))
        except StoreError as exc:
            self.stats.store_errors += 1
            log.warning(
                "cannot store %d changes from Jetstream (%s); stopped reading until they are",
                len(batch.changes),
                exc,
            )
            self._unstored = batch
            return False
        self._stored(batch)
        return True

    def _left_out(self, count: int) -> None:
        """Changes the store could not take: counted as malformed, logged once."""
        if count:
            if not self.decoder.malformed[NOT_STORABLE]:
                log.error("left out %d changes the database cannot store (a decoder gap)", count)
            self.decoder.malformed[NOT_STORABLE] += count

    def _stored(self, batch: BlueskyBatch) -> None:
        self._progress = True
        stats = self.stats
        stats.batches += 1
        stats.cursor = batch.cursor
        for change in batch.changes:
            if isinstance(change, PostLinked):
                stats.kept += 1
            elif isinstance(change, PostRemoved):
                stats.deletes += 1
            elif isinstance(change, AccountRemoved):
                stats.accounts += 1
        stats.malformed = dict(self.decoder.malformed)
        if self.clock() - self._summary_at >= self.summary_seconds:
            self._summary_at = self.clock()
            log.info("Jetstream collector: %s", stats.summary())

    async def _store_unstored(self) -> None:
        """Retry the batch the store refused until it is stored, reading nothing meanwhile."""
        retry = Backoff(self.backoff.base, self.backoff.cap, self.backoff.rng)
        delay = retry.next()
        while self._unstored is not None:
            await self.sleep(delay)
            try:
                self._left_out(await self.store.record(self._unstored))
            except StoreError as exc:
                self.stats.store_errors += 1
                delay = retry.next()
                log.warning(
                    "still cannot store %d changes from Jetstream (%s); trying again in %.1f s",
                    len(self._unstored.changes),
                    exc,
                    delay,
                )
                continue
            self._stored(self._unstored)
            self._unstored = None


async def run_collector(config: Config, store: Store, *, session: aiohttp.ClientSession) -> None:
    """Collect the Bluesky posts that link arXiv papers from `[bluesky] jetstream_url` into
    `store.bluesky`, until cancelled (then at most the last second's batch is read again at
    the next start). `session` is the caller's aiohttp session, used for the WebSocket."""
    collector = Collector(store.bluesky, config.bluesky.jetstream_url, session)
    try:
        await collector.run()
    finally:
        log.info("Jetstream collector stopping: %s", collector.stats.summary())
