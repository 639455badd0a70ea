"""Ingest benchmark: the real corpus into a fresh archive, then again unchanged.

Run: .venv/bin/python -m bench.ingest [CORPUS_DIR]   (default ../shared/corpus)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bot.ingest.files import find_posts, ingest_files
from bot.ingest.parser import parse_post
from bot.store import Store

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


async def run(corpus: Path) -> None:
    files, _ = find_posts([corpus])
    if not files:
        sys.exit(f"no posts under {corpus}")
    size = sum(f.stat().st_size for f in files)
    blobs = [f.read_bytes() for f in files]
    started = time.perf_counter()
    for f, blob in zip(files, blobs, strict=True):
        parse_post(blob, str(f))
    parse_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        async with await Store.open(Path(tmp) / "bench.sqlite3") as store:
            started = time.perf_counter()
            report = await ingest_files(store.archive, files)
            ingest_s = time.perf_counter() - started
            started = time.perf_counter()
            again = await ingest_files(store.archive, files)
            reingest_s = time.perf_counter() - started
    if report.rejected or again.unchanged != len(files):
        sys.exit(f"unexpected: {report.summary()} / {again.summary()}")
    rows = [
        ("posts", f"{len(files)}"),
        ("papers / tweets", f"{report.papers} / {report.tweets}"),
        ("corpus size", f"{size / 1e6:.2f} MB"),
        ("parse only", f"{parse_s:.3f} s"),
        ("ingest (parse + store)", f"{ingest_s:.3f} s"),
        ("ingest rate", f"{len(files) / ingest_s:.0f} posts/s, {size / 1e6 / ingest_s:.1f} MB/s"),
        ("re-ingest unchanged", f"{reingest_s:.3f} s"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    asyncio.run(run(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CORPUS))
