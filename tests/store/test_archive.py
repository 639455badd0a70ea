"""The archive on a real temporary SQLite file, filled from the real sample posts."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import bot.store
from bot.ingest.files import content_hash
from bot.models import Appearance, Day, DaySummary, PaperHistory, RankedPaper, Tweet
from bot.store import Archive, IngestOutcome, PaperMatch, Store, StoreError
from bot.store.database import migrations
from bot.store.functions import NAME_KEY, name_key
from tests.support.archive import (
    ARCHIVE_TABLES,
    MARCH_5,
    MARCH_15,
    MARCH_24,
    SAMPLES,
    ingest_sample,
    ingest_samples,
    perceiver_on_march_6,
    query,
    snapshot,
)
from tests.support.bluesky_days import BLUESKY_DATE, BUILT_AT, PERCEIVER_ID, bluesky_day

MIGRATION_FILES = sorted((Path(bot.store.__file__).parent / "migrations").glob("*.sql"))


def with_papers(day: Day, papers: Sequence[RankedPaper]) -> Day:
    return dataclasses.replace(day, papers=tuple(papers))


# --- schema ------------------------------------------------------------------------------------


async def test_migrations_set_user_version_and_are_idempotent_on_reopen(tmp_path: Path) -> None:
    assert MIGRATION_FILES, "no migration files found"
    path = tmp_path / "archive.sqlite3"
    async with await Store.open(path) as store:
        assert await query(store, "PRAGMA user_version") == [(len(MIGRATION_FILES),)]
        await ingest_sample(store, MARCH_5)
        before = await snapshot(store)
    async with await Store.open(path) as store:
        assert await query(store, "PRAGMA user_version") == [(len(MIGRATION_FILES),)]
        assert await snapshot(store) == before
        assert await store.archive.counts() == (1, 13, 20)


async def test_two_programs_migrating_one_new_database_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another `hotpapers` migrates the file between this one's look at the version and its
    write: this one finds the work done instead of failing on "table already exists"."""
    path = tmp_path / "shared.sqlite3"
    script = "".join(f"{sql}\nPRAGMA user_version = {n};\n" for n, _, sql in migrations())
    apply = aiosqlite.Connection.executescript

    async def other_program_first(self: aiosqlite.Connection, sql: str) -> Any:
        with contextlib.closing(sqlite3.connect(path)) as other:
            other.create_function(NAME_KEY, 1, name_key, deterministic=True)
            other.executescript(f"BEGIN IMMEDIATE;\n{script}COMMIT;")
        monkeypatch.setattr(aiosqlite.Connection, "executescript", apply)
        return await apply(self, sql)

    monkeypatch.setattr(aiosqlite.Connection, "executescript", other_program_first)
    async with await Store.open(path) as store:
        assert await query(store, "PRAGMA user_version") == [(len(MIGRATION_FILES),)]
        await ingest_sample(store, MARCH_5)
        assert await store.archive.counts() == (1, 13, 20)


async def test_wal_journal_mode_and_foreign_keys(store: Store) -> None:
    assert await query(store, "PRAGMA journal_mode") == [("wal",)]
    assert await query(store, "PRAGMA foreign_keys") == [(1,)]


async def test_a_database_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {len(MIGRATION_FILES) + 1}")
    connection.close()
    with pytest.raises(StoreError, match="newer than this program knows"):
        await Store.open(path)


async def test_a_corrupt_database_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(StoreError) as info:
        await Store.open(path)
    assert str(path) in str(info.value)
    assert "file is not a database" in str(info.value)


async def test_an_unopenable_database_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        await Store.open(tmp_path)  # a directory
    assert str(tmp_path) in str(info.value)
    missing = tmp_path / "no" / "such" / "dir" / "archive.sqlite3"
    with pytest.raises(StoreError) as info:
        await Store.open(missing)
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)


async def test_a_home_relative_path_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    async with await Store.open("~/archive.sqlite3") as store:
        await ingest_sample(store, MARCH_5)
    assert (tmp_path / "archive.sqlite3").is_file()


# --- ingest ------------------------------------------------------------------------------------


async def test_ingest_new_then_identical_content_is_unchanged(store: Store) -> None:
    assert await ingest_sample(store, MARCH_5) is IngestOutcome.NEW
    before = await snapshot(store)
    changes = store.database.connection.total_changes
    assert await ingest_sample(store, MARCH_5) is IngestOutcome.UNCHANGED
    assert store.database.connection.total_changes == changes
    assert await snapshot(store) == before
    assert await store.archive.content_hashes() == {content_hash(SAMPLES[MARCH_5][1])}


