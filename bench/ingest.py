"""Ingest benchmark: `hotpapers ingest` of the real corpus into a new archive, as a whole
process, side by side with a bare parse of the same posts (bench/bare_parse.py: regular
expressions and JSON, nothing else); then the in-process figures.

The two processes run alternately, several rounds, so that both see the same machine; the
ratio of their medians is the figure to hold (target: at most 1.5). Before timing, the bare
parse is checked to find the very papers and tweets that the ingest stores.

Run: .venv/bin/python -m bench.ingest [CORPUS_DIR] [--rounds N]   (default ../shared/corpus, 5)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.ingest.files import find_posts, ingest_files
from bot.ingest.parser import parse_post
from bot.store import Store

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
BARE_PARSE = Path(__file__).resolve().with_name("bare_parse.py")
TARGET_RATIO = 1.5


def hotpapers() -> list[str]:
    """The installed `hotpapers` command beside this Python, else `python -m bot`."""
    script = Path(sys.executable).with_name("hotpapers")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def ingest_command(corpus: Path, db: Path) -> list[str]:
    return [*hotpapers(), "ingest", "--db", str(db), str(corpus)]


def bare_command(corpus: Path) -> list[str]:
    return [sys.executable, str(BARE_PARSE), str(corpus)]


def timed(command: Sequence[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


async def stored(db: Path) -> list[tuple[str, str, int]]:
    """(day, arXiv id, tweets) of every paper the archive lists, by day and rank."""
    found = []
    async with await Store.open(db) as store:
        for summary in await store.archive.days():
            day = await store.archive.day(summary.date)
            assert day is not None
            found += [(str(day.date), p.paper.arxiv_id, len(p.tweets)) for p in day.papers]
    return found


async def check_bare_parse(corpus: Path, work: Path) -> tuple[int, int]:
    """Run both once: the bare parse must find what the ingest stored, paper for paper and
    tweet for tweet, or its time says nothing. Returns (papers, tweets)."""
    db = work / "check.sqlite3"
    ingest = subprocess.run(  # noqa: ASYNC221 - a check before timing
        ingest_command(corpus, db), capture_output=True, text=True, check=False
    )
    if ingest.returncode != 0:
        sys.exit(f"hotpapers ingest failed ({ingest.returncode}):\n{ingest.stderr}")
    summary = ingest.stdout.splitlines()[0]  # posts: ...; papers: N; tweets: N
    counts = dict(part.split(": ") for part in summary.split("; ")[1:])
    papers, tweets = int(counts["papers"]), int(counts["tweets"])
    bare = subprocess.run(  # noqa: ASYNC221 - a check before timing
        bare_command(corpus), capture_output=True, check=True
    )
    posts = json.loads(bare.stdout)
    found = sorted(
        (post["date"], paper["arxiv_id"], len(paper["tweets"]))
        for post in posts
        for paper in post.get("papers", [])
    )
    if (len(found), sum(n for _, _, n in found)) != (papers, tweets):
        sys.exit(
            f"dishonest bare parse: {len(found)} papers, {sum(n for _, _, n in found)} tweets; "
            f"hotpapers ingest: {summary}"
        )
    if found != sorted(await stored(db)):
        sys.exit("dishonest bare parse: not the papers and tweets that hotpapers ingest stored")
    return papers, tweets


def spread(samples: Sequence[float]) -> str:
    return f"median {statistics.median(samples):.3f} s, min {min(samples):.3f} s"


async def in_process(corpus: Path, files: list[Path]) -> list[tuple[str, str]]:
    """Parsing alone, then ingesting and re-ingesting, inside this one process."""
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
    return [
        ("parse only", f"{parse_s:.3f} s"),
        ("ingest (parse + store)", f"{ingest_s:.3f} s"),
        ("ingest rate", f"{len(files) / ingest_s:.0f} posts/s, {size / 1e6 / ingest_s:.1f} MB/s"),
        ("re-ingest unchanged", f"{reingest_s:.3f} s"),
    ]


async def run(corpus: Path, rounds: int) -> None:
    files, _ = find_posts([corpus])
    if not files:
        sys.exit(f"no posts under {corpus}")
    size = sum(f.stat().st_size for f in files)
    bare_s: list[float] = []
    ingest_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        papers, tweets = await check_bare_parse(corpus, work)
        for number in range(rounds):
            bare_s.append(timed(bare_command(corpus)))
            ingest_s.append(timed(ingest_command(corpus, work / f"round-{number}.sqlite3")))
    ratio = statistics.median(ingest_s) / statistics.median(bare_s)
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    rows = [
        ("posts", f"{len(files)}"),
        ("papers / tweets", f"{papers} / {tweets}"),
        ("corpus size", f"{size / 1e6:.2f} MB"),
        (f"bare parse, process ({rounds} rounds)", spread(bare_s)),
        ("hotpapers ingest, process", spread(ingest_s)),
        (
            "ingest / bare parse",
            f"{ratio:.2f} (medians), {min(ingest_s) / min(bare_s):.2f} (mins); "
            f"target <= {TARGET_RATIO}: {verdict}",
        ),
        *await in_process(corpus, files),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds of each (5)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    asyncio.run(run(args.corpus, args.rounds))


if __name__ == "__main__":
    main()
