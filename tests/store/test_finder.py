"""Finding papers in the archive: /search, /top, /author and a card's related papers, on the
bundled posts, and the indexes behind them kept in step with every change to the archive."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.ingest.files import content_hash, find_posts, ingest_files
from bot.models import Appearance, Day, Paper, RankedPaper
from bot.store import Store, finder
from bot.store.database import migrations
from bot.store.finder import AuthorMatch, AuthorPapers, SearchResults, TopPapers
from bot.store.query import SearchQuery
from tests.support.archive import (
    MARCH_5,
    MARCH_15,
    MARCH_24,
    SAMPLES,
    ingest_sample,
    ingest_samples,
    perceiver_on_march_6,
    query,
)

PERCEIVER = "2103.03206"
IMAP = "2103.12352"  # the most retweeted + favorited paper of the samples (6,460)


async def search(store: Store, typed: str, **filters: Any) -> SearchResults:
    return await store.finder.search(SearchQuery.parse(typed), **filters)


# --- /search ---------------------------------------------------------------------------------


async def test_search_ranks_by_relevance(store: Store) -> None:
    await ingest_samples(store)
    # By bm25: "attention" in a short title counts most. The Perceiver, the most retweeted
    # of the five, is fourth.
    assert await search(store, "attention") == SearchResults(
        ("2103.12731", "2103.03170", "2103.12091", PERCEIVER, "2103.02997"), 5, True
    )
    assert await search(store, '"iterative attention"') == SearchResults((PERCEIVER,), 1, True)
    # Authors are searched too.
    assert (await search(store, "koltun")).arxiv_ids == ("2103.07461", "2103.03114", "2103.07013")
    assert (await search(store, "KRÄHENBÜHL")).arxiv_ids == ("2103.07461",)


async def test_search_words_phrases_negations_and_prefixes(store: Store) -> None:
    await ingest_samples(store)
    # "Enhanced 3D Human Pose Estimation ... Attention-Based ..." is left out.
    assert (await search(store, "attention -pose")).arxiv_ids == (
        "2103.12731",
        "2103.12091",
        PERCEIVER,
        "2103.02997",
    )
    assert (await search(store, "transformer")).arxiv_ids == (
        "2103.07055",
        "2103.12115",
        "2103.12424",
    )
    # transformer, transformers, transformation...
    assert (await search(store, "transform*")).matched == 10
    assert (await search(store, "perceiver attention iterative")).arxiv_ids == (PERCEIVER,)
    assert await search(store, '"attention iterative"') == SearchResults((), 0, True)


async def test_search_filters_by_category_and_by_the_days_papers_were_hot(store: Store) -> None:
    await ingest_samples(store)
    in_stat_ml = ("2103.03098", "2103.02667")
    assert (await search(store, "learning", categories=["stat.ML"])).arxiv_ids == in_stat_ml
    assert (await search(store, "learning", categories=["stat.*"])).arxiv_ids == in_stat_ml
    assert (await search(store, "learning", categories=["hep-lat"])).arxiv_ids == ()
    on_march_15 = ("2103.07153", "2103.07013", "2103.07292", "2103.07197")
    assert await search(store, "learning", since=MARCH_15, until=MARCH_15) == SearchResults(
        on_march_15, 4, True
    )
    assert (await search(store, "attention", since=MARCH_15)).arxiv_ids == (
        "2103.12731",
        "2103.12091",
    )
    assert (await search(store, "attention", until=MARCH_15)).arxiv_ids == (
        "2103.03170",
        PERCEIVER,
        "2103.02997",
    )
    assert await search(store, "attention", since=dt.date(2022, 1, 1)) == SearchResults((), 0, True)


@pytest.mark.parametrize("selective", [0, 10_000])
async def test_a_filter_gives_the_same_papers_whether_it_drives_or_follows(
    store: Store, monkeypatch: pytest.MonkeyPatch, selective: int
) -> None:
    """A filter leaving few papers is applied before ranking, others after: same answer."""
    await ingest_samples(store)
    monkeypatch.setattr(finder, "SELECTIVE", selective)
    found = await search(
        store, "learning", categories=["cs.LG", "stat.*"], since=MARCH_5, until=MARCH_15
    )
    # All eleven in cs.LG, hot on 2021-03-05 or 2021-03-15; none of 2021-03-24.
    assert found == SearchResults(
        (
            "2103.03098",
            "2103.03216",
            "2103.02886",
            "2103.03221",
            "2103.02667",
            "2103.03114",
            "2103.07013",
            "2103.03123",
            "2103.07292",
            "2103.07197",
            PERCEIVER,
        ),
        11,
        True,
    )
    top = await store.finder.top(categories=["cs.CV"])
    assert top.arxiv_ids[:3] == (IMAP, PERCEIVER, "2103.02886")
    assert top.hot == 25


async def test_search_breaks_a_tie_in_relevance_by_attention(store: Store) -> None:
    day, _, _ = SAMPLES[MARCH_5]
    twin = day.papers[0]
    twins = [
        dataclasses.replace(
            twin,
            paper=dataclasses.replace(
                twin.paper, arxiv_id=arxiv_id, title="Twin papers", abstract="Same words."
            ),
            appearance=dataclasses.replace(twin.appearance, rank=rank, retweets=retweets),
        )
        for rank, (arxiv_id, retweets) in enumerate(
            [("2103.00001", 5), ("2103.00002", 50), ("2103.00003", 5)], 1
        )
    ]
    await store.archive.ingest(
        dataclasses.replace(day, papers=tuple(twins)), source="twins.md", content_hash="twins"
    )
    # Equal relevance: the most attention first, then the lower id.
    assert (await search(store, "twin")).arxiv_ids == ("2103.00002", "2103.00001", "2103.00003")


async def test_a_search_matching_too_many_papers_ranks_the_newest(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ingest_samples(store)
    monkeypatch.setattr(finder, "SCAN_LIMIT", 4)
    # "attention" matches 5: the four stored last are ranked; the Perceiver, stored first
    # of them (listed before the others of 2021-03-05), is left out.
    assert await search(store, "attention") == SearchResults(
        ("2103.12731", "2103.03170", "2103.12091", "2103.02997"), 4, False
    )
    assert await search(store, "transformer") == SearchResults(
        ("2103.07055", "2103.12115", "2103.12424"), 3, True
    )
    # A phrase costs more: half as many are ranked; so does a filter checked after ranking.
    assert await search(store, '"neural network"') == SearchResults((IMAP, "2103.12115"), 2, False)
    monkeypatch.setattr(finder, "SELECTIVE", 0)
    assert await search(store, "attention", categories=["cs.CV"]) == SearchResults(
        ("2103.12731", "2103.12091"), 2, False
    )


# --- /top ------------------------------------------------------------------------------------


async def test_top_sums_attention_over_the_period(store: Store) -> None:
    await ingest_samples(store)
    everything = await store.finder.top()
    assert everything.hot == 38
    assert everything.arxiv_ids[:5] == (IMAP, "2103.03098", "2103.12685", "2103.02667", PERCEIVER)
    assert await store.finder.top(since=MARCH_15, until=MARCH_15) == TopPapers(
        (
            "2103.06902",
            "2103.07461",
            "2103.06885",
            "2103.07292",
            "2103.07013",
            "2103.07153",
            "2103.07197",
            "2103.07055",
            "2103.07289",
            "2103.06944",
        ),
        10,
    )
    assert await store.finder.top(
        since=MARCH_5, until=MARCH_15, categories=["stat.*"]
    ) == TopPapers(("2103.03098", "2103.02667", "2103.06885"), 3)
    assert await store.finder.top(categories=["stat.*"]) == TopPapers(
        ("2103.03098", "2103.02667", "2103.06885", "2103.12528"), 4
    )
    assert await store.finder.top(categories=["hep-lat"]) == TopPapers((), 0)
    assert await store.finder.top(since=dt.date(2020, 1, 1), until=dt.date(2020, 12, 31)) == (
        TopPapers((), 0)
    )


async def test_top_counts_every_day_a_paper_was_hot(store: Store) -> None:
    await ingest_samples(store)
    march_6, _ = perceiver_on_march_6()  # the Perceiver again: 100 + 50 more
    await store.archive.ingest(march_6, source="march-6.md", content_hash="march-6")
    assert (await store.finder.top()).arxiv_ids[:5] == (
        IMAP,
        "2103.03098",
        "2103.12685",
        "2103.02667",
        PERCEIVER,
    )
    assert await query(store, "SELECT total FROM paper_scores WHERE arxiv_id = ?", [PERCEIVER]) == [
        (1108 + 150,)
    ]
    # Over the two days only, iMAP (hot on the 24th) is not among them.
    two_days = await store.finder.top(since=MARCH_5, until=dt.date(2021, 3, 6))
    assert two_days.hot == 13
    assert two_days.arxiv_ids[:4] == ("2103.03098", "2103.02667", PERCEIVER, "2103.02886")
    found = await store.archive.found([PERCEIVER], since=dt.date(2021, 3, 6))
    assert [a.date for a in found[0].appearances] == [dt.date(2021, 3, 6)]
    assert found[0].score == 150


async def test_ties_in_attention_list_the_newest_id_first(store: Store) -> None:
    day, _, _ = SAMPLES[MARCH_5]
    same = [
        dataclasses.replace(
            ranked,
            paper=dataclasses.replace(ranked.paper, arxiv_id=f"2103.0000{rank}"),
            appearance=Appearance(day.date, rank, 7, 3),
        )
        for rank, ranked in enumerate(day.papers[:3], 1)
    ]
    await store.archive.ingest(
        dataclasses.replace(day, papers=tuple(same)), source="same.md", content_hash="same"
    )
    expected = TopPapers(("2103.00003", "2103.00002", "2103.00001"), 3)
    assert await store.finder.top() == expected
    assert await store.finder.top(since=day.date, until=day.date) == expected


# --- /author ---------------------------------------------------------------------------------


async def test_authors_are_found_by_the_start_of_any_name_without_accents_or_case(
    store: Store,
) -> None:
    await ingest_samples(store)
    koltun = AuthorMatch("Vladlen Koltun", "vladlen koltun", 3)
    assert await store.finder.authors("kolt") == [koltun]
    assert await store.finder.authors("VLAD") == [
        koltun,
        AuthorMatch("Vladislav Golyanik", "vladislav golyanik", 1),
    ]
    assert await store.finder.authors("helene") == [
        AuthorMatch("Hélène Le Cadre", "helene le cadre", 1)
    ]
    assert await store.finder.authors("Krähen") == [
        AuthorMatch("Philipp Krähenbühl", "philipp krahenbuhl", 1)
    ]
    # Every word typed starts a word of the name; the most papers first.
    assert await store.finder.authors("a s") == [
        AuthorMatch("Aravind Srinivas", "aravind srinivas", 2),
        AuthorMatch("Andrew B. Singleton", "andrew b singleton", 1),
        AuthorMatch("Ari S. Morcos", "ari s morcos", 1),
    ]
    assert await store.finder.authors("zzz") == []


async def test_a_name_typed_whole_comes_first(store: Store) -> None:
    await ingest_samples(store)
    names = [m.name for m in await store.finder.authors("li")]
    # A whole word "li" first, the most papers first, then alphabetically.
    assert names[:2] == ["Bo Li", "Changlin Li"]
    assert all("li" in m.key for m in await store.finder.authors("li"))
    # The name typed whole first; word order aside, "Liefeng Bo" fits too.
    assert [m.name for m in await store.finder.authors("bo li")] == ["Bo Li", "Liefeng Bo"]


async def test_no_name_typed_offers_the_latest_days_authors(store: Store) -> None:
    await ingest_samples(store)
    day, _, _ = SAMPLES[MARCH_24]
    first = day.papers[0].paper.authors
    offered = await store.finder.authors("  ", limit=len(first))
    assert [m.name for m in offered] == list(first)


async def test_an_authors_papers_latest_hot_first(store: Store) -> None:
    await ingest_samples(store)
    assert await store.finder.author("  vladlen KOLTUN ") == AuthorMatch(
        "Vladlen Koltun", "vladlen koltun", 3
    )
    assert await store.finder.author("koltun") is None
    # 2021-03-15: 418 then 177; 2021-03-05.
    assert await store.finder.author_papers("vladlen koltun") == AuthorPapers(
        ("2103.07461", "2103.07013", "2103.03114"), 3
    )
    assert await store.finder.author_papers("nobody") == AuthorPapers((), 0)


# --- related papers --------------------------------------------------------------------------


async def test_related_papers_share_distinctive_words(store: Store) -> None:
    await ingest_samples(store)
    history = await store.archive.paper(PERCEIVER)
    assert history is not None
    related = await store.finder.related(history.paper)
    assert [p.arxiv_id for p in related] == ["2103.03170", "2103.03114", "2103.07292"]
    assert related[1].title == "Self-supervised Geometric Perception"
    assert PERCEIVER not in [p.arxiv_id for p in await store.finder.related(history.paper, 10)]
    lone = dataclasses.replace(history.paper, title="Zyzzyva", abstract="Qwxv and the of.")
    assert await store.finder.related(lone) == []


# --- the indexes, kept in step ---------------------------------------------------------------

INDEXES = ("paper_authors", "author_name_parts", "paper_scores", "day_paper_rowids")


async def indexes(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(await query(store, f"SELECT * FROM {t}")) for t in INDEXES}


async def rebuilt(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """The indexes as the migration fills them from the archive's tables."""
    [fill] = [sql for _, name, sql in migrations() if name.endswith("_finding_papers.sql")]
    statements = fill[fill.index("INSERT INTO paper_authors") :].split(";\n")
    async with store.database.transaction() as db:
        for table in INDEXES:
            await db.execute(f"DELETE FROM {table}")
        for statement in statements:
            await db.execute(statement)
    return await indexes(store)


