"""Planning: each distinct digest rendered once, when a digest is due (at once, or at the
channel's local time, daylight saving included), and which ledger rows a plan writes."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.follows import parse_follow
from bot.message import Message
from bot.models import Day, Subscription
from bot.planning import DayMessages, DeliveryPlanner, due_time
from bot.render import Renderer
from bot.store import SettingsChange, Store
from tests.support.archive import MARCH_5, MARCH_15, MARCH_24, SAMPLES, ingest_sample, query


def sample_day(date: dt.date) -> Day:
    return SAMPLES[date][0]


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("ready", "at", "zone", "due"),
    [
        # No time set: as soon as the day is ready.
        ("2021-03-05 10:00", None, "UTC", "2021-03-05 10:00"),
        # Later today, or tomorrow when today's time has passed.
        ("2021-03-05 06:00", "08:30", "UTC", "2021-03-05 08:30"),
        ("2021-03-05 10:00", "08:30", "UTC", "2021-03-06 08:30"),
        ("2021-03-05 08:30", "08:30", "UTC", "2021-03-05 08:30"),
        # Local time: 05:00 in New York, 08:30 there is 13:30 UTC.
        ("2021-03-05 10:00", "08:30", "America/New_York", "2021-03-05 13:30"),
        # UTC+14: 13:30 on the 6th there, so the next 08:00 is the 7th's (18:00 UTC the 6th).
        ("2021-03-05 23:30", "08:00", "Pacific/Kiritimati", "2021-03-06 18:00"),
        # UTC-11: ready on the 5th in UTC but the 4th there.
        ("2021-03-05 02:00", "20:00", "Pacific/Pago_Pago", "2021-03-05 07:00"),
        # Spring gap in Berlin (28 March 2021, 02:00 → 03:00): 02:30 does not exist and
        # means 03:30 CEST, whether the day was ready before the gap or just after it.
        ("2021-03-28 00:00", "02:30", "Europe/Berlin", "2021-03-28 01:30"),
        ("2021-03-28 01:10", "02:30", "Europe/Berlin", "2021-03-28 01:30"),
        # Autumn fold (31 October 2021, 03:00 → 02:00): 02:30 happens twice, at 00:30 and
        # 01:30 UTC; a day ready between the two goes out at the second, 45 minutes later.
        ("2021-10-31 00:15", "02:30", "Europe/Berlin", "2021-10-31 00:30"),
        ("2021-10-31 00:45", "02:30", "Europe/Berlin", "2021-10-31 01:30"),
        ("2021-10-31 01:45", "02:30", "Europe/Berlin", "2021-11-01 01:30"),
    ],
)
def test_due_time(ready: str, at: str | None, zone: str, due: str) -> None:
    deliver_at = dt.time.fromisoformat(at) if at else None
    assert due_time(utc(ready), deliver_at, zone) == utc(due)


# --- one channel's bad subscription ----------------------------------------------------------

# Rows an old or forged archive may hold, each on its own channel; channel 1 is sound.
BAD_ROWS = {
    2: ("UPDATE channels SET top = 100 WHERE channel_id = 2", "top must be 1 to 25, got 100"),
    3: ("UPDATE channels SET top = 0 WHERE channel_id = 3", "top must be 1 to 25, got 0"),
    4: ("UPDATE channels SET top = -5 WHERE channel_id = 4", "top must be 1 to 25, got -5"),
    5: (
        "UPDATE channels SET min_score = -1 WHERE channel_id = 5",
        "min_score must be at least 0, got -1",
    ),
    6: (
        "UPDATE subscriptions SET category = 'cs.XX' WHERE channel_id = 6",
        "unknown arXiv category 'cs.XX'",
    ),
}


async def test_a_channel_that_cannot_be_planned_is_skipped_alone(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for channel in range(1, 7):
        await store.subscriptions.subscribe(channel, 1000, ["cs.CV"])
    with contextlib.closing(sqlite3.connect(tmp_path / "archive.sqlite3")) as db, db:
        for sql, _ in BAD_ROWS.values():
            db.execute(sql)
    await ingest_sample(store, MARCH_15)
    planner = DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=3)

    with caplog.at_level(logging.WARNING, logger="bot.planning"):
        assert await planner.plan() == 1
        assert await planner.plan() == 0  # planned again: skipped again, not logged again
    rows = await store.deliveries.ledger()
    assert [(r.channel_id, r.date, r.status) for r in rows] == [(1, MARCH_15, "pending")]
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == len(BAD_ROWS)
    for (channel, (_, problem)), line in zip(BAD_ROWS.items(), logged, strict=True):
        assert line.startswith(
            f"channel {channel} gets no digests until its subscription is fixed: {problem}"
        )


async def test_a_channel_whose_subscription_is_fixed_is_planned(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await store.subscriptions.subscribe(2, 1000, ["cs.CV"])
    with contextlib.closing(sqlite3.connect(tmp_path / "archive.sqlite3")) as db, db:
        db.execute(BAD_ROWS[2][0])
    await ingest_sample(store, MARCH_15)
    planner = DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=3)
    assert await planner.plan() == 0

    await store.subscriptions.update_settings(2, SettingsChange(top=3))
    assert await planner.replan([2]) == 1
    [row] = await store.deliveries.ledger()
    assert (row.channel_id, row.status) == (2, "pending")


async def test_a_template_that_fails_on_one_day_costs_only_that_day(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An override passes the start-up check but fails on March 15's data: March 24's digest
    and direct message still go out, and the failure is logged once."""
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "digest.j2").write_text(
        "{% block title %}{% if entry.ranked.appearance.date.day == 15 %}{{ entry.bogus.x }}"
        "{% endif %}{{ entry.ranked.paper.title }}{% endblock %}",
        encoding="utf-8",
    )
    (overrides / "follows.j2").write_text(
        "{% block dm_header %}{% if digest.date.day == 15 %}{{ digest.bogus.x }}{% endif %}"
        "Hot Papers {{ digest.date }}{% endblock %}",
        encoding="utf-8",
    )
    await store.subscriptions.subscribe(1, 1000, ["cs.CV"])
    await store.follows.follow_member(7, 1000, parse_follow("keyword", "learning"))
    await ingest_sample(store, MARCH_5)
    await ingest_sample(store, MARCH_15)
    await ingest_sample(store, MARCH_24)
    planner = DeliveryPlanner(store, Renderer(overrides), default_top=10, catch_up_days=2)
    with caplog.at_level(logging.ERROR, logger="bot.planning"):
        assert await planner.plan() == 2
        assert await planner.plan() == 0
    assert [(r.date, r.status) for r in await store.deliveries.ledger()] == [(MARCH_24, "pending")]
    assert [(r.date, r.status) for r in await store.direct.ledger()] == [(MARCH_24, "pending")]
    assert [r.getMessage() for r in caplog.records] == [
        f"cannot render messages of 2021-03-15: {overrides / 'digest.j2'}:1: block 'title'"
        " cannot be rendered: 'bot.digest.DigestEntry object' has no attribute 'bogus'",
        f"cannot render messages of 2021-03-15: {overrides / 'follows.j2'}:1: block"
        " 'dm_header' cannot be rendered: 'bot.digest.Digest object' has no attribute 'bogus'",
    ]