async def test_changed_content_for_the_same_day_replaces_it(store: Store) -> None:
    await ingest_samples(store)
    day = SAMPLES[MARCH_5][0]
    first, perceiver = day.papers[0], day.papers[2]
    new_tweet = Tweet(
        url="https://twitter.com/someone/status/1",
        author="Some One",
        handle="someone",
        posted=dt.date(2021, 3, 6),
        lang="en",
        text="A new tweet",
    )
    updated = with_papers(
        day,
        [
            dataclasses.replace(
                first, paper=dataclasses.replace(first.paper, title="A Retitled Paper")
            ),
            day.papers[1],
            dataclasses.replace(
                perceiver,
                appearance=dataclasses.replace(perceiver.appearance, retweets=900),
                tweets=(new_tweet,),
            ),
            *day.papers[3:12],  # paper 13, 2103.03216, is gone
        ],
    )
    outcome = await store.archive.ingest(updated, source="edited.md", content_hash="edited")
    assert outcome is IngestOutcome.UPDATED

    assert await store.archive.day(MARCH_5) == updated
    assert await store.archive.counts() == (3, 37, 48 - 3 + 1 - 1)
    assert await store.archive.paper("2103.03216") is None
    assert await query(store, "SELECT * FROM paper_categories WHERE arxiv_id = '2103.03216'") == []
    assert await store.archive.search("Hanabi") == []
    assert await store.archive.search("Retitled") == [PaperMatch("2103.03098", "A Retitled Paper")]
    history = await store.archive.paper("2103.03206")
    assert history is not None
    assert history.appearances == (Appearance(MARCH_5, 3, 900, 251),)
    assert history.tweets == (new_tweet,)
    summary = (await store.archive.days())[0]
    assert (summary.paper_count, summary.tweet_count, summary.source) == (12, 17, "edited.md")
    # The other days are untouched.
    assert await store.archive.day(MARCH_15) == SAMPLES[MARCH_15][0]
    assert await store.archive.day(MARCH_24) == SAMPLES[MARCH_24][0]


async def test_a_paper_hot_on_two_days_has_one_row_and_two_appearances(store: Store) -> None:
    march_6, new_tweet = perceiver_on_march_6()
    # The newer day first: the order of ingestion must not matter.
    await store.archive.ingest(march_6, source="march-6.md", content_hash="march-6")
    await ingest_sample(store, MARCH_5)
    assert await query(store, "SELECT count(*) FROM papers WHERE arxiv_id = '2103.03206'") == [(1,)]
    history = await store.archive.paper("2103.03206")
    assert history is not None
    assert history.appearances == (
        Appearance(MARCH_5, 3, 857, 251),
        Appearance(dt.date(2021, 3, 6), 1, 100, 50),
    )
    # A tweet listed on both days is one tweet, as first shown; then the new one.
    assert history.tweets == (*SAMPLES[MARCH_5][0].papers[2].tweets, new_tweet)
    # The fields come from the newest day's post, whatever the order of ingestion.
    assert history.paper.title == "Perceiver (revised)"
    assert history.paper.categories == ("cs.LG", "cs.CV")
    assert await query(
        store,
        "SELECT position, category FROM paper_categories WHERE arxiv_id = '2103.03206'"
        " ORDER BY position",
    ) == [(0, "cs.LG"), (1, "cs.CV")]
    assert await store.archive.counts() == (2, 13, 22)

    # Dropping the paper from one day keeps it, with the other appearance.
    stand_in = dataclasses.replace(SAMPLES[MARCH_5][0].papers[0].paper, arxiv_id="2103.99999")
    others = with_papers(
        march_6, [RankedPaper(stand_in, Appearance(dt.date(2021, 3, 6), 1, 1, 1), ())]
    )
    outcome = await store.archive.ingest(others, source="march-6.md", content_hash="march-6b")
    assert outcome is IngestOutcome.UPDATED
    history = await store.archive.paper("2103.03206")
    assert history is not None
    assert history.appearances == (Appearance(MARCH_5, 3, 857, 251),)
    assert history.tweets == SAMPLES[MARCH_5][0].papers[2].tweets
    # ... and its details as that day's post lists them, not the replaced post's.
    assert history.paper == SAMPLES[MARCH_5][0].papers[2].paper
    assert await query(
        store,
        "SELECT position, category FROM paper_categories WHERE arxiv_id = '2103.03206'"
        " ORDER BY position",
    ) == list(enumerate(("cs.CV", "cs.AI", "cs.LG", "cs.SD", "eess.AS")))
    assert [m.arxiv_id for m in await store.archive.search("revised")] == []
    assert "2103.03206" in [m.arxiv_id for m in await store.archive.search("Perceiver")]


