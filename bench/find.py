"""Finding papers with a 100,000-paper archive: the work of /search (query, ranking and the
first page rendered), /top over each period, the /author autocomplete and list, and the
/paper card with its related papers. Targets: /search and /top p99 < 50 ms, the /author
autocomplete p99 < 20 ms, /paper p99 < 20 ms.

The synthetic archive's text is drawn from a few dozen words (bench/synthetic.py), so every
word matches most papers: the worst case for ranking, and no related papers at all. The same
work is measured on the real corpus (../shared/corpus) when present, for text as it is.

Run: .venv/bin/python -m bench.find [PAPERS]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import archive_copy, percentile, table
from bench.synthetic import CORPUS, WORDS
from bot.ingest.files import find_posts, ingest_files
from bot.models import Listing
from bot.render import PAGE_SIZE, Renderer
from bot.store import Store
from bot.store.query import SearchQuery

SAMPLES = 300
PERIODS = {"day": 1, "week": 7, "month": 30, "year": 365, "all": None}

Timings = list[tuple[str, list[float]]]


async def timed(work: Callable[[], Awaitable[object]], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return times


class Bench:
    """The commands' work on one archive: store queries plus the first page rendered."""

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store = store
        self.rng = rng
        self.renderer = Renderer()

    async def load(self) -> None:
        async with (
            self.store.database.reading() as db,
            db.execute("SELECT arxiv_id, title, authors, categories FROM papers") as cursor,
        ):
            self.papers = [tuple(r) for r in await cursor.fetchall()]
        latest = await self.store.archive.latest_date()
        assert latest is not None
        self.latest = latest
        self.words = sorted({w.lower() for p in self.papers for w in p[1].split() if len(w) > 3})

    def query(self, kind: str) -> str:
        rng, words = self.rng, WORDS if len(self.papers) > 10_000 else self.words
        if kind == "common":
            return " ".join(rng.sample(words, rng.randint(1, 2)))
        if kind == "rare":  # a word of one author's name
            return rng.choice(rng.choice(self.papers)[2].strip('[]"').split('", "')[0].split())
        if kind == "phrase":
            title = rng.choice(self.papers)[1].split()
            start = rng.randrange(max(len(title) - 1, 1))
            return '"' + " ".join(title[start : start + 2]) + '"'
        return f"{rng.choice(words)} -{rng.choice(words)}"

    def filters(self, kind: str) -> dict[str, object]:
        chosen: dict[str, object] = {}
        if kind in ("category", "both"):
            categories = self.rng.choice(self.papers)[3].strip('[]"').split('", "')
            chosen["categories"] = (categories[0],) if categories[0] else ()
        if kind in ("dates", "both"):
            span = self.rng.choice((30, 365, 3650))
            until = self.latest - dt.timedelta(days=self.rng.randrange(4000))
            chosen["since"], chosen["until"] = until - dt.timedelta(days=span), until
        return chosen

    async def first_page(self, listing: Listing, ids: tuple[str, ...], **window: object) -> None:
        found = await self.store.archive.found(ids[:PAGE_SIZE], **window)  # type: ignore[arg-type]
        self.renderer.results_page(listing, found, 0)

    async def search(self, kind: str, filters: str) -> None:
        query = SearchQuery.parse(self.query(kind))
        chosen = self.filters(filters)
        found = await self.store.finder.search(query, **chosen)  # type: ignore[arg-type]
        listing = Listing("search", str(query), len(found.arxiv_ids), found.matched)
        window = {k: v for k, v in chosen.items() if k != "categories"}
        await self.first_page(listing, found.arxiv_ids, **window)

    async def top(self, period: str, category: bool) -> None:
        days = PERIODS[period]
        since = None if days is None else self.latest - dt.timedelta(days=days - 1)
        until = None if days is None else self.latest
        categories = self.filters("category")["categories"] if category else ()
        found = await self.store.finder.top(
            since=since,
            until=until,
            categories=categories,  # type: ignore[arg-type]
        )
        listing = Listing("top", period, len(found.arxiv_ids), found.hot)
        await self.first_page(listing, found.arxiv_ids, since=since, until=until)

    def typed_name(self) -> str:
        name = self.rng.choice(self.rng.choice(self.papers)[2].strip('[]"').split('", "'))
        part = self.rng.choice(name.split() or [""])
        return part[: self.rng.randint(1, max(len(part), 1))]

    async def author(self) -> None:
        name = self.rng.choice(self.rng.choice(self.papers)[2].strip('[]"').split('", "'))
        match = await self.store.finder.author(name)
        assert match is not None, name
        papers = await self.store.finder.author_papers(match.key)
        listing = Listing("author", match.name, len(papers.arxiv_ids), papers.papers)
        await self.first_page(listing, papers.arxiv_ids)

    async def paper(self) -> int:
        history = await self.store.archive.paper(self.rng.choice(self.papers)[0])
        assert history is not None
        related = await self.store.finder.related(history.paper)
        self.renderer.paper(history, related=related)
        return len(related)

    async def run(self, samples: int) -> Timings:
        await self.load()
        results: Timings = []
        every: list[float] = []
        for kind in ("common", "rare", "phrase", "negated"):
            for filters in ("none", "category", "dates", "both"):
                times = await timed(lambda k=kind, f=filters: self.search(k, f), samples // 4)
                results.append((f"/search {kind}, {filters}", times))
                every += times
        results.append(("/search, all of the above", every))
        every = []
        for period in PERIODS:
            for category in (False, True):
                times = await timed(lambda p=period, c=category: self.top(p, c), samples // 4)
                label = f"/top {period}{', a category' if category else ''}"
                results.append((label, times))
                every += times
        results.append(("/top, all of the above", every))
        results.append(("/author autocomplete", await timed(self._autocomplete, samples * 2)))
        results.append(("/author (lookup + list)", await timed(self.author, samples)))
        self.related_found = 0
        results.append(("/paper with related papers", await timed(self._paper, samples)))
        return results

    async def _autocomplete(self) -> None:
        await self.store.finder.authors(self.typed_name())

    async def _paper(self) -> None:
        self.related_found += await self.paper() > 0


def print_table(title: str, results: Timings) -> None:
    print(title)
    print(
        table(
            ("work", "p50 ms", "p99 ms", "max ms"),
            [
                (
                    name,
                    f"{percentile(t, 50) * 1000:.1f}",
                    f"{percentile(t, 99) * 1000:.1f}",
                    f"{max(t) * 1000:.1f}",
                )
                for name, t in results
            ],
        )
    )


async def run(papers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = await archive_copy(papers, Path(tmp) / "find.sqlite3")
        started = time.perf_counter()
        async with await Store.open(path) as store:
            opened = time.perf_counter() - started
            bench = Bench(store, random.Random(5))
            results = await bench.run(SAMPLES)
        print_table(
            f"{papers:,} synthetic papers (opened in {opened:.1f} s);"
            f" related papers found for {bench.related_found} of {SAMPLES} cards",
            results,
        )
        files, _ = find_posts([CORPUS]) if CORPUS.is_dir() else ([], [])
        if not files:
            print(f"\nno corpus at {CORPUS}: the real-text figures are left out")
            return
        async with await Store.open(Path(tmp) / "corpus.sqlite3") as store:
            await ingest_files(store.archive, files)
            count = (await store.archive.counts())[1]
            bench = Bench(store, random.Random(5))
            results = await bench.run(SAMPLES)
        print()
        print_table(
            f"the corpus: {len(files)} posts, {count:,} papers; related papers found for"
            f" {bench.related_found} of {SAMPLES} cards",
            results,
        )


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
