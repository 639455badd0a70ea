"""Finding post files and ingesting them into the archive, as `hotpapers ingest` does."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
import sqlite3
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.ingest import files as files_module
from bot.ingest.files import (
    PostTooLarge,
    Rejection,
    content_hash,
    find_posts,
    ingest_files,
    read_post,
)
from bot.models import Day
from bot.models_json import paper_json
from bot.store import Store


def test_find_posts(tmp_path: Path, samples: list[Path]) -> None:
    nested = tmp_path / "posts" / "2021" / "03"
    nested.mkdir(parents=True)
    for sample in samples:
        shutil.copy(sample, nested / sample.name)
    (nested / "notes.txt").write_text("not a post", encoding="utf-8")
    loose = tmp_path / "loose.markdown"
    loose.write_text("given by name, so taken", encoding="utf-8")
    missing = tmp_path / "missing.md"

    files, rejected = find_posts([loose, tmp_path / "posts", missing])
    assert files == [loose, *(nested / s.name for s in samples)]
    assert rejected == [Rejection(str(missing), 0, "no such file or directory")]
    assert str(rejected[0]) == f"{missing}:0: no such file or directory"


def test_content_hash_is_sha256() -> None:
    assert content_hash(b"") == ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


async def test_ingest_files_reports_what_it_did(
    store: Store, samples: list[Path], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(samples[0].read_bytes().replace(b"- retweets: 857,", b"- retweets: 8x7,"))
    seen: list[Path] = []

    report = await ingest_files(store.archive, [*samples, bad, tmp_path], on_file=seen.append)
    assert seen == [*samples, bad, tmp_path]
    assert (report.new, report.updated, report.unchanged) == (3, 0, 0)
    assert (report.papers, report.tweets) == (38, 48)
    assert [str(r) for r in report.rejected] == [
        f"{bad}:56: bad counts line '- retweets: 8x7, favorites: 251 (03/06/2021 15:15:58)'; "
        "expected '- retweets: N, favorites: N (MM/DD/YYYY HH:MM:SS)'",
        f"{tmp_path}:0: cannot read: Is a directory",
    ]
    assert [d.date.isoformat() for d in report.stored_days] == [
        "2021-03-05",
        "2021-03-15",
        "2021-03-24",
    ]
    assert report.summary() == (
        "posts: 3 new, 0 updated, 0 unchanged, 2 rejected; papers: 38; tweets: 48"
    )

    again = await ingest_files(store.archive, samples)
    assert (again.new, again.updated, again.unchanged, again.rejected) == (0, 0, 3, [])
    assert again.summary() == (
        "posts: 0 new, 0 updated, 3 unchanged, 0 rejected; papers: 0; tweets: 0"
    )


async def test_an_edited_post_updates_its_day(
    store: Store, samples: list[Path], tmp_path: Path
) -> None:
    await ingest_files(store.archive, samples)
    edited = tmp_path / "2021-03-05---Hot-Papers.md"
    edited.write_bytes(samples[0].read_bytes().replace(b"favorites: 251 ", b"favorites: 252 "))
    report = await ingest_files(store.archive, [edited])
    assert (report.new, report.updated, report.unchanged) == (0, 1, 0)
    history = await store.archive.paper("2103.03206")
    assert history is not None
    assert history.appearances[0].favorites == 252
    assert (await store.archive.days())[0].source == str(edited)


async def test_a_date_out_of_range_is_rejected_and_later_files_still_stored(
    store: Store, samples: list[Path], tmp_path: Path
) -> None:
    # It used to raise OverflowError out of the parser, ending the run at the first such file.
    early = tmp_path / "0-early.md"
    early.write_bytes(
        samples[0]
        .read_bytes()
        .replace(b"date: 2021-03-06T15:15:57.Z", b"date: 0001-01-01T00:00:00+01:00")
    )
    late = tmp_path / "1-late.md"
    late.write_bytes(
        samples[1]
        .read_bytes()
        .replace(b"date: 2021-03-16T09:09:31.Z", b"date: !!timestamp 9999-12-31T23:59:59-01:00")
    )
    report = await ingest_files(store.archive, [early, late, samples[2]])
    assert [str(r) for r in report.rejected] == [
        f"{early}:3: front matter date '0001-01-01T00:00:00+01:00' is out of range: "
        "in UTC it falls before year 1 or after year 9999",
        f"{late}:3: front matter date '9999-12-31T23:59:59-01:00' is out of range: "
        "in UTC it falls before year 1 or after year 9999",
    ]
    assert [d.date.isoformat() for d in report.stored_days] == ["2021-03-24"]


async def test_a_rejection_is_logged_at_info_only(
    store: Store, samples: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The CLI prints rejections and the poller logs them: a warning here said it twice.
    bad = tmp_path / "bad.md"
    bad.write_bytes(samples[0].read_bytes().replace(b"- retweets: 857,", b"- retweets: 8x7,"))
    caplog.set_level(logging.DEBUG, logger="bot.ingest.files")
    report = await ingest_files(store.archive, [bad])
    assert len(report.rejected) == 1
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, f"rejected post {report.rejected[0]}")
    ]


async def test_a_paper_with_every_field_the_writer_may_leave_empty_is_stored_as_parsed(
    store: Store, samples: list[Path], tmp_path: Path
) -> None:
    text = samples[0].read_text(encoding="utf-8")
    categories = next(line for line in text.split("\n") if "[eess.AS]" in line)
    first, _, rest = text.partition("# 3. Perceiver: General Perception with Iterative Attention")
    _authors, _, rest = rest.partition("- retweets: 857,")
    rest = rest.replace(" | [pdf](https://arxiv.org/pdf/2103.03206)", "", 1)
    rest = rest.replace(categories, "- ", 1)
    abstract_start = rest.index("\n\nBiological systems") + 2
    abstract_end = rest.index("\n", abstract_start)
    # As the writer prints a paper without title, authors, PDF link, categories or abstract.
    empty = first + "# 3. \n\n\n\n- retweets: 857," + rest[:abstract_start] + rest[abstract_end:]
    post = tmp_path / "2021-03-05---Hot-Papers.md"
    post.write_text(empty, encoding="utf-8")

    report = await ingest_files(store.archive, [post])
    assert (report.new, report.rejected) == (1, [])
    history = await store.archive.paper("2103.03206")
    assert history is not None
    assert paper_json(history) | {"appearances": [], "tweets": []} == {
        "arxiv_id": "2103.03206",
        "title": "",
        "authors": [],
        "categories": [],
        "abstract": "",
        "abs_url": "https://arxiv.org/abs/2103.03206",
        "pdf_url": None,
        "appearances": [],
        "tweets": [],
    }
    assert len(history.tweets) == 3
    assert history.paper.primary_category == ""
    assert await store.archive.day(dt.date(2021, 3, 5)) == report.stored_days[0]


async def test_a_post_dated_more_than_a_day_ahead_is_rejected(
    store: Store, samples: list[Path]
) -> None:
    report = await ingest_files(store.archive, samples, today=lambda: dt.date(2021, 3, 14))
    assert [str(r) for r in report.rejected] == [
        f"{samples[2]}:2: title date 2021-03-24 is more than a day after today (2021-03-14); "
        "a post covers a day that is over"
    ]
    # A day ahead is allowed: the writer's day may be ahead of ours by a time zone.
    assert [d.date.isoformat() for d in report.stored_days] == ["2021-03-05", "2021-03-15"]


async def test_parsing_leaves_the_event_loop_free(
    store: Store, samples: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    loop_ran = threading.Event()
    real = files_module.parse_post

    def parse_needing_the_loop(*args: Any, **kwargs: Any) -> Day:
        # Returns only once the event loop has run a callback while the parse was under way.
        loop.call_soon_threadsafe(loop_ran.set)
        if not loop_ran.wait(timeout=5):
            raise AssertionError("the event loop was blocked while the post was parsed")
        return real(*args, **kwargs)

    monkeypatch.setattr(files_module, "parse_post", parse_needing_the_loop)
    report = await ingest_files(store.archive, samples[:1])
    assert (report.new, report.rejected) == (1, [])


async def test_a_batch_is_read_hashed_and_parsed_in_one_worker_call_and_stored_in_one_write(
    store: Store, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hop to a worker thread costs more than reading a post, and a commit (with the
    full-text index's flush) more than storing one: one of each per batch of posts."""
    files, _ = find_posts([corpus_dir])
    calls: list[str] = []
    to_thread = asyncio.to_thread

    async def counted(function: Any, /, *args: Any, **kwargs: Any) -> Any:
        calls.append(function.__name__)
        return await to_thread(function, *args, **kwargs)

    monkeypatch.setattr(files_module.asyncio, "to_thread", counted)
    commits = store.database.commits
    report = await ingest_files(store.archive, files)
    assert (report.new, report.rejected) == (126, [])
    assert calls == ["_read_and_parse_all"] * 4  # 126 posts, 32 to a batch
    assert store.database.commits - commits == 4
    assert await store.archive.counts() == (126, 1149, 1279)


