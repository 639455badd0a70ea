"""Reading posts from files into the archive, shared by `hotpapers ingest` and the poller."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.ingest.parser import ParseError, parse_post
from bot.models import Day
from bot.store import Archive, IngestOutcome, StoreError

log = logging.getLogger(__name__)

MAX_POST_BYTES = 2_000_000
"""The default of `[source] max_post_bytes`: a post is some 20 kB to 100 kB."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A file that was not stored, and why; printed as `path:line: reason`."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(slots=True)
class IngestReport:
    """What one ingest run did, for the CLI summary and the poller's log."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    papers: int = 0
    tweets: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    stored_days: list[Day] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"posts: {self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected; papers: {self.papers}; tweets: {self.tweets}"
        )


@dataclass(slots=True)
class PostListing:
    """The `*.md` files under a directory, and the links there that lead out of it."""

    root: str  # the directory's real path
    files: list[tuple[Path, os.stat_result]] = field(default_factory=list)
    outside: list[Path] = field(default_factory=list)


def list_posts(directory: Path) -> PostListing | None:
    """Regular `*.md` files under `directory`, recursively, in a stable order, with their
    stat; None when it is not a directory.

    Symbolic links are followed only to files and directories inside `directory`; those
    leading out of it are listed in `outside`, never read. os.walk ignores subdirectories
    that vanish or cannot be listed mid-walk, and a file that vanishes before its stat is
    left out.
    """
    if not directory.is_dir():
        return None
    root = os.path.realpath(directory)
    listing = PostListing(root)
    walked = {root}
    for parent, dirs, names in os.walk(directory, followlinks=True):
        kept = []
        for name in sorted(dirs):
            path = os.path.join(parent, name)
            real = os.path.realpath(path)
            if not is_within(real, root):
                listing.outside.append(Path(path))
            elif real not in walked:  # else a loop, or a second way to the same directory
                walked.add(real)
                kept.append(name)
        dirs[:] = kept
        for name in sorted(names):
            if not name.endswith(".md"):
                continue
            path = os.path.join(parent, name)
            if os.path.islink(path) and not is_within(os.path.realpath(path), root):
                listing.outside.append(Path(path))
                continue
            try:
                info = os.stat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                listing.files.append((Path(path), info))
    return listing


def is_within(real: str, root: str) -> bool:
    """Whether the real path `real` is `root` or under it."""
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def find_posts(paths: Iterable[str | Path]) -> tuple[list[Path], list[Rejection]]:
    """Files as given, directories searched recursively for `*.md`, in a stable order.

    In a directory, symbolic links leading out of it are skipped with a warning, as the
    watched directory does.
    """
    files: list[Path] = []
    missing: list[Rejection] = []
    for given in paths:
        path = Path(given)
        listing = list_posts(path)
        if listing is not None:
            for link in listing.outside:
                log.warning("not following %s: it leads outside %s", link, path)
            files.extend(sorted(found for found, _ in listing.files))
        elif path.is_file():
            files.append(path)
        else:
            missing.append(Rejection(str(given), 0, "no such file or directory"))
    return files, missing


class PostTooLarge(Exception):
    """A post over `[source] max_post_bytes`; `str()` is the reason, for a Rejection."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        super().__init__(
            f"post is {size} bytes, more than [source] max_post_bytes ({limit})"
            if size is not None
            else f"post is larger than [source] max_post_bytes ({limit})"
        )


