"""Faults the bot must survive without losing or doubling anything; quick versions.

* SIGKILL at random moments: 200 channels get one big day while `hotpapers run` is killed
  three times (seeded), at the moment the K-th message is stored or at a random moment while
  it posts, and restarted each time; every channel must end with exactly its digest.
* A flaky Discord: 10 % of message posts answered 500 (half of them after storing the
  message) and 5 % 429, at random (seeded), while 40 channels get their digests in-process;
  every digest must arrive exactly once and in order, the 500s-after-storing deduplicated by
  the messages' nonces.
* Bad files in the watched folder: corrupt, truncated and half-written posts among good
  ones, polled by ``DirectorySource``: each bad one reported once (``path:line: reason``),
  the good ones stored, a stored day kept when its file is overwritten by a corrupt version,
  a half-written file stored once complete.

The long versions are ``python -m bench.faults kill9|chaos|posts``.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import random
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from bot.config import DiscordConfig
from bot.ingest import sources as sources_module
from bot.ingest.files import IngestReport
from bot.ingest.parser import ParseError, parse_post
from bot.ingest.sources import DirectorySource
from bot.samples import sample_posts
from bot.store import Store
from tests.support.chaos import deliver_through_chaos, prepare_view
from tests.support.fake_discord import FakeDiscord
from tests.support.harness import database_path
from tests.support.posts import (
    as_archived,
    as_latin1,
    binary_junk,
    mid_line_cut,
    retitled,
    without_line,
)
from tests.support.processes import (
    DAY_A,
    STORED,
    TIMED,
    Expected,
    Layout,
    assert_exact_digests,
    expected_digests,
    ledger,
    make_channels,
    prepare,
    run_with_kills,
    subscribe_all,
    total_messages,
)
from tests.support.real_posts import corpus_posts

PER_SECOND = DiscordConfig().requests_per_second  # the bot's pacing of digest posts
BIG = Layout(channels=make_channels(200), days=(DAY_A,))
FLAKY = Layout(channels=make_channels(40), days=(DAY_A,))


@pytest.fixture(scope="module")
def expected(tmp_path_factory: pytest.TempPathFactory) -> Expected:
    """What `hotpapers digest --json` gives each of BIG's channels (FLAKY's are among them)."""
    return expected_digests(BIG, tmp_path_factory.mktemp("expected"))


# ---------------------------------------------------------------------------------------------
# SIGKILL at random moments
# ---------------------------------------------------------------------------------------------


def kill_plan(rng: random.Random, count: int) -> list[str]:
    """``count`` kills, both kinds among them, in a random order."""
    kinds = [STORED, TIMED] + [rng.choice((STORED, TIMED)) for _ in range(count - 2)]
    rng.shuffle(kinds)
    return kinds


async def test_killed_three_times_at_random_points_200_channels(
    fake_discord: FakeDiscord, tmp_path: Path, expected: Expected
) -> None:
    rng = random.Random(9)
    setup = prepare(fake_discord, tmp_path, BIG)
    await subscribe_all(setup)
    plan = kill_plan(rng, 3)

    run = await run_with_kills(setup, expected, plan, rng, per_second=PER_SECOND)

    total = total_messages(expected, BIG, BIG.days)
    assert run.total == total >= 2 * len(BIG.channels)  # several messages for many channels
    assert [k.kind for k in run.kills] == plan
    assert run.starts == len(plan) + 1
    for kill in run.kills:
        assert kill.status == -signal.SIGKILL, kill
        # Mid-delivery: this process had posted something and the day was not done.
        assert kill.began_at < kill.died_at < total, kill
        assert kill.unsent_rows > 0, kill
    assert [k.began_at for k in run.kills[1:]] == [k.died_at for k in run.kills[:-1]]
    assert_exact_digests(setup, BIG.days, expected)
    # A message stored as its process died was sent again by the next one with the same
    # nonce: Discord answered with the stored message instead of posting it twice.
    assert fake_discord.nonce_hits >= plan.count(STORED)


# ---------------------------------------------------------------------------------------------
# A flaky Discord: 500s and 429s at random
# ---------------------------------------------------------------------------------------------


async def test_flaky_discord_every_digest_exactly_once(
    fake_discord: FakeDiscord, tmp_path: Path, expected: Expected
) -> None:
    run = await deliver_through_chaos(fake_discord, tmp_path, FLAKY, seed=4)

    counts = run.failures.counts
    assert counts["500"] >= 1
    assert counts["500 after storing"] >= 1
    assert counts["429"] >= 1
    parts = total_messages(expected, FLAKY, FLAKY.days)
    # Each message posted once: every request either failed as injected or was answered
    # with the message, and each 500-after-storing was answered again later from the nonce.
    assert run.posts == parts + run.injected
    assert fake_discord.nonce_hits == counts["500 after storing"]
    rows = ledger(database_path(tmp_path))
    assert {status for status, _, _ in rows.values()} == {"sent"}
    setup = prepare_view(fake_discord, tmp_path, FLAKY)
    assert_exact_digests(setup, FLAKY.days, expected)


# ---------------------------------------------------------------------------------------------
# Bad files in the watched folder
# ---------------------------------------------------------------------------------------------

NOW = 1_700_000_000.0
SETTLE = 2.0


def parse_error(data: bytes, path: Path) -> str:
    """``path:line: reason`` as the parser rejects ``data``; fails if it parses."""
    with pytest.raises(ParseError) as caught:
        parse_post(data, str(path))
    return str(caught.value)


class Folder:
    """A watched folder with a settable clock, polled by a DirectorySource over ``store``."""

    def __init__(self, store: Store, path: Path) -> None:
        self.path = path
        path.mkdir()
        self.now = NOW
        self.source = DirectorySource(store.archive, path, SETTLE, clock=lambda: self.now)
        self.reported: list[str] = []

    def put(self, name: str, data: bytes, *, age: float = 60.0) -> Path:
        """Write ``name``, last modified ``age`` seconds ago (0: being written now)."""
        target = self.path / name
        target.write_bytes(data)
        os.utime(target, (self.now - age, self.now - age))
        return target

    async def poll(self, advance: float = 1.0) -> IngestReport:
        self.now += advance
        report = await self.source.poll()
        self.reported += [str(r) for r in report.rejected]
        return report


def stored_dates(report: IngestReport) -> list[str]:
    return sorted(day.date.isoformat() for day in report.stored_days)


async def assert_stored(store: Store, posts: dict[str, bytes]) -> None:
    """The archive holds exactly these days (date → post bytes), each as the parser reads it
    (a paper on several days with the newest day's metadata)."""
    summaries = await store.archive.days()
    assert [s.date.isoformat() for s in summaries] == sorted(posts)
    wanted = as_archived([parse_post(data) for data in posts.values()])
    for date in posts:
        day = dt.date.fromisoformat(date)
        assert wanted[day].date == day
        assert await store.archive.day(day) == wanted[day], date


async def test_bad_posts_among_good_ones(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(5)
    reads: list[str] = []
    read_file = sources_module.read_post_file

    def spy(path: Path, *args: Any) -> tuple[bytes, tuple[int, int]]:
        reads.append(path.name)
        return read_file(path, *args)

    monkeypatch.setattr(sources_module, "read_post_file", spy)
    samples = {p.name[:10]: p.read_bytes() for p in sample_posts()}
    corpus = {p.name[:10]: p.read_bytes() for p in corpus_posts()[:3]}
    good = {**samples, **corpus}
    folder = Folder(store, tmp_path / "posts")
    for date, data in good.items():
        folder.put(f"{date}---Hot-Papers.md", data)

    march_5, march_15, march_24 = (
        samples["2021-03-05"],
        samples["2021-03-15"],
        samples["2021-03-24"],
    )
    bad = {
        "truncated.md": mid_line_cut(march_15, 0.6),
        "junk.md": binary_junk(rng),
        "latin-1.md": as_latin1(march_5),
        "deleted-line.md": without_line(march_24, rng),
        "spliced-junk.md": march_24[:5000] + b"\x00\xff\xfe junk \x00" + march_24[5000:],
    }
    for name, data in bad.items():
        folder.put(name, data)
    # Two posts of new days whose writers are not done: one still writing (modified just
    # now), one stalled for longer than the settle time (so it is read, and rejected).
    writing = retitled(march_5.decode(), "2021-04-01").encode()
    stalled = retitled(march_15.decode(), "2021-04-02").encode()
    folder.put("2021-04-01---Hot-Papers.md", mid_line_cut(writing, 0.3), age=0)
    folder.put("2021-04-02---Hot-Papers.md", mid_line_cut(stalled, 0.5))
    truncated = "the post ends without the blank line that closes every post; it looks truncated"
    nul = "binary data (NUL byte); expected a UTF-8 Markdown post"
    expected_reports = [
        f"{folder.path / name}:{line}: {reason}"
        for name, line, reason in (
            ("truncated.md", 118, truncated),
            ("junk.md", 1, nul),
            ("latin-1.md", 20, "not valid UTF-8 (byte 0xeb); expected a UTF-8 Markdown post"),
            (
                "deleted-line.md",
                234,
                "paper 13 has no arXiv link; expected '- links: [abs](https://arxiv.org/abs/ID)"
                " | [pdf](...)', found '- [cs.CV](https://arxiv.org/list/cs.CV/recent)'",
            ),
            ("spliced-junk.md", 61, nul),
            ("2021-04-02---Hot-Papers.md", 101, truncated),
        )
    ]
    # ... which is what the parser says of each.
    assert expected_reports == [
        parse_error(data, folder.path / name)
        for name, data in [*bad.items(), ("2021-04-02---Hot-Papers.md", mid_line_cut(stalled, 0.5))]
    ]

    first = await folder.poll(advance=0.5)
    assert (first.new, first.updated) == (len(good), 0)
    assert stored_dates(first) == sorted(good)
    assert sorted(folder.reported) == sorted(expected_reports)
    await assert_stored(store, good)

    # Nothing new: nothing stored, nothing reported again, even for a bad file touched.
    os.utime(folder.path / "junk.md", (folder.now, folder.now))
    del reads[:]
    for _ in range(2):
        again = await folder.poll(advance=0.5)
        assert (again.new, again.updated, again.rejected) == (0, 0, [])

    # The writers go on, then finish: each file is stored once complete and settled.
    folder.put("2021-04-01---Hot-Papers.md", mid_line_cut(writing, 0.7), age=0)
    assert (await folder.poll(advance=0.5)).stored_days == []
    folder.put("2021-04-01---Hot-Papers.md", writing, age=0)
    folder.put("2021-04-02---Hot-Papers.md", stalled, age=0)
    assert (await folder.poll(advance=0.5)).stored_days == []
    done = await folder.poll(advance=SETTLE)
    assert (done.new, stored_dates(done), done.rejected) == (2, ["2021-04-01", "2021-04-02"], [])
    # The touched junk.md was read again once settled, and not reported: same content.
    assert sorted(reads) == ["2021-04-01---Hot-Papers.md", "2021-04-02---Hot-Papers.md", "junk.md"]
    good |= {"2021-04-01": writing, "2021-04-02": stalled}

    # A stored day's file overwritten by a corrupt version: reported once, the day kept.
    overwritten = folder.path / "2021-03-15---Hot-Papers.md"
    broken = mid_line_cut(march_15, 0.4)
    folder.put(overwritten.name, broken)
    replaced = await folder.poll()
    assert (replaced.new, replaced.updated) == (0, 0)
    assert [str(r) for r in replaced.rejected] == [parse_error(broken, overwritten)]
    assert (await folder.poll()).rejected == []
    await assert_stored(store, good)

    # Every bad content reported exactly once over all the polls.
    counted = collections.Counter(folder.reported)
    assert set(counted.values()) == {1}
    assert len(counted) == len(bad) + 2
    assert all(isinstance(r, str) and re.match(r".+:\d+: .+", r) for r in counted)
