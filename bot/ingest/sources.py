"""Where the running bot finds new posts: a watched directory and an HTTP URL per date.

Both sources are polled on a timer, so each poll must be cheap when nothing changed, must
never raise for one bad post (the next poll would only hit it again), and must never hammer
a failing server. Posts are stored exactly as `hotpapers ingest` stores them (`ingest_post`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

import aiohttp

from bot.ingest.files import (
    MAX_POST_BYTES,
    IngestReport,
    PostTooLarge,
    Rejection,
    content_hash,
    ingest_post,
    is_within,
    list_posts,
    read_post,
)
from bot.store import Archive, BotState, IngestOutcome, StoreError

log = logging.getLogger(__name__)

# (size, mtime_ns): a file whose signature is unchanged since the last poll is not re-read.
FileSignature = tuple[int, int]


class _LeadsOutside(Exception):
    """A post file that, by now, resolves to a place outside the watched directory."""


def read_post_file(path: Path, max_bytes: int, root: str) -> tuple[bytes, FileSignature]:
    """The file's bytes (PostTooLarge past `max_bytes`) and its signature after reading, to
    notice a write during the read. It is read by its real path, and only inside `root`."""
    real = os.path.realpath(path)
    if not is_within(real, root):
        raise _LeadsOutside
    data = read_post(Path(real), max_bytes, follow_link=False)
    info = path.stat()
    return data, (info.st_size, info.st_mtime_ns)


class DirectorySource:
    """A folder of post files, watched recursively for new and changed `*.md` files."""

    def __init__(
        self,
        archive: Archive,
        directory: Path,
        settle_seconds: float,
        clock: Callable[[], float] = time.time,
        *,
        max_post_bytes: int = MAX_POST_BYTES,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.archive = archive
        self.directory = directory
        self.settle_seconds = settle_seconds
        self.clock = clock
        self.max_post_bytes = max_post_bytes
        self.today = today
        self._seen: dict[Path, FileSignature] = {}  # fully handled at this signature
        self._bad: dict[Path, str] = {}  # path → hash of the content last rejected
        self._unread: dict[Path, FileSignature] = {}  # unreadable or too large: reported at this
        self._pending: dict[Path, tuple[FileSignature, float]] = {}  # unsettled: first seen when
        self._outside: set[Path] = set()  # links leading out of the directory, reported once
        self._missing = False

    def __repr__(self) -> str:
        return f"DirectorySource({str(self.directory)!r})"

    async def poll(self) -> IngestReport:
        """Store new and changed posts; report bad ones once per distinct content.

        Each post is stored on its own: one the archive cannot take (StoreError: locked,
        read-only, disk full) is logged and not marked as handled, so the next poll tries
        it again, while the posts after it are stored now.
        """
        report = IngestReport()
        listing = await asyncio.to_thread(list_posts, self.directory)
        if listing is None:
            if not self._missing:
                log.warning("post directory %s does not exist; waiting for it", self.directory)
                self._missing = True
            return report
        if self._missing:
            log.info("post directory %s is back", self.directory)
            self._missing = False
        present = {path for path, _ in listing.files}
        for table in (self._seen, self._bad, self._unread, self._pending):
            for gone in [path for path in table if path not in present]:
                del table[gone]
        self._outside &= set(listing.outside)
        for link in listing.outside:
            self._leads_outside(link)
        known: set[str] | None = None
        for path, info in listing.files:
            signature = (info.st_size, info.st_mtime_ns)
            if self._seen.get(path) == signature:
                if path not in self._bad:
                    report.unchanged += 1
                continue
            if not self._settled(path, signature, info.st_mtime):
                continue
            try:
                if info.st_size > self.max_post_bytes:
                    raise PostTooLarge(self.max_post_bytes, info.st_size)
                data, after = await asyncio.to_thread(
                    read_post_file, path, self.max_post_bytes, listing.root
                )
            except FileNotFoundError:
                log.debug("post %s vanished before it could be read", path)
                continue
            except _LeadsOutside:
                self._leads_outside(path)
                continue
            except (OSError, PostTooLarge) as exc:
                if self._unread.get(path) != signature:
                    self._unread[path] = signature
                    if isinstance(exc, OSError):
                        log.warning("cannot read post %s: %s", path, exc)
                        reason = f"cannot read: {exc.strerror or exc}"
                    else:
                        reason = str(exc)
                    report.rejected.append(Rejection(str(path), 0, reason))
                continue
            self._unread.pop(path, None)
            if after != signature:
                log.debug("post %s changed while being read; waiting for it to settle", path)
                self._pending[path] = (after, self.clock())
                continue
            digest = content_hash(data)
            if self._bad.get(path) == digest:
                self._pending.pop(path, None)
                self._seen[path] = signature  # touched, but the same bad content
                continue
            if known is None:
                try:
                    known = await self.archive.content_hashes()
                except StoreError as exc:
                    _cannot_store(str(path), exc)  # the archive cannot be read at all
                    return report
            try:
                outcome = await ingest_post(
                    self.archive, str(path), data, known, report, today=self.today()
                )
            except StoreError as exc:
                _cannot_store(str(path), exc)  # not marked seen: tried again next poll
                continue
            self._pending.pop(path, None)
            if outcome is None:
                self._bad[path] = digest
            else:
                self._bad.pop(path, None)
            self._seen[path] = signature
        return report

    def _leads_outside(self, path: Path) -> None:
        """Say once that `path` is not read: its content is never quoted, or even opened."""
        if path not in self._outside:
            self._outside.add(path)
            log.warning(
                "not following %s: it leads outside the watched directory %s",
                path,
                self.directory,
            )

    def _settled(self, path: Path, signature: FileSignature, mtime: float) -> bool:
        """True once the file has not been written for settle_seconds.

        By its mtime, or, for an mtime in the future (clock skew, copied timestamps), by
        having kept the same signature across polls for settle_seconds of our own clock.
        """
        now = self.clock()
        if now - mtime >= self.settle_seconds:
            return True
        pending = self._pending.get(path)
        if pending is not None and pending[0] == signature:
            if now - pending[1] >= self.settle_seconds:
                return True
        else:
            self._pending[path] = (signature, now)
        log.debug("post %s was modified %.1f s ago; waiting for it to settle", path, now - mtime)
        return False


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A 200 response's body and the validators to send next time."""

    body: bytes
    etag: str
    last_modified: str