def read_post(path: Path, max_bytes: int, *, follow_link: bool = True) -> bytes:
    """The file's bytes; PostTooLarge when it has more than `max_bytes`, read no further than
    one byte past them (its size is checked before reading). Without `follow_link`, a path
    that is a symbolic link is an OSError (ELOOP)."""
    flags = os.O_RDONLY | (0 if follow_link else os.O_NOFOLLOW)
    with open(os.open(path, flags), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > max_bytes:
            raise PostTooLarge(max_bytes, size)
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while being read
        raise PostTooLarge(max_bytes)
    return data


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def ingest_files(
    archive: Archive,
    files: Sequence[Path],
    *,
    on_file: Callable[[Path], None] | None = None,
    max_post_bytes: int = MAX_POST_BYTES,
    today: Callable[[], dt.date] = dt.date.today,
) -> IngestReport:
    """Parse and store the files; a bad file is reported, not fatal.

    They go in batches of `BATCH_POSTS`: a batch is read, hashed and parsed in one call to a
    worker thread, and stored in one transaction (each post replacing its day as alone it
    would). When a batch cannot be stored, its posts are stored one by one, so that those
    before the one that fails are kept and the error is that post's.
    """
    report = IngestReport()
    known = await archive.content_hashes()
    for start in range(0, len(files), BATCH_POSTS):
        batch = files[start : start + BATCH_POSTS]
        prepared = await asyncio.to_thread(
            _read_and_parse_all, batch, max_post_bytes, known, today()
        )
        await _store_batch(archive, prepared, known, report)
        if on_file is not None:
            for path in batch:
                on_file(path)
    return report


BATCH_POSTS = 32
"""Posts `ingest_files` stores in one transaction: a commit per post (with the full-text
index's flush at each) costs a third of a bulk ingest, and a writer in another process waits
for a batch (some 50 ms) no longer than for a slash command's write."""


def _read_and_parse_all(
    paths: Sequence[Path], max_post_bytes: int, known: Container[str], today: dt.date
) -> list[_Parsed | Rejection]:
    return [_read_and_parse(path, max_post_bytes, known, today) for path in paths]


async def _store_batch(
    archive: Archive, batch: Sequence[_Parsed | Rejection], known: set[str], report: IngestReport
) -> None:
    """Store a batch's posts in one transaction, or one by one when that fails, and count
    each post (in order) into `report`."""
    fresh = [
        p for p in batch if isinstance(p, _Parsed) and p.day is not None and p.digest not in known
    ]
    stored: dict[int, IngestOutcome] = {}
    if len(fresh) > 1:
        try:
            outcomes = await archive.ingest_many(
                [(p.day, p.source, p.digest) for p in fresh if p.day is not None]
            )
        except (StoreError, sqlite3.Error) as exc:
            log.info(
                "storing %d posts together failed (%s); storing them one by one", len(fresh), exc
            )
        else:
            stored = {id(p): outcome for p, outcome in zip(fresh, outcomes, strict=True)}
    for parsed in batch:
        if isinstance(parsed, Rejection):
            report.rejected.append(parsed)
        else:
            await _store(archive, parsed, known, report, stored.get(id(parsed)))


@dataclass(frozen=True, slots=True)
class _Parsed:
    """What a worker thread made of one post's bytes, for the event loop to store."""

    source: str
    digest: str
    day: Day | None = None  # None when known already, or rejected
    error: ParseError | None = None


def _read_and_parse(
    path: Path, max_post_bytes: int, known: Container[str], today: dt.date
) -> _Parsed | Rejection:
    """Read, hash and parse one file, in a worker thread."""
    try:
        data = read_post(path, max_post_bytes)
    except PostTooLarge as exc:
        return Rejection(str(path), 0, str(exc))
    except OSError as exc:
        return Rejection(str(path), 0, f"cannot read: {exc.strerror or exc}")
    return _parse_new(data, str(path), known, today)


def _parse_new(data: bytes, source: str, known: Container[str], today: dt.date) -> _Parsed:
    """Hash the post and parse it unless its hash is known, in a worker thread."""
    digest = content_hash(data)
    if digest in known:
        return _Parsed(source, digest)
    try:
        return _Parsed(source, digest, day=parse_post(data, source, today=today))
    except ParseError as exc:
        return _Parsed(source, digest, error=exc)
    except Exception as exc:  # a parser bug: this post alone is lost, never its batch
        log.error("cannot parse %s, a parser bug: %s: %s", source, type(exc).__name__, exc)
        reason = f"cannot be parsed ({type(exc).__name__}: {exc})"
        return _Parsed(source, digest, error=ParseError(source, 0, reason))


async def ingest_post(
    archive: Archive,
    source: str,
    data: bytes,
    known: set[str],
    report: IngestReport,
    *,
    today: dt.date,
) -> IngestOutcome | None:
    """Parse and store one post's bytes under `source` (a path or URL), counting into `report`.

    Shared by `hotpapers ingest` and the pollers so every source stores posts the same way.
    Returns the outcome, or None when the post was rejected (and added to `report.rejected`).
    A post dated more than a day after `today` is rejected. It is hashed and parsed in a
    worker thread: a long post must not hold up the commands the event loop is answering.
    """
    parsed = await asyncio.to_thread(_parse_new, data, source, known, today)
    return await _store(archive, parsed, known, report)


async def _store(
    archive: Archive,
    parsed: _Parsed,
    known: set[str],
    report: IngestReport,
    stored: IngestOutcome | None = None,
) -> IngestOutcome | None:
    """Store a parsed post (unless `stored` says how it was stored already, with others),
    or count it unchanged or rejected."""
    if parsed.digest in known:
        report.unchanged += 1
        return IngestOutcome.UNCHANGED
    if parsed.error is not None:
        exc = parsed.error
        # INFO, not WARNING: each caller reports rejections itself (the CLI prints them, the
        # poller logs them), so a warning here would say everything twice.
        log.info("rejected post %s", exc)
        report.rejected.append(Rejection(exc.path, exc.line, exc.reason))
        return None
    day = parsed.day
    assert day is not None
    outcome = stored or await archive.ingest(day, source=parsed.source, content_hash=parsed.digest)
    known.add(parsed.digest)
    if outcome is IngestOutcome.UNCHANGED:
        report.unchanged += 1
        return outcome
    if outcome is IngestOutcome.NEW:
        report.new += 1
    else:
        report.updated += 1
    report.papers += len(day.papers)
    report.tweets += day.tweet_count
    report.stored_days.append(day)
    log.info(
        "stored %s post for %s from %s: %d papers, %d tweets",
        outcome.value,
        day.date,
        parsed.source,
        len(day.papers),
        day.tweet_count,
    )
    return outcome