async def test_the_indexes_follow_every_change_to_the_archive(store: Store) -> None:
    await ingest_samples(store)
    march_6, _ = perceiver_on_march_6()
    await store.archive.ingest(march_6, source="march-6.md", content_hash="march-6")
    # March 5 again, with the Perceiver's authors renamed and the first paper gone.
    day, _, path = SAMPLES[MARCH_5]
    renamed = dataclasses.replace(
        day.papers[2],
        paper=dataclasses.replace(day.papers[2].paper, authors=("Ådne Ångström", "Zoë Q")),
    )
    await store.archive.ingest(
        dataclasses.replace(day, papers=(day.papers[1], renamed, *day.papers[3:])),
        source=path,
        content_hash="march-5-again",
    )
    assert await store.finder.authors("adne") == []  # March 6's listing is the newer
    await store.archive.forget_day(dt.date(2021, 3, 6))
    assert await store.finder.authors("adne") == [AuthorMatch("Ådne Ångström", "adne angstrom", 1)]
    assert await store.finder.author("Andrew Jaegle") is None
    await store.archive.forget_day(MARCH_24)
    now = await indexes(store)
    assert now["paper_scores"] == sorted(
        await query(store, "SELECT arxiv_id, sum(retweets + favorites) FROM appearances GROUP BY 1")
    )
    # What stays behind of a name no paper lists any more is never offered.
    leftovers = [
        r for r in now["author_name_parts"] if r not in (await rebuilt(store))["author_name_parts"]
    ]
    assert ("jaegle", "andrew jaegle") in leftovers
    assert {k: v for k, v in now.items() if k != "author_name_parts"} == {
        k: v for k, v in (await rebuilt(store)).items() if k != "author_name_parts"
    }