_UNCHANGED: Final = "unchanged"


class _Give(Exception):
    """Internal: stop fetching this URL and report why."""


class HttpSource:
    """One post per date at a URL template, fetched with conditional requests and retries."""

    def __init__(
        self,
        archive: Archive,
        state: BotState,
        url_template: str,
        session: aiohttp.ClientSession,
        lookback_days: int,
        timeout_seconds: float,
        today: Callable[[], dt.date] = dt.date.today,
        retries: int = 3,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        max_backoff_seconds: float = 60.0,
        max_bytes: int = MAX_POST_BYTES,
    ) -> None:
        if "{date}" not in url_template:
            raise ValueError(f"URL template {url_template!r} has no {{date}}")
        self.archive = archive
        self.state = state
        self.url_template = url_template
        self.session = session
        self.lookback_days = max(0, lookback_days)
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.today = today
        self.retries = max(0, retries)
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_bytes = max_bytes
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"HttpSource({self.url_template!r})"

    def url_for(self, date: dt.date) -> str:
        return self.url_template.format(date=date.isoformat())

    async def poll(self) -> IngestReport:
        """Fetch each day of the lookback window, oldest first; failures become rejections.

        Each post is stored on its own: when the archive cannot take one (StoreError), that
        URL's validators are not saved, so the next poll fetches it in full again, and the
        poll goes on with the next day.
        """
        report = IngestReport()
        today = self.today()
        known: set[str] | None = None
        for back in range(self.lookback_days, -1, -1):
            url = self.url_for(today - dt.timedelta(days=back))
            try:
                known = await self._poll_url(url, known, report, today)
            except StoreError as exc:
                _cannot_store(url, exc)
        return report

    async def _poll_url(
        self, url: str, known: set[str] | None, report: IngestReport, today: dt.date
    ) -> set[str] | None:
        """Fetch and store one day's post; returns the content hashes, once read."""
        try:
            fetched = await self._fetch(url)
        except _Give as give:
            reason = str(give)
            log.warning("cannot fetch post %s: %s", url, reason)
            report.rejected.append(Rejection(url, 0, reason))
            return known
        if fetched is None:
            return known
        if fetched == _UNCHANGED:
            report.unchanged += 1
            return known
        if known is None:
            known = await self.archive.content_hashes()
        outcome = await ingest_post(self.archive, url, fetched.body, known, report, today=today)
        if outcome is IngestOutcome.UNCHANGED:
            log.debug("post %s is unchanged", url)
        # Remember validators only once the body has been handled (stored or rejected),
        # so a crash in between means a full GET next time rather than a lost post.
        await self.state.set(f"http:etag:{url}", fetched.etag)
        await self.state.set(f"http:last-modified:{url}", fetched.last_modified)
        return known

    async def _fetch(self, url: str) -> _Fetched | Literal["unchanged"] | None:
        """The post at `url`: a body, "unchanged" (304), or None (404: not published yet).

        Raises _Give with the reason after the retry budget is spent or on a client error.
        """
        headers: dict[str, str] = {}
        etag = await self.state.get(f"http:etag:{url}")
        last_modified = await self.state.get(f"http:last-modified:{url}")
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempts = self.retries + 1
        honoured_retry_after = False
        failure = ""
        for attempt in range(attempts):
            delay = min(self.backoff_seconds * 2**attempt, self.max_backoff_seconds)
            try:
                async with self.session.get(url, headers=headers, timeout=self.timeout) as resp:
                    status = resp.status
                    if status == 200:
                        return _Fetched(
                            body=await self._read_body(resp),
                            etag=resp.headers.get("ETag", ""),
                            last_modified=resp.headers.get("Last-Modified", ""),
                        )
                    if status == 304:
                        log.debug("post %s not modified", url)
                        return _UNCHANGED
                    if status == 404:
                        log.debug("post %s not published yet", url)
                        return None
                    failure = f"HTTP {status}"
                    if status == 429:
                        retry_after = _retry_after(resp.headers.get("Retry-After"))
                        if retry_after is not None and not honoured_retry_after:
                            honoured_retry_after = True
                            if retry_after > self.max_backoff_seconds:
                                raise _Give(f"HTTP 429, asked to retry after {retry_after:g} s")
                            delay = retry_after
                    elif status < 500:
                        raise _Give(f"HTTP {status} {resp.reason or ''}".rstrip())
            except TimeoutError:
                failure = "timed out"
            except aiohttp.InvalidURL as exc:
                raise _Give(f"invalid URL: {exc}") from None
            except aiohttp.ClientError as exc:
                failure = f"connection failed ({type(exc).__name__}: {exc})"
            if attempt + 1 < attempts:
                log.info(
                    "fetching %s: %s; retry %d of %d in %g s",
                    url,
                    failure,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                await self.sleep(delay)
        raise _Give(f"{failure} after {attempts} attempt{'s' if attempts != 1 else ''}")

    async def _read_body(self, resp: aiohttp.ClientResponse) -> bytes:
        """The body, refusing more than max_bytes (`[source] max_post_bytes`): by its declared
        length before reading, else as soon as it has read one byte more."""
        declared = resp.content_length
        if declared is not None and declared > self.max_bytes:
            raise _Give(str(PostTooLarge(self.max_bytes, declared)))
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self.max_bytes:
                raise _Give(str(PostTooLarge(self.max_bytes)))
            chunks.append(chunk)
        return b"".join(chunks)


class Source(Protocol):
    """Anything `poll_sources` can poll: the directory, the URL, and days built from Bluesky
    (`bot.bluesky.source`). A poll stores what is new and reports it; it never raises for
    one bad post, and says what it stored in `stored_days` so those days are planned."""

    async def poll(self) -> IngestReport: ...


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds; None when absent or an HTTP date (then plain backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _cannot_store(post: str, exc: StoreError) -> None:
    """The archive cannot take this post (locked, read-only, full): one line, no traceback."""
    log.error("cannot store post %s: %s; will retry at the next poll", post, exc)


async def poll_source(source: Source) -> IngestReport:
    """Poll one source; its crash is logged and gives an empty report, never an exception."""
    try:
        return await source.poll()
    except StoreError as exc:  # the sources catch their own; one line, no traceback
        log.error("polling %r failed: %s", source, exc)
    except Exception:
        log.exception("polling %r failed", source)
    return IngestReport()


async def poll_sources(sources: Sequence[Source]) -> IngestReport:
    """Poll every source at once and merge their reports: a slow or crashing source holds up
    or stops none of the others."""
    merged = IngestReport()
    for report in await asyncio.gather(*(poll_source(source) for source in sources)):
        merged.new += report.new
        merged.updated += report.updated
        merged.unchanged += report.unchanged
        merged.papers += report.papers
        merged.tweets += report.tweets
        merged.rejected.extend(report.rejected)
        merged.stored_days.extend(report.stored_days)
    return merged
