"""A poll that finds the archive locked, read-only or full: one clear line for each post it
could not store, every other post stored all the same, the failed ones tried again at the next
poll.

The archive is really locked (another process holds BEGIN EXCLUSIVE, taken right after the
first post is stored) or really read-only (see tests/support/database.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.ingest.files import IngestReport
from bot.ingest.sources import DirectorySource, HttpSource, poll_sources
from bot.models import Day
from bot.samples import sample_posts
from bot.store import IngestOutcome, Store, StoreUnavailable
from bot.store.database import Database
from tests.support.database import Locker, is_locked, read_only

SAMPLES = {path.name[:10]: path for path in sample_posts()}
DATES = sorted(SAMPLES)  # 2021-03-05, 2021-03-15, 2021-03-24
NOW = 1_700_000_000.0
BUSY = 0.2  # seconds a locked write waits in these tests
SOURCES_LOGGER = "bot.ingest.sources"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(await Database.open(tmp_path / "db.sqlite3", busy_timeout=BUSY))
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def locker(store: Store) -> AsyncIterator[Locker]:
    locker = Locker(store.database.path)
    try:
        yield locker
    finally:
        await locker.release()


def lock_after_first_post(store: Store, locker: Locker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process takes the write lock as soon as the first post is stored (once)."""
    ingest = store.archive.ingest
    locked = False

    async def then_lock(day: Day, *, source: str, content_hash: str) -> IngestOutcome:
        nonlocal locked
        outcome = await ingest(day, source=source, content_hash=content_hash)
        if not locked:
            locked = True
            await locker.lock()
        return outcome

    monkeypatch.setattr(store.archive, "ingest", then_lock)


def days(report: IngestReport) -> list[str]:
    return [day.date.isoformat() for day in report.stored_days]


async def stored(store: Store) -> list[str]:
    return [summary.date.isoformat() for summary in await store.archive.days()]


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def locked_message(store: Store) -> str:
    return (
        f"database {store.database.path} is locked by another process "
        f"(still locked after {BUSY:g} s); nothing was changed"
    )


