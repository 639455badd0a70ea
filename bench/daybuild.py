"""Day build: 5,000 Bluesky posts linking 1,500 papers built into one day by `DayBuilder`
against the local AppView and arXiv over HTTP, with their limits enforced in real time:
the AppView's 3,000 requests per 5 minutes (the public AppView's limit per IP) and arXiv's
one request every 3 seconds (the stand-in refuses and counts any request closer than that).

A fifth of the linked ids are unknown to arXiv and 2% of the papers are withdrawn, so the
builder has to go past its first batch to fill a day; a few feed accounts post many
papers. Paper metadata has the shape of the real posts (bench/synthetic.py). Prints, for the
default papers_per_day (30) and the maximum (200): the build time, the requests to each
service, and the proof that arXiv's rule held (shortest gap between request starts, and the
violations the stand-in saw).

Run: .venv/bin/python -m bench.daybuild [POSTS PAPERS]   (default 5000 1500)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import sys
import time

import aiohttp

from bench.common import table
from bench.synthetic import WORDS, measure_shape
from bot.arxiv_api import ArxivApi
from bot.bluesky.appview import AppView
from bot.bluesky.builder import BuiltDay, DayBuilder
from bot.bluesky.days import DaySchedule
from bot.bluesky.posts import CollectedPost
from bot.config import BlueskyConfig
from bot.sandbox.appview import LocalAppView, StandInPost
from bot.sandbox.arxiv_api import LocalArxiv, StandInPaper

DATE = dt.date(2025, 6, 15)
UNKNOWN_SHARE = 0.20
WITHDRAWN_SHARE = 0.02
FEEDS = 6  # accounts that post a paper every few minutes
FEED_POSTS = 40


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < length:
        words.append(rng.choice(WORDS))
    return " ".join(words).capitalize() + "."


def world(
    posts: int, papers: int, seed: int = 11
) -> tuple[list[CollectedPost], list[StandInPost], list[StandInPaper], set[str]]:
    """The day's collected posts, the AppView's view of them, arXiv's papers and the ids
    withdrawn; a fifth of the linked ids are not among arXiv's papers."""
    rng = random.Random(seed)
    shape, _ = measure_shape()
    ids = [f"2506.{n:05d}" for n in range(1, papers + 1)]
    known = [i for i in ids if rng.random() >= UNKNOWN_SHARE]
    arxiv_papers = [
        StandInPaper(
            arxiv_id=i,
            title=_text(rng, rng.choice(shape.title_lengths)),
            abstract=_text(rng, rng.choice(shape.abstract_lengths)),
            authors=tuple(
                f"Author{rng.randrange(50000)} Name{rng.randrange(50000)}"
                for _ in range(rng.choice(shape.author_counts))
            ),
            categories=rng.choice(shape.category_lists),
        )
        for i in known
    ]
    withdrawn = {p.arxiv_id for p in arxiv_papers if rng.random() < WITHDRAWN_SHARE}
    start_us, end_us = DaySchedule().window(DATE)
    # Attention is heavy-tailed: a few papers draw most posts, most posts draw few likes.
    weights = [1 / (rank + 5) for rank in range(papers)]
    collected: list[CollectedPost] = []
    views: list[StandInPost] = []
    for n in range(posts):
        if n < FEEDS * FEED_POSTS:
            account = n % FEEDS
            linked = (ids[(n * 7) % papers],)
            likes, reposts = rng.randrange(3), 0
        else:
            account = FEEDS + rng.randrange(posts // 3)
            count = 1 if rng.random() < 0.9 else 2
            linked = tuple(dict.fromkeys(rng.choices(ids, weights, k=count)))
            likes = int(rng.paretovariate(1.2)) - 1
            reposts = likes // rng.randint(3, 8)
        did = f"did:plc:bench{account:06d}"
        rkey = f"3lb{n:07d}"
        time_us = start_us + rng.randrange(end_us - start_us)
        created = dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC)
        uri = f"at://{did}/app.bsky.feed.post/{rkey}"
        text = " ".join(f"https://arxiv.org/abs/{i}" for i in linked)
        collected.append(CollectedPost(uri, did, rkey, text, ("en",), created, time_us, linked))
        handle = f"user{account}.bsky.social"
        views.append(StandInPost(uri, did, handle, "", text, created, likes=likes, reposts=reposts))
    collected.sort(key=lambda p: (p.time_us, p.uri))
    return collected, views, arxiv_papers, withdrawn


async def measure(posts: int, papers: int, papers_per_day: int) -> dict[str, str]:
    collected, views, arxiv_papers, withdrawn = world(posts, papers)

    async def between(start_us: int, end_us: int) -> list[CollectedPost]:
        return [p for p in collected if start_us <= p.time_us < end_us]

    async with (
        LocalAppView(limit=3000, window=300) as appview,
        LocalArxiv(arxiv_papers, min_interval=3.0) as arxiv,
        aiohttp.ClientSession() as session,
    ):
        for view in views:
            appview.add_post(view)
        for arxiv_id in withdrawn:
            arxiv.withdraw(arxiv_id)
        builder = DayBuilder(
            between,
            AppView(session, appview.base_url),
            ArxivApi(session, arxiv.api_url, min_interval=3.0),
            BlueskyConfig(papers_per_day=papers_per_day),
        )
        started = time.perf_counter()
        built: BuiltDay = await builder.build(DATE)
        elapsed = time.perf_counter() - started
    report = built.report
    starts = [r.at for r in arxiv.requests]
    spaced = starts[-1] - starts[0] if starts else 0.0
    gap = arxiv.min_gap()
    return {
        "papers_per_day": str(papers_per_day),
        "build": f"{elapsed:.2f} s",
        "of it, arXiv spacing": f"{spaced:.2f} s",
        "posts / feeds": f"{report.posts} / {len(report.feeds)}",
        "ranked / listed": f"{report.ranked} / {report.listed}",
        "unknown / withdrawn": f"{len(report.unknown)} / {len(report.withdrawn)}",
        "AppView requests (429s)": f"{report.appview_requests} ({appview.rate_limited})",
        "arXiv requests": str(report.arxiv_requests),
        "arXiv min gap": "-" if gap is None else f"{gap:.3f} s",
        "violations": str(arxiv.violations),
    }


async def run(posts: int, papers: int) -> None:
    logging.getLogger("bot").setLevel(logging.ERROR)  # one line per dropped paper otherwise
    rows = [await measure(posts, papers, per_day) for per_day in (30, 200)]
    print(f"day build: {posts:,} linking posts, {papers:,} papers (3 s arXiv rule, real time)")
    print(table(list(rows[0]), [list(r.values()) for r in rows]))
    if any(r["violations"] != "0" for r in rows):
        sys.exit("arXiv's one-request-per-3-s rule was broken")


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:3]]
    asyncio.run(run(*(arguments or [5000, 1500])))