# --- a day's rendered digests ----------------------------------------------------------------


def test_day_messages_renders_each_distinct_digest_once() -> None:
    day = sample_day(MARCH_5)
    rendered = DayMessages(day, Renderer())
    messages = rendered.messages(["cs.CV"], top=10)
    assert rendered.messages(["cs.CV"], top=10) is messages
    assert rendered.messages({"cs.cv"}, top=10) is messages
    digest = rendered.digests.digest(["cs.CV"], top=10)
    assert digest is not None
    assert list(messages) == Renderer().digest(digest)
    assert all(isinstance(m, Message) for m in messages)
    assert rendered.messages(["hep-th"], top=10) == ()
    assert (rendered.digests.builds, len(rendered)) == (2, 2)


def test_day_messages_rejects_bad_arguments() -> None:
    rendered = DayMessages(sample_day(MARCH_5), Renderer())
    with pytest.raises(ValueError, match="top must be 1 to 25, got 0"):
        rendered.messages(["cs.CV"], top=0)


def test_day_messages_serves_many_channels_quickly() -> None:
    rendered = DayMessages(sample_day(MARCH_24), Renderer())
    sets = [("cs.CV",), ("cs.LG", "cs.CV"), ("cs.*",), ("cs.CL", "stat.ML"), ("hep-th",)]
    for channel in range(100_000):
        rendered.messages(sets[channel % len(sets)], top=10, min_score=channel % 2)
    assert rendered.digests.builds == 10


