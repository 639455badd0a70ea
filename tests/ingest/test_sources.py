"""The post sources the bot polls: a watched directory and an HTTP URL template.

Real sample posts are the data; the HTTP source talks to a local aiohttp server on
127.0.0.1, with an injected clock, date and sleep so nothing waits for real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import os
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.ingest import files as files_module
from bot.ingest import sources as sources_module
from bot.ingest.files import MAX_POST_BYTES, IngestReport, Rejection
from bot.ingest.sources import DirectorySource, HttpSource, poll_sources
from bot.models import Day
from bot.samples import sample_posts
from bot.store import Store

SAMPLES = {path.name[:10]: path for path in sample_posts()}
MARCH_5 = SAMPLES["2021-03-05"].read_bytes()
MARCH_15 = SAMPLES["2021-03-15"].read_bytes()
MARCH_24 = SAMPLES["2021-03-24"].read_bytes()
PAPERS = {"2021-03-05": 13, "2021-03-15": 10, "2021-03-24": 15}
# Line 22 of the 2021-03-05 post is paper 1's counts line.
BAD_COUNTS = MARCH_5.replace(b"- retweets: 3537,", b"- retweets: lots,", 1)
BAD_LINE = 22
NOW = 1_700_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "db.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


# --- the directory source ---------------------------------------------------------------------


class Clock:
    """A settable wall clock for the settle logic."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def write(path: Path, data: bytes, mtime: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def copy_samples(folder: Path, mtime: float = NOW - 60) -> None:
    for date, source in SAMPLES.items():
        target = folder / date[:7] / source.name  # one level of nesting: search is recursive
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        os.utime(target, (mtime, mtime))


def days(report: IngestReport) -> list[str]:
    return [day.date.isoformat() for day in report.stored_days]