async def test_a_replaced_post_that_relists_a_paper_differently_wins_if_newest(
    store: Store,
) -> None:
    march_6, _ = perceiver_on_march_6()
    await ingest_sample(store, MARCH_5)
    await store.archive.ingest(march_6, source="march-6.md", content_hash="march-6")
    perceiver = march_6.papers[0]
    fixed = dataclasses.replace(perceiver.paper, title="Perceiver (fixed)")
    march_6b = with_papers(march_6, [dataclasses.replace(perceiver, paper=fixed)])
    await store.archive.ingest(march_6b, source="march-6.md", content_hash="march-6b")
    history = await store.archive.paper("2103.03206")
    assert history is not None
    assert history.paper.title == "Perceiver (fixed)"
    # Replacing the older day, even without the paper, leaves the newer day's details.
    no_perceiver = with_papers(
        SAMPLES[MARCH_5][0],
        [p for p in SAMPLES[MARCH_5][0].papers if p.paper.arxiv_id != "2103.03206"],
    )
    await store.archive.ingest(no_perceiver, source="march-5.md", content_hash="march-5b")
    history = await store.archive.paper("2103.03206")
    assert history is not None
    assert history.paper.title == "Perceiver (fixed)"
    assert [a.date for a in history.appearances] == [dt.date(2021, 3, 6)]
    # Then dropping it from its last day removes it.
    stand_in = dataclasses.replace(fixed, arxiv_id="2103.99999")
    await store.archive.ingest(
        with_papers(march_6, [dataclasses.replace(perceiver, paper=stand_in)]),
        source="march-6.md",
        content_hash="march-6c",
    )
    assert await store.archive.paper("2103.03206") is None
    assert await query(store, "SELECT count(*) FROM paper_listings") == [(0,)]


# --- atomicity ---------------------------------------------------------------------------------


def fail_after_writing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the archive's next write fail after its work wrote every row, before COMMIT."""
    write = store.database.write

    async def write_then_fail(work: Callable[[sqlite3.Connection], Any]) -> Any:
        def then_fail(connection: sqlite3.Connection) -> Any:
            work(connection)
            raise RuntimeError("disk on fire")

        return await write(then_fail)

    monkeypatch.setattr(store.database, "write", write_then_fail)


async def test_a_failed_ingest_stores_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_after_writing(store, monkeypatch)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await ingest_sample(store, MARCH_5)
    assert await store.archive.counts() == (0, 0, 0)
    assert await snapshot(store) == {t: [] for t in ARCHIVE_TABLES}
    assert await store.archive.latest_date() is None
    assert await store.archive.search("Perceiver") == []
    monkeypatch.undo()
    assert await ingest_sample(store, MARCH_5) is IngestOutcome.NEW


