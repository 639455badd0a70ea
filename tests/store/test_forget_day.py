"""Forgetting a stored day: the archive, the ledger and the channels as if it never was."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bot.follows import parse_follow
from bot.models import Subscription
from bot.planning import DeliveryPlanner
from bot.render import Renderer
from bot.store import Store
from bot.store.archive import ForgottenDay
from tests.support.archive import (
    ARCHIVE_TABLES,
    MARCH_5,
    MARCH_15,
    MARCH_24,
    SAMPLES,
    ingest_sample,
    perceiver_on_march_6,
    query,
)

FAR_FUTURE = dt.date(9999, 1, 1)
GUILD = 1000
NOW = dt.datetime(2021, 3, 25, 12, 0, tzinfo=dt.UTC)


async def subscription(store: Store, channel_id: int) -> Subscription:
    found = await store.subscriptions.get(channel_id)
    assert found is not None
    return found


async def everything(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the archive tables, the listings and the full-text index."""
    tables = (*ARCHIVE_TABLES, "paper_listings")
    rows = {t: sorted(await query(store, f"SELECT * FROM {t}")) for t in tables}
    rows["papers_fts"] = sorted(await query(store, "SELECT rowid, * FROM papers_fts"))
    return rows


async def test_forgetting_the_newest_day_leaves_the_archive_as_before_it(store: Store) -> None:
    await ingest_sample(store, MARCH_5)
    await ingest_sample(store, MARCH_15)
    before = await everything(store)
    await ingest_sample(store, MARCH_24)

    forgotten = await store.archive.forget_day(MARCH_24)

    assert forgotten == ForgottenDay(
        date=MARCH_24,
        source=SAMPLES[MARCH_24][2],
        papers=15,
        tweets=17,
        papers_removed=15,
        deliveries=0,
        channels=0,
    )
    assert await everything(store) == before
    assert [d.date for d in await store.archive.days()] == [MARCH_5, MARCH_15]
    assert await store.archive.paper("2103.12352") is None  # iMAP, #1 on March 24 only
    assert await store.archive.search("iMAP") == []


async def test_a_paper_another_day_lists_stays_with_that_days_details(store: Store) -> None:
    march_6, _ = perceiver_on_march_6()  # the Perceiver again, retitled
    await ingest_sample(store, MARCH_5)
    await store.archive.ingest(march_6, source="march-6.md", content_hash="march-6")

    forgotten = await store.archive.forget_day(march_6.date)

    assert forgotten is not None
    assert (forgotten.papers, forgotten.tweets, forgotten.papers_removed) == (1, 2, 0)
    history = await store.archive.paper("2103.03206")
    assert history is not None
    assert history.paper == SAMPLES[MARCH_5][0].papers[2].paper
    assert [a.date for a in history.appearances] == [MARCH_5]
    assert history.tweets == SAMPLES[MARCH_5][0].papers[2].tweets
    assert await store.archive.search("revised") == []
    assert await store.archive.day(MARCH_5) == SAMPLES[MARCH_5][0]


async def test_an_unknown_day_is_none_and_changes_nothing(store: Store) -> None:
    await ingest_sample(store, MARCH_5)
    before = await everything(store)
    assert await store.archive.forget_day(MARCH_15) is None
    assert await everything(store) == before


