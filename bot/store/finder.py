"""Finding papers in the archive: full-text search, the most attention over a period, an
author's papers, and the papers related to one.

Each answers within a few tens of milliseconds on a 100,000-paper archive (`bench/find.py`),
which shapes the queries: ranking by relevance costs a microsecond or so per matching paper,
so a search that matches more papers than `SCAN_LIMIT` ranks the newest of them, and a
filter selective enough to be cheaper than the words drives the search instead.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.models import Paper
from bot.store.archive import _paper
from bot.store.database import Database
from bot.store.functions import name_key
from bot.store.query import SearchQuery

RESULTS = 100  # papers a list holds at most: 20 pages of 5
SCAN_LIMIT = 4_000  # matching papers ranked at most; beyond, the newest that many
SELECTIVE = 2_000  # a filter leaving at most this many papers is applied first
AUTHOR_CANDIDATES = 200  # author names looked at to rank an autocomplete's choices
# Related papers: the paper's terms held by at most this share of the archive (but at
# least RELATED_MIN_DOCS papers) are distinctive; the RELATED_TERMS best of them are looked
# up, of at most RELATED_CANDIDATES words of the paper.
RELATED_SHARE = 0.005
RELATED_MIN_DOCS = 20
RELATED_TERMS = 8
RELATED_CANDIDATES = 30
_TOP_CHAR = "\U0010ffff"  # sorts after every character: the end of a prefix's range

# Words too common in English or in any abstract to tell papers apart.
STOP_WORDS = frozenset(
    """
    about above across after again against also although among analysis and another any
    approach approaches are around based been before being below between both but can could
    data does done during each either et etc even ever every existing few first for from
    further given has have having here how however into its itself just large less like made
    make makes many may method methods might more most much must new not novel now number
    often one only other others our out over paper per perform performance present proposed
    propose proposes provide provides rather recent recently result results same several
    shall should show shown shows significant significantly similar since some state such
    than that the their them then there these they this those three through thus too two
    under until upon use used uses using various very via was way well were what when where
    whether which while who whose why will with within without work would yet you your
    achieve achieves art demonstrate demonstrates different effective high low model
    models task tasks problem problems study studies learning learn learned
    """.split()  # noqa: SIM905 - a word list reads better as prose
)


@dataclass(frozen=True, slots=True)
class SearchResults:
    """What a search found: the best papers first, and how many matched."""

    arxiv_ids: tuple[str, ...]  # at most RESULTS
    matched: int  # papers that matched, of those ranked
    complete: bool  # False: more matched than were ranked (the newest SCAN_LIMIT, or fewer
    # for a phrase or a filter that is not selective)


@dataclass(frozen=True, slots=True)
class TopPapers:
    """The papers with the most attention over a period, most first."""

    arxiv_ids: tuple[str, ...]  # at most RESULTS
    hot: int  # papers hot in the period (in the categories asked for)


@dataclass(frozen=True, slots=True)
class AuthorMatch:
    """An author of the archive: their name as their newest paper spells it."""

    name: str
    key: str  # the name folded, as the index holds it
    papers: int


@dataclass(frozen=True, slots=True)
class AuthorPapers:
    """An author's papers, latest hot first."""

    arxiv_ids: tuple[str, ...]  # at most RESULTS
    papers: int


def category_condition(codes: Sequence[str], column: str) -> tuple[str, list[str]]:
    """SQL that `column` is one of these normalized codes or in one of these archives
    (`cs.*`, which also covers a legacy bare `cs` code), as bot.taxonomy matches them."""
    parts: list[str] = []
    params: list[str] = []
    for code in codes:
        if code.endswith(".*"):
            parts.append(f"{column} = ? OR {column} GLOB ?")
            params += [code[:-2], code]
        else:
            parts.append(f"{column} = ?")
            params.append(code)
    return "(" + " OR ".join(parts) + ")", params