# --- what a plan writes in the ledger ---------------------------------------------------------

PLANNED_AT = utc("2021-03-25 06:00")


def planner_for(store: Store, catch_up_days: int = 3) -> DeliveryPlanner:
    return DeliveryPlanner(
        store, Renderer(), default_top=10, catch_up_days=catch_up_days, clock=lambda: PLANNED_AT
    )


async def test_a_plan_covers_the_newest_days_and_skips_older_ones_still_pending(
    store: Store,
) -> None:
    await store.subscriptions.subscribe(1, 1000, ["cs.CV"])
    await ingest_sample(store, MARCH_5)
    assert await planner_for(store).plan() == 1  # pending, say waiting for a retry
    await ingest_sample(store, MARCH_15)
    await ingest_sample(store, MARCH_24)

    assert await planner_for(store, catch_up_days=2).plan() == 2
    rows = await store.deliveries.ledger()
    assert [(r.date, r.status, r.last_error) for r in rows] == [
        (MARCH_5, "skipped", "not sent: older than the newest 2 days"),
        (MARCH_15, "pending", None),
        (MARCH_24, "pending", None),
    ]
    assert await planner_for(store, catch_up_days=2).plan() == 0  # planned once only


async def test_a_channel_waiting_for_its_time_is_due_then(store: Store) -> None:
    await store.subscriptions.subscribe(1, 1000, ["cs.CV"])
    await store.subscriptions.update_settings(
        1, SettingsChange(deliver_at=dt.time(8, 30), timezone="America/New_York")
    )
    await ingest_sample(store, MARCH_24)
    assert await planner_for(store).plan() == 1
    [row] = await store.deliveries.ledger()
    assert row.due_at == utc("2021-03-25 12:30")  # 08:30 in New York (EDT, UTC-4)


async def test_channels_that_share_a_digest_share_its_stored_messages(store: Store) -> None:
    for channel in (1, 2, 3):
        await store.subscriptions.subscribe(channel, 1000, ["cs.CV"])
    await store.subscriptions.subscribe(4, 1000, ["cs.LG"])
    await ingest_sample(store, MARCH_15)
    assert await planner_for(store).plan() == 4
    due = await store.deliveries.due(PLANNED_AT)
    by_channel = {d.channel_id: d.messages for d in due}
    assert by_channel[1] == by_channel[2] == by_channel[3] != by_channel[4]
    expected = planner_for(store).messages(SAMPLES[MARCH_15][0], await subscription(store, 1))
    assert list(by_channel[1]) == [m.body() for m in expected]


async def subscription(store: Store, channel_id: int) -> Subscription:
    found = await store.subscriptions.get(channel_id)
    assert found is not None
    return found


# --- follows: channel digests and members' direct messages ------------------------------------

DIMENSION = parse_follow("keyword", "dimension reduction")  # #3 of March 15, cs.LG
QUANTUM = parse_follow("keyword", "quantum")  # nothing on March 15


async def test_channel_follows_add_to_their_digest_and_others_still_share_one(
    store: Store,
) -> None:
    for channel in (1, 2, 3):
        await store.subscriptions.subscribe(channel, 1000, ["cs.CV"])
    await store.follows.follow_channel(2, 1000, QUANTUM)  # matches nothing: as channel 1
    await store.follows.follow_channel(3, 1000, DIMENSION)
    await store.follows.follow_channel(4, 1000, DIMENSION)  # follows only, no category
    await ingest_sample(store, MARCH_15)
    assert await planner_for(store).plan() == 4
    by_channel = {d.channel_id: d.messages for d in await store.deliveries.due(PLANNED_AT)}
    assert by_channel[1] == by_channel[2]
    [plain], [followed], [only] = by_channel[1], by_channel[3], by_channel[4]
    assert len(followed["embeds"]) == len(plain["embeds"]) + 1
    assert followed["embeds"][-1]["title"] == "#3 · Modern Dimension Reduction"
    assert followed["embeds"][-1]["footer"] == {"text": "followed: keyword 'dimension reduction'"}
    assert [e["title"] for e in only["embeds"]] == ["#3 · Modern Dimension Reduction"]
    assert only["content"] == (
        "**Hot Papers 2021-03-15** · 1 of 10 papers matches what this channel follows"
    )
    hashes = await query(store, "SELECT channel_id, digest_hash FROM deliveries ORDER BY 1")
    assert len({h for _, h in hashes}) == 3


