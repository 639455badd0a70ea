"""Nonces: stable, short, distinct per message, and carried by the body with mentions off."""

from __future__ import annotations

import datetime as dt

from bot.delivery.nonces import delivery_nonce, direct_nonce, with_nonce
from bot.message import Message


def test_nonce_is_stable_short_and_distinct_per_part() -> None:
    date = dt.date(2021, 3, 15)
    nonce = delivery_nonce(1_234_567_890_123_456_789, date, 0)
    assert nonce == "9do1sj396nf9.210315.0"  # base 36
    assert delivery_nonce(1_234_567_890_123_456_789, date, 0) == nonce
    assert delivery_nonce(1_234_567_890_123_456_789, date, 1) != nonce
    assert len(delivery_nonce(2**64 - 1, date, 99)) <= 25


def test_a_direct_message_nonce_is_one_per_member_and_day() -> None:
    date = dt.date(2021, 3, 15)
    nonce = direct_nonce(1_234_567_890_123_456_789, date)
    assert nonce == "u9do1sj396nf9.210315"
    assert direct_nonce(1_234_567_890_123_456_789, date + dt.timedelta(days=1)) != nonce
    # Never the nonce of a channel's message, whatever the ids.
    assert nonce != delivery_nonce(1_234_567_890_123_456_789, date, 0)
    assert len(direct_nonce(2**64 - 1, date)) <= 25


def test_a_body_with_its_nonce_keeps_mentions_off() -> None:
    body = with_nonce(Message(content="hi").body(), "n-1")
    assert body == {
        "allowed_mentions": {"parse": []},
        "content": "hi",
        "nonce": "n-1",
        "enforce_nonce": True,
    }
