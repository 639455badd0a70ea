"""What Discord's answer to posting a message means for the delivery, as one small type per
case: the deliverer decides what to do about each (`Deliverer._handle`), and nothing else
looks at exceptions or status codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import discord


@dataclass(frozen=True, slots=True)
class Posted:
    """Discord took the message (or had taken it, answering a resend by its nonce)."""

    message_id: int


@dataclass(frozen=True, slots=True)
class Forbidden:
    """403: the bot may not post in this channel."""

    text: str


@dataclass(frozen=True, slots=True)
class Gone:
    """404: the channel no longer exists."""

    text: str


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A server error, a timeout or a broken connection: try again later."""

    error: str


@dataclass(frozen=True, slots=True)
class RateLimited:
    """429 beyond what discord.py waits out itself (or Cloudflare refusing the bot)."""

    error: str
    retry_after: float | None  # what Discord asked for, when it said


@dataclass(frozen=True, slots=True)
class Unauthorized:
    """401: Discord refused the bot's token."""

    error: str


@dataclass(frozen=True, slots=True)
class Refused:
    """Any other 4xx: Discord will never take this message as it is."""

    error: str


Answer = Posted | Forbidden | Gone | Unavailable | RateLimited | Unauthorized | Refused

# Errors that mean Discord could not be reached or could not answer, rather than an answer.
NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, OSError)


def posted(data: Any) -> Posted:
    """The answer to a message create that Discord accepted."""
    return Posted(int(data["id"]))


def answer(exc: Exception) -> Answer:
    """What a failed message create means; raises `exc` again when it is none of Discord's
    answers (a bug, or the archive failing), for the caller to handle as such."""
    if isinstance(exc, discord.Forbidden):
        return Forbidden(exc.text or "Missing Access")
    if isinstance(exc, discord.NotFound):
        return Gone(exc.text)
    if isinstance(exc, (discord.DiscordServerError, *NETWORK_ERRORS)):
        return Unavailable(describe(exc))
    if isinstance(exc, discord.RateLimited):
        return RateLimited(f"rate limited: {exc}", exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:
            return RateLimited(describe(exc), _retry_after(exc))
        if exc.status == 401:
            return Unauthorized(describe(exc))
        return Refused(describe(exc))
    raise exc


def _retry_after(exc: discord.HTTPException) -> float | None:
    """The wait a 429 asks for, from its Retry-After header, if it names one."""
    headers = getattr(exc.response, "headers", None) or {}
    try:
        return float(headers.get("Retry-After", ""))
    except ValueError:
        return None


def describe(exc: BaseException) -> str:
    """An error as the ledger's `last_error` keeps it: short, with Discord's status."""
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}: {exc.text or exc.__class__.__name__}"[:500]
    return f"{exc.__class__.__name__}: {exc}"[:500]
