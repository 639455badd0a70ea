"""Sending members the papers they follow by direct message, exactly once, and reacting to
what Discord answers.

Before each message the bot looks whether the member is still in a server where they made
their follows (`GET /guilds/{guild}/members/{user}`: without the privileged members intent the
bot hears of no member leaving); one who is in none of them loses their personal follows
instead of getting a message. The message goes to the DM channel (`POST /users/@me/channels`)
with a nonce and `enforce_nonce`, and is recorded in the direct-message ledger as soon as
Discord takes it. Discord's 50007 ("Cannot send messages to this user": DMs closed) fails that
day's message without a retry and marks the member's DMs closed; the next message that gets
through marks them open again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

import discord
from discord.http import Route

from bot.delivery import answers
from bot.delivery.answers import (
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
from bot.delivery.deliverer import Sender, already_posted
from bot.delivery.nonces import direct_nonce, with_nonce
from bot.delivery.report import DirectReport
from bot.store import DirectDelivery, StoreError

log = logging.getLogger(__name__)

CANNOT_MESSAGE_USER = 50007  # Discord's code for a member who takes no DMs from the bot


@dataclass(frozen=True, slots=True)
class DmsClosed:
    """403 with 50007: the member does not take direct messages from the bot."""

    text: str


@dataclass(frozen=True, slots=True)
class LeftEveryServer:
    """The member is in none of the servers where they made their follows."""

    guild_ids: tuple[int, ...]


DirectAnswer = Answer | DmsClosed | LeftEveryServer


class DirectDeliverer(Sender[tuple[int, dt.date]]):
    """Sends due direct messages through discord.py's HTTP client, one run at a time.
    `_unrecorded` is keyed by (member, day)."""

    async def deliver_due(self) -> DirectReport:
        """Send every direct message due now."""
        report = DirectReport()
        async with self._lock:
            if not self._may_run():
                return report
            while due := await self.store.direct.due(self.clock()):
                gate = asyncio.Semaphore(self.concurrency)
                progress = _progress(report)
                outcomes = await asyncio.gather(
                    *(self._deliver_one(item, gate, report) for item in due),
                    return_exceptions=True,
                )
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        raise outcome
                if _progress(report) == progress or self._holding:
                    break
        if _progress(report):
            log.info(
                "direct messages: %d sent, %d refused (DMs closed), %d members forgotten, "
                "%d retried later, %d failed",
                report.sent,
                len(report.closed),
                len(report.forgotten),
                report.retried,
                report.failed,
            )
        return report

    async def _deliver_one(
        self, item: DirectDelivery, gate: asyncio.Semaphore, report: DirectReport
    ) -> None:
        async with gate:
            if self._holding:
                return
            try:
                if item.problem:
                    raise ValueError(item.problem)
                await self._handle(await self._send(item), item, report)
            except StoreError:
                raise
            except Exception as exc:
                # A row that cannot be sent fails alone, once.
                log.exception(
                    "direct message %s to member %s cannot be sent", item.date, item.user_id
                )
                await self.store.direct.fail(item.user_id, item.date, describe(exc))
                report.failed += 1

    async def _send(self, item: DirectDelivery) -> DirectAnswer:
        """Send the day's message, unless the member left or it is known to be sent."""
        sent = self._unrecorded.get((item.user_id, item.date))
        if sent is not None:
            return Posted(sent)  # sent before, but the ledger could not be written then
        membership = await self._membership(item)
        if membership is not None:
            return membership
        try:
            # A snowflake as Discord's API description has it, a string (discord.py's own
            # start_private_message sends a number).
            opened = Route("POST", "/users/@me/channels")
            channel = await self.http.request(opened, json={"recipient_id": str(item.user_id)})
            channel_id = int(channel["id"])
        except Exception as exc:
            return _direct_answer(exc)
        body = with_nonce(item.message, direct_nonce(item.user_id, item.date))
        if item.attempts:
            found = await already_posted(self.http, channel_id, self._user_id(), body)
            if found is not None:
                log.info(
                    "direct message %s was sent to member %s before its answer was lost; "
                    "recording it",
                    item.date,
                    item.user_id,
                )
                return Posted(found)
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        try:
            return answers.posted(await self.http.request(route, json=body))
        except Exception as exc:
            return _direct_answer(exc)

    async def _membership(self, item: DirectDelivery) -> DirectAnswer | None:
        """None when the member is in a server where they made a follow; LeftEveryServer when
        in none of them; Discord's answer when it cannot tell (to try again later)."""
        for guild_id in item.guild_ids:
            try:
                await self.http.get_member(guild_id, item.user_id)
            except Exception as exc:
                answer = answers.answer(exc)
                if isinstance(answer, Forbidden | Gone | Refused):
                    continue  # not a member there, or the bot is no longer in that server
                return answer
            return None
        return LeftEveryServer(item.guild_ids)

    async def _handle(
        self, answer: DirectAnswer, item: DirectDelivery, report: DirectReport
    ) -> None:
        """What we do about each answer: the decision table of direct messages."""
        user_id, date = item.user_id, item.date
        match answer:
            case Posted(message_id):
                await self._record(item, message_id, report)
            case DmsClosed(text):
                if await self.store.direct.closed(user_id, date, f"DMs closed (403: {text})"):
                    log.info("member %s does not take direct messages: %s", user_id, text)
                report.closed.append(user_id)
            case LeftEveryServer(guild_ids):
                removed = await self.store.follows.forget_member(user_id)
                log.info(
                    "member %s is in none of the servers where they followed papers (%s); "
                    "deleted their %d personal follows",
                    user_id,
                    ", ".join(map(str, guild_ids)) or "none",
                    removed,
                )
                report.forgotten.append(user_id)
            case Unavailable(error):
                delay = self._backoff(item.attempts)
                log.warning(
                    "direct message %s to member %s: %s; retrying in %.0f s",
                    date,
                    user_id,
                    error,
                    delay,
                )
                await self._retry_later(item, error, delay, report)
            case RateLimited(error, retry_after):
                wait = self._halt_for_rate_limits(retry_after)
                log.warning("direct messages: %s; every one waits %.0f s", error, wait)
                await self._retry_later(item, error, wait, report)
            case Unauthorized():
                self._halt(self.max_backoff)
                log.error(
                    "Discord refused the bot's token (401) sending a direct message; every "
                    "one waits %.0f s: check DISCORD_TOKEN",
                    self.max_backoff,
                )
            case Forbidden(text) | Gone(text) | Refused(text):
                log.error("direct message %s to member %s refused: %s", date, user_id, text)
                await self.store.direct.fail(user_id, date, text)
                report.failed += 1

    async def _record(self, item: DirectDelivery, message_id: int, report: DirectReport) -> None:
        """Note a sent message; when the archive cannot be written, keep it in memory to be
        noted later (never sent twice)."""
        key = (item.user_id, item.date)
        try:
            await self.store.direct.sent(item.user_id, item.date, message_id)
        except StoreError as exc:
            if key not in self._unrecorded:
                log.error(
                    "sent direct message %s to member %s but cannot record it: %s; it will be "
                    "recorded later, not sent again",
                    item.date,
                    item.user_id,
                    exc,
                )
                self._unrecorded[key] = message_id
                report.sent += 1
            return
        if self._unrecorded.pop(key, None) is None:
            report.sent += 1

    async def _retry_later(
        self, item: DirectDelivery, error: str, delay: float, report: DirectReport
    ) -> None:
        at = self.clock() + dt.timedelta(seconds=delay)
        await self.store.direct.retry_later(item.user_id, item.date, error, at)
        report.retried += 1


def _direct_answer(exc: Exception) -> DirectAnswer:
    """Discord's answer to opening the DM or sending in it; 50007 is the member's DMs closed."""
    if isinstance(exc, discord.Forbidden) and exc.code == CANNOT_MESSAGE_USER:
        return DmsClosed(exc.text or "Cannot send messages to this user")
    return answers.answer(exc)


def _progress(report: DirectReport) -> int:
    return report.sent + len(report.closed) + len(report.forgotten) + report.retried + report.failed
