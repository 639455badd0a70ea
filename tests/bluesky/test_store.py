"""The kept Bluesky posts and the collector's cursor: one transaction per batch, no post twice."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from bot.bluesky.posts import AccountRemoved, Change, CollectedPost, Cursor, PostLinked, PostRemoved
from bot.store import Store
from bot.store.bluesky import BlueskyBatch
from bot.store.database import migrations

ALICE = "did:plc:alice"
BOB = "did:plc:bob"


def post(
    rkey: str,
    time_us: int,
    *,
    did: str = ALICE,
    text: str = "a paper",
    ids: tuple[str, ...] = ("2103.03206",),
    created_at: dt.datetime | None = dt.datetime(2024, 9, 9, 19, 46, 2, 102000, tzinfo=dt.UTC),
) -> CollectedPost:
    return CollectedPost(
        uri=f"at://{did}/app.bsky.feed.post/{rkey}",
        did=did,
        rkey=rkey,
        text=text,
        langs=("en", "ja"),
        created_at=created_at,
        time_us=time_us,
        arxiv_ids=ids,
    )


def batch(*changes: Change, time_us: int = 100, seq: int | None = None) -> BlueskyBatch:
    return BlueskyBatch(changes, Cursor(time_us, seq))


async def test_a_new_store_has_no_cursor_and_no_posts(store: Store) -> None:
    assert await store.bluesky.cursor() is None
    assert await store.bluesky.count() == 0
    assert await store.bluesky.between(0, 2**62) == []


async def test_posts_are_stored_whole_with_the_cursor(store: Store) -> None:
    first = post("3k1", 10, ids=("2103.03206", "hep-th/9901001"))
    second = post("3k2", 20, did=BOB, text="日本語 🎉", created_at=None)
    await store.bluesky.record(batch(PostLinked(first), PostLinked(second), time_us=25, seq=7))
    assert await store.bluesky.cursor() == Cursor(25, 7)
    assert await store.bluesky.between(0, 100) == [first, second]
    assert await store.bluesky.count() == 2


async def test_a_change_sqlite_cannot_hold_is_left_out_and_the_rest_stored(store: Store) -> None:
    """A safety net behind the decoder: one such frame must not stop the stream for good."""
    first, bad, last = post("3k1", 10), post("3k2", 20, text="a lone \ud800"), post("3k3", 30)
    late = post("3k4", 2**64)
    left_out = await store.bluesky.record(
        batch(PostLinked(first), PostLinked(bad), PostLinked(last), PostLinked(late), time_us=40)
    )
    assert left_out == 2
    assert await store.bluesky.between(0, 100) == [first, last]
    assert await store.bluesky.cursor() == Cursor(40)


async def test_created_at_comes_back_in_utc(store: Store) -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    kept = post("3k1", 10, created_at=dt.datetime(2024, 9, 9, 21, 46, 2, tzinfo=paris))
    await store.bluesky.record(batch(PostLinked(kept)))
    [back] = await store.bluesky.between(0, 100)
    assert back.created_at == dt.datetime(2024, 9, 9, 19, 46, 2, tzinfo=dt.UTC)
    assert back.created_at.tzinfo is not None


async def test_between_is_half_open_and_ordered_by_time_then_uri(store: Store) -> None:
    posts = [post("3kc", 30), post("3kb", 20), post("3ka", 20), post("3kd", 40)]
    await store.bluesky.record(batch(*(PostLinked(p) for p in posts)))
    found = await store.bluesky.between(20, 40)
    assert [p.rkey for p in found] == ["3ka", "3kb", "3kc"]
    assert await store.bluesky.between(41, 50) == []


async def test_a_create_delivered_again_changes_nothing(store: Store) -> None:
    first = post("3k1", 10)
    await store.bluesky.record(batch(PostLinked(first), time_us=10))
    again = post("3k1", 15, text="the same post, delivered again later")
    await store.bluesky.record(batch(PostLinked(again), PostLinked(again), time_us=15))
    assert await store.bluesky.between(0, 100) == [first]
    assert await store.bluesky.cursor() == Cursor(15)


async def test_an_update_replaces_what_the_post_says_and_keeps_its_time(store: Store) -> None:
    await store.bluesky.record(batch(PostLinked(post("3k1", 10))))
    edited = post("3k1", 50, text="now two papers", ids=("2103.03206", "2201.00001"))
    await store.bluesky.record(batch(PostLinked(edited, update=True)))
    [kept] = await store.bluesky.between(0, 100)
    assert kept == post("3k1", 10, text="now two papers", ids=("2103.03206", "2201.00001"))
    # A create delivered again after the update does not bring the old text back.
    await store.bluesky.record(batch(PostLinked(post("3k1", 10))))
    assert await store.bluesky.between(0, 100) == [kept]


async def test_an_update_of_a_post_never_kept_keeps_it(store: Store) -> None:
    edited = post("3k1", 50)
    await store.bluesky.record(batch(PostLinked(edited, update=True)))
    assert await store.bluesky.between(0, 100) == [edited]


async def test_deletes_remove_posts_and_deleted_accounts_all_theirs(store: Store) -> None:
    posts = [post("3k1", 10), post("3k2", 11), post("3k3", 12, did=BOB), post("3k4", 13)]
    await store.bluesky.record(batch(*(PostLinked(p) for p in posts)))
    await store.bluesky.record(
        batch(
            PostRemoved(posts[0].uri),
            PostRemoved("at://did:plc:nobody/app.bsky.feed.post/3zz"),  # never kept
            AccountRemoved(ALICE),
        )
    )
    assert await store.bluesky.between(0, 100) == [posts[2]]


async def test_changes_apply_in_stream_order(store: Store) -> None:
    a, b = post("3ka", 10), post("3kb", 11)
    await store.bluesky.record(
        batch(
            PostLinked(a),
            PostRemoved(a.uri),
            PostLinked(a),  # made again after its delete (the same rkey)
            PostLinked(b),
            AccountRemoved(ALICE),
            PostLinked(post("3kc", 12)),  # after the account's delete: a new account's post
        )
    )
    assert [p.rkey for p in await store.bluesky.between(0, 100)] == ["3kc"]
    await store.bluesky.record(batch(PostLinked(b), PostRemoved(b.uri)))
    assert [p.rkey for p in await store.bluesky.between(0, 100)] == ["3kc"]


async def test_the_cursor_moves_with_every_batch_even_without_changes(store: Store) -> None:
    await store.bluesky.record(batch(time_us=100, seq=1))
    assert await store.bluesky.cursor() == Cursor(100, 1)
    await store.bluesky.record(batch(time_us=200))
    assert await store.bluesky.cursor() == Cursor(200, None)


async def test_a_batch_that_fails_stores_nothing_and_keeps_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "archive.sqlite3"
    async with await Store.open(path) as store:
        await store.bluesky.record(batch(PostLinked(post("3k1", 10)), time_us=10))
        async with store.database.transaction() as db:
            await db.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON bluesky_posts WHEN NEW.rkey = '3bad'"
                " BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        failing = batch(
            PostRemoved(post("3k1", 10).uri),
            PostLinked(post("3k2", 20)),
            PostLinked(post("3bad", 30)),
            time_us=30,
        )
        with pytest.raises(sqlite3.IntegrityError, match="refused"):
            await store.bluesky.record(failing)
        assert [p.rkey for p in await store.bluesky.between(0, 100)] == ["3k1"]
        assert await store.bluesky.cursor() == Cursor(10)


async def test_since_is_where_the_first_batch_began_and_stays(store: Store) -> None:
    assert await store.bluesky.since() is None
    await store.bluesky.record(batch(PostLinked(post("3k2", 40)), PostLinked(post("3k1", 30))))
    assert await store.bluesky.since() == 30  # its earliest post, before the cursor (100)
    await store.bluesky.record(batch(PostLinked(post("3k0", 5)), time_us=200))
    assert await store.bluesky.since() == 30
    assert await store.bluesky.cursor() == Cursor(200)


async def test_since_of_a_batch_without_posts_is_its_cursor(store: Store) -> None:
    await store.bluesky.record(
        batch(PostRemoved("at://did:plc:a/app.bsky.feed.post/1"), time_us=70)
    )
    assert await store.bluesky.since() == 70


async def test_a_cursor_from_before_since_was_kept_counts_as_since(tmp_path: Path) -> None:
    path = tmp_path / "archive.sqlite3"
    with sqlite3.connect(path) as db:
        for number, _, sql in migrations()[:7]:
            db.executescript(f"{sql}\nPRAGMA user_version = {number};")
        db.execute("INSERT INTO bluesky_cursor (id, time_us, seq) VALUES (1, 1234, NULL)")
    db.close()
    async with await Store.open(path) as store:
        assert await store.bluesky.since() == 1234
        assert await store.bluesky.cursor() == Cursor(1234)


async def test_prune_before_forgets_older_posts(store: Store) -> None:
    await store.bluesky.record(batch(*(PostLinked(post(f"3k{t}", t)) for t in (5, 10, 15))))
    assert await store.bluesky.prune_before(10) == 1
    assert [p.time_us for p in await store.bluesky.between(0, 100)] == [10, 15]
    assert await store.bluesky.prune_before(10) == 0
    assert await store.bluesky.count() == 2


async def test_posts_and_cursor_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "archive.sqlite3"
    kept = post("3k1", 10)
    async with await Store.open(path) as store:
        await store.bluesky.record(batch(PostLinked(kept), time_us=11, seq=3))
    async with await Store.open(path) as store:
        assert await store.bluesky.between(0, 100) == [kept]
        assert await store.bluesky.cursor() == Cursor(11, 3)