async def test_a_parser_failure_on_one_post_costs_only_that_post(
    store: Store, samples: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the parser (anything but a ParseError) rejects its post with the reason; the
    other posts of its batch are stored."""
    real = files_module.parse_post

    def failing_on_march_15(data: bytes, source: str, **kwargs: Any) -> Day:
        if "2021-03-15" in source:
            raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")
        return real(data, source, **kwargs)

    monkeypatch.setattr(files_module, "parse_post", failing_on_march_15)
    report = await ingest_files(store.archive, samples)
    assert (report.new, [str(r) for r in report.rejected]) == (
        2,
        [
            f"{samples[1]}:0: cannot be parsed (ValueError: Exceeds the limit (4300 digits)"
            " for integer string conversion)"
        ],
    )
    assert [str(d.date) for d in await store.archive.days()] == ["2021-03-05", "2021-03-24"]


async def test_a_post_that_cannot_be_stored_keeps_the_posts_before_it(
    store: Store, samples: list[Path]
) -> None:
    """A batch that fails is stored post by post: those before the bad one are kept, and the
    error is the bad one's, as when each post had its own transaction."""
    async with store.database.transaction() as db:
        await db.execute(
            "CREATE TEMP TRIGGER refuse BEFORE INSERT ON days WHEN new.date = '2021-03-15'"
            " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    with pytest.raises(sqlite3.IntegrityError, match="disk I/O error"):
        await ingest_files(store.archive, samples)
    assert [str(d.date) for d in await store.archive.days()] == ["2021-03-05"]


async def test_the_same_post_given_twice_is_stored_once(
    store: Store, samples: list[Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy.md"
    shutil.copy(samples[0], copy)
    report = await ingest_files(store.archive, [samples[0], copy])
    assert (report.new, report.updated, report.unchanged, report.rejected) == (1, 0, 1, [])
    assert [d.source for d in await store.archive.days()] == [str(samples[0])]


async def test_a_post_over_max_post_bytes_is_refused_by_its_size(
    store: Store, samples: list[Path], tmp_path: Path
) -> None:
    big = tmp_path / "big.md"
    shutil.copy(samples[0], big)
    size = big.stat().st_size
    report = await ingest_files(store.archive, [big, samples[1]], max_post_bytes=size - 1)
    assert [str(r) for r in report.rejected] == [
        f"{big}:0: post is {size} bytes, more than [source] max_post_bytes ({size - 1})"
    ]
    assert [d.date.isoformat() for d in report.stored_days] == ["2021-03-15"]
    exact = await ingest_files(store.archive, [big], max_post_bytes=size)
    assert (exact.new, exact.rejected) == (1, [])


async def test_a_post_over_max_post_bytes_is_never_read_into_memory(
    store: Store, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.md"
    with huge.open("wb") as handle:
        handle.truncate(64_000_000)  # sparse: no disk used
    tracemalloc.start()
    try:
        report = await ingest_files(store.archive, [huge], max_post_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [r.reason for r in report.rejected] == [
        "post is 64000000 bytes, more than [source] max_post_bytes (1000000)"
    ]
    assert peak < 4_000_000


def test_read_post_stops_one_byte_past_the_limit(tmp_path: Path) -> None:
    # A file whose size says nothing of its length (a device, or one still growing).
    endless = Path("/dev/zero")
    if not endless.exists():
        pytest.skip("no /dev/zero here")
    with pytest.raises(PostTooLarge) as info:
        read_post(endless, 1000)
    assert str(info.value) == "post is larger than [source] max_post_bytes (1000)"
    exact = tmp_path / "exact.md"
    exact.write_bytes(b"x" * 1000)
    assert read_post(exact, 1000) == b"x" * 1000


def test_find_posts_does_not_follow_links_out_of_a_directory(
    tmp_path: Path, samples: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "posts"
    (folder / "2021").mkdir(parents=True)
    shutil.copy(samples[0], folder / "2021" / samples[0].name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.md").write_text("password = hunter2\n", encoding="utf-8")
    shutil.copy(samples[1], elsewhere / samples[1].name)
    (folder / "secret.md").symlink_to(elsewhere / "secret.md")
    (folder / "more").symlink_to(elsewhere, target_is_directory=True)
    (folder / "latest.md").symlink_to(folder / "2021" / samples[0].name)
    (folder / "current").symlink_to(folder / "2021", target_is_directory=True)

    files, rejected = find_posts([folder])
    # The directory linked as "current" is the one already listed as "2021": listed once.
    assert files == [folder / "2021" / samples[0].name, folder / "latest.md"]
    assert rejected == []
    assert sorted(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING) == [
        f"not following {folder / 'more'}: it leads outside {folder}",
        f"not following {folder / 'secret.md'}: it leads outside {folder}",
    ]
    # A file named on the command line is read wherever it is.
    assert find_posts([folder / "secret.md"]) == ([folder / "secret.md"], [])


def test_hotpapers_ingest_takes_max_post_bytes_from_the_config(
    tmp_path: Path, samples: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    size = samples[0].stat().st_size
    config = tmp_path / "hotpapers.toml"
    config.write_text(f"[source]\nmax_post_bytes = {size - 1}\n", encoding="utf-8")
    database = tmp_path / "archive.sqlite3"
    argv = ["ingest", str(samples[0]), str(samples[1]), "--config", str(config)]
    code = main([*argv, "--db", str(database)], environ={})
    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        f"{samples[0]}:0: post is {size} bytes, more than [source] max_post_bytes ({size - 1})"
    ]
    assert out.splitlines()[0] == (
        "posts: 1 new, 0 updated, 0 unchanged, 1 rejected; papers: 10; tweets: 11"
    )
