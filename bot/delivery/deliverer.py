"""Sending planned digests to Discord, exactly once, and reacting to what Discord answers.

Each message is recorded in the ledger as soon as Discord accepts it, and carries a nonce
with `enforce_nonce`, so a retry after a lost response or a crash cannot post it twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
from discord.http import Route

from bot.delivery.nonces import delivery_nonce, with_nonce
from bot.store import Delivery, Store, StoreError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DeliveryReport:
    sent_messages: int = 0
    completed: int = 0
    retried: int = 0
    paused: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    failed: int = 0


class Deliverer:
    """Posts due deliveries through discord.py's HTTP client, which waits out 429s itself
    (and, in the bot, is paced by the client's `Pacer`)."""

    def __init__(
        self,
        http: discord.http.HTTPClient,
        store: Store,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        concurrency: int = 8,
        base_backoff: float = 30.0,
        max_backoff: float = 3600.0,
        user_id: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.http = http
        self.store = store
        self.user_id = user_id  # the bot's own user, to know its messages in a channel
        self.clock = clock
        self.concurrency = concurrency
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self._lock = asyncio.Lock()
        # Set when Discord refuses the bot itself (a bad token, rate limits that do not
        # clear): every channel waits until then, so refused requests are not repeated.
        self.halted_until: dt.datetime | None = None
        # (channel, day, part) → message id: posted, but the ledger could not be written.
        self._unrecorded: dict[tuple[int, dt.date, int], int] = {}

    async def deliver_due(self) -> DeliveryReport:
        """Send everything due now; one run at a time, so nothing is sent twice concurrently."""
        report = DeliveryReport()
        async with self._lock:
            if self.halted_until is not None:
                if self.clock() < self.halted_until:
                    return report
                self.halted_until = None
            while True:
                due = await self.store.deliveries.due(self.clock())
                if not due:
                    break
                by_channel: dict[int, list[Delivery]] = {}
                for delivery in due:
                    by_channel.setdefault(delivery.channel_id, []).append(delivery)
                gate = asyncio.Semaphore(self.concurrency)
                progress = report.sent_messages
                # Every channel finishes before the run ends (and the lock is released), even
                # when the archive fails under one of them; that failure is raised after.
                outcomes = await asyncio.gather(
                    *(self._deliver_channel(items, gate, report) for items in by_channel.values()),
                    return_exceptions=True,
                )
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        raise outcome
                # Again while this pass posted something: more may be due (beyond the query's
                # limit, or a channel's next day that waited for this one); never spin on rows
                # that made no progress.
                if report.sent_messages == progress or self.halted_until is not None:
                    break
        if report.sent_messages or report.paused or report.removed or report.failed:
            log.info(
                "delivery run: %d messages, %d digests completed, %d retried later, "
                "%d channels paused, %d removed, %d failed",
                report.sent_messages,
                report.completed,
                report.retried,
                len(report.paused),
                len(report.removed),
                report.failed,
            )
        return report

    async def _deliver_channel(
        self, items: list[Delivery], gate: asyncio.Semaphore, report: DeliveryReport
    ) -> None:
        """One channel's due days in order; a refusal stops the rest of them."""
        async with gate:
            for item in items:
                if self.halted_until is not None:
                    return
                try:
                    if item.problem:
                        raise ValueError(item.problem)
                    if not await self._deliver(item, report):
                        return
                except StoreError:
                    raise
                except Exception as exc:
                    # A ledger row that cannot be sent (say, a forged digest) fails alone,
                    # once: the other channels go on, and it is not tried every run.
                    log.exception(
                        "digest %s for channel %s cannot be sent", item.date, item.channel_id
                    )
                    await self.store.deliveries.fail(item.channel_id, item.date, _describe(exc))
                    report.failed += 1
                    return

    async def _deliver(self, delivery: Delivery, report: DeliveryReport) -> bool:
        """Send the remaining parts in order; False stops this channel's later deliveries."""
        channel_id, date = delivery.channel_id, delivery.date
        for part in range(delivery.parts_sent, len(delivery.messages)):
            if self.halted_until is not None:
                return False
            last = part == len(delivery.messages) - 1
            posted = self._unrecorded.get((channel_id, date, part))
            if posted is not None:
                # Posted earlier, but the ledger could not be written then: record it now
                # rather than post it again (Discord forgets nonces within minutes).
                if not await self._record(delivery, part, posted, last, report):
                    return False
                continue
            body = with_nonce(delivery.messages[part], delivery_nonce(channel_id, date, part))
            if part == delivery.parts_sent and delivery.attempts:
                posted = await self._already_posted(channel_id, body)
                if posted is not None:
                    log.info(
                        "message %d of digest %s was posted to channel %s before its answer "
                        "was lost; recording it",
                        part,
                        date,
                        channel_id,
                    )
                    if not await self._record(delivery, part, posted, last, report):
                        return False
                    continue
            try:
                data = await self.http.request(
                    Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id),
                    json=body,
                )
            except discord.Forbidden as exc:
                reason = (
                    f"Discord refused to post here (403: {exc.text or 'Missing Access'}). "
                    "Give the bot View Channel, Send Messages and Embed Links, then change any "
                    "/settings to resume."
                )
                log.warning("pausing channel %s: %s", channel_id, reason)
                await self.store.subscriptions.pause(channel_id, reason)
                report.paused.append(channel_id)
                return False
            except discord.NotFound as exc:
                log.warning(
                    "channel %s is gone (404: %s); removing its subscriptions", channel_id, exc.text
                )
                await self.store.subscriptions.remove_channels([channel_id])
                report.removed.append(channel_id)
                return False
            except (discord.DiscordServerError, aiohttp.ClientError, TimeoutError, OSError) as exc:
                delay = min(self.base_backoff * 2**delivery.attempts, self.max_backoff)
                error = _describe(exc)
                log.warning(
                    "digest %s for channel %s: %s; retrying in %.0f s",
                    date,
                    channel_id,
                    error,
                    delay,
                )
                await self.store.deliveries.retry_later(
                    channel_id, date, error, self.clock() + dt.timedelta(seconds=delay)
                )
                report.retried += 1
                return False
            except discord.RateLimited as exc:
                await self._halt_rate_limited(delivery, exc.retry_after, f"rate limited: {exc}")
                report.retried += 1
                return False
            except discord.HTTPException as exc:
                error = _describe(exc)
                if exc.status == 429:
                    # discord.py gave up after its retries, or Cloudflare refused the bot.
                    await self._halt_rate_limited(delivery, _retry_after(exc), error)
                    report.retried += 1
                    return False
                if exc.status == 401:
                    self._halt(self.max_backoff)
                    log.error(
                        "Discord refused the bot's token (401) posting digest %s to channel "
                        "%s; every delivery waits %.0f s: check DISCORD_TOKEN",
                        date,
                        channel_id,
                        self.max_backoff,
                    )
                    return False
                log.error("digest %s for channel %s refused: %s", date, channel_id, error)
                await self.store.deliveries.fail(channel_id, date, error)
                report.failed += 1
                return True
            if not await self._record(delivery, part, int(data["id"]), last, report):
                return False
        return True

    async def _record(
        self, delivery: Delivery, part: int, message_id: int, last: bool, report: DeliveryReport
    ) -> bool:
        """Note a posted message in the ledger; False (stop the channel) when the archive
        cannot be written, keeping it in memory to be noted later, never posted twice."""
        channel_id, date = delivery.channel_id, delivery.date
        try:
            await self.store.deliveries.part_sent(channel_id, date, part, message_id, last)
        except StoreError as exc:
            if (channel_id, date, part) not in self._unrecorded:
                log.error(
                    "posted message %s of digest %s to channel %s but cannot record it: %s;"
                    " it will be recorded later, not posted again",
                    message_id,
                    date,
                    channel_id,
                    exc,
                )
                self._unrecorded[channel_id, date, part] = message_id
                report.sent_messages += 1
            return False
        if self._unrecorded.pop((channel_id, date, part), None) is None:
            report.sent_messages += 1
        if last:
            report.completed += 1
            log.info("delivered digest %s to channel %s", date, channel_id)
        return True

    async def _already_posted(self, channel_id: int, body: dict[str, Any]) -> int | None:
        """The id of this message if an earlier try posted it after all (its answer lost).

        Discord's nonce catches a resend only for a few minutes; a retry after a longer
        backoff looks for the bot's own identical message among the channel's latest ones.
        Without Read Message History, or on any error, the resend relies on the nonce.
        """
        user_id = self.user_id()
        if user_id is None:
            return None
        try:
            recent = await self.http.logs_from(channel_id, RECENT_MESSAGES)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.debug("cannot read channel %s to look for a lost message: %s", channel_id, exc)
            return None
        wanted = _shown(body)
        for message in recent:
            if message.get("author", {}).get("id") == str(user_id) and _shown(message) == wanted:
                return int(message["id"])
        return None

    def _halt(self, seconds: float) -> None:
        self.halted_until = self.clock() + dt.timedelta(seconds=seconds)

    async def _halt_rate_limited(
        self, delivery: Delivery, retry_after: float | None, error: str
    ) -> None:
        """Rate limits that outlast discord.py's retries: every channel waits."""
        wait = max(retry_after or 0.0, self.base_backoff)
        self._halt(wait)
        log.warning(
            "digest %s for channel %s: %s; every delivery waits %.0f s",
            delivery.date,
            delivery.channel_id,
            error,
            wait,
        )
        await self.store.deliveries.retry_later(
            delivery.channel_id, delivery.date, error, self.clock() + dt.timedelta(seconds=wait)
        )


RECENT_MESSAGES = 50


def _shown(message: Mapping[str, Any]) -> tuple[str, list[tuple[Any, Any, Any]]]:
    """What a channel shows of a message: its text and each embed's title, link and text."""
    embeds = message.get("embeds") or []
    return message.get("content") or "", [
        (e.get("title"), e.get("url"), e.get("description")) for e in embeds
    ]


def _retry_after(exc: discord.HTTPException) -> float | None:
    """The wait a 429 asks for, from its Retry-After header, if it names one."""
    headers = getattr(exc.response, "headers", None) or {}
    try:
        return float(headers.get("Retry-After", ""))
    except ValueError:
        return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}: {exc.text or exc.__class__.__name__}"[:500]
    return f"{exc.__class__.__name__}: {exc}"[:500]
