"""A synthetic archive in the real corpus's shape, for benchmarks beyond today's sizes.

The shape (categories and their mix, authors per paper, abstract and tweet lengths, papers
per day, tweets per paper) is measured from the real posts: ../shared/corpus when present,
else the bundled samples. Generation is seeded, so every run builds the same archive.

Build a database on its own:
    .venv/bin/python -m bench.synthetic OUT.sqlite3 [PAPERS] [CHANNELS]
Add channels, or follows (of channels and of members), to one:
    .venv/bin/python -m bench.synthetic --add-channels DB CHANNELS
    .venv/bin/python -m bench.synthetic --add-follows DB CHANNEL_FOLLOWS PERSONAL_FOLLOWS
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.follows import parse_follow
from bot.ingest.files import find_posts
from bot.ingest.parser import parse_post
from bot.models import Appearance, Day, Follow, Paper, RankedPaper, Tweet
from bot.samples import sample_posts
from bot.store import Store
from bot.store.database import Database

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
WORDS = (  # noqa: SIM905 - a word list reads better as prose
    "learning model neural network data training deep graph language vision robust efficient "
    "transformer attention quantum optimal stochastic inference scalable generative policy "
    "reinforcement representation benchmark dataset causal bayesian sparse adversarial "
    "diffusion contrastive federated private physics galaxy protein dynamics spectral"
).split()


@dataclass(frozen=True, slots=True)
class Shape:
    """Distributions measured from real posts."""

    papers_per_day: list[int]
    category_lists: list[tuple[str, ...]]
    author_counts: list[int]
    abstract_lengths: list[int]
    tweets_per_paper: list[int]
    tweet_lengths: list[int]
    title_lengths: list[int]
    retweets: list[int]
    favorites: list[int]


def measure_shape() -> tuple[Shape, str]:
    files, _ = find_posts([CORPUS]) if CORPUS.is_dir() else ([], [])
    origin = f"{len(files)} corpus posts"
    if not files:
        files, origin = sample_posts(), "the 3 bundled sample posts"
    days = [parse_post(f.read_bytes(), str(f)) for f in files]
    papers = [p for d in days for p in d.papers]
    tweets = [t for p in papers for t in p.tweets]
    shape = Shape(
        papers_per_day=[len(d.papers) for d in days if d.papers],
        category_lists=[p.paper.categories for p in papers],
        author_counts=[len(p.paper.authors) for p in papers],
        abstract_lengths=[len(p.paper.abstract) for p in papers],
        tweets_per_paper=[len(p.tweets) for p in papers],
        tweet_lengths=[len(t.text) for t in tweets] or [140],
        title_lengths=[len(p.paper.title) for p in papers],
        retweets=[p.appearance.retweets for p in papers],
        favorites=[p.appearance.favorites for p in papers],
    )
    return shape, origin


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)[:length].strip().capitalize() + "."


def synthetic_days(shape: Shape, papers: int, seed: int = 7) -> list[Day]:
    """Days ending yesterday with `papers` papers in all, each day like a real one."""
    rng = random.Random(seed)
    days: list[Day] = []
    remaining = papers
    date = dt.date(2020, 1, 1)
    serial = 0
    per_month: dict[str, int] = {}
    while remaining > 0:
        count = min(rng.choice(shape.papers_per_day), remaining)
        ranked = []
        for rank in range(1, count + 1):
            serial += 1
            month = f"{date:%y%m}"
            per_month[month] = per_month.get(month, 0) + 1
            arxiv_id = f"{month}.{per_month[month]:05d}"
            paper = Paper(
                arxiv_id=arxiv_id,
                title=_text(rng, rng.choice(shape.title_lengths)),
                authors=tuple(
                    f"Author{rng.randrange(50000)} Name{rng.randrange(50000)}"
                    for _ in range(rng.choice(shape.author_counts))
                ),
                categories=rng.choice(shape.category_lists),
                abstract=_text(rng, rng.choice(shape.abstract_lengths)),
                abs_url=f"https://arxiv.org/abs/{arxiv_id}",
                pdf_url=f"https://arxiv.org/pdf/{arxiv_id}",
            )
            tweets = tuple(
                Tweet(
                    url=f"https://twitter.com/user{rng.randrange(9999)}/status/{serial * 10 + i}",
                    author=f"User {rng.randrange(9999)}",
                    handle=f"user{rng.randrange(9999)}",
                    posted=date,
                    lang="en",
                    text=_text(rng, rng.choice(shape.tweet_lengths)),
                )
                for i in range(rng.choice(shape.tweets_per_paper))
            )
            appearance = Appearance(
                date=date,
                rank=rank,
                retweets=rng.choice(shape.retweets),
                favorites=rng.choice(shape.favorites),
            )
            ranked.append(RankedPaper(paper=paper, appearance=appearance, tweets=tweets))
        days.append(
            Day(
                date=date,
                published_at=dt.datetime.combine(date, dt.time(9), tzinfo=dt.UTC),
                papers=tuple(ranked),
            )
        )
        remaining -= count
        date += dt.timedelta(days=1)
    return days


ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/London")


async def add_channels(database: Database, shape: Shape, channels: int, seed: int = 11) -> None:
    """Channels with random subscriptions (1 to 3 categories in the corpus's mix, some whole
    archives) and settings, written in bulk."""
    rng = random.Random(seed)
    categories = [c for cats in shape.category_lists for c in cats]
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    channel_rows = []
    subscription_rows = []
    for index in range(channels):
        channel_id = 10**17 + index
        timed = rng.random() < 0.3
        channel_rows.append(
            (
                channel_id,
                10**16 + index // 5,
                dt.date.min.isoformat(),
                rng.choice((None, None, 5, 10, 25)),
                rng.choice((0, 0, 0, 50, 200)),
                f"{rng.randrange(24):02d}:{rng.choice((0, 30)):02d}" if timed else None,
                rng.choice(ZONES),
                now,
                now,
            )
        )
        # In draw order (a dict, not a set): the same seed gives the same channels in any
        # process, whatever the string hash seed.
        chosen = dict.fromkeys(rng.choice(categories) for _ in range(rng.randint(1, 3)))
        if rng.random() < 0.1:
            chosen = dict.fromkeys([next(iter(chosen)).split(".")[0] + ".*"])
        subscription_rows.extend((channel_id, c, now) for c in chosen)
    async with database.transaction() as db:
        await db.executemany(
            "INSERT INTO channels (channel_id, guild_id, since_date, top, min_score, deliver_at,"
            " timezone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            channel_rows,
        )
        await db.executemany(
            "INSERT INTO subscriptions (channel_id, category, created_at) VALUES (?, ?, ?)",
            subscription_rows,
        )


FOLLOWS_PER_CHANNEL = 5
FOLLOWS_PER_MEMBER = 4


def synthetic_follows(rng: random.Random, count: int, authors: list[str]) -> list[Follow]:
    """`count` follows shaped like a reading group's: keywords of two or three words of the
    synthetic titles' and abstracts' vocabulary (a match most days for many of them), and
    author names, a few of them of real authors of the archive, the others of nobody."""
    follows = []
    for _ in range(count):
        if rng.random() < 0.6:
            follows.append(parse_follow("keyword", " ".join(rng.sample(WORDS, rng.randint(2, 3)))))
        elif rng.random() < 0.15:
            follows.append(parse_follow("author", rng.choice(authors)))
        else:
            follows.append(parse_follow("author", f"Reader{rng.randrange(10**6)} Unknown"))
    return follows


async def add_follows(
    database: Database, channel_follows: int, personal_follows: int, seed: int = 13
) -> None:
    """Channels that follow (FOLLOWS_PER_CHANNEL each, no categories) and members who follow
    for themselves (FOLLOWS_PER_MEMBER each), written in bulk."""
    rng = random.Random(seed)
    async with (
        database.reading() as db,
        db.execute("SELECT authors FROM papers WHERE rowid % 50 = 0 ORDER BY rowid") as cursor,
    ):
        authors = [a for (listed,) in await cursor.fetchall() for a in json.loads(listed)]
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    since = dt.date.min.isoformat()
    channel_rows, member_rows, follow_rows = [], [], []

    def add(channel_id: int | None, user_id: int | None, guild_id: int, count: int) -> None:
        for f in dict.fromkeys(synthetic_follows(rng, count, authors)):  # without repeats
            follow_rows.append((channel_id, user_id, guild_id, f.kind, f.text, f.key, now))

    for index in range(channel_follows // FOLLOWS_PER_CHANNEL):
        channel_id, guild_id = 2 * 10**17 + index, 10**16 + index // 5
        channel_rows.append((channel_id, guild_id, since, now, now))
        add(channel_id, None, guild_id, FOLLOWS_PER_CHANNEL)
    for index in range(personal_follows // FOLLOWS_PER_MEMBER):
        user_id = 3 * 10**17 + index
        member_rows.append((user_id, since, now))
        add(None, user_id, 10**16 + index // 50, FOLLOWS_PER_MEMBER)
    async with database.transaction() as db:
        await db.executemany(
            "INSERT INTO channels (channel_id, guild_id, since_date, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            channel_rows,
        )
        await db.executemany(
            "INSERT INTO members (user_id, since_date, created_at) VALUES (?, ?, ?)", member_rows
        )
        await db.executemany(
            "INSERT INTO follows (channel_id, user_id, guild_id, kind, text, key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            follow_rows,
        )


async def add_follows_to(path: Path, channel_follows: int, personal_follows: int) -> None:
    async with await Store.open(path) as store:
        await add_follows(store.database, channel_follows, personal_follows)


async def build(path: Path, papers: int, channels: int) -> tuple[list[Day], str]:
    shape, origin = measure_shape()
    days = synthetic_days(shape, papers)
    async with await Store.open(path) as store:
        for day in days:
            await store.archive.ingest(
                day, source="synthetic", content_hash=f"synthetic-{day.date}"
            )
        if channels:
            await add_channels(store.database, shape, channels)
    return days, origin


async def add_channels_to(path: Path, channels: int) -> None:
    shape, _ = measure_shape()
    async with await Store.open(path) as store:
        await add_channels(store.database, shape, channels)


async def _main(out: Path, papers: int, channels: int) -> None:
    started = time.perf_counter()
    days, origin = await build(out, papers, channels)
    print(
        f"built {out}: {papers} papers over {len(days)} days, {channels} channels, "
        f"shaped like {origin}, in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    if args[0] == "--add-channels":
        asyncio.run(add_channels_to(Path(args[1]), int(args[2])))
        sys.exit()
    if args[0] == "--add-follows":
        asyncio.run(add_follows_to(Path(args[1]), int(args[2]), int(args[3])))
        sys.exit()
    asyncio.run(
        _main(
            Path(args[0]),
            int(args[1]) if len(args) > 1 else 100_000,
            int(args[2]) if len(args) > 2 else 100_000,
        )
    )