async def test_a_far_future_post_no_longer_holds_back_the_real_days(store: Store) -> None:
    """A post dated 9999 made every new subscription start after it, so no real day reached
    those channels; forgotten, channels old and new get the real days again."""
    planner = DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=3, clock=lambda: NOW)
    subscribe = store.subscriptions.subscribe
    await ingest_sample(store, MARCH_5)
    await subscribe(1, GUILD, ["cs.CV"])  # before the bad post: starts 2021-03-06
    await subscribe(2, GUILD, ["cs.CV"])
    poisoned = dataclasses.replace(SAMPLES[MARCH_24][0], date=FAR_FUTURE)
    await store.archive.ingest(poisoned, source="9999-01-01.md", content_hash="far-future")
    await subscribe(3, GUILD, ["cs.CV"])  # starts after the bad post: 10000 years away
    assert await planner.plan() == 2  # channels 1 and 2 get the bad day's digest
    # Channel 1 got it already; channel 2's is still waiting.
    [digest_1] = [d for d in await store.deliveries.due(NOW) if d.channel_id == 1]
    for part in range(len(digest_1.messages)):
        last = part == len(digest_1.messages) - 1
        await store.deliveries.part_sent(1, FAR_FUTURE, part, 900 + part, last)
    # Meanwhile a real day arrives, an hour later: channel 3 never gets it.
    await ingest_sample(store, MARCH_15)
    await store.database.connection.execute(
        "UPDATE days SET ingested_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', ingested_at,"
        " '+1 hour') WHERE date = ?",
        (MARCH_15.isoformat(),),
    )
    assert await planner.plan() == 2
    assert {(d.channel_id, d.date) for d in await store.deliveries.due(NOW)} == {
        (2, FAR_FUTURE),
        (1, MARCH_15),
        (2, MARCH_15),
    }

    forgotten = await store.archive.forget_day(FAR_FUTURE)

    assert forgotten is not None
    assert (forgotten.deliveries, forgotten.channels) == (1, 1)
    # Channel 3 subscribed when 2021-03-05 was the newest real day: it starts after that.
    since = [(await subscription(store, c)).since_date for c in (1, 2, 3)]
    assert since == [dt.date(2021, 3, 6)] * 3
    await subscribe(4, GUILD, ["cs.CV"])  # a new subscription starts after 2021-03-15
    assert (await subscription(store, 4)).since_date == dt.date(2021, 3, 16)
    # The bad day is gone from the ledger but for what was posted.
    ledger = {(r.channel_id, r.date): r.status for r in await store.deliveries.ledger()}
    assert ledger == {(1, FAR_FUTURE): "sent", (1, MARCH_15): "pending", (2, MARCH_15): "pending"}

    assert await planner.plan() == 1  # channel 3 gets the real day it missed
    due = await store.deliveries.due(NOW)
    assert [(d.channel_id, d.date) for d in due] == [(1, MARCH_15), (2, MARCH_15), (3, MARCH_15)]
    day = await store.archive.day(MARCH_15)
    assert day is not None
    expected = [m.body() for m in planner.messages(day, await subscription(store, 3))]
    assert [list(d.messages) for d in due] == [expected] * 3
    assert expected[0]["content"].startswith("**Hot Papers 2021-03-15**")

    # A later real day reaches every channel, the new one too.
    await ingest_sample(store, MARCH_24)
    assert await planner.plan() == 4
    assert sorted(d.channel_id for d in await store.deliveries.due(NOW) if d.date == MARCH_24) == [
        1,
        2,
        3,
        4,
    ]


async def test_a_far_future_post_no_longer_holds_back_members_direct_messages(
    store: Store,
) -> None:
    """As for channels: a member who first followed while a 9999 post was stored gets the
    real days once it is forgotten, and its direct messages not sent go with it."""
    planner = DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=3, clock=lambda: NOW)
    learning = parse_follow("keyword", "machine learning")  # on 2021-03-05 and 2021-03-24
    await ingest_sample(store, MARCH_5)
    await store.follows.follow_member(7, GUILD, learning)  # starts 2021-03-06
    poisoned = dataclasses.replace(SAMPLES[MARCH_5][0], date=FAR_FUTURE)
    await store.archive.ingest(poisoned, source="9999-01-01.md", content_hash="far-future")
    await store.follows.follow_member(8, GUILD, learning)  # starts 10000 years away
    assert await planner.plan() == 1  # member 7's message of the bad day
    assert [(d.user_id, d.date) for d in await store.direct.due(NOW)] == [(7, FAR_FUTURE)]

    forgotten = await store.archive.forget_day(FAR_FUTURE)

    assert forgotten is not None
    assert (forgotten.deliveries, forgotten.channels, forgotten.members) == (1, 0, 1)
    assert await store.direct.ledger() == []
    await ingest_sample(store, MARCH_24)
    assert await planner.plan() == 2
    assert [(d.user_id, d.date) for d in await store.direct.due(NOW)] == [
        (7, MARCH_24),
        (8, MARCH_24),
    ]
