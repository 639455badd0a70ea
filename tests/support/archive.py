"""The archive filled from the bundled sample posts, for the store tests and the tests above
it: the samples parsed by date, stored one by one, and the rows of the archive's tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from bot.ingest.files import content_hash
from bot.ingest.parser import parse_post
from bot.models import Appearance, Day, RankedPaper, Tweet
from bot.samples import sample_posts
from bot.store import IngestOutcome, Store

MARCH_5, MARCH_15, MARCH_24 = (dt.date(2021, 3, 5), dt.date(2021, 3, 15), dt.date(2021, 3, 24))
ARCHIVE_TABLES = ("days", "papers", "appearances", "paper_categories", "tweets")


def sample_days() -> dict[dt.date, tuple[Day, bytes, str]]:
    """Each sample post parsed, with its bytes and path, by date."""
    days = {}
    for path in sample_posts():
        data = path.read_bytes()
        day = parse_post(data, str(path))
        days[day.date] = (day, data, str(path))
    return days


SAMPLES = sample_days()


async def ingest_sample(store: Store, date: dt.date) -> IngestOutcome:
    day, data, path = SAMPLES[date]
    return await store.archive.ingest(day, source=path, content_hash=content_hash(data))


async def ingest_samples(store: Store) -> None:
    for date in SAMPLES:
        assert await ingest_sample(store, date) is IngestOutcome.NEW


async def query(store: Store, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    async with store.database.reading() as db, db.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def snapshot(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the archive tables, for before/after comparisons."""
    return {t: sorted(await query(store, f"SELECT * FROM {t}")) for t in ARCHIVE_TABLES}


def perceiver_on_march_6() -> tuple[Day, Tweet]:
    """A made-up next day on which the Perceiver is hot again, retitled, with one new tweet."""
    perceiver = SAMPLES[MARCH_5][0].papers[2]
    again = dataclasses.replace(perceiver.tweets[0], text="the same tweet, seen again")
    new = dataclasses.replace(
        perceiver.tweets[2], url="https://twitter.com/ak92501/status/2", text="once more"
    )
    ranked = RankedPaper(
        paper=dataclasses.replace(
            perceiver.paper, title="Perceiver (revised)", categories=("cs.LG", "cs.CV")
        ),
        appearance=Appearance(dt.date(2021, 3, 6), 1, 100, 50),
        tweets=(again, new),
    )
    day = Day(
        date=dt.date(2021, 3, 6),
        published_at=dt.datetime(2021, 3, 7, 9, 0, tzinfo=dt.UTC),
        papers=(ranked,),
    )
    return day, new