async def test_members_get_one_direct_message_a_day_with_every_match(store: Store) -> None:
    for user in (7, 8):
        await store.follows.follow_member(user, 1000, DIMENSION)
        await store.follows.follow_member(user, 1000, parse_follow("author", "Vladlen Koltun"))
    await store.follows.follow_member(9, 1000, QUANTUM)
    await ingest_sample(store, MARCH_15)
    assert await planner_for(store).plan() == 3
    rows = await store.direct.ledger()
    assert [(r.user_id, r.date, r.status) for r in rows] == [
        (7, MARCH_15, "pending"),
        (8, MARCH_15, "pending"),
        (9, MARCH_15, "empty"),
    ]
    due = await store.direct.due(PLANNED_AT)
    assert [d.user_id for d in due] == [7, 8]
    assert due[0].message == due[1].message  # the same matches: one message, stored once
    # Vladlen Koltun wrote #2 and #5; the keyword matches #3: all in rank order.
    assert [e["title"].split(" · ")[0] for e in due[0].message["embeds"]] == ["#2", "#3", "#5"]
    assert (
        due[0]
        .message["content"]
        .startswith("**Hot Papers 2021-03-15** · 3 of its 10 papers match what you follow.")
    )
    assert await query(store, "SELECT count(DISTINCT digest_hash) FROM direct_messages") == [(1,)]
    assert await planner_for(store).plan() == 0  # planned once only


async def test_a_member_is_sent_only_days_after_their_first_follow(store: Store) -> None:
    await ingest_sample(store, MARCH_5)
    await store.follows.follow_member(7, 1000, DIMENSION)
    await ingest_sample(store, MARCH_15)
    assert await planner_for(store).plan() == 1
    assert [(r.date, r.status) for r in await store.direct.ledger()] == [(MARCH_15, "pending")]


async def test_changed_follows_replan_the_direct_messages_not_tried(store: Store) -> None:
    await store.follows.follow_member(7, 1000, DIMENSION)
    await store.follows.follow_member(7, 1000, QUANTUM)
    await ingest_sample(store, MARCH_15)
    planner = planner_for(store)
    assert await planner.plan() == 1
    assert [r.status for r in await store.direct.ledger()] == ["pending"]
    await store.follows.unfollow_member(7, [DIMENSION])
    assert await planner.replan_members([7]) == 1
    assert [r.status for r in await store.direct.ledger()] == ["empty"]


async def test_a_follow_added_later_brings_no_message_about_a_day_planned_without_one(
    store: Store,
) -> None:
    """A member's first follow starts with the next day; a later one likewise brings no
    message about a day published before it, that had nothing for them."""
    await store.follows.follow_member(7, 1000, QUANTUM)
    await ingest_sample(store, MARCH_15)
    planner = planner_for(store)
    assert await planner.plan() == 1
    await store.follows.follow_member(7, 1000, DIMENSION)
    assert await planner.replan_members([7]) == 0
    assert [r.status for r in await store.direct.ledger()] == ["empty"]


async def test_direct_messages_older_than_the_catch_up_window_are_skipped(store: Store) -> None:
    await store.follows.follow_member(7, 1000, parse_follow("keyword", "learning"))
    await ingest_sample(store, MARCH_5)
    assert await planner_for(store).plan() == 1
    await ingest_sample(store, MARCH_15)
    await ingest_sample(store, MARCH_24)
    assert await planner_for(store, catch_up_days=2).plan() == 2
    rows = await store.direct.ledger()
    assert [(r.date, r.status, r.last_error) for r in rows] == [
        (MARCH_5, "skipped", "not sent: older than the newest 2 days"),
        (MARCH_15, "pending", None),
        (MARCH_24, "pending", None),
    ]