async def test_opening_an_older_archive_fills_the_indexes(tmp_path: Path) -> None:
    [before] = [n - 1 for n, name, _ in migrations() if name.endswith("_finding_papers.sql")]
    path = tmp_path / "older.sqlite3"
    async with await Store.open(path) as store:
        await ingest_samples(store)
        expected = await indexes(store)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        for table in INDEXES:
            db.execute(f"DROP TABLE {table}")
        db.execute(f"PRAGMA user_version = {before}")
    async with await Store.open(path) as store:
        assert await query(store, "PRAGMA user_version") == [(len(migrations()),)]
        assert await indexes(store) == expected
        assert len(expected["paper_authors"]) == 201
        assert (await store.finder.author("Gaël Varoquaux")) == AuthorMatch(
            "Gaël Varoquaux", "gael varoquaux", 1
        )


async def test_a_paper_with_unusual_author_names(store: Store) -> None:
    day, data, _ = SAMPLES[MARCH_5]
    odd = Paper(
        arxiv_id="2103.00009",
        title="Odd names",
        authors=("—", "Jean-Pierre O'Brien", "ワクワクさん", "Jean-Pierre O'Brien"),
        categories=("cs.CL",),
        abstract="",
        abs_url="https://arxiv.org/abs/2103.00009",
        pdf_url=None,
    )
    await store.archive.ingest(
        Day(day.date, day.published_at, (RankedPaper(odd, Appearance(day.date, 1, 1, 1), ()),)),
        source="odd.md",
        content_hash=content_hash(data + b"odd"),
    )
    # An apostrophe or a hyphen separates words, as in the full-text index.
    o_brien = [AuthorMatch("Jean-Pierre O'Brien", "jean pierre o brien", 1)]
    assert await store.finder.authors("o'bri") == o_brien
    assert await store.finder.authors("brien") == o_brien
    assert await store.finder.authors("pierre jean") == o_brien
    assert [m.name for m in await store.finder.authors("ワクワク")] == ["ワクワクさん"]
    assert await query(store, "SELECT count(*) FROM paper_authors") == [(3,)]
    await ingest_sample(store, MARCH_24)


