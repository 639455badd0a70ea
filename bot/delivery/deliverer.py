"""Sending planned digests to Discord, exactly once, and reacting to what Discord answers.

Each message is recorded in the ledger as soon as Discord accepts it, and carries a nonce
with `enforce_nonce`, so a retry after a lost response or a crash cannot post it twice.
What an answer means is `bot.delivery.answers`; what is done about it is `Deliverer._handle`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import discord
from discord.http import Route

from bot.delivery import answers
from bot.delivery.answers import (
    NETWORK_ERRORS,
    Answer,
    Forbidden,
    Gone,
    Posted,
    RateLimited,
    Refused,
    Unauthorized,
    Unavailable,
    describe,
)
from bot.delivery.nonces import delivery_nonce, with_nonce
from bot.delivery.report import DeliveryReport
from bot.store import Delivery, Store, StoreError

log = logging.getLogger(__name__)

K = TypeVar("K")


class Then(enum.Enum):
    """What a channel's delivery does after one message's answer."""

    NEXT_PART = enum.auto()  # go on with this digest's next message
    NEXT_DAY = enum.auto()  # this digest is over; the channel's next day may go
    STOP = enum.auto()  # nothing more for this channel in this run


class Sender(Generic[K]):
    """What sending digests to channels (`Deliverer`) and direct messages to members
    (`DirectDeliverer`) share: the HTTP client, attached once the bot has one; one run at a
    time; a stop that lets the messages being sent be answered and recorded; and a halt of
    every message when Discord refuses the bot itself (a bad token, rate limits that do not
    clear), so that refused requests are not repeated.

    Built before the client it posts through, so that the service can be handed to the
    client: `attach` gives it the client's HTTP connection before the first run.
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        concurrency: int = 8,
        base_backoff: float = 30.0,
        max_backoff: float = 3600.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.concurrency = concurrency
        self.base_backoff = base_backoff
        self.max_backoff = max_backoff
        self._http: discord.http.HTTPClient | None = None
        self._user_id: Callable[[], int | None] = lambda: None
        self._lock = asyncio.Lock()
        self._stopped = False
        self.halted_until: dt.datetime | None = None
        # What was sent, but could not be written in the ledger → the message's id.
        self._unrecorded: dict[K, int] = {}

    def attach(
        self,
        http: discord.http.HTTPClient,
        *,
        user_id: Callable[[], int | None] = lambda: None,
    ) -> None:
        """Post through `http`; `user_id` is the bot's own user (known once logged in), to
        find its messages in a channel."""
        self._http = http
        self._user_id = user_id

    @property
    def http(self) -> discord.http.HTTPClient:
        if self._http is None:
            raise RuntimeError(f"{type(self).__name__} has no HTTP client: call attach() first")
        return self._http

    async def stop(self) -> None:
        """Start nothing new, and return once the run under way (if any) has had Discord's
        answer to the messages it is sending and recorded them; later runs do nothing."""
        self._stopped = True
        async with self._lock:
            pass

    @property
    def _holding(self) -> bool:
        """Whether to start no further message: stopped, or Discord refused the bot."""
        return self._stopped or self.halted_until is not None

    def _may_run(self) -> bool:
        """At the start of a run (the lock held): whether it may send, that is, not stopped
        and no halt under way (a halt that is over is lifted)."""
        if self._stopped:
            return False
        if self.halted_until is not None:
            if self.clock() < self.halted_until:
                return False
            self.halted_until = None
        return True

    def _halt(self, seconds: float) -> None:
        self.halted_until = self.clock() + dt.timedelta(seconds=seconds)

    def _backoff(self, attempts: int) -> float:
        """Seconds before trying again what failed `attempts` times: doubling, up to a cap."""
        return min(self.base_backoff * 2.0**attempts, self.max_backoff)

    def _halt_for_rate_limits(self, retry_after: float | None) -> float:
        """Rate limits that outlast discord.py's retries: every message waits, as long as
        Discord says and at least the base backoff; returns how long."""
        wait = max(retry_after or 0.0, self.base_backoff)
        self._halt(wait)
        return wait


