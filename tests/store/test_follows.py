"""Follows and the direct-message ledger on a real temporary SQLite file: the limit of 25 kept
by the store's own transaction, channels and members forgotten with their last follow, and a
member's DM state."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from bot.follows import parse_follow
from bot.models import Follow
from bot.store import PlannedDirect, Store, encode_digest
from bot.store.database import migrations
from tests.support.archive import MARCH_5, MARCH_15, ingest_sample, query

GUILD = 1000
OTHER_GUILD = 2000
NOW = dt.datetime(2021, 3, 16, 9, 0, tzinfo=dt.UTC)
DIFFUSION = parse_follow("keyword", "Diffusion Models")
LECUN = parse_follow("author", "Yann LeCun")
BODY = encode_digest([{"content": "**Hot Papers 2021-03-15** · 1 of its 10 papers"}])


def keywords(count: int) -> list[Follow]:
    return [parse_follow("keyword", f"topic {n}") for n in range(count)]


async def test_a_channel_follow_creates_the_channel_from_the_next_day(store: Store) -> None:
    await ingest_sample(store, MARCH_15)
    assert await store.follows.follow_channel(1, GUILD, DIFFUSION) == "added"
    assert await store.follows.follow_channel(1, GUILD, LECUN) == "added"
    # The same key typed otherwise is the same follow.
    same = parse_follow("keyword", "diffusion   MODELS")
    assert await store.follows.follow_channel(1, GUILD, same) == "already"
    assert await store.follows.of_channel(1) == (DIFFUSION, LECUN)
    channel = await store.subscriptions.get(1)
    assert channel is not None
    assert (channel.categories, channel.follows) == ((), (DIFFUSION, LECUN))
    assert channel.since_date == dt.date(2021, 3, 16)
    [planned] = await store.deliveries.unplanned(dt.date(2021, 3, 16))
    assert planned.follows == (DIFFUSION, LECUN)


async def test_at_most_25_follows_per_channel_and_per_member(store: Store) -> None:
    for follow in keywords(25):
        assert await store.follows.follow_channel(1, GUILD, follow) == "added"
        assert await store.follows.follow_member(7, GUILD, follow) == "added"
    assert await store.follows.follow_channel(1, GUILD, DIFFUSION) == "full"
    assert await store.follows.follow_member(7, GUILD, DIFFUSION) == "full"
    # One already there is "already", even at the limit; other owners have their own 25.
    assert await store.follows.follow_channel(1, GUILD, keywords(1)[0]) == "already"
    assert await store.follows.follow_channel(2, GUILD, DIFFUSION) == "added"
    assert await store.follows.follow_member(8, GUILD, DIFFUSION) == "added"
    assert len(await store.follows.of_channel(1)) == 25
    assert len(await store.follows.of_member(7)) == 25


async def test_the_limit_holds_for_follows_made_at_the_same_moment(store: Store) -> None:
    for follow in keywords(24):
        await store.follows.follow_member(7, GUILD, follow)
    outcomes = await asyncio.gather(
        store.follows.follow_member(7, GUILD, DIFFUSION),
        store.follows.follow_member(7, OTHER_GUILD, LECUN),
    )
    assert sorted(outcomes) == ["added", "full"]
    assert len(await store.follows.of_member(7)) == 25


async def test_a_channel_is_forgotten_with_its_last_follow_and_subscription(store: Store) -> None:
    await store.subscriptions.subscribe(1, GUILD, ["cs.CV"])
    await store.follows.follow_channel(1, GUILD, DIFFUSION)
    # The last category goes: the follow keeps the channel and its digests.
    assert await store.subscriptions.unsubscribe(1, "cs.CV") is True
    channel = await store.subscriptions.get(1)
    assert channel is not None
    assert (channel.categories, channel.follows) == ((), (DIFFUSION,))
    # A follow that is not there removes nothing.
    assert await store.follows.unfollow_channel(1, [LECUN]) == 0
    assert await store.follows.unfollow_channel(1, [DIFFUSION]) == 1
    assert await store.subscriptions.get(1) is None

    # With a subscription left, the channel stays.
    await store.subscriptions.subscribe(2, GUILD, ["cs.LG"])
    await store.follows.follow_channel(2, GUILD, DIFFUSION)
    await store.follows.follow_channel(2, GUILD, LECUN)
    assert await store.follows.unfollow_channel(2) == 2  # all of them
    channel = await store.subscriptions.get(2)
    assert channel is not None
    assert (channel.categories, channel.follows) == (("cs.LG",), ())


async def test_a_deleted_channel_takes_its_follows(store: Store) -> None:
    await store.follows.follow_channel(1, GUILD, DIFFUSION)
    await store.follows.follow_channel(2, OTHER_GUILD, DIFFUSION)
    await store.subscriptions.remove_channels([1])
    await store.subscriptions.remove_guild(OTHER_GUILD)
    assert await query(store, "SELECT count(*) FROM follows") == [(0,)]


async def test_a_member_is_forgotten_with_their_last_follow(store: Store) -> None:
    await ingest_sample(store, MARCH_5)
    await store.follows.follow_member(7, GUILD, DIFFUSION)
    await store.follows.follow_member(7, OTHER_GUILD, LECUN)
    assert await query(store, "SELECT user_id, since_date FROM members") == [(7, "2021-03-06")]
    assert await store.follows.member_guilds(7) == (OTHER_GUILD, GUILD)  # latest first
    await store.direct.record_plan([PlannedDirect(7, MARCH_5, NOW, BODY)])
    assert await store.follows.unfollow_member(7, [DIFFUSION]) == 1
    assert len(await store.direct.ledger(7)) == 1
    assert await store.follows.unfollow_member(7, [LECUN]) == 1
    assert await query(store, "SELECT count(*) FROM members") == [(0,)]
    assert await store.direct.ledger(7) == []


async def test_forgetting_a_member_deletes_everything_kept_of_them(store: Store) -> None:
    for follow in (DIFFUSION, LECUN):
        await store.follows.follow_member(7, GUILD, follow)
    await store.follows.follow_member(8, GUILD, DIFFUSION)
    await store.direct.record_plan([PlannedDirect(7, MARCH_5, NOW, BODY)])
    assert await store.follows.forget_member(7) == 2
    assert await store.follows.of_member(7) == ()
    assert await store.direct.ledger() == []
    assert await store.follows.of_member(8) == (DIFFUSION,)


async def test_leaving_a_server_forgets_the_members_who_followed_only_there(
    store: Store,
) -> None:
    await store.follows.follow_member(7, GUILD, DIFFUSION)  # only in GUILD
    await store.follows.follow_member(8, GUILD, DIFFUSION)  # in both
    await store.follows.follow_member(8, OTHER_GUILD, LECUN)
    await store.follows.follow_member(9, OTHER_GUILD, LECUN)  # only in the other
    assert await store.follows.forget_guild(GUILD) == [7]
    assert await store.follows.of_member(7) == ()
    assert await store.follows.of_member(8) == (DIFFUSION, LECUN)
    assert await store.follows.of_member(9) == (LECUN,)


async def test_closed_dms_are_noted_once_per_closing(store: Store) -> None:
    await store.follows.follow_member(7, GUILD, DIFFUSION)
    days = [MARCH_5, MARCH_15]
    await store.direct.record_plan([PlannedDirect(7, d, NOW, BODY) for d in days])
    assert await store.follows.dms_closed(7) is False
    assert await store.follows.owes_dm_note(7) is False

    assert await store.direct.closed(7, MARCH_5, "DMs closed (403: Cannot send)") is True
    assert (await store.follows.dms_closed(7), await store.follows.owes_dm_note(7)) == (True, True)
    await store.follows.dm_note_shown(7)
    assert await store.follows.owes_dm_note(7) is False
    # Refused again while still closed: no second note.
    assert await store.direct.closed(7, MARCH_15, "DMs closed (403: Cannot send)") is False
    assert (await store.follows.dms_closed(7), await store.follows.owes_dm_note(7)) == (True, False)
    rows = await store.direct.ledger(7)
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [
        ("failed", 1, "DMs closed (403: Cannot send)"),
        ("failed", 1, "DMs closed (403: Cannot send)"),
    ]
    assert await store.direct.due(NOW) == []  # never tried again


async def test_a_message_that_gets_through_opens_the_dms_again(store: Store) -> None:
    await store.follows.follow_member(7, GUILD, DIFFUSION)
    await store.direct.record_plan([PlannedDirect(7, d, NOW, BODY) for d in (MARCH_5, MARCH_15)])
    await store.direct.closed(7, MARCH_5, "DMs closed")
    await store.direct.sent(7, MARCH_15, 99)
    assert await store.follows.dms_closed(7) is False
    assert await store.follows.owes_dm_note(7) is False
    [_, row] = await store.direct.ledger(7)
    assert (row.status, row.message_id) == ("sent", 99)


async def test_due_direct_messages_carry_the_servers_to_look_in(store: Store) -> None:
    await store.follows.follow_member(7, OTHER_GUILD, DIFFUSION)
    await store.follows.follow_member(7, GUILD, LECUN)
    await store.follows.follow_member(8, GUILD, LECUN)
    later = NOW + dt.timedelta(hours=1)
    await store.direct.record_plan(
        [
            PlannedDirect(7, MARCH_15, NOW, BODY),
            PlannedDirect(8, MARCH_15, later, BODY),
            PlannedDirect(9, MARCH_15, NOW, BODY),  # no such member: not recorded
            PlannedDirect(7, MARCH_5, NOW, None),  # nothing matched: recorded, never due
        ]
    )
    [due] = await store.direct.due(NOW)
    # The servers where the member followed, the latest first.
    assert (due.user_id, due.date, due.guild_ids) == (7, MARCH_15, (GUILD, OTHER_GUILD))
    assert due.message == {"content": "**Hot Papers 2021-03-15** · 1 of its 10 papers"}
    assert [d.user_id for d in await store.direct.due(later)] == [7, 8]
    assert [(r.user_id, r.date, r.status) for r in await store.direct.ledger()] == [
        (7, MARCH_5, "empty"),
        (7, MARCH_15, "pending"),
        (8, MARCH_15, "pending"),
    ]
    # Not tried yet: a changed post or changed follows plan them anew.
    assert await store.direct.forget_unsent([8]) == 1
    await store.direct.retry_later(7, MARCH_15, "HTTP 503", later)
    assert await store.direct.forget_unsent(date=MARCH_15) == 0  # tried once: kept
    assert await store.direct.forget_unsent(date=MARCH_5) == 1


async def test_follows_stored_with_the_old_keys_are_spelled_without_bare_letters(
    tmp_path: Path,
) -> None:
    """Before 0012 a follow of "Łukasz Kaiser" was keyed "łukasz kaiser", which papers keyed
    now ("lukasz kaiser") would never match; one that becomes a follow its owner already has
    is dropped."""
    [number] = [n for n, name, _ in migrations() if name.endswith("_follow_keys_bare_letters.sql")]
    path = tmp_path / "older.sqlite3"
    async with await Store.open(path) as store:
        await store.follows.follow_member(7, GUILD, parse_follow("author", "Lukasz Kaiser"))
        await store.follows.follow_member(7, GUILD, parse_follow("author", "Søren Hauberg"))
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "INSERT INTO follows (user_id, guild_id, kind, text, key, created_at)"
            " VALUES (7, ?, 'author', 'Łukasz Kaiser', 'łukasz kaiser', '2021-03-16'),"
            " (7, ?, 'author', 'Bjørn Ommer', 'bjørn ommer', '2021-03-16')",
            (GUILD, GUILD),
        )
        db.execute("DELETE FROM follows WHERE key = 'soren hauberg'")
        db.execute(
            "INSERT INTO follows (user_id, guild_id, kind, text, key, created_at)"
            " VALUES (7, ?, 'author', 'Søren Hauberg', 'søren hauberg', '2021-03-16')",
            (GUILD,),
        )
        db.execute(f"PRAGMA user_version = {number - 1}")
    async with await Store.open(path) as store:
        assert await query(store, "SELECT text, key FROM follows ORDER BY rowid") == [
            ("Lukasz Kaiser", "lukasz kaiser"),
            ("Bjørn Ommer", "bjorn ommer"),
            ("Søren Hauberg", "soren hauberg"),
        ]
        assert await store.follows.of_member(7) == (
            parse_follow("author", "Lukasz Kaiser"),
            parse_follow("author", "Bjørn Ommer"),
            parse_follow("author", "Søren Hauberg"),
        )