class Finder:
    """Reads the archive to find papers; writes nothing."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        async with self.database.reading() as db, db.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def _value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._rows(sql, params)
        return rows[0][0] if rows else None

    async def _selective(self, sql: str, params: Sequence[Any]) -> bool:
        """Whether the rows `sql` selects are at most SELECTIVE."""
        count = await self._value(f"SELECT count(*) FROM ({sql} LIMIT {SELECTIVE + 1})", params)
        return bool(count <= SELECTIVE)

    # -- /search --------------------------------------------------------------------------

    async def search(
        self,
        query: SearchQuery,
        *,
        categories: Sequence[str] = (),
        since: dt.date | None = None,
        until: dt.date | None = None,
        limit: int = RESULTS,
    ) -> SearchResults:
        """Papers whose title, abstract or authors match `query`, in `categories` (codes and
        archives) and hot between `since` and `until`: by relevance (bm25), then by their
        attention in that period."""
        match = query.fts()
        # (the papers it lets through, the same as a condition on paper p, its values)
        filters: list[tuple[str, str, list[Any]]] = []
        if categories:
            condition, codes = category_condition(categories, "c.category")
            filters.append(
                (
                    f"SELECT c.arxiv_id FROM paper_categories c WHERE {condition}",
                    "EXISTS (SELECT 1 FROM paper_categories c WHERE c.arxiv_id = p.arxiv_id"
                    f" AND {condition})",
                    codes,
                )
            )
        window = _window(since, until)
        if window is not None:
            filters.append(
                (
                    "SELECT a.arxiv_id FROM appearances a WHERE a.date BETWEEN ? AND ?",
                    "EXISTS (SELECT 1 FROM appearances a WHERE a.arxiv_id = p.arxiv_id"
                    " AND a.date BETWEEN ? AND ?)",
                    list(window),
                )
            )
        inner, outer = ["f.papers_fts MATCH ?"], ["true"]
        inner_params: list[Any] = [match]
        outer_params: list[Any] = []
        if window is not None:
            # Only the stretch of the index that holds the period's papers is read.
            low, high = (
                await self._rows(
                    "SELECT min(low), max(high) FROM day_paper_rowids WHERE date BETWEEN ? AND ?",
                    window,
                )
            )[0]
            if low is None:
                return SearchResults((), 0, True)
            inner.append("f.rowid BETWEEN ? AND ?")
            inner_params += [low, high]
        for listed, condition, values in filters:
            if await self._selective(listed, values):
                # Few papers pass: each match is checked against them before it is ranked.
                inner.append(
                    f"+f.rowid IN (SELECT p.rowid FROM papers p WHERE p.arxiv_id IN ({listed}))"
                )
                inner_params += values
            else:
                outer.append(
                    f"EXISTS (SELECT 1 FROM papers p WHERE p.rowid = m.rowid AND {condition})"
                )
                outer_params += values
        # Matching and ranking a match for a phrase costs about twice what it does for words,
        # and each filter checked after the ranking as much again: the work stays the same.
        scan = SCAN_LIMIT // ((2 if query.phrases else 1) + len(outer) - 1)
        # The newest matches, at most `scan`, ranked as they are read (and one more, only to
        # know there were more); then filtered and sorted by rank. One row even when none is
        # left, for the number read.
        rows = await self._rows(
            "WITH m AS MATERIALIZED (SELECT f.rowid, f.rank FROM papers_fts f WHERE "
            + " AND ".join(inner)
            + " ORDER BY f.rowid DESC LIMIT ?), hits AS (SELECT rowid, rank,"
            " count(*) OVER () AS matched FROM m WHERE m.rowid > (SELECT CASE WHEN"
            " count(*) > ? THEN min(rowid) ELSE 0 END FROM m) AND "
            + " AND ".join(outer)
            + " ORDER BY rank LIMIT ?) SELECT (SELECT count(*) FROM m), hits.rowid, hits.rank,"
            " hits.matched FROM (SELECT 1) LEFT JOIN hits ON true",
            [*inner_params, scan + 1, scan, *outer_params, limit],
        )
        complete = rows[0][0] <= scan
        ranked = [r for r in rows if r[1] is not None]
        if not ranked:
            return SearchResults((), 0, complete)
        ranks = {row[1]: row[2] for row in ranked}
        marks = ",".join("?" * len(ranks))
        in_window = "" if window is None else " AND a.date BETWEEN ? AND ?"
        scored = await self._rows(
            "SELECT p.rowid, p.arxiv_id, (SELECT coalesce(sum(a.retweets + a.favorites), 0)"
            f" FROM appearances a WHERE a.arxiv_id = p.arxiv_id{in_window})"
            f" FROM papers p WHERE p.rowid IN ({marks})",
            [*(window or ()), *ranks],
        )
        scored.sort(key=lambda r: (ranks[r[0]], -r[2], r[1]))
        return SearchResults(tuple(r[1] for r in scored), int(ranked[0][3]), complete)

    # -- /top -----------------------------------------------------------------------------

    async def top(
        self,
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
        categories: Sequence[str] = (),
        limit: int = RESULTS,
    ) -> TopPapers:
        """The papers with the most retweets + favorites summed over their hot days between
        `since` and `until` (None, None: all time), in `categories`; ties newest id first."""
        condition, codes = category_condition(categories, "c.category")
        window = _window(since, until)
        if window is not None:
            in_categories = (
                f" AND EXISTS (SELECT 1 FROM paper_categories c WHERE c.arxiv_id = a.arxiv_id"
                f" AND {condition})"
                if categories
                else ""
            )
            # `+a.arxiv_id`: read the period's days by date, not every paper by id.
            rows = await self._rows(
                "SELECT a.arxiv_id, sum(a.retweets + a.favorites) AS total, count(*) OVER ()"
                f" FROM appearances a WHERE a.date BETWEEN ? AND ?{in_categories}"
                " GROUP BY +a.arxiv_id ORDER BY total DESC, a.arxiv_id DESC LIMIT ?",
                [*window, *codes, limit],
            )
            return TopPapers(tuple(r[0] for r in rows), int(rows[0][2]) if rows else 0)
        if not categories:
            rows = await self._rows(
                "SELECT arxiv_id FROM paper_scores ORDER BY total DESC, arxiv_id DESC LIMIT ?",
                (limit,),
            )
            hot = await self._value("SELECT count(*) FROM paper_scores")
            return TopPapers(tuple(r[0] for r in rows), int(hot))
        listed = f"SELECT c.arxiv_id FROM paper_categories c WHERE {condition}"
        if await self._selective(listed, codes):
            chosen = f"s.arxiv_id IN ({listed})"
        else:
            # Most papers are in it: walk the totals down until enough are.
            chosen = (
                f"EXISTS (SELECT 1 FROM paper_categories c WHERE c.arxiv_id = s.arxiv_id"
                f" AND {condition})"
            )
        rows = await self._rows(
            f"SELECT s.arxiv_id FROM paper_scores s WHERE {chosen}"
            " ORDER BY s.total DESC, s.arxiv_id DESC LIMIT ?",
            [*codes, limit],
        )
        hot = await self._value(
            f"SELECT count(DISTINCT c.arxiv_id) FROM paper_categories c WHERE {condition}", codes
        )
        return TopPapers(tuple(r[0] for r in rows), int(hot))

    # -- /author --------------------------------------------------------------------------

    async def authors(self, typed: str, limit: int = 25) -> list[AuthorMatch]:
        """Authors whose name has a word starting with each word typed (accents, case and
        punctuation aside): the name typed exactly first, then a whole word typed, then
        the most papers. Nothing typed: the authors of the latest day's papers."""
        words = name_key(typed).split()
        if not words:
            rows = await self._rows(
                "SELECT DISTINCT pa.name_key FROM appearances a"
                " JOIN paper_authors pa USING (arxiv_id)"
                " WHERE a.date = (SELECT max(date) FROM days) ORDER BY a.rank, pa.position"
                " LIMIT ?",
                (limit,),
            )
            keys = [(r[0], False) for r in rows]
        else:
            driving = max(words, key=len)  # the longest word narrows the range most
            others = list(words)
            others.remove(driving)
            also = "".join(" AND instr(' ' || name_key, ' ' || ?) > 0" for _ in others)
            # Names with the word typed whole, those with the most papers first (a common
            # surname has thousands), then names with a longer word, alphabetically.
            whole_word = await self._rows(
                "SELECT name_key, 1 FROM author_name_parts p WHERE part = ?"
                f"{also} ORDER BY (SELECT count(*) FROM paper_authors a"
                " WHERE a.name_key = p.name_key) DESC, name_key"
                f" LIMIT {AUTHOR_CANDIDATES}",
                [driving, *others],
            )
            longer = await self._rows(
                "SELECT name_key, 0 FROM author_name_parts WHERE part > ? AND part < ?"
                f"{also} ORDER BY part, name_key LIMIT {AUTHOR_CANDIDATES}",
                [driving, driving + _TOP_CHAR, *others],
            )
            keys = [(r[0], bool(r[1])) for r in whole_word + longer]
        whole = {key for key, exact in keys if exact}
        found = await self._author_matches(list(dict.fromkeys(key for key, _ in keys)))
        if words:
            typed_key = " ".join(words)
            found.sort(key=lambda m: (m.key != typed_key, m.key not in whole, -m.papers, m.key))
        return found[:limit]

    async def author(self, typed: str) -> AuthorMatch | None:
        """The author whose whole name is `typed` (accents, case and punctuation aside)."""
        found = await self._author_matches([name_key(typed)])
        return found[0] if found else None

    async def _author_matches(self, keys: Sequence[str]) -> list[AuthorMatch]:
        """These folded names, in this order, each with its spelling and paper count; a
        name no paper lists any more is left out."""
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = await self._rows(
            "SELECT name_key, (SELECT name FROM paper_authors n WHERE n.name_key = k.name_key"
            " ORDER BY n.arxiv_id DESC LIMIT 1), count(DISTINCT arxiv_id)"
            f" FROM paper_authors k WHERE name_key IN ({marks}) GROUP BY name_key",
            list(keys),
        )
        by_key = {r[0]: AuthorMatch(name=r[1], key=r[0], papers=r[2]) for r in rows}
        return [by_key[key] for key in keys if key in by_key]

    async def author_papers(self, key: str, limit: int = RESULTS) -> AuthorPapers:
        """The papers of the author with this folded name: the latest hot first, then the
        most attention."""
        rows = await self._rows(
            "SELECT a.arxiv_id, max(a.date) AS latest, sum(a.retweets + a.favorites) AS total,"
            " count(*) OVER () FROM (SELECT DISTINCT arxiv_id FROM paper_authors"
            " WHERE name_key = ?) k JOIN appearances a USING (arxiv_id)"
            " GROUP BY a.arxiv_id ORDER BY latest DESC, total DESC, a.arxiv_id DESC LIMIT ?",
            (key, limit),
        )
        return AuthorPapers(tuple(r[0] for r in rows), int(rows[0][3]) if rows else 0)

    # -- the /paper card ------------------------------------------------------------------

    async def related(self, paper: Paper, limit: int = 3) -> list[Paper]:
        """Other papers of the archive that share this one's distinctive terms (words of
        its title and abstract few papers hold), the most similar first."""
        counts: Counter[str] = Counter()
        for weight, text in ((2, paper.title), (1, paper.abstract)):
            for word in name_key(text).split():
                if len(word) >= 3 and not word.isdigit() and word not in STOP_WORDS:
                    counts[word] += weight
        if not counts:
            return []
        # The words the paper says most, longest first among equals: likely its subject.
        candidates = sorted(counts, key=lambda w: (-counts[w], -len(w), w))
        candidates = candidates[:RELATED_CANDIDATES]
        async with self.database.reading() as db:
            async with db.execute("SELECT count(*) FROM papers") as cursor:
                row = await cursor.fetchone()
            total = int(row[0]) if row else 0
            cap = max(RELATED_MIN_DOCS, int(total * RELATED_SHARE))
            # How many papers hold each word, counted up to the cap: one statement.
            counted = " UNION ALL ".join(
                f"SELECT {i}, (SELECT count(*) FROM (SELECT 1 FROM papers_fts"
                f" WHERE papers_fts MATCH ? LIMIT {cap + 1}))"
                for i in range(len(candidates))
            )
            async with db.execute(counted, [f'"{w}"' for w in candidates]) as cursor:
                documents = {candidates[r[0]]: r[1] for r in await cursor.fetchall()}
            # Held by this paper and at least one other, and by few.
            weights = {
                w: counts[w] * math.log(total / n) for w, n in documents.items() if 2 <= n <= cap
            }
            terms = sorted(weights, key=lambda w: (-weights[w], w))[:RELATED_TERMS]
            if not terms:
                return []
            async with db.execute(
                "SELECT p.* FROM papers p JOIN (SELECT rowid, rank FROM papers_fts"
                " WHERE papers_fts MATCH ? ORDER BY rank LIMIT ?) f ON f.rowid = p.rowid"
                " WHERE p.arxiv_id <> ? ORDER BY f.rank",
                (" OR ".join(f'"{w}"' for w in terms), limit + 1, paper.arxiv_id),
            ) as cursor:
                rows = await cursor.fetchall()
        return [_paper(r) for r in rows][:limit]


def _window(since: dt.date | None, until: dt.date | None) -> tuple[str, str] | None:
    if since is None and until is None:
        return None
    return (since or dt.date.min).isoformat(), (until or dt.date.max).isoformat()