class Deliverer(Sender[tuple[int, dt.date, int]]):
    """Posts due deliveries through discord.py's HTTP client, which waits out 429s itself
    (and, in the bot, is paced by the client's `Pacer`). `_unrecorded` is keyed by
    (channel, day, part)."""

    async def deliver_due(self) -> DeliveryReport:
        """Send everything due now; one run at a time, so nothing is sent twice concurrently."""
        report = DeliveryReport()
        async with self._lock:
            if not self._may_run():
                return report
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
                if report.sent_messages == progress or self._holding:
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
                if self._holding:
                    return
                try:
                    if item.problem:
                        raise ValueError(item.problem)
                    if await self._deliver(item, report) is Then.STOP:
                        return
                except StoreError:
                    raise
                except Exception as exc:
                    # A ledger row that cannot be sent (say, a forged digest) fails alone,
                    # once: the other channels go on, and it is not tried every run.
                    log.exception(
                        "digest %s for channel %s cannot be sent", item.date, item.channel_id
                    )
                    await self.store.deliveries.fail(item.channel_id, item.date, describe(exc))
                    report.failed += 1
                    return

    async def _deliver(self, delivery: Delivery, report: DeliveryReport) -> Then:
        """Send the remaining parts in order, each answer handled as `_handle` decides."""
        for part in range(delivery.parts_sent, len(delivery.messages)):
            if self._holding:
                return Then.STOP
            answer = await self._post(delivery, part)
            then = await self._handle(answer, delivery, part, report)
            if then is not Then.NEXT_PART:
                return then
        return Then.NEXT_DAY

    async def _post(self, delivery: Delivery, part: int) -> Answer:
        """Post one message of a digest, unless it is known to be posted already."""
        channel_id, date = delivery.channel_id, delivery.date
        posted = self._unrecorded.get((channel_id, date, part))
        if posted is not None:
            # Posted earlier, but the ledger could not be written then: record it now
            # rather than post it again (Discord forgets nonces within minutes).
            return Posted(posted)
        body = with_nonce(delivery.messages[part], delivery_nonce(channel_id, date, part))
        if part == delivery.parts_sent and delivery.attempts:
            # Discord's nonce catches a resend only for a few minutes: a retry after a longer
            # backoff first looks for the message among the channel's latest ones.
            posted = await already_posted(self.http, channel_id, self._user_id(), body)
            if posted is not None:
                log.info(
                    "message %d of digest %s was posted to channel %s before its answer "
                    "was lost; recording it",
                    part,
                    date,
                    channel_id,
                )
                return Posted(posted)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        try:
            return answers.posted(await self.http.request(route, json=body))
        except Exception as exc:
            return answers.answer(exc)

    async def _handle(
        self, answer: Answer, delivery: Delivery, part: int, report: DeliveryReport
    ) -> Then:
        """What we do about each answer: the decision table of delivery."""
        match answer:
            case Posted(message_id):
                return await self._record(delivery, part, message_id, report)
            case Forbidden(text):
                return await self._pause(delivery, text, report)
            case Gone(text):
                return await self._remove(delivery, text, report)
            case Unavailable(error):
                return await self._retry_later(delivery, error, report)
            case RateLimited(error, retry_after):
                return await self._halt_rate_limited(delivery, retry_after, error, report)
            case Unauthorized():
                return self._halt_unauthorized(delivery)
            case Refused(error):
                return await self._fail(delivery, error, report)

    async def _record(
        self, delivery: Delivery, part: int, message_id: int, report: DeliveryReport
    ) -> Then:
        """Note a posted message in the ledger; when the archive cannot be written, keep it
        in memory to be noted later (never posted twice) and stop the channel."""
        channel_id, date = delivery.channel_id, delivery.date
        last = part == len(delivery.messages) - 1
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
            return Then.STOP
        if self._unrecorded.pop((channel_id, date, part), None) is None:
            report.sent_messages += 1
        if last:
            report.completed += 1
            log.info("delivered digest %s to channel %s", date, channel_id)
        return Then.NEXT_PART

    async def _pause(self, delivery: Delivery, text: str, report: DeliveryReport) -> Then:
        """403: pause the channel with the reason, shown in /subscriptions."""
        reason = (
            f"Discord refused to post here (403: {text}). "
            "Give the bot View Channel, Send Messages and Embed Links, then change any "
            "/settings to resume."
        )
        log.warning("pausing channel %s: %s", delivery.channel_id, reason)
        await self.store.subscriptions.pause(delivery.channel_id, reason)
        report.paused.append(delivery.channel_id)
        return Then.STOP

    async def _remove(self, delivery: Delivery, text: str, report: DeliveryReport) -> Then:
        """404: the channel is gone, and its subscriptions with it."""
        log.warning(
            "channel %s is gone (404: %s); removing its subscriptions", delivery.channel_id, text
        )
        await self.store.subscriptions.remove_channels([delivery.channel_id])
        report.removed.append(delivery.channel_id)
        return Then.STOP

    async def _retry_later(self, delivery: Delivery, error: str, report: DeliveryReport) -> Then:
        """Discord unavailable: this channel tries again after a backoff that doubles."""
        delay = self._backoff(delivery.attempts)
        log.warning(
            "digest %s for channel %s: %s; retrying in %.0f s",
            delivery.date,
            delivery.channel_id,
            error,
            delay,
        )
        await self.store.deliveries.retry_later(
            delivery.channel_id, delivery.date, error, self.clock() + dt.timedelta(seconds=delay)
        )
        report.retried += 1
        return Then.STOP

    async def _halt_rate_limited(
        self, delivery: Delivery, retry_after: float | None, error: str, report: DeliveryReport
    ) -> Then:
        """Rate limits that outlast discord.py's retries: every channel waits."""
        wait = self._halt_for_rate_limits(retry_after)
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
        report.retried += 1
        return Then.STOP

    def _halt_unauthorized(self, delivery: Delivery) -> Then:
        """401: the token is refused; every delivery waits rather than repeat the refusal."""
        self._halt(self.max_backoff)
        log.error(
            "Discord refused the bot's token (401) posting digest %s to channel "
            "%s; every delivery waits %.0f s: check DISCORD_TOKEN",
            delivery.date,
            delivery.channel_id,
            self.max_backoff,
        )
        return Then.STOP

    async def _fail(self, delivery: Delivery, error: str, report: DeliveryReport) -> Then:
        """Refused for good: never resend a refused request; the channel's next day may go."""
        log.error("digest %s for channel %s refused: %s", delivery.date, delivery.channel_id, error)
        await self.store.deliveries.fail(delivery.channel_id, delivery.date, error)
        report.failed += 1
        return Then.NEXT_DAY


RECENT_MESSAGES = 50


async def already_posted(
    http: discord.http.HTTPClient, channel_id: int, user_id: int | None, body: dict[str, Any]
) -> int | None:
    """The id of the bot's (`user_id`) message showing what `body` shows among the channel's
    latest ones, if there is one; None on any error, or before the bot knows its own id."""
    if user_id is None:
        return None
    try:
        recent = await http.logs_from(channel_id, RECENT_MESSAGES)
    except (discord.HTTPException, *NETWORK_ERRORS) as exc:
        log.debug("cannot read channel %s to look for a lost message: %s", channel_id, exc)
        return None
    wanted = _shown(body)
    for message in recent:
        if message.get("author", {}).get("id") == str(user_id) and _shown(message) == wanted:
            return int(message["id"])
    return None


def _shown(message: Mapping[str, Any]) -> tuple[str, list[tuple[Any, Any, Any]]]:
    """What a channel shows of a message: its text and each embed's title, link and text."""
    embeds = message.get("embeds") or []
    return message.get("content") or "", [
        (e.get("title"), e.get("url"), e.get("description")) for e in embeds
    ]