def copy_samples(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for date in DATES:
        target = folder / SAMPLES[date].name
        shutil.copyfile(SAMPLES[date], target)
        os.utime(target, (NOW - 60, NOW - 60))
        paths[date] = target
    return paths


# --- the directory source ----------------------------------------------------------------------


async def test_directory_poll_locked_midway_keeps_what_it_stored_and_retries_the_rest(
    store: Store,
    locker: Locker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    paths = copy_samples(tmp_path / "posts")
    source = DirectorySource(store.archive, tmp_path / "posts", 2.0, clock=lambda: NOW)
    lock_after_first_post(store, locker, monkeypatch)

    report = await poll_sources([source])

    assert is_locked(store.database.path)  # still locked: each post gave up, it did not wait
    assert (report.new, report.papers, report.unchanged, days(report)) == (
        1,
        13,
        0,
        ["2021-03-05"],
    )
    records = errors(caplog)
    assert [(r.name, r.levelno, r.exc_info) for r in records] == [
        (SOURCES_LOGGER, logging.ERROR, None)
    ] * 2
    assert [r.getMessage() for r in records] == [
        f"cannot store post {paths[date]}: {locked_message(store)}; will retry at the next poll"
        for date in ("2021-03-15", "2021-03-24")
    ]
    await locker.release()
    assert await stored(store) == ["2021-03-05"]

    caplog.clear()
    again = await poll_sources([source])
    assert (again.new, again.unchanged, days(again)) == (2, 1, ["2021-03-15", "2021-03-24"])
    assert errors(caplog) == []
    assert await stored(store) == DATES
    third = await poll_sources([source])
    assert (third.new, third.unchanged, third.stored_days) == (0, 3, [])


def full_for(store: Store, monkeypatch: pytest.MonkeyPatch, date: str) -> list[str]:
    """The archive cannot take the post of `date` (a disk too full for it), once; returns the
    dates it was asked to store, in order."""
    ingest = store.archive.ingest
    asked: list[str] = []

    async def full_once(day: Day, *, source: str, content_hash: str) -> IngestOutcome:
        asked.append(day.date.isoformat())
        if day.date.isoformat() == date and asked.count(date) == 1:
            raise StoreUnavailable(
                f"database {store.database.path} is unavailable (database or disk is full); "
                "nothing was changed"
            )
        return await ingest(day, source=source, content_hash=content_hash)

    monkeypatch.setattr(store.archive, "ingest", full_once)
    return asked


async def test_directory_post_that_cannot_be_stored_holds_up_none_after_it(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    paths = copy_samples(tmp_path / "posts")
    source = DirectorySource(store.archive, tmp_path / "posts", 2.0, clock=lambda: NOW)
    asked = full_for(store, monkeypatch, "2021-03-15")

    report = await poll_sources([source])
    assert (report.new, days(report)) == (2, ["2021-03-05", "2021-03-24"])
    assert await stored(store) == ["2021-03-05", "2021-03-24"]
    assert [r.getMessage() for r in errors(caplog)] == [
        f"cannot store post {paths['2021-03-15']}: database {store.database.path} is "
        "unavailable (database or disk is full); nothing was changed; will retry at the next poll"
    ]

    caplog.clear()
    again = await poll_sources([source])  # only the post that failed is tried again
    assert (again.new, again.unchanged, days(again)) == (1, 2, ["2021-03-15"])
    assert asked == ["2021-03-05", "2021-03-15", "2021-03-24", "2021-03-15"]
    assert errors(caplog) == []
    assert await stored(store) == DATES


async def test_directory_poll_on_a_read_only_archive_stores_nothing_then_everything(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "db.sqlite3"
    await (await Store.open(path)).close()
    paths = copy_samples(tmp_path / "posts")
    with read_only(path):
        store = Store(await Database.open(path))
        try:
            source = DirectorySource(store.archive, tmp_path / "posts", 2.0, clock=lambda: NOW)
            caplog.clear()
            for _ in range(2):  # every poll retries each post, and says so once for each
                report = await poll_sources([source])
                assert (report.new, report.stored_days, report.rejected) == (0, [], [])
                records = errors(caplog)
                assert [r.exc_info for r in records] == [None] * 3
                assert [r.getMessage() for r in records] == [
                    f"cannot store post {paths[date]}: database {path} is read-only "
                    f"({path} cannot be written); nothing was changed; will retry at the next "
                    "poll"
                    for date in DATES
                ]
                caplog.clear()
        except BaseException:
            await store.close()
            raise
    try:
        report = await poll_sources([source])
        assert (report.new, days(report)) == (3, DATES)
        assert errors(caplog) == []
        assert await stored(store) == DATES
        assert store.database.reopens == 1
    finally:
        await store.close()


# --- the HTTP source ---------------------------------------------------------------------------


class Posts:
    """The post site: each date's sample, with an ETag; counts requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        date = request.match_info["date"]
        self.requests.append((date, request.headers.get("If-None-Match")))
        if date not in SAMPLES:
            raise web.HTTPNotFound()
        body = SAMPLES[date].read_bytes()
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, headers={"ETag": etag})


@pytest.fixture
async def site() -> AsyncIterator[tuple[Posts, str, aiohttp.ClientSession]]:
    posts = Posts()
    app = web.Application()
    app.router.add_get("/posts/{date}---Hot-Papers.md", posts.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield posts, str(server.make_url("/posts/")) + "{date}---Hot-Papers.md", session
    finally:
        await session.close()
        await server.close()


async def test_http_poll_locked_midway_keeps_what_it_stored_and_refetches_the_rest(
    store: Store,
    locker: Locker,
    site: tuple[Posts, str, aiohttp.ClientSession],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    posts, template, session = site
    source = HttpSource(
        store.archive,
        store.state,
        template,
        session,
        lookback_days=19,  # 2021-03-05 .. 2021-03-24
        timeout_seconds=5,
        today=lambda: dt.date(2021, 3, 24),
        retries=0,
    )
    lock_after_first_post(store, locker, monkeypatch)
    first = template.format(date="2021-03-05")

    report = await poll_sources([source])

    assert is_locked(store.database.path)
    # Stored, but its validators could not be saved; the later posts could not be stored.
    assert (report.new, days(report), report.rejected) == (1, ["2021-03-05"], [])
    assert len(posts.requests) == 20  # every day of the window was still asked for
    records = errors(caplog)
    assert [(r.name, r.levelno, r.exc_info) for r in records] == [
        (SOURCES_LOGGER, logging.ERROR, None)
    ] * 3
    assert [r.getMessage() for r in records] == [
        f"cannot store post {template.format(date=date)}: {locked_message(store)}; "
        "will retry at the next poll"
        for date in DATES
    ]
    await locker.release()
    assert await store.state.get(f"http:etag:{first}") is None

    caplog.clear()
    posts.requests.clear()
    again = await poll_sources([source])
    assert (again.new, again.unchanged, days(again)) == (2, 1, ["2021-03-15", "2021-03-24"])
    assert errors(caplog) == []
    assert posts.requests[0] == ("2021-03-05", None)  # fetched in full again
    assert await stored(store) == DATES
    assert await store.state.get(f"http:etag:{first}") is not None


async def test_http_post_that_cannot_be_stored_holds_up_none_after_it(
    store: Store,
    site: tuple[Posts, str, aiohttp.ClientSession],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, template, session = site
    source = HttpSource(
        store.archive,
        store.state,
        template,
        session,
        lookback_days=19,
        timeout_seconds=5,
        today=lambda: dt.date(2021, 3, 24),
        retries=0,
    )
    full_for(store, monkeypatch, "2021-03-15")

    report = await poll_sources([source])
    assert (report.new, days(report)) == (2, ["2021-03-05", "2021-03-24"])
    assert [r.getMessage() for r in errors(caplog)] == [
        f"cannot store post {template.format(date='2021-03-15')}: database "
        f"{store.database.path} is unavailable (database or disk is full); nothing was "
        "changed; will retry at the next poll"
    ]
    assert await store.state.get(f"http:etag:{template.format(date='2021-03-15')}") is None

    again = await poll_sources([source])
    assert (again.new, again.unchanged, days(again)) == (1, 2, ["2021-03-15"])
    assert await stored(store) == DATES
