"""What each of Discord's answers to a message create means for the delivery."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from bot.delivery.answers import (
    Answer,
    Forbidden,
    Gone,
    Posted,
    RateLimited,
    Refused,
    Unauthorized,
    Unavailable,
    answer,
    posted,
)
from tests.support.fake_discord import discord


def response(status: int, headers: dict[str, str] | None = None) -> Any:
    """As much of an aiohttp response as discord.py's HTTPException reads."""
    return SimpleNamespace(status=status, reason="reason", headers=headers or {})


def refusal(kind: type[discord.HTTPException], status: int, text: str, **headers: str) -> Any:
    return kind(response(status, headers), {"message": text, "code": 0})


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (refusal(discord.Forbidden, 403, "Missing Access"), Forbidden("Missing Access")),
        (refusal(discord.Forbidden, 403, ""), Forbidden("Missing Access")),
        (refusal(discord.NotFound, 404, "Unknown Channel"), Gone("Unknown Channel")),
        (
            refusal(discord.DiscordServerError, 503, "overloaded"),
            Unavailable("HTTP 503: overloaded"),
        ),
        (TimeoutError("read"), Unavailable("TimeoutError: read")),
        (aiohttp.ClientConnectionError("reset"), Unavailable("ClientConnectionError: reset")),
        (ConnectionResetError("reset"), Unavailable("ConnectionResetError: reset")),
        (
            discord.RateLimited(12.5),
            RateLimited("rate limited: Too many requests. Retry in 12.50 seconds.", 12.5),
        ),
        (
            refusal(discord.HTTPException, 429, "Cloudflare", **{"Retry-After": "7"}),
            RateLimited("HTTP 429: Cloudflare", 7.0),
        ),
        (
            refusal(discord.HTTPException, 429, "slow down"),
            RateLimited("HTTP 429: slow down", None),
        ),
        (
            refusal(discord.HTTPException, 401, "401: Unauthorized"),
            Unauthorized("HTTP 401: 401: Unauthorized"),
        ),
        (
            refusal(discord.HTTPException, 400, "Invalid Form Body"),
            Refused("HTTP 400: Invalid Form Body"),
        ),
    ],
    ids=lambda value: type(value).__name__,
)
def test_each_answer_means_one_thing(exc: Exception, expected: Answer) -> None:
    assert answer(exc) == expected


def test_a_message_discord_took_is_posted_with_its_id() -> None:
    assert posted({"id": "1234567890123456789", "content": ""}) == Posted(1234567890123456789)


def test_what_is_no_answer_of_discord_is_raised_again() -> None:
    """A bug (a body that cannot be sent, say) is not mistaken for a refusal."""
    with pytest.raises(TypeError, match="not a mapping"):
        answer(TypeError("not a mapping"))