async def test_a_common_surname_offers_its_most_prolific_authors_first(store: Store) -> None:
    """A surname such as Wang names hundreds of authors in a large archive: the one with the
    most papers is offered, not the alphabetically first ones."""
    day = SAMPLES[MARCH_5][0]
    crowd = tuple(f"Aa{n:03d} Wang" for n in range(finder.AUTHOR_CANDIDATES + 50))

    def paper(number: int, authors: tuple[str, ...]) -> RankedPaper:
        arxiv_id = f"2103.0{number:04d}"
        listed = Paper(arxiv_id, f"Paper {number}", authors, ("cs.CV",), "", "", None)
        return RankedPaper(listed, Appearance(day.date, number, 1, 1), ())

    papers = (paper(1, crowd), *(paper(n, ("Xiaolong Wang",)) for n in range(2, 5)))
    await store.archive.ingest(
        Day(day.date, day.published_at, papers), source="wang.md", content_hash="wang"
    )
    offered = await store.finder.authors("wang")
    assert offered[0] == AuthorMatch("Xiaolong Wang", "xiaolong wang", 3)
    assert [m.name for m in offered[1:3]] == ["Aa000 Wang", "Aa001 Wang"]


# --- the corpus ------------------------------------------------------------------------------


async def test_finding_papers_in_the_corpus(store: Store, corpus_dir: Path) -> None:
    files, _ = find_posts([corpus_dir])
    assert not (await ingest_files(store.archive, files)).rejected
    found = await search(store, '"graph neural"')
    assert (found.matched, found.arxiv_ids[0]) == (13, "2009.14332")
    vision = await search(
        store,
        "transformer*",
        categories=["cs.CV"],
        since=dt.date(2020, 10, 1),
        until=dt.date(2020, 10, 31),
    )
    # "An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale" first.
    assert (vision.matched, vision.arxiv_ids[0]) == (4, "2010.11929")
    assert (await store.finder.top()).arxiv_ids[:3] == ("2010.03759", "2009.09808", "2010.09337")
    last_week = await store.finder.top(since=dt.date(2020, 12, 23), until=dt.date(2020, 12, 29))
    assert (last_week.hot, last_week.arxiv_ids[0]) == (39, "2012.13349")
    assert await store.finder.authors("bengi") == [AuthorMatch("Yoshua Bengio", "yoshua bengio", 4)]
    levine = await store.finder.author_papers("sergey levine")
    assert (levine.papers, levine.arxiv_ids[0], levine.arxiv_ids[-1]) == (
        9,
        "2012.09812",
        "2007.02931",
    )
