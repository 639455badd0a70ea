"""Days, papers, appearances and tweets: the archive of every ingested Hot Papers post."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import sqlite3
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.models import (
    Appearance,
    Day,
    DaySummary,
    FoundPaper,
    Paper,
    PaperHistory,
    Platform,
    RankedPaper,
    Tweet,
)
from bot.store.database import Database
from bot.store.functions import name_key
from bot.store.records import now_iso


class IngestOutcome(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class ForgottenDay:
    """What forgetting a stored day removed."""

    date: dt.date
    source: str  # where its post was read from
    papers: int  # papers the day listed
    tweets: int
    papers_removed: int  # of those, the ones no other day lists
    deliveries: int  # its ledger rows not sent: channels' digests and direct messages
    channels: int  # channels whose first day it had pushed past the days after it
    members: int = 0  # members with follows whose first day it had pushed so


@dataclass(frozen=True, slots=True)
class PaperMatch:
    """A search or autocomplete hit: enough to label a choice."""

    arxiv_id: str
    title: str


# Rows written by one multi-row INSERT: 8 values each stay under SQLite's oldest limit of
# 999 values to a statement.
_ROWS_PER_STATEMENT = 100


class Archive:
    """Reads and writes the archive tables; every method is one transaction or one read."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def ingest(self, day: Day, *, source: str, content_hash: str) -> IngestOutcome:
        """Store a parsed post. Unchanged content is a no-op; changed content replaces the day.

        One transaction, written in one hop to the database's thread (a post is some
        twenty statements, each a hop of its own otherwise)."""
        return await self.database.write(
            functools.partial(self._store_day, day, source=source, content_hash=content_hash)
        )

    async def ingest_many(self, posts: Sequence[tuple[Day, str, str]]) -> list[IngestOutcome]:
        """Store several parsed posts, each `(day, source, content_hash)` as `ingest` would,
        in one transaction: all of them or, when one cannot be stored, none (the caller may
        then store them one by one). For a bulk ingest, where one commit per post (and the
        full-text index's flush at each) costs more than the writes themselves."""
        return await self.database.write(functools.partial(self._store_days, posts))

    @classmethod
    def _store_days(
        cls, posts: Sequence[tuple[Day, str, str]], db: sqlite3.Connection
    ) -> list[IngestOutcome]:
        return [
            cls._store_day(day, db, source=source, content_hash=digest)
            for day, source, digest in posts
        ]

    async def forget_day(self, date: dt.date) -> ForgottenDay | None:
        """Remove a stored day as if it had never been ingested; None if it is not stored.

        Its appearances and tweets go, and the papers no other day lists; the others take
        back the details of their newest remaining listing, as when a post is replaced.
        Its deliveries and direct messages not sent go too, and channels that subscribed
        (and members who first followed) while it was stored, so start after it, start after
        the newest other day stored then. One transaction:
        a running bot never plans or sends from half of it.
        """
        return await self.database.write(functools.partial(self._forget_day, date))

    @classmethod
    def _store_day(
        cls, day: Day, db: sqlite3.Connection, *, source: str, content_hash: str
    ) -> IngestOutcome:
        """Archive.ingest's transaction, on the database's thread."""
        date = day.date.isoformat()
        row = db.execute("SELECT content_hash FROM days WHERE date = ?", (date,)).fetchone()
        if row is not None and row["content_hash"] == content_hash:
            return IngestOutcome.UNCHANGED
        dropped: set[str] = set()
        if row is not None:
            dropped = cls._take_out(db, date) - {p.paper.arxiv_id for p in day.papers}
        db.execute(
            "INSERT INTO days (date, published_at, source, content_hash, ingested_at,"
            " paper_count, tweet_count, platform) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                date,
                day.published_at.isoformat(),
                source,
                content_hash,
                now_iso(),
                len(day.papers),
                day.tweet_count,
                day.platform,
            ),
        )
        cls._keep_listings(db, date, day.papers)
        cls._write_papers(db, date, day.papers)
        if row is not None:
            cls._restore_details(db, date, dropped)
            db.execute(
                "DELETE FROM papers WHERE NOT EXISTS "
                "(SELECT 1 FROM appearances a WHERE a.arxiv_id = papers.arxiv_id)"
            )
        cls._index_papers(db, {p.paper.arxiv_id for p in day.papers} | dropped)
        db.execute(
            "INSERT INTO day_paper_rowids (date, low, high) SELECT a.date, min(p.rowid),"
            " max(p.rowid) FROM appearances a JOIN papers p USING (arxiv_id) WHERE a.date = ?"
            " GROUP BY a.date",
            (date,),
        )
        return IngestOutcome.NEW if row is None else IngestOutcome.UPDATED

    @classmethod
    def _forget_day(cls, date: dt.date, db: sqlite3.Connection) -> ForgottenDay | None:
        """Archive.forget_day's transaction, on the database's thread."""
        key = date.isoformat()
        head = db.execute(
            "SELECT source, paper_count, tweet_count FROM days WHERE date = ?", (key,)
        ).fetchone()
        if head is None:
            return None
        listed = cls._take_out(db, key)
        cls._restore_details(db, key, listed)
        cursor = db.executemany(
            "DELETE FROM papers WHERE arxiv_id = ? AND NOT EXISTS"
            " (SELECT 1 FROM appearances a WHERE a.arxiv_id = papers.arxiv_id)",
            [(arxiv_id,) for arxiv_id in sorted(listed)],
        )
        papers_removed = max(cursor.rowcount, 0)
        cls._index_papers(db, listed)
        cursor = db.execute("DELETE FROM deliveries WHERE date = ? AND status <> 'sent'", (key,))
        deliveries = max(cursor.rowcount, 0)
        cursor = db.execute(
            "DELETE FROM direct_messages WHERE date = ? AND status <> 'sent'", (key,)
        )
        deliveries += max(cursor.rowcount, 0)
        # A new channel starts the day after the newest stored day (Subscriptions.subscribe),
        # as does a member's first follow.
        starts: dict[str, int] = {}
        for table in ("channels", "members"):
            cursor = db.execute(
                f"UPDATE {table} SET since_date = coalesce((SELECT date(max(d.date), '+1 day')"
                f" FROM days d WHERE d.ingested_at <= {table}.created_at), ?)"
                " WHERE since_date = date(?, '+1 day')",
                (dt.date.min.isoformat(), key),
            )
            starts[table] = max(cursor.rowcount, 0)
        return ForgottenDay(
            date=date,
            source=head["source"],
            papers=head["paper_count"],
            tweets=head["tweet_count"],
            papers_removed=papers_removed,
            deliveries=deliveries,
            channels=starts["channels"],
            members=starts["members"],
        )

    @staticmethod
    def _take_out(db: sqlite3.Connection, date: str) -> set[str]:
        """Delete a stored day's row, appearances and tweets; the ids of the papers it listed
        (their `papers` rows stay, for the caller to restore or remove)."""
        found = db.execute("SELECT arxiv_id FROM appearances WHERE date = ?", (date,))
        listed = {r[0] for r in found.fetchall()}
        db.execute("DELETE FROM tweets WHERE date = ?", (date,))
        db.execute("DELETE FROM appearances WHERE date = ?", (date,))
        db.execute("DELETE FROM days WHERE date = ?", (date,))
        return listed

    @staticmethod
    def _keep_listings(db: sqlite3.Connection, date: str, papers: Sequence[RankedPaper]) -> None:
        """Before this day's post overwrites a paper that another day listed, keep that
        day's details (what `papers` holds) as its listing."""
        db.executemany(
            "INSERT OR IGNORE INTO paper_listings (date, arxiv_id, title, authors, categories,"
            " abstract, abs_url, pdf_url) SELECT updated_on, arxiv_id, title, authors,"
            " categories, abstract, abs_url, pdf_url FROM papers p WHERE arxiv_id = ?"
            " AND updated_on <> ? AND EXISTS (SELECT 1 FROM appearances a"
            " WHERE a.arxiv_id = p.arxiv_id AND a.date = p.updated_on)",
            [(p.paper.arxiv_id, date) for p in papers],
        )

    @staticmethod
    def _restore_details(db: sqlite3.Connection, date: str, dropped: set[str]) -> None:
        """Papers a replaced post no longer lists, whose details came from it, take those of
        their newest other listing (their newest remaining day)."""
        for arxiv_id in sorted(dropped):
            listing = db.execute(
                "SELECT l.* FROM paper_listings l JOIN papers p USING (arxiv_id)"
                " WHERE l.arxiv_id = ? AND p.updated_on = ? ORDER BY l.date DESC LIMIT 1",
                (arxiv_id, date),
            ).fetchone()
            if listing is None:
                continue
            db.execute(
                "UPDATE papers SET title = ?, authors = ?, categories = ?, abstract = ?,"
                " abs_url = ?, pdf_url = ?, updated_on = ? WHERE arxiv_id = ?",
                (
                    listing["title"],
                    listing["authors"],
                    listing["categories"],
                    listing["abstract"],
                    listing["abs_url"],
                    listing["pdf_url"],
                    listing["date"],
                    arxiv_id,
                ),
            )
            db.execute("DELETE FROM paper_categories WHERE arxiv_id = ?", (arxiv_id,))
            db.executemany(
                "INSERT INTO paper_categories (arxiv_id, position, category) VALUES (?, ?, ?)",
                [
                    (arxiv_id, position, category)
                    for position, category in enumerate(json.loads(listing["categories"]))
                ],
            )

    @staticmethod
    def _index_papers(db: sqlite3.Connection, arxiv_ids: Collection[str]) -> None:
        """Bring these papers' authors in the author index and their total scores in step with
        `papers` and `appearances`, as they are now (a removed paper took its rows along)."""
        ids = json.dumps(sorted(arxiv_ids))
        chosen = "arxiv_id IN (SELECT value FROM json_each(?))"
        stored = db.execute(f"SELECT arxiv_id, authors FROM papers WHERE {chosen}", (ids,))
        authors = [
            (name_key(name), arxiv_id, position, name)
            for arxiv_id, listed in stored.fetchall()
            for position, name in enumerate(json.loads(listed))
            if isinstance(name, str)
        ]
        authors = [row for row in authors if row[0]]
        db.execute(f"DELETE FROM paper_authors WHERE {chosen}", (ids,))
        db.executemany(
            "INSERT INTO paper_authors (name_key, arxiv_id, position, name) VALUES (?, ?, ?, ?)",
            authors,
        )
        db.executemany(
            "INSERT OR IGNORE INTO author_name_parts (part, name_key) VALUES (?, ?)",
            {(part, key) for key, *_ in authors for part in key.split()},
        )
        db.execute(
            "INSERT OR REPLACE INTO paper_scores (arxiv_id, total) SELECT arxiv_id,"
            f" sum(retweets + favorites) FROM appearances WHERE {chosen} GROUP BY arxiv_id",
            (ids,),
        )
        db.execute(
            f"DELETE FROM paper_scores WHERE {chosen} AND NOT EXISTS"
            " (SELECT 1 FROM appearances a WHERE a.arxiv_id = paper_scores.arxiv_id)",
            (ids,),
        )

    @staticmethod
    def _write_papers(db: sqlite3.Connection, date: str, papers: Sequence[RankedPaper]) -> None:
        details = [(p.paper.arxiv_id, *_details(p.paper)) for p in papers]
        # Many rows to a statement: the full-text index (filled by a trigger) writes what it
        # gathered at the end of every statement, which for one row at a time costs more
        # than all the rest of a post. `WHERE true` tells SQLite the ON CONFLICT is upsert's.
        for start in range(0, len(details), _ROWS_PER_STATEMENT):
            chunk = details[start : start + _ROWS_PER_STATEMENT]
            db.execute(
                "INSERT INTO papers (arxiv_id, title, authors, categories, abstract, abs_url,"
                " pdf_url, updated_on) SELECT * FROM (VALUES "
                + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                + ") WHERE true ON CONFLICT (arxiv_id) DO UPDATE SET title = excluded.title,"
                " authors = excluded.authors, categories = excluded.categories,"
                " abstract = excluded.abstract, abs_url = excluded.abs_url,"
                " pdf_url = excluded.pdf_url, updated_on = excluded.updated_on"
                " WHERE excluded.updated_on >= papers.updated_on",
                [value for paper in chunk for value in (*paper, date)],
            )
        db.executemany(
            "INSERT OR REPLACE INTO paper_categories (arxiv_id, position, category)"
            " SELECT arxiv_id, ?, ? FROM papers WHERE arxiv_id = ? AND updated_on = ?",
            [
                (position, category, p.paper.arxiv_id, date)
                for p in papers
                for position, category in enumerate(p.paper.categories)
            ],
        )
        db.executemany(
            "DELETE FROM paper_categories WHERE arxiv_id = ? AND position >= ?"
            " AND EXISTS (SELECT 1 FROM papers WHERE arxiv_id = ? AND updated_on = ?)",
            [(p.paper.arxiv_id, len(p.paper.categories), p.paper.arxiv_id, date) for p in papers],
        )
        db.executemany(
            "INSERT INTO appearances (date, arxiv_id, rank, retweets, favorites)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (
                    date,
                    p.paper.arxiv_id,
                    p.appearance.rank,
                    p.appearance.retweets,
                    p.appearance.favorites,
                )
                for p in papers
            ],
        )
        db.executemany(
            "INSERT OR REPLACE INTO paper_listings (date, arxiv_id, title, authors, categories,"
            " abstract, abs_url, pdf_url) SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS"
            " (SELECT 1 FROM appearances WHERE arxiv_id = ? AND date <> ?)",
            [(date, *paper, paper[0], date) for paper in details],
        )
        db.executemany(
            "INSERT INTO tweets (date, arxiv_id, position, url, author, handle, posted, lang,"
            " text, platform, uri, cid, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    date,
                    p.paper.arxiv_id,
                    position,
                    t.url,
                    t.author,
                    t.handle,
                    t.posted.isoformat(),
                    t.lang,
                    t.text,
                    t.platform,
                    t.uri,
                    t.cid,
                    None if t.posted_at is None else t.posted_at.isoformat(),
                )
                for p in papers
                for position, t in enumerate(p.tweets)
            ],
        )

    async def content_hashes(self) -> set[str]:
        """The hashes of every stored post, so unchanged files are skipped before parsing."""
        async with (
            self.database.reading() as db,
            db.execute("SELECT content_hash FROM days") as cursor,
        ):
            return {row[0] for row in await cursor.fetchall()}

    async def days(self) -> list[DaySummary]:
        """Every stored day, oldest first."""
        async with (
            self.database.reading() as db,
            db.execute(
                "SELECT date, published_at, paper_count, tweet_count, source, platform FROM days"
                " ORDER BY date"
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [
            DaySummary(
                date=dt.date.fromisoformat(r["date"]),
                published_at=dt.datetime.fromisoformat(r["published_at"]),
                paper_count=r["paper_count"],
                tweet_count=r["tweet_count"],
                source=r["source"],
                platform=_platform(r["platform"]),
            )
            for r in rows
        ]

    async def latest_date(self) -> dt.date | None:
        async with (
            self.database.reading() as db,
            db.execute("SELECT max(date) FROM days") as cursor,
        ):
            row = await cursor.fetchone()
        return None if row is None or row[0] is None else dt.date.fromisoformat(row[0])

    async def day(self, date: dt.date) -> Day | None:
        """A stored day with its papers in rank order, as the post listed them."""
        key = date.isoformat()
        async with self.database.reading() as db:
            async with db.execute(
                "SELECT published_at, platform FROM days WHERE date = ?", (key,)
            ) as cursor:
                head = await cursor.fetchone()
            if head is None:
                return None
            async with db.execute(
                "SELECT p.*, a.rank, a.retweets, a.favorites FROM appearances a"
                " JOIN papers p USING (arxiv_id) WHERE a.date = ? ORDER BY a.rank",
                (key,),
            ) as cursor:
                rows = await cursor.fetchall()
            async with db.execute(
                "SELECT * FROM tweets WHERE date = ? ORDER BY arxiv_id, position", (key,)
            ) as cursor:
                tweet_rows = await cursor.fetchall()
        tweets: dict[str, list[Tweet]] = {}
        for t in tweet_rows:
            tweets.setdefault(t["arxiv_id"], []).append(_tweet(t))
        platform = _platform(head["platform"])
        papers = tuple(
            RankedPaper(
                paper=_paper(r),
                appearance=Appearance(
                    date=date,
                    rank=r["rank"],
                    retweets=r["retweets"],
                    favorites=r["favorites"],
                    platform=platform,
                ),
                tweets=tuple(tweets.get(r["arxiv_id"], ())),
            )
            for r in rows
        )
        return Day(
            date=date,
            published_at=dt.datetime.fromisoformat(head["published_at"]),
            papers=papers,
            platform=platform,
        )

    async def paper(self, arxiv_id: str) -> PaperHistory | None:
        histories = await self._histories([arxiv_id])
        return histories[0] if histories else None

    async def papers(self, batch: int = 500) -> AsyncIterator[PaperHistory]:
        """Every paper with its history, by arXiv id, loaded a batch at a time."""
        after = ""
        while True:
            async with (
                self.database.reading() as db,
                db.execute(
                    "SELECT arxiv_id FROM papers WHERE arxiv_id > ? ORDER BY arxiv_id LIMIT ?",
                    (after, batch),
                ) as cursor,
            ):
                ids = [row[0] for row in await cursor.fetchall()]
            if not ids:
                return
            for history in await self._histories(ids):
                yield history
            after = ids[-1]

    async def found(
        self,
        arxiv_ids: Sequence[str],
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[FoundPaper]:
        """These papers in this order (those still stored), each with its hot days between
        `since` and `until` (both included; None: no bound)."""
        low, high = since or dt.date.min, until or dt.date.max
        histories = {h.paper.arxiv_id: h for h in await self._histories(arxiv_ids)}
        return [
            FoundPaper(h.paper, tuple(a for a in h.appearances if low <= a.date <= high))
            for h in (histories.get(arxiv_id) for arxiv_id in arxiv_ids)
            if h is not None
        ]

    async def _histories(self, ids: Sequence[str]) -> list[PaperHistory]:
        marks = ",".join("?" * len(ids))
        async with self.database.reading() as db:
            async with db.execute(
                f"SELECT * FROM papers WHERE arxiv_id IN ({marks}) ORDER BY arxiv_id", ids
            ) as cursor:
                paper_rows = await cursor.fetchall()
            async with db.execute(
                "SELECT a.arxiv_id, a.date, a.rank, a.retweets, a.favorites, d.platform"
                f" FROM appearances a JOIN days d USING (date) WHERE a.arxiv_id IN ({marks})"
                " ORDER BY a.arxiv_id, a.date",
                ids,
            ) as cursor:
                appearance_rows = await cursor.fetchall()
            async with db.execute(
                f"SELECT * FROM tweets WHERE arxiv_id IN ({marks})"
                " ORDER BY arxiv_id, date, position",
                ids,
            ) as cursor:
                tweet_rows = await cursor.fetchall()
        appearances: dict[str, list[Appearance]] = {}
        for r in appearance_rows:
            appearances.setdefault(r["arxiv_id"], []).append(
                Appearance(
                    date=dt.date.fromisoformat(r["date"]),
                    rank=r["rank"],
                    retweets=r["retweets"],
                    favorites=r["favorites"],
                    platform=_platform(r["platform"]),
                )
            )
        tweets: dict[str, dict[str, Tweet]] = {}
        for r in tweet_rows:
            # A tweet listed again on a later day is the same tweet: keep its first showing.
            tweets.setdefault(r["arxiv_id"], {}).setdefault(r["url"], _tweet(r))
        return [
            PaperHistory(
                paper=_paper(r),
                appearances=tuple(appearances.get(r["arxiv_id"], ())),
                tweets=tuple(tweets.get(r["arxiv_id"], {}).values()),
            )
            for r in paper_rows
        ]

    async def search(self, query: str, limit: int = 25) -> list[PaperMatch]:
        """Papers whose id starts with `query`, then full-text matches on title/abstract/authors."""
        text = query.strip()
        async with self.database.reading() as db:
            if not text:
                # The latest days' papers by rank, read from the (date, ...) key: no scan.
                async with db.execute(
                    "SELECT a.arxiv_id, p.title FROM appearances a JOIN papers p"
                    " USING (arxiv_id) ORDER BY a.date DESC, a.rank LIMIT ?",
                    (limit * 2,),
                ) as cursor:
                    recent: dict[str, str] = {}
                    for r in await cursor.fetchall():
                        recent.setdefault(r[0], r[1])
                return [PaperMatch(i, t) for i, t in recent.items()][:limit]
            async with db.execute(
                "SELECT arxiv_id, title FROM papers WHERE arxiv_id >= ? AND arxiv_id < ?"
                " ORDER BY arxiv_id DESC LIMIT ?",
                (text, text + "\uffff", limit),
            ) as cursor:
                found = [PaperMatch(r[0], r[1]) for r in await cursor.fetchall()]
            terms = [t for t in "".join(c if c.isalnum() else " " for c in text).split() if t]
            words = " ".join(f'"{t}"*' for t in terms)
            # Title matches first, then abstract or author matches; newest papers first
            # within each. Ranking every match by relevance is too slow for autocomplete
            # on a large archive, and recency is what people look up.
            for match in (f"title : ({words})", words):
                if not terms or len(found) >= limit:
                    break
                async with db.execute(
                    "SELECT p.arxiv_id, p.title FROM papers p WHERE p.rowid IN"
                    " (SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?"
                    "  ORDER BY rowid DESC LIMIT ?) ORDER BY p.rowid DESC",
                    (match, limit),
                ) as cursor:
                    seen = {m.arxiv_id for m in found}
                    for r in await cursor.fetchall():
                        if r[0] not in seen and len(found) < limit:
                            found.append(PaperMatch(r[0], r[1]))
        return found

    async def counts(self) -> tuple[int, int, int]:
        """(days, papers, tweets) in the archive."""
        async with (
            self.database.reading() as db,
            db.execute(
                "SELECT (SELECT count(*) FROM days), (SELECT count(*) FROM papers),"
                " (SELECT count(*) FROM tweets)"
            ) as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])


def _details(paper: Paper) -> tuple[str, str, str, str, str, str | None]:
    """A paper's details as stored in `papers` and `paper_listings`: title, authors,
    categories, abstract, abs_url, pdf_url."""
    return (
        paper.title,
        json.dumps(paper.authors, ensure_ascii=False),
        json.dumps(paper.categories),
        paper.abstract,
        paper.abs_url,
        paper.pdf_url,
    )


def _paper(row: aiosqlite.Row) -> Paper:
    return Paper(
        arxiv_id=row["arxiv_id"],
        title=row["title"],
        authors=tuple(json.loads(row["authors"])),
        categories=tuple(json.loads(row["categories"])),
        abstract=row["abstract"],
        abs_url=row["abs_url"],
        pdf_url=row["pdf_url"],
    )


def _tweet(row: aiosqlite.Row) -> Tweet:
    posted_at = row["posted_at"]
    return Tweet(
        url=row["url"],
        author=row["author"],
        handle=row["handle"],
        posted=dt.date.fromisoformat(row["posted"]),
        lang=row["lang"],
        text=row["text"],
        platform=_platform(row["platform"]),
        uri=row["uri"],
        cid=row["cid"],
        posted_at=None if posted_at is None else dt.datetime.fromisoformat(posted_at),
    )


def _platform(stored: str) -> Platform:
    """A stored platform (the schema allows only these two)."""
    return "bluesky" if stored == "bluesky" else "twitter"
