"""Message nonces: the same (channel, day, part), or (member, day) for a direct message, always
gets the same one, so Discord (`enforce_nonce`) answers a resend with the message it already
posted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot import limits

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if not number:
            return text


def delivery_nonce(channel_id: int, date: dt.date, part: int) -> str:
    """The nonce of one message of a digest, at most limits.NONCE characters; the same
    (channel, day, part) always gets the same one."""
    nonce = f"{_base36(channel_id)}.{date:%y%m%d}.{part}"
    assert len(nonce) <= limits.NONCE
    return nonce


def direct_nonce(user_id: int, date: dt.date) -> str:
    """The nonce of a member's direct message of a day (one message per day)."""
    nonce = f"u{_base36(user_id)}.{date:%y%m%d}"
    assert len(nonce) <= limits.NONCE
    return nonce


def with_nonce(body: Mapping[str, Any], nonce: str) -> dict[str, Any]:
    """A message-create body that Discord posts at most once for `nonce`."""
    return {**body, "nonce": nonce, "enforce_nonce": True}