async def test_a_failed_update_keeps_the_old_day(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ingest_samples(store)
    before = await snapshot(store)
    day = SAMPLES[MARCH_5][0]
    fail_after_writing(store, monkeypatch)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await store.archive.ingest(
            with_papers(day, day.papers[:5]), source="edited.md", content_hash="edited"
        )
    assert await snapshot(store) == before


async def test_a_constraint_violation_stores_nothing_of_the_day(store: Store) -> None:
    day = SAMPLES[MARCH_5][0]
    perceiver = day.papers[2]
    bad_tweet = dataclasses.replace(perceiver.tweets[1], text=None)
    bad = with_papers(
        day,
        [
            *day.papers[:2],
            dataclasses.replace(perceiver, tweets=(perceiver.tweets[0], bad_tweet)),
            *day.papers[3:],
        ],
    )
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        await store.archive.ingest(bad, source="bad.md", content_hash="bad")
    assert await snapshot(store) == {t: [] for t in ARCHIVE_TABLES}
    assert await ingest_sample(store, MARCH_5) is IngestOutcome.NEW


# --- reading -----------------------------------------------------------------------------------


class Recording:
    """A sqlite3 connection that records each statement it runs, once for every row given."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.statements: list[str] = []

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        self.statements.append(sql)
        return self.connection.execute(sql, parameters)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> sqlite3.Cursor:
        self.statements += [sql] * len(rows)
        return self.connection.executemany(sql, rows)


async def test_a_long_post_is_written_a_hundred_papers_to_a_statement(store: Store) -> None:
    """The full-text index writes out what it gathered at the end of every statement that
    adds to it: written a paper at a time, a post cost several times what it does now."""
    day, _, path = SAMPLES[MARCH_5]
    first = day.papers[0]
    long_day = with_papers(
        day,
        [
            dataclasses.replace(
                first,
                paper=dataclasses.replace(
                    first.paper, arxiv_id=f"2103.{rank:05d}", title=f"Paper number {rank}"
                ),
                appearance=dataclasses.replace(first.appearance, rank=rank),
            )
            for rank in range(1, 251)
        ],
    )
    recording: list[Recording] = []

    def store_day(db: sqlite3.Connection) -> IngestOutcome:
        recording.append(Recording(db))
        return Archive._store_day(long_day, recording[0], source=path, content_hash="long")

    assert await store.database.write(store_day) is IngestOutcome.NEW
    statements = recording[0].statements
    assert sum(s.startswith("INSERT INTO papers ") for s in statements) == 3
    assert await store.archive.day(MARCH_5) == long_day
    assert await store.archive.counts() == (1, 250, 250 * len(first.tweets))
    assert await store.archive.search("number 250") == [
        PaperMatch("2103.00250", "Paper number 250")
    ]


async def test_day_returns_papers_in_rank_order_with_their_tweets(store: Store) -> None:
    await ingest_samples(store)
    for date, (day, _, _) in SAMPLES.items():
        stored = await store.archive.day(date)
        assert stored == day
        assert stored is not None
        assert [p.appearance.rank for p in stored.papers] == list(range(1, len(day.papers) + 1))
    march_5 = await store.archive.day(MARCH_5)
    assert march_5 is not None
    assert march_5.papers[2].paper.title == "Perceiver: General Perception with Iterative Attention"
    assert [t.handle for t in march_5.papers[2].tweets] == [
        "arankomatsuzaki",
        "mosko_mule",
        "ak92501",
    ]
    assert await store.archive.day(dt.date(2021, 3, 6)) is None


async def test_days_and_latest_date(store: Store) -> None:
    assert await store.archive.days() == []
    assert await store.archive.latest_date() is None
    for date in sorted(SAMPLES, reverse=True):
        await ingest_sample(store, date)
    assert await store.archive.days() == [
        DaySummary(
            date=MARCH_5,
            published_at=dt.datetime(2021, 3, 6, 15, 15, 57, tzinfo=dt.UTC),
            paper_count=13,
            tweet_count=20,
            source=SAMPLES[MARCH_5][2],
        ),
        DaySummary(
            date=MARCH_15,
            published_at=dt.datetime(2021, 3, 16, 9, 9, 31, tzinfo=dt.UTC),
            paper_count=10,
            tweet_count=11,
            source=SAMPLES[MARCH_15][2],
        ),
        DaySummary(
            date=MARCH_24,
            published_at=dt.datetime(2021, 3, 25, 9, 3, 24, tzinfo=dt.UTC),
            paper_count=15,
            tweet_count=17,
            source=SAMPLES[MARCH_24][2],
        ),
    ]
    assert await store.archive.latest_date() == MARCH_24


async def test_paper_history(store: Store) -> None:
    await ingest_samples(store)
    perceiver = SAMPLES[MARCH_5][0].papers[2]
    assert await store.archive.paper("2103.03206") == PaperHistory(
        paper=perceiver.paper,
        appearances=(Appearance(MARCH_5, 3, 857, 251),),
        tweets=perceiver.tweets,
    )
    assert await store.archive.paper("2103.07289") == PaperHistory(
        paper=SAMPLES[MARCH_15][0].papers[8].paper,
        appearances=(Appearance(MARCH_15, 9, 81, 14),),
        tweets=(),
    )
    assert await store.archive.paper("2101.00001") is None


async def test_papers_iterates_every_paper_once_in_batches(store: Store) -> None:
    await ingest_samples(store)
    expected = sorted(p.paper.arxiv_id for day, _, _ in SAMPLES.values() for p in day.papers)
    assert len(expected) == 38
    histories = [h async for h in store.archive.papers(batch=2)]
    assert [h.paper.arxiv_id for h in histories] == expected
    for history in histories:
        assert history == await store.archive.paper(history.paper.arxiv_id)
    assert [h async for h in store.archive.papers()] == histories
    assert [h async for h in store.archive.papers(batch=38)] == histories


async def test_papers_of_an_empty_archive(store: Store) -> None:
    assert [h async for h in store.archive.papers(batch=2)] == []


async def test_search_by_id_prefix(store: Store) -> None:
    await ingest_samples(store)
    ids = [m.arxiv_id for m in await store.archive.search("2103.032")]
    assert ids == ["2103.03243", "2103.03221", "2103.03216", "2103.03206"]
    assert [m.arxiv_id for m in await store.archive.search("2103.032", limit=2)] == [
        "2103.03243",
        "2103.03221",
    ]
    assert await store.archive.search("2103.03206") == [
        PaperMatch("2103.03206", "Perceiver: General Perception with Iterative Attention")
    ]


@pytest.mark.parametrize(
    ("query", "arxiv_id"),
    [
        ("Perceiver", "2103.03206"),  # title
        ("iterative attention", "2103.03206"),  # two title words
        ("proprioception", "2103.03206"),  # abstract
        ("Zisserman", "2103.03206"),  # authors
        ("Varoquaux", "2103.03098"),
        ("gael", "2103.03098"),  # "Gaël", without its diaeresis
        ("hanab", "2103.03216"),  # a prefix of "Hanabi"
        ("catala", "2103.03198"),
    ],
)
async def test_search_full_text(store: Store, query: str, arxiv_id: str) -> None:
    await ingest_samples(store)
    assert [m.arxiv_id for m in await store.archive.search(query)] == [arxiv_id]


async def test_search_limit_and_edge_cases(store: Store) -> None:
    await ingest_samples(store)
    learning = await store.archive.search("learning", limit=3)
    assert len(learning) == 3
    assert len(await store.archive.search("learning", limit=50)) > 3
    for match in learning:
        history = await store.archive.paper(match.arxiv_id)
        assert history is not None
        paper = history.paper
        assert "learning" in f"{paper.title} {paper.abstract} {paper.authors}".lower()
        assert match.title == paper.title
    assert await store.archive.search("zzzzqqq") == []
    assert await store.archive.search('"') == []
    assert await store.archive.search("AND OR NOT NEAR") is not None
    # Nothing typed yet: the latest day's papers, best first.
    assert [m.arxiv_id for m in await store.archive.search("", limit=3)] == [
        "2103.12352",
        "2103.12685",
        "2103.12731",
    ]


async def test_counts(store: Store) -> None:
    assert await store.archive.counts() == (0, 0, 0)
    await ingest_samples(store)
    assert await store.archive.counts() == (3, 38, 48)


async def test_links_stored_verbatim_by_older_versions_are_rebuilt_from_the_id(
    tmp_path: Path,
) -> None:
    """Before links were rebuilt from ids, a crafted links line was stored as written and
    then used as an embed URL that Discord refuses; opening such an archive mends it."""
    path = tmp_path / "v5.sqlite3"
    with sqlite3.connect(path) as db:
        for number, _, sql in migrations()[:5]:
            db.executescript(f"{sql}\nPRAGMA user_version = {number};")
        db.execute(
            "INSERT INTO days VALUES ('2021-04-01', '2021-04-02T00:00:00+00:00', 'p', 'h',"
            " 'x', 2, 0)"
        )
        db.executemany(
            "INSERT INTO papers VALUES (?, 'T', '[]', '[]', 'A', ?, ?, '2021-04-01')",
            [
                ("2104.00002", 'https://arxiv.org/abs/arxiv.org/abs/2104.00002?ref="x"', None),
                ("2104.00003", "http://arxiv.org/abs/2104.00003v2", "http://arxiv.org/pdf/x"),
            ],
        )
    db.close()
    async with await Store.open(path) as store:
        links = {
            h.paper.arxiv_id: (h.paper.abs_url, h.paper.pdf_url)
            async for h in store.archive.papers()
        }
    assert links == {
        "2104.00002": ("https://arxiv.org/abs/2104.00002", None),
        "2104.00003": ("https://arxiv.org/abs/2104.00003", "https://arxiv.org/pdf/2104.00003"),
    }


# --- platforms ---------------------------------------------------------------------------------


async def test_a_bluesky_day_comes_back_as_stored(store: Store) -> None:
    day = bluesky_day()
    assert await store.archive.ingest(day, source="bluesky", content_hash="b") is IngestOutcome.NEW
    stored = await store.archive.day(BLUESKY_DATE)
    assert stored == day
    assert stored is not None
    assert stored.platform == "bluesky"
    hostile = stored.papers[0].tweets[1]
    assert (hostile.platform, hostile.uri, hostile.cid, hostile.posted_at) == (
        "bluesky",
        "at://did:plc:mallory/app.bsky.feed.post/3lrmal2",
        "bafyreimal",
        dt.datetime(2025, 6, 15, 13, 5, tzinfo=dt.UTC),
    )
    assert stored.papers[1].tweets[0].cid == ""
    summaries = await store.archive.days()
    assert [(s.date, s.platform, s.paper_count, s.tweet_count) for s in summaries] == [
        (BLUESKY_DATE, "bluesky", 2, 3)
    ]


async def test_a_bluesky_day_without_papers_is_still_a_bluesky_day(store: Store) -> None:
    empty = Day(BLUESKY_DATE, BUILT_AT, (), platform="bluesky")
    await store.archive.ingest(empty, source="bluesky", content_hash="empty")
    assert await store.archive.day(BLUESKY_DATE) == empty
    assert [s.platform for s in await store.archive.days()] == ["bluesky"]


async def test_a_paper_hot_on_both_platforms_keeps_each_appearances_platform(
    store: Store,
) -> None:
    await ingest_samples(store)
    day = bluesky_day()
    await store.archive.ingest(day, source="bluesky", content_hash="b")
    history = await store.archive.paper(PERCEIVER_ID)
    assert history is not None
    assert history.appearances == (
        Appearance(MARCH_5, 3, 857, 251, "twitter"),
        Appearance(BLUESKY_DATE, 1, 8, 43, "bluesky"),
    )
    assert [t.platform for t in history.tweets] == ["twitter"] * 3 + ["bluesky"] * 2
    assert history.tweets[3:] == day.papers[0].tweets
    # The Twitter day is read back with its own platform, tweets without Bluesky's fields.
    march_5 = await store.archive.day(MARCH_5)
    assert march_5 is not None
    assert march_5.platform == "twitter"
    assert [(p.appearance, p.tweets) for p in march_5.papers] == [
        (p.appearance, p.tweets) for p in SAMPLES[MARCH_5][0].papers
    ]


async def test_rows_from_before_platforms_are_twitter_era(tmp_path: Path) -> None:
    path = tmp_path / "v7.sqlite3"
    with sqlite3.connect(path) as db:
        for number, _, sql in migrations()[:7]:
            db.executescript(f"{sql}\nPRAGMA user_version = {number};")
        db.execute(
            "INSERT INTO days VALUES ('2021-04-01', '2021-04-02T00:00:00+00:00', 'p', 'h',"
            " 'x', 1, 1)"
        )
        db.execute(
            "INSERT INTO papers VALUES ('2104.00002', 'T', '[]', '[]', 'A',"
            " 'https://arxiv.org/abs/2104.00002', NULL, '2021-04-01')"
        )
        db.execute("INSERT INTO appearances VALUES ('2021-04-01', '2104.00002', 1, 5, 6)")
        db.execute(
            "INSERT INTO tweets VALUES ('2021-04-01', '2104.00002', 0,"
            " 'https://twitter.com/a/status/1', 'A', 'a', '2021-04-01', 'en', 'hi')"
        )
    db.close()
    async with await Store.open(path) as store:
        day = await store.archive.day(dt.date(2021, 4, 1))
        summaries = await store.archive.days()
    assert day is not None
    assert day.platform == "twitter"
    assert day.papers[0].appearance == Appearance(dt.date(2021, 4, 1), 1, 5, 6, "twitter")
    assert day.papers[0].tweets == (
        Tweet("https://twitter.com/a/status/1", "A", "a", dt.date(2021, 4, 1), "en", "hi"),
    )
    assert [s.platform for s in summaries] == ["twitter"]


async def test_the_schema_allows_only_the_two_platforms(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        await store.database.write(
            lambda db: db.execute(
                "INSERT INTO days VALUES ('2021-04-01', 'x', 'p', 'h', 'x', 0, 0, 'mastodon')"
            )
        )