@pytest.fixture
def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the directory source reads, to prove unchanged files are not re-read."""
    reads: list[Path] = []
    real = sources_module.read_post_file

    def spy(path: Path, *args: Any) -> tuple[bytes, tuple[int, int]]:
        reads.append(path)
        return real(path, *args)

    monkeypatch.setattr(sources_module, "read_post_file", spy)
    return reads


async def test_directory_ingests_new_then_skips_unchanged_then_updates_changed(
    store: Store, tmp_path: Path, count_reads: list[Path]
) -> None:
    folder = tmp_path / "posts"
    copy_samples(folder)
    source = DirectorySource(store.archive, folder, settle_seconds=2.0, clock=Clock())

    first = await source.poll()
    assert (first.new, first.updated, first.unchanged, first.rejected) == (3, 0, 0, [])
    assert days(first) == ["2021-03-05", "2021-03-15", "2021-03-24"]
    assert first.papers == 13 + 10 + 15
    assert len(count_reads) == 3
    summaries = await store.archive.days()
    assert [(s.date.isoformat(), s.paper_count) for s in summaries] == sorted(PAPERS.items())
    assert summaries[0].source == str(folder / "2021-03" / SAMPLES["2021-03-05"].name)

    second = await source.poll()
    assert (second.new, second.updated, second.unchanged, second.rejected) == (0, 0, 3, [])
    assert second.stored_days == []
    assert len(count_reads) == 3  # nothing re-read: (size, mtime) unchanged

    changed = folder / "2021-03" / SAMPLES["2021-03-15"].name
    write(changed, MARCH_15.replace(b"- retweets: ", b"- retweets: 1", 1), NOW - 30)
    third = await source.poll()
    assert (third.new, third.updated, third.unchanged, third.rejected) == (0, 1, 2, [])
    assert days(third) == ["2021-03-15"]
    assert third.papers == 10
    assert count_reads[3:] == [changed]
    day = await store.archive.day(dt.date(2021, 3, 15))
    assert day is not None
    assert str(day.papers[0].appearance.retweets).startswith("1")


async def test_directory_fresh_instance_rehashes_but_stores_nothing_again(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "posts"
    copy_samples(folder)
    await DirectorySource(store.archive, folder, 2.0, clock=Clock()).poll()
    again = await DirectorySource(store.archive, folder, 2.0, clock=Clock()).poll()
    assert (again.new, again.updated, again.unchanged, again.rejected) == (0, 0, 3, [])


async def test_directory_waits_for_a_half_written_file_to_settle(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    clock = Clock()
    source = DirectorySource(store.archive, folder, settle_seconds=2.0, clock=clock)
    post = write(folder / "2021-03-05.md", MARCH_5[: len(MARCH_5) // 2], mtime=clock.now)

    half = await source.poll()
    assert (half.new, half.updated, half.unchanged, half.rejected) == (0, 0, 0, [])
    assert await store.archive.days() == []

    clock.now += 1.0
    write(post, MARCH_5, mtime=clock.now)  # the writer finishes
    clock.now += 1.0  # modified 1 s ago: still too fresh
    fresh = await source.poll()
    assert (fresh.new, fresh.rejected) == (0, [])

    clock.now += 1.5  # now 2.5 s since the last write
    settled = await source.poll()
    assert (settled.new, settled.rejected) == (1, [])
    assert settled.papers == 13
    day = await store.archive.day(dt.date(2021, 3, 5))
    assert day is not None
    assert len(day.papers) == 13


async def test_directory_file_with_future_mtime_settles_by_the_source_clock(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "posts"
    clock = Clock()
    write(folder / "2021-03-24.md", MARCH_24, mtime=clock.now + 3600)  # a skewed clock
    source = DirectorySource(store.archive, folder, settle_seconds=2.0, clock=clock)
    assert (await source.poll()).new == 0
    clock.now += 1.0
    assert (await source.poll()).new == 0
    clock.now += 1.0  # unchanged for 2 s of our clock
    report = await source.poll()
    assert (report.new, report.papers) == (1, 15)


async def test_directory_rejects_a_bad_post_once_per_content(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    clock = Clock()
    bad = write(folder / "bad.md", BAD_COUNTS, mtime=NOW - 60)
    source = DirectorySource(store.archive, folder, settle_seconds=2.0, clock=clock)

    first = await source.poll()
    assert first.new == 0
    assert len(first.rejected) == 1
    assert (first.rejected[0].path, first.rejected[0].line) == (str(bad), BAD_LINE)
    assert "bad counts line" in first.rejected[0].reason

    assert (await source.poll()).rejected == []  # same file, same content: quiet

    os.utime(bad, (NOW - 30, NOW - 30))  # touched, content unchanged: still quiet
    touched = await source.poll()
    assert (touched.rejected, touched.unchanged) == ([], 0)

    worse = MARCH_5.replace(b"- links: [abs]", b"- linkz: [abs]", 1)
    write(bad, worse, mtime=NOW - 20)
    changed = await source.poll()
    assert [(r.path, r.line) for r in changed.rejected] == [(str(bad), 24)]
    assert "no arXiv link" in changed.rejected[0].reason

    write(bad, MARCH_5, mtime=NOW - 10)  # fixed
    fixed = await source.poll()
    assert (fixed.new, fixed.papers, fixed.rejected) == (1, 13, [])


async def test_directory_survives_vanished_and_unreadable_files(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "posts"
    copy_samples(folder)
    real = sources_module.read_post_file
    vanishing = folder / "2021-03" / SAMPLES["2021-03-05"].name
    locked = folder / "2021-03" / SAMPLES["2021-03-15"].name

    def flaky(path: Path, *args: Any) -> tuple[bytes, tuple[int, int]]:
        if path == vanishing:
            path.unlink()  # deleted between listing and reading
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args)

    monkeypatch.setattr(sources_module, "read_post_file", flaky)
    source = DirectorySource(store.archive, folder, settle_seconds=2.0, clock=Clock())
    first = await source.poll()
    assert (first.new, days(first)) == (1, ["2021-03-24"])
    assert first.rejected == [Rejection(str(locked), 0, "cannot read: Permission denied")]

    second = await source.poll()  # the unreadable file is not reported again
    assert (second.new, second.unchanged, second.rejected) == (0, 1, [])

    monkeypatch.setattr(sources_module, "read_post_file", real)
    third = await source.poll()  # readable again: stored
    assert (third.new, days(third)) == (1, ["2021-03-15"])


async def test_directory_missing_warns_once_until_it_reappears(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.ingest.sources")
    folder = tmp_path / "not-yet"
    source = DirectorySource(store.archive, folder, settle_seconds=2.0, clock=Clock())

    def warnings() -> int:
        return sum(r.levelno == logging.WARNING and "does not exist" in r.message
                   for r in caplog.records)  # fmt: skip

    assert await source.poll() == IngestReport()
    assert await source.poll() == IngestReport()
    assert warnings() == 1

    copy_samples(folder)
    report = await source.poll()
    assert report.new == 3

    shutil.rmtree(folder)
    assert await source.poll() == IngestReport()
    assert warnings() == 2


async def test_directory_refuses_a_post_over_max_post_bytes_unread(
    store: Store, tmp_path: Path, count_reads: list[Path]
) -> None:
    folder = tmp_path / "posts"
    big = write(folder / "big.md", MARCH_5, NOW - 60)
    write(folder / "small.md", MARCH_15, NOW - 60)
    limit = len(MARCH_15)
    source = DirectorySource(
        store.archive, folder, settle_seconds=2.0, clock=Clock(), max_post_bytes=limit
    )

    first = await source.poll()
    assert (first.new, days(first)) == (1, ["2021-03-15"])
    assert first.rejected == [
        Rejection(
            str(big),
            0,
            f"post is {len(MARCH_5)} bytes, more than [source] max_post_bytes ({limit})",
        )
    ]
    assert count_reads == [folder / "small.md"]  # refused by its size, never opened

    again = await source.poll()  # the same file: not reported again
    assert (again.new, again.rejected) == (0, [])

    write(big, MARCH_24[:limit], NOW - 30)  # cut down: read, and rejected for what it is
    cut = await source.poll()
    assert [r.reason for r in cut.rejected] == [
        "the post ends without the blank line that closes every post; it looks truncated"
    ]
    write(big, MARCH_5, NOW - 20)  # too large again: reported again
    assert len((await source.poll()).rejected) == 1


async def test_directory_rejects_a_post_dated_more_than_a_day_ahead(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "posts"
    copy_samples(folder)
    source = DirectorySource(
        store.archive, folder, 2.0, clock=Clock(), today=lambda: dt.date(2021, 3, 14)
    )
    report = await source.poll()
    assert days(report) == ["2021-03-05", "2021-03-15"]
    assert [(Path(r.path).name, r.line, r.reason) for r in report.rejected] == [
        (
            SAMPLES["2021-03-24"].name,
            2,
            "title date 2021-03-24 is more than a day after today (2021-03-14); "
            "a post covers a day that is over",
        )
    ]


# --- symbolic links in the watched directory ---------------------------------------------------

SECRET = b"password = hunter2\n"


def outside_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "leads outside" in r.getMessage()
    ]


async def test_directory_does_not_follow_links_out_of_it(
    store: Store, tmp_path: Path, count_reads: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "posts"
    copy_samples(folder)
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "secret.md", SECRET, NOW - 60)
    write(elsewhere / "nested" / "2021-03-05.md", MARCH_5, NOW - 60)
    (folder / "secret.md").symlink_to(elsewhere / "secret.md")
    (folder / "linked-dir").symlink_to(elsewhere, target_is_directory=True)
    (folder / "dangling.md").symlink_to(tmp_path / "missing.md")
    source = DirectorySource(store.archive, folder, 2.0, clock=Clock())

    first = await source.poll()
    assert (first.new, first.rejected) == (3, [])
    assert all(folder in path.parents and "linked-dir" not in str(path) for path in count_reads)
    assert len(count_reads) == 3
    assert sorted(outside_warnings(caplog)) == [
        f"not following {folder / name}: it leads outside the watched directory {folder}"
        for name in ("dangling.md", "linked-dir", "secret.md")
    ]
    assert all("hunter2" not in record.getMessage() for record in caplog.records)

    caplog.clear()
    again = await source.poll()  # said once, not at every poll
    assert (again.new, again.unchanged, again.rejected) == (0, 3, [])
    assert outside_warnings(caplog) == []
    assert len(count_reads) == 3


async def test_directory_follows_links_that_stay_inside_it(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "posts"
    write(folder / "archive" / "2021" / "2021-03-05.md", MARCH_5, NOW - 60)
    write(folder / "drafts" / "2021-03-15.md", MARCH_15, NOW - 60)
    (folder / "latest.md").symlink_to(folder / "drafts" / "2021-03-15.md")
    (folder / "current").symlink_to(Path("archive") / "2021", target_is_directory=True)
    (folder / "archive" / "loop").symlink_to(folder, target_is_directory=True)  # a cycle
    source = DirectorySource(store.archive, folder, 2.0, clock=Clock())

    report = await source.poll()
    # latest.md is the same post again; archive/2021, reached two ways, is listed once.
    assert (report.new, report.unchanged, report.rejected) == (2, 1, [])
    assert sorted(days(report)) == ["2021-03-05", "2021-03-15"]
    assert outside_warnings(caplog) == []


async def test_directory_link_swapped_out_of_it_before_the_read_is_not_read(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "posts"
    post = write(folder / "2021-03-05.md", MARCH_5, NOW - 60)
    secret = write(tmp_path / "secret.md", SECRET, NOW - 60)
    list_posts = sources_module.list_posts

    def then_swap(directory: Path) -> files_module.PostListing | None:
        listing = list_posts(directory)
        post.unlink()  # replaced by a link out of the directory after it was listed
        post.symlink_to(secret)
        return listing

    monkeypatch.setattr(sources_module, "list_posts", then_swap)
    report = await DirectorySource(store.archive, folder, 2.0, clock=Clock()).poll()
    assert (report.new, report.rejected) == (0, [])
    assert outside_warnings(caplog) == [
        f"not following {post}: it leads outside the watched directory {folder}"
    ]
    assert all("hunter2" not in record.getMessage() for record in caplog.records)


# --- the HTTP source --------------------------------------------------------------------------

Step = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class PostServer:
    """Serves posts by date like the real site, with scripted failures per date."""

    posts: dict[str, bytes] = field(default_factory=dict)
    scripts: dict[str, list[Step]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def hits(self, date: str) -> int:
        return sum(date in path for path, _ in self.requests)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path, dict(request.headers)))
        date = request.match_info["date"]
        script = self.scripts.get(date)
        if script:
            return await script.pop(0)(request)
        body = self.posts.get(date)
        if body is None:
            raise web.HTTPNotFound()
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(
            body=body,
            content_type="text/markdown",
            headers={"ETag": etag, "Last-Modified": "Sat, 06 Mar 2021 15:15:57 GMT"},
        )

    def status(self, code: int, **headers: str) -> Step:
        async def step(request: web.Request) -> web.StreamResponse:
            return web.Response(status=code, text=f"status {code}", headers=headers)

        return step

    def streamed(self, body: bytes) -> Step:
        """The body in chunks, without a Content-Length: its size is known only once read."""

        async def step(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(body), 16 * 1024):
                await response.write(body[start : start + 16 * 1024])
            await response.write_eof()
            return response

        return step

    def hang(self) -> Step:
        async def step(request: web.Request) -> web.StreamResponse:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), timeout=5)
            return web.Response(status=503)

        return step


@dataclass
class Http:
    server: PostServer
    session: aiohttp.ClientSession
    template: str
    delays: list[float]

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def source(
        self,
        store: Store,
        *,
        today: dt.date,
        lookback: int = 0,
        timeout_seconds: float = 5.0,
        retries: int = 3,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0,
        max_bytes: int = MAX_POST_BYTES,
    ) -> HttpSource:
        return HttpSource(
            store.archive,
            store.state,
            self.template,
            self.session,
            lookback_days=lookback,
            timeout_seconds=timeout_seconds,
            today=lambda: today,
            retries=retries,
            backoff_seconds=backoff_seconds,
            sleep=self.sleep,
            max_backoff_seconds=max_backoff_seconds,
            max_bytes=max_bytes,
        )


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    posts = PostServer()
    app = web.Application()
    app.router.add_get("/posts/{date}---Hot-Papers.md", posts.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        template = str(server.make_url("/posts/")) + "{date}---Hot-Papers.md"
        yield Http(posts, session, template, [])
    finally:
        posts.release.set()
        await session.close()
        await server.close()


def url(http: Http, date: str) -> str:
    return http.template.format(date=date)


async def test_http_ingests_published_days_and_skips_unpublished(store: Store, http: Http) -> None:
    http.server.posts["2021-03-05"] = MARCH_5
    source = http.source(store, today=dt.date(2021, 3, 6), lookback=3)

    report = await source.poll()
    assert (report.new, report.papers, report.rejected) == (1, 13, [])
    assert days(report) == ["2021-03-05"]
    assert [path.rsplit("/", 1)[1][:10] for path, _ in http.server.requests] == [
        "2021-03-03",
        "2021-03-04",
        "2021-03-05",
        "2021-03-06",
    ]
    assert http.delays == []  # 404 is "not yet", not an error: no retry
    (summary,) = await store.archive.days()
    assert summary.source == url(http, "2021-03-05")


async def test_http_second_poll_is_one_conditional_request(store: Store, http: Http) -> None:
    http.server.posts["2021-03-05"] = MARCH_5
    source = http.source(store, today=dt.date(2021, 3, 5))
    assert (await source.poll()).new == 1
    first_headers = http.server.requests[0][1]
    assert "If-None-Match" not in first_headers

    again = await source.poll()
    assert (again.new, again.updated, again.unchanged, again.stored_days) == (0, 0, 1, [])
    assert len(http.server.requests) == 2
    headers = http.server.requests[1][1]
    assert headers["If-None-Match"] == f'"{hashlib.sha256(MARCH_5).hexdigest()[:16]}"'
    assert headers["If-Modified-Since"] == "Sat, 06 Mar 2021 15:15:57 GMT"
    key = f"http:etag:{url(http, '2021-03-05')}"
    assert await store.state.get(key) == headers["If-None-Match"]

    http.server.posts["2021-03-05"] = BAD_COUNTS.replace(b"lots", b"3538")  # the post is revised
    revised = await source.poll()
    assert (revised.updated, revised.papers, days(revised)) == (1, 13, ["2021-03-05"])


async def test_http_retries_server_errors_with_backoff(store: Store, http: Http) -> None:
    http.server.posts["2021-03-15"] = MARCH_15
    http.server.scripts["2021-03-15"] = [http.server.status(500), http.server.status(500)]
    report = await http.source(store, today=dt.date(2021, 3, 15)).poll()
    assert (report.new, report.papers, report.rejected) == (1, 10, [])
    assert http.delays == [1.0, 2.0]
    assert http.server.hits("2021-03-15") == 3


async def test_http_persistent_server_error_is_one_rejection(store: Store, http: Http) -> None:
    http.server.posts["2021-03-15"] = MARCH_15
    http.server.scripts["2021-03-15"] = [http.server.status(500) for _ in range(10)]
    source = http.source(store, today=dt.date(2021, 3, 15), retries=2, backoff_seconds=0.5)
    report = await source.poll()
    assert report.new == 0
    assert report.rejected == [Rejection(url(http, "2021-03-15"), 0, "HTTP 500 after 3 attempts")]
    assert http.server.hits("2021-03-15") == 3
    assert http.delays == [0.5, 1.0]


async def test_http_backoff_is_capped(store: Store, http: Http) -> None:
    http.server.scripts["2021-03-15"] = [http.server.status(503) for _ in range(10)]
    source = http.source(
        store, today=dt.date(2021, 3, 15), retries=5, backoff_seconds=1.0, max_backoff_seconds=4.0
    )
    report = await source.poll()
    assert [r.reason for r in report.rejected] == ["HTTP 503 after 6 attempts"]
    assert http.delays == [1.0, 2.0, 4.0, 4.0, 4.0]


async def test_http_timeout_is_retried_then_rejected(store: Store, http: Http) -> None:
    http.server.posts["2021-03-15"] = MARCH_15
    http.server.scripts["2021-03-15"] = [http.server.hang() for _ in range(3)]
    source = http.source(store, today=dt.date(2021, 3, 15), retries=2, timeout_seconds=0.2)
    report = await source.poll()
    assert report.rejected == [Rejection(url(http, "2021-03-15"), 0, "timed out after 3 attempts")]
    assert http.server.hits("2021-03-15") == 3
    assert http.delays == [1.0, 2.0]


async def test_http_connection_refused_is_retried_then_rejected(store: Store, http: Http) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http.template = f"http://127.0.0.1:{port}/{{date}}.md"
    report = await http.source(store, today=dt.date(2021, 3, 15), retries=1).poll()
    (rejection,) = report.rejected
    assert rejection.path == f"http://127.0.0.1:{port}/2021-03-15.md"
    assert rejection.reason.startswith("connection failed")
    assert rejection.reason.endswith("after 2 attempts")
    assert http.delays == [1.0]


async def test_http_429_honours_retry_after(store: Store, http: Http) -> None:
    http.server.posts["2021-03-24"] = MARCH_24
    http.server.scripts["2021-03-24"] = [http.server.status(429, **{"Retry-After": "1"})]
    report = await http.source(store, today=dt.date(2021, 3, 24), backoff_seconds=5.0).poll()
    assert (report.new, report.papers, report.rejected) == (1, 15, [])
    assert http.delays == [1.0]


async def test_http_429_with_a_long_retry_after_gives_up_this_poll(
    store: Store, http: Http
) -> None:
    http.server.scripts["2021-03-24"] = [http.server.status(429, **{"Retry-After": "3600"})]
    report = await http.source(store, today=dt.date(2021, 3, 24)).poll()
    assert [r.reason for r in report.rejected] == ["HTTP 429, asked to retry after 3600 s"]
    assert (http.delays, http.server.hits("2021-03-24")) == ([], 1)


async def test_http_client_error_is_rejected_without_retry(store: Store, http: Http) -> None:
    http.server.scripts["2021-03-24"] = [http.server.status(403)]
    report = await http.source(store, today=dt.date(2021, 3, 24)).poll()
    assert report.rejected == [Rejection(url(http, "2021-03-24"), 0, "HTTP 403 Forbidden")]
    assert (http.delays, http.server.hits("2021-03-24")) == ([], 1)


async def test_http_malformed_post_is_rejected_with_url_and_line(store: Store, http: Http) -> None:
    http.server.posts["2021-03-05"] = BAD_COUNTS
    source = http.source(store, today=dt.date(2021, 3, 5))
    report = await source.poll()
    assert report.new == 0
    (rejection,) = report.rejected
    assert (rejection.path, rejection.line) == (url(http, "2021-03-05"), BAD_LINE)
    assert rejection.reason.startswith("bad counts line '- retweets: lots")
    assert await store.archive.days() == []

    again = await source.poll()  # the same bad post answers 304: not re-reported
    assert (again.rejected, http.delays) == ([], [])


async def test_http_request_budget_per_poll(store: Store, http: Http) -> None:
    for date in ("2021-03-22", "2021-03-23", "2021-03-24"):
        http.server.scripts[date] = [http.server.status(502) for _ in range(10)]
    source = http.source(store, today=dt.date(2021, 3, 24), lookback=2, retries=3)
    report = await source.poll()
    assert len(report.rejected) == 3
    assert len(http.server.requests) == (2 + 1) * (3 + 1)


async def test_http_refuses_a_post_over_max_post_bytes(store: Store, http: Http) -> None:
    http.server.posts["2021-03-05"] = MARCH_5
    http.server.scripts["2021-03-15"] = [http.server.streamed(MARCH_5)]
    http.server.posts["2021-03-24"] = MARCH_24
    limit = len(MARCH_24)
    assert len(MARCH_5) > limit
    source = http.source(store, today=dt.date(2021, 3, 24), lookback=19, max_bytes=limit)
    report = await source.poll()
    assert days(report) == ["2021-03-24"]
    assert report.rejected == [
        Rejection(
            url(http, "2021-03-05"),
            0,
            f"post is {len(MARCH_5)} bytes, more than [source] max_post_bytes ({limit})",
        ),
        Rejection(
            url(http, "2021-03-15"), 0, f"post is larger than [source] max_post_bytes ({limit})"
        ),
    ]
    assert http.delays == []  # refused, not retried


async def test_http_rejects_a_post_dated_more_than_a_day_ahead(store: Store, http: Http) -> None:
    ahead = MARCH_5.replace(b"title: Hot Papers 2021-03-05", b"title: Hot Papers 2099-01-01", 1)
    http.server.posts["2021-03-05"] = ahead
    report = await http.source(store, today=dt.date(2021, 3, 6), lookback=1).poll()
    assert report.rejected == [
        Rejection(
            url(http, "2021-03-05"),
            2,
            "title date 2099-01-01 is more than a day after today (2021-03-06); "
            "a post covers a day that is over",
        )
    ]
    assert await store.archive.days() == []


# --- both ------------------------------------------------------------------------------------


async def test_poll_sources_merges_and_survives_a_crashing_source(
    store: Store,
    tmp_path: Path,
    http: Http,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    folder = tmp_path / "posts"
    write(folder / "2021-03-15.md", MARCH_15, NOW - 60)
    write(folder / "bad.md", b"not a post\n", NOW - 60)
    http.server.posts["2021-03-24"] = MARCH_24
    directory = DirectorySource(store.archive, folder, 2.0, clock=Clock())
    broken = DirectorySource(store.archive, folder, 2.0, clock=Clock())

    async def crash() -> IngestReport:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(broken, "poll", crash)
    web_source = http.source(store, today=dt.date(2021, 3, 24))

    report = await poll_sources([directory, broken, web_source])
    assert (report.new, report.papers) == (2, 10 + 15)
    assert days(report) == ["2021-03-15", "2021-03-24"]
    assert [(Path(r.path).name, r.line) for r in report.rejected] == [("bad.md", 1)]
    crashes = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(crashes) == 1
    assert crashes[0].exc_info is not None
    assert "disk on fire" in str(crashes[0].exc_info[1])


@pytest.mark.parametrize("kind", ["directory", "http"])
async def test_polling_parses_off_the_event_loop(
    store: Store, tmp_path: Path, http: Http, monkeypatch: pytest.MonkeyPatch, kind: str
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
    if kind == "directory":
        write(tmp_path / "posts" / "2021-03-05.md", MARCH_5, NOW - 60)
        source: DirectorySource | HttpSource = DirectorySource(
            store.archive, tmp_path / "posts", 2.0, clock=Clock()
        )
    else:
        http.server.posts["2021-03-05"] = MARCH_5
        source = http.source(store, today=dt.date(2021, 3, 5))
    report = await source.poll()
    assert (report.new, report.rejected) == (1, [])
