"""Lookup latency with a 100,000-paper archive: the /paper work (archive query + rendering)
and the /paper and /subscribe autocompletes. Discord allows 3 s; the target is p99 < 20 ms.

Run: .venv/bin/python -m bench.lookups [PAPERS]
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from bench.common import archive_copy, percentile, table
from bot import taxonomy
from bot.render import Renderer
from bot.store import Store

SAMPLES = 2000


async def run(papers: int) -> None:
    rng = random.Random(3)
    renderer = Renderer()
    with tempfile.TemporaryDirectory() as tmp:
        path = await archive_copy(papers, Path(tmp) / "lookups.sqlite3")
        async with await Store.open(path) as store:
            async with (
                store.database.reading() as db,
                db.execute("SELECT arxiv_id, title FROM papers") as cursor,
            ):
                rows = [(r[0], r[1]) for r in await cursor.fetchall()]
            results = []

            paper_times = []
            for arxiv_id, _ in rng.sample(rows, SAMPLES):
                started = time.perf_counter()
                history = await store.archive.paper(arxiv_id)
                assert history is not None
                renderer.paper(history)
                paper_times.append(time.perf_counter() - started)
            results.append(("/paper (query + render)", paper_times))

            id_times = []
            for arxiv_id, _ in rng.sample(rows, SAMPLES):
                prefix = arxiv_id[: rng.randint(2, len(arxiv_id))]
                started = time.perf_counter()
                await store.archive.search(prefix, limit=25)
                id_times.append(time.perf_counter() - started)
            results.append(("/paper autocomplete, id prefix", id_times))

            word_times = []
            for _, title in rng.sample(rows, SAMPLES):
                word = rng.choice(title.split())[: rng.randint(2, 8)]
                started = time.perf_counter()
                await store.archive.search(word, limit=25)
                word_times.append(time.perf_counter() - started)
            results.append(("/paper autocomplete, title word", word_times))

            empty_times = []
            for _ in range(200):
                started = time.perf_counter()
                await store.archive.search("", limit=25)
                empty_times.append(time.perf_counter() - started)
            results.append(("/paper autocomplete, empty", empty_times))

    codes = [*taxonomy.CATEGORIES, "vision", "quantum", "cs", "stat", "math.", "xx"]
    subscribe_times = []
    for _ in range(SAMPLES):
        query = rng.choice(codes)[: rng.randint(0, 6)]
        started = time.perf_counter()
        taxonomy.autocomplete(query)
        subscribe_times.append(time.perf_counter() - started)
    results.append(("/subscribe autocomplete", subscribe_times))

    print(f"{papers:,} papers, {SAMPLES} samples each")
    print(
        table(
            ("operation", "p50 ms", "p99 ms", "max ms"),
            [
                (
                    name,
                    f"{percentile(t, 50) * 1000:.2f}",
                    f"{percentile(t, 99) * 1000:.2f}",
                    f"{max(t) * 1000:.2f}",
                )
                for name, t in results
            ],
        )
    )


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
