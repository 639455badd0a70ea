"""Fault runs, the long versions of tests/e2e/test_faults.py. Target: nothing lost, nothing twice.

* ``kill9``: `hotpapers run` as a process posts two big days to 200 channels and is SIGKILLed
  at 24 random moments (seeded: the moment the K-th message is stored, or a random time while
  it posts) and restarted each time. Target: 0 duplicates, 0 misses, every ledger row sent.
* ``chaos``: the bot in-process posts a big day to 200 channels while the fake Discord answers
  10 % of message posts 500 (half of them after storing the message) and 5 % 429, at random
  (one run per seed). Target: every digest exactly once, in order.
* ``posts``: the 126 corpus posts (or the 3 bundled ones without it) written into a watched
  folder in random order, about a quarter of them corrupted (truncated, binary junk, Latin-1,
  deleted lines) or half-written and completed later, while ``poll_sources`` polls a
  ``DirectorySource`` as the bot does; then the broken ones are published again intact.
  Target: each bad file reported once, every post stored as ``parse_post`` reads it.

Run: .venv/bin/python -m bench.faults kill9 [--kills 24] [--channels 200] [--seed 1]
     .venv/bin/python -m bench.faults chaos [--channels 200] [--seeds 1 2 3]
     .venv/bin/python -m bench.faults posts [--seed 1] [--share 0.25] [CORPUS_DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import logging
import random
import tempfile
import time
from pathlib import Path

from bench.common import table
from bot.config import DiscordConfig
from bot.ingest.parser import ParseError, parse_post
from bot.ingest.sources import DirectorySource, poll_sources
from bot.samples import sample_posts
from bot.store import Store
from tests.support.chaos import deliver_through_chaos, prepare_view
from tests.support.fake_discord import FakeDiscord, point_discord_at
from tests.support.posts import as_archived, as_latin1, binary_junk, without_line
from tests.support.processes import (
    DAY_A,
    DAY_B,
    STORED,
    TIMED,
    Layout,
    expected_digests,
    make_channels,
    prepare,
    run_with_kills,
    subscribe_all,
    tally,
    total_messages,
)

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PER_SECOND = DiscordConfig().requests_per_second


def verdict(ok: bool) -> str:
    return "ok" if ok else "FAILED"


# ---------------------------------------------------------------------------------------------
# kill9
# ---------------------------------------------------------------------------------------------


async def kill9(channels: int, kills: int, seed: int) -> bool:
    rng = random.Random(seed)
    layout = Layout(channels=make_channels(channels), days=(DAY_A, DAY_B))
    plan = [STORED, TIMED] + [rng.choice((STORED, TIMED)) for _ in range(kills - 2)]
    rng.shuffle(plan)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "expected").mkdir()
        expected = await asyncio.to_thread(expected_digests, layout, work / "expected")
        fake = FakeDiscord()
        await fake.start()
        try:
            setup = prepare(fake, work, layout)
            await subscribe_all(setup)
            error = ""
            try:
                run = await run_with_kills(setup, expected, plan, rng, per_second=PER_SECOND)
            except AssertionError as exc:  # counted below, not hidden
                error = str(exc)
                run = None
            result = tally(setup, layout.days, expected)
            nonce_hits = fake.nonce_hits
            problems = len(fake.schema_problems) + len(fake.unknown_requests)
        finally:
            await fake.stop()
    total = total_messages(expected, layout, layout.days)
    if run is not None:
        rows = [
            (
                i + 1,
                k.kind,
                k.began_at,
                k.died_at,
                k.died_at - k.began_at,
                k.unsent_rows,
                k.status,
            )
            for i, k in enumerate(run.kills)
        ]
        print(
            table(
                ("kill", "how", "msgs at start", "msgs at death", "posted", "unsent rows", "exit"),
                rows,
            )
        )
        print()
    mid = run is not None and all(
        k.began_at < k.died_at < total and k.unsent_rows > 0 for k in run.kills
    )
    ok = (
        run is not None
        and (result.duplicates, result.misses, result.wrong, result.unsent, problems)
        == (0, 0, 0, 0, 0)
        and mid
    )
    print(
        table(
            (
                "channels",
                "days",
                "messages",
                "kills (stored/timed)",
                "all mid-delivery",
                "starts",
                "duplicates",
                "misses",
                "out of order",
                "ledger not sent",
                "nonce hits",
                "seconds",
                "result",
            ),
            [
                (
                    channels,
                    len(layout.days),
                    total,
                    f"{len(plan)} ({plan.count(STORED)}/{plan.count(TIMED)})",
                    "yes" if mid else "no",
                    run.starts if run else "?",
                    result.duplicates,
                    result.misses,
                    result.wrong,
                    result.unsent,
                    nonce_hits,
                    f"{run.seconds:.1f}" if run else "?",
                    verdict(ok),
                )
            ],
        )
    )
    if error:
        print(f"run stopped: {error}")
    return ok


# ---------------------------------------------------------------------------------------------
# chaos
# ---------------------------------------------------------------------------------------------


async def chaos(channels: int, seeds: list[int]) -> bool:
    layout = Layout(channels=make_channels(channels), days=(DAY_A,))
    rows = []
    all_ok = True
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "expected").mkdir()
        expected = await asyncio.to_thread(expected_digests, layout, Path(tmp) / "expected")
        total = total_messages(expected, layout, layout.days)
        for seed in seeds:
            work = Path(tmp) / f"seed-{seed}"
            work.mkdir()
            fake = FakeDiscord()
            await fake.start()
            undo = point_discord_at(fake)
            try:
                run = await deliver_through_chaos(fake, work, layout, seed=seed, runs=5000)
                result = tally(prepare_view(fake, work, layout), layout.days, expected)
                problems = len(fake.schema_problems) + len(fake.unknown_requests)
            finally:
                undo()
                await fake.stop()
            counts = run.failures.counts
            ok = (
                (result.duplicates, result.misses, result.wrong, result.unsent, problems)
                == (0, 0, 0, 0, 0)
                and run.posts == total + run.injected
                and fake.nonce_hits == counts["500 after storing"]
            )
            all_ok &= ok
            rows.append(
                (
                    seed,
                    channels,
                    total,
                    run.posts,
                    counts["500"],
                    counts["500 after storing"],
                    counts["429"],
                    fake.nonce_hits,
                    run.retried,
                    result.duplicates,
                    result.misses,
                    result.wrong,
                    f"{run.seconds:.1f}",
                    verdict(ok),
                )
            )
    print("10 % 500 (half after storing), 5 % 429 on POST /channels/{id}/messages")
    print(
        table(
            (
                "seed",
                "channels",
                "messages",
                "POSTs",
                "500",
                "500 after storing",
                "429",
                "nonce hits",
                "deliverer retries",
                "duplicates",
                "misses",
                "out of order",
                "seconds",
                "result",
            ),
            rows,
        )
    )
    return all_ok


# ---------------------------------------------------------------------------------------------
# posts
# ---------------------------------------------------------------------------------------------

POLL_SECONDS = 0.25
SETTLE_SECONDS = 1.0
KINDS = ("truncated", "binary junk", "latin-1", "deleted lines", "half-written")


def corrupt(kind: str, data: bytes, rng: random.Random) -> bytes:
    if kind == "truncated":  # cut at any byte
        return data[: rng.randint(len(data) // 10, len(data) * 9 // 10)]
    if kind == "binary junk":  # a run of random bytes over part of the post, or all of it
        if rng.random() < 0.3:
            return binary_junk(rng, rng.randint(1, 64 * 1024))
        at = rng.randrange(len(data))
        junk = binary_junk(rng, rng.randint(1, 512))
        return data[:at] + junk + data[at + len(junk) :]
    if kind == "latin-1":
        return as_latin1(data)
    if kind == "deleted lines":
        for _ in range(rng.randint(1, 3)):
            data = without_line(data, rng)
        return data
    raise ValueError(kind)


@dataclasses.dataclass
class Arrival:
    path: Path
    good: bytes
    kind: str  # "good" or one of KINDS
    first: bytes  # what is written first
    pause: float = 0.0  # half-written: seconds before the rest is written
    completed_at: float = 0.0


def has_latin1(data: bytes) -> bool:
    return any(0x80 <= ord(c) <= 0xFF for c in data.decode("utf-8"))


def plan_arrivals(
    posts: list[Path], folder: Path, share: float, rng: random.Random
) -> list[Arrival]:
    order = list(posts)
    rng.shuffle(order)
    bad = set(rng.sample(range(len(order)), max(1, round(share * len(order)))))
    arrivals = []
    for index, post in enumerate(order):
        good = post.read_bytes()
        path = folder / post.name
        if index not in bad:
            arrivals.append(Arrival(path, good, "good", good))
            continue
        kind = rng.choice(KINDS)
        if kind == "latin-1" and not has_latin1(good):
            kind = rng.choice([k for k in KINDS if k != "latin-1"])
        if kind == "half-written":
            cut = rng.randint(len(good) // 10, len(good) * 9 // 10)
            # Some writers stall longer than the settle time: the part is read and rejected.
            pause = rng.uniform(0.1, 2.5 * SETTLE_SECONDS)
            arrivals.append(Arrival(path, good, kind, good[:cut], pause))
        else:
            arrivals.append(Arrival(path, good, kind, corrupt(kind, good, rng)))
    return arrivals


def parses(data: bytes) -> bool:
    try:
        parse_post(data)
    except ParseError:
        return False
    return True


async def write_all(arrivals: list[Arrival], rng: random.Random) -> None:
    """Write the posts in order, a few ms apart; half-written ones are finished later."""

    async def finish(arrival: Arrival) -> None:
        await asyncio.sleep(arrival.pause)
        with arrival.path.open("ab") as out:
            out.write(arrival.good[len(arrival.first) :])
        arrival.completed_at = time.monotonic()

    finishing = []
    for arrival in arrivals:
        arrival.path.write_bytes(arrival.first)
        if arrival.kind == "half-written":
            finishing.append(asyncio.create_task(finish(arrival)))
        await asyncio.sleep(rng.uniform(0, 0.03))
    await asyncio.gather(*finishing)


async def poll_while(source: DirectorySource, done: asyncio.Event, reports: list[str]) -> int:
    """``poll_sources`` every POLL_SECONDS, as the bot's poll job does, until the last file
    written before ``done`` has settled and been polled twice; returns the polls made."""
    polls = 0
    quiet_until: float | None = None
    while quiet_until is None or time.monotonic() < quiet_until:
        report = await poll_sources([source])
        reports += [str(r) for r in report.rejected]
        polls += 1
        if quiet_until is None and done.is_set():
            quiet_until = time.monotonic() + SETTLE_SECONDS + 2 * POLL_SECONDS
        await asyncio.sleep(POLL_SECONDS)
    return polls


async def posts(corpus: Path, share: float, seed: int) -> bool:
    rng = random.Random(seed)
    files = sorted(corpus.glob("*.md")) if corpus.is_dir() else []
    if not files:
        print(f"no corpus at {corpus}: using the {len(sample_posts())} bundled posts")
        files = sample_posts()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "posts"
        folder.mkdir()
        arrivals = plan_arrivals(files, folder, share, rng)
        started = time.perf_counter()
        async with await Store.open(Path(tmp) / "bot.sqlite3") as store:
            source = DirectorySource(store.archive, folder, SETTLE_SECONDS)
            reports: list[str] = []
            done = asyncio.Event()

            async def writer() -> None:
                await write_all(arrivals, rng)
                done.set()

            writing = asyncio.create_task(writer())
            polls = await poll_while(source, done, reports)
            await writing
            first_days = {s.date for s in await store.archive.days()}
            first_reports = list(reports)
            # The publisher notices and publishes the broken posts again, intact.
            done.clear()
            for arrival in arrivals:
                if arrival.kind not in ("good", "half-written"):
                    arrival.path.write_bytes(arrival.good)
            done.set()
            polls += await poll_while(source, done, reports)
            stored = {s.date: s for s in await store.archive.days()}
            wanted = as_archived([parse_post(a.good) for a in arrivals])
            final: dict[str, bool] = {}
            for arrival in arrivals:
                want = wanted[parse_post(arrival.good).date]
                final[str(arrival.path)] = await store.archive.day(want.date) == want
            verified = sum(final.values())
            mismatched = len(final) - verified
        seconds = time.perf_counter() - started

    per_path = collections.Counter(r.split(":", 1)[0] for r in first_reports)
    repeated = sum(1 for n in collections.Counter(reports).values() if n > 1)
    dates = {parse_post(a.good).date for a in arrivals}
    ok = mismatched == 0 and repeated == 0 and set(stored) == dates
    rows = []
    for kind in ("good", *KINDS):
        group = [a for a in arrivals if a.kind == kind]
        if not group:
            continue
        stored_first = sum(1 for a in group if parse_post(a.good).date in first_days)
        rejected = sum(1 for a in group if per_path[str(a.path)])
        reported_once = sum(1 for a in group if per_path[str(a.path)] == 1)
        parsed_anyway = sum(1 for a in group if kind != "good" and parses(a.first))
        exact = sum(1 for a in group if final[str(a.path)])
        if kind == "good":
            ok &= (rejected, stored_first) == (0, len(group))
        elif kind == "half-written":  # rejected only if read while incomplete; stored once done
            ok &= rejected == reported_once and stored_first == len(group)
        else:  # a corrupt post that still parses is stored as it is, to be updated later
            ok &= rejected == reported_once == len(group) - parsed_anyway
            ok &= stored_first == parsed_anyway
        ok &= exact == len(group)
        rows.append((kind, len(group), rejected, reported_once, stored_first, parsed_anyway, exact))
    print(
        f"{len(arrivals)} posts from {files[0].parent}, {share:.0%} bad (seed {seed}); "
        f"settle {SETTLE_SECONDS} s, polled every {POLL_SECONDS} s; phase 1: they arrive, "
        "phase 2: the bad ones are published again intact"
    )
    print(
        table(
            (
                "arrived as",
                "posts",
                "rejected",
                "reported once",
                "stored in phase 1",
                "bad part parses",
                "stored correctly at the end",
            ),
            rows,
        )
    )
    print()
    print(
        table(
            (
                "posts",
                "days stored",
                "stored day == parse_post",
                "differs",
                "reports",
                "repeated reports",
                "polls",
                "seconds",
                "result",
            ),
            [
                (
                    len(arrivals),
                    len(stored),
                    verified,
                    mismatched,
                    len(reports),
                    repeated,
                    polls,
                    f"{seconds:.1f}",
                    verdict(ok),
                )
            ],
        )
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    k = commands.add_parser("kill9", help="SIGKILL the bot process at random moments")
    k.add_argument("--channels", type=int, default=200)
    k.add_argument("--kills", type=int, default=24)
    k.add_argument("--seed", type=int, default=1)
    c = commands.add_parser("chaos", help="random 500s and 429s from Discord")
    c.add_argument("--channels", type=int, default=200)
    c.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p = commands.add_parser("posts", help="corrupt and half-written posts in the folder")
    p.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--share", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the bot's warnings are what is being tested
    if args.command == "kill9":
        if args.kills < 2:
            parser.error("--kills must be at least 2")
        ok = asyncio.run(kill9(args.channels, args.kills, args.seed))
    elif args.command == "chaos":
        ok = asyncio.run(chaos(args.channels, args.seeds))
    else:
        ok = asyncio.run(posts(args.corpus, args.share, args.seed))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
