"""arXiv's API, asked for the metadata of papers by id: title, abstract, authors, categories.

Written on aiohttp rather than the `arxiv` package from PyPI: that one is synchronous, uses
`requests` without any timeout and retries on its own schedule, so it cannot guarantee the
spacing arXiv asks for (one request every 3 seconds, one at a time, retries included), nor
cancellation or timeouts inside the bot's event loop.

What the API does, from its user manual: `id_list` is comma-separated and the answer holds
10 entries unless `max_results` says otherwise (so every request sets it to the batch size);
the answer is an Atom feed whose entries have an `id` like
`https://arxiv.org/abs/2103.03206v2`, a `title`, a `summary`, `author/name`s,
`arxiv:primary_category`, `category term`s, a `link title="pdf"` and maybe an
`arxiv:comment`. A malformed id makes the whole answer one entry titled `Error` (HTTP 200);
an unknown id yields no entry at all (since late 2025; `totalResults` may still say 1).
Throttling answers a plain-text `Rate exceeded.`. arXiv also answers an empty feed now and
then for ids it knows, so an empty answer is asked again once before its ids count as
unknown.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, cast

import aiohttp
from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml import ElementTree as SafeET

from bot.arxiv import InvalidArxivId, parse_arxiv_id
from bot.ingest.parser import collapse

log = logging.getLogger(__name__)

MAX_BATCH: Final = 100  # ids a request; arXiv asks for modest slices
_ATOM: Final = "{http://www.w3.org/2005/Atom}"
_ARXIV: Final = "{http://arxiv.org/schemas/atom}"
_ENTRY_ID = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/abs/(?P<id>\S+?)(?:v\d+)?/?$")
_VERSION = re.compile(r"v\d+$")
_OLD_SUBJECT = re.compile(r"^(?P<archive>[a-z-]+)\.[A-Z]{2}/")
# arXiv's own classes (cs.LG, hep-th); entries also carry ACM (I.2.6) and MSC (68T05) ones.
_ARXIV_CATEGORY = re.compile(r"[A-Za-z-]+(?:\.[A-Za-z-]+)?")
_WITHDRAWN_COMMENT = re.compile(r"\bwithdrawn\b", re.IGNORECASE)
_WITHDRAWN_ABSTRACT = re.compile(
    r"^(?:this|the)\s+(?:paper|article|manuscript|submission|preprint|work)\s+"
    r"(?:has\s+been|is|was)\s+withdrawn\b",
    re.IGNORECASE,
)
UNKNOWN: Final = "arXiv has no paper with this id"


class ArxivUnavailable(Exception):
    """arXiv could not answer (down, throttling, or answering nonsense); says why."""


@dataclass(frozen=True, slots=True)
class ArxivMetadata:
    """A paper as arXiv describes it now."""

    arxiv_id: str  # as asked
    title: str  # whitespace collapsed: arXiv wraps long titles
    abstract: str  # likewise
    authors: tuple[str, ...]
    categories: tuple[str, ...]  # arXiv categories, primary first, each once
    pdf_url: str | None
    withdrawn: bool


@dataclass(slots=True)
class ArxivResult:
    """The metadata found, by asked id, and why the other asked ids have none."""

    found: dict[str, ArxivMetadata] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Feed:
    entries: list[ET.Element]
    error: str | None  # the summary of an Error entry


class _Malformed(Exception):
    """Internal: the answer is not an Atom feed."""


class ArxivApi:
    """arXiv's query API at `api_url`, at most one request every `min_interval` seconds.

    Requests (retries included) go one at a time and start at least `min_interval` apart,
    measured between request starts with `clock` (monotonic seconds); `sleep` waits. Tests
    inject both. `requests` counts HTTP requests.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_url: str,
        *,
        min_interval: float = 3.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retries: int = 3,
        backoff: float = 3.0,
        batch_size: int = MAX_BATCH,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1 to {MAX_BATCH}, got {batch_size}")
        self.session = session
        self.api_url = api_url
        self.min_interval = min_interval
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self.sleep = sleep
        self.retries = max(0, retries)
        self.backoff = backoff
        self.batch_size = batch_size
        self.requests = 0
        self._lock = asyncio.Lock()
        self._last_start: float | None = None

    async def papers(self, ids: Iterable[str]) -> ArxivResult:
        """Metadata for each of `ids` (version-less or versioned, new or old style).

        An id arXiv does not know, or finds malformed, is in `missing` with the reason.
        Raises ArxivUnavailable when arXiv cannot answer after retries.
        """
        result = ArxivResult()
        query: dict[str, str] = {}  # asked id → the id sent to arXiv
        for asked in dict.fromkeys(ids):
            try:
                canonical = parse_arxiv_id(asked)
            except InvalidArxivId as exc:
                result.missing[asked] = str(exc)
                continue
            version = _VERSION.search(asked.strip())
            query[asked] = canonical + (version[0] if version else "")
        asked_ids = list(query)
        for start in range(0, len(asked_ids), self.batch_size):
            batch = {a: query[a] for a in asked_ids[start : start + self.batch_size]}
            async with self._lock:
                await self._batch(batch, result)
        return result

    async def _batch(self, batch: dict[str, str], result: ArxivResult) -> None:
        pending = dict(batch)
        confirmed_empty = False
        while pending:
            feed = await self._fetch(list(pending.values()))
            if feed.error is not None:
                culprit = _culprit(feed.error, pending)
                if culprit is None:
                    raise ArxivUnavailable(f"arXiv refused the query: {feed.error}")
                log.info("arXiv finds id %s malformed: %s", pending[culprit], feed.error)
                result.missing[culprit] = f"arXiv: {feed.error}"
                del pending[culprit]
                continue
            if not feed.entries and not confirmed_empty:
                confirmed_empty = True
                log.info("arXiv answered no entry for %d ids; asking once more", len(pending))
                continue
            by_key: dict[str, list[str]] = {}
            for asked, sent in pending.items():
                by_key.setdefault(_key(sent), []).append(asked)
            for entry in feed.entries:
                self._take(entry, by_key, result)
            for asked in pending:
                if asked not in result.found and asked not in result.missing:
                    result.missing[asked] = UNKNOWN
            return

    @staticmethod
    def _take(entry: ET.Element, by_key: dict[str, list[str]], result: ArxivResult) -> None:
        entry_id = _text(entry, f"{_ATOM}id")
        match = _ENTRY_ID.match(entry_id)
        if match is None:
            log.warning("arXiv entry with an unexpected id %r; ignored", entry_id)
            return
        for asked in by_key.get(_key(match["id"]), ()):
            problem, metadata = _metadata(asked, entry)
            if metadata is None:
                log.warning("arXiv's entry for %s is unusable: %s", asked, problem)
                result.missing[asked] = f"arXiv's entry {problem}"
            else:
                result.found[asked] = metadata

    async def _fetch(self, ids: list[str]) -> _Feed:
        """One answered query for `ids`, spaced and retried; raises ArxivUnavailable."""
        params = {"id_list": ",".join(ids), "max_results": str(len(ids))}
        attempts = self.retries + 1
        malformed_retried = False
        failure = ""
        for attempt in range(attempts):
            await self._space()
            self.requests += 1
            try:
                async with self.session.get(
                    self.api_url, params=params, timeout=self.timeout
                ) as resp:
                    status, body = resp.status, await resp.read()
            except TimeoutError:
                failure = "timed out"
            except aiohttp.ClientError as exc:
                failure = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                if body.lstrip().startswith(b"Rate exceeded"):
                    failure = f"HTTP {status} Rate exceeded."
                elif status == 200:
                    try:
                        return _parse_feed(body)
                    except _Malformed as exc:
                        if malformed_retried:
                            raise ArxivUnavailable(
                                f"arXiv answered malformed XML twice ({exc})"
                            ) from None
                        malformed_retried = True
                        failure = f"malformed XML ({exc})"
                elif status == 429 or status >= 500:
                    failure = f"HTTP {status}"
                else:
                    raise ArxivUnavailable(
                        f"arXiv refused the query: HTTP {status} {_snippet(body)}".rstrip()
                    )
            if attempt + 1 < attempts:
                delay = self.backoff * 2**attempt
                log.info(
                    "arXiv API: %s; retry %d of %d in %.1f s",
                    failure,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                await self.sleep(delay)
        raise ArxivUnavailable(f"{failure} after {attempts} attempt{'s' * (attempts != 1)}")

    async def _space(self) -> None:
        """Wait until `min_interval` has passed since the last request started, then mark."""
        if self._last_start is not None:
            wait = self._last_start + self.min_interval - self.clock()
            if wait > 0:
                await self.sleep(wait)
        self._last_start = self.clock()


def _key(arxiv_id: str) -> str:
    """What an asked id and an entry's id have in common: no version, no subject class.

    arXiv answers `math.GT/0309136` as `math/0309136v1`, and `2103.03206` as
    `2103.03206v2`.
    """
    bare = _VERSION.sub("", arxiv_id.strip())
    return _OLD_SUBJECT.sub(r"\g<archive>/", bare)


def _culprit(error: str, pending: dict[str, str]) -> str | None:
    """The asked id an Error entry's summary names (`incorrect id format for 1234.12345`)."""
    for asked, sent in pending.items():
        if re.search(rf"(?<![\w.\-/]){re.escape(sent)}(?![\w.\-/])", error):
            return asked
    return None


def _parse_feed(body: bytes) -> _Feed:
    try:
        root = cast(ET.Element, SafeET.fromstring(body))
    except (ET.ParseError, DefusedXmlException) as exc:
        raise _Malformed(str(exc) or type(exc).__name__) from None
    if root.tag != f"{_ATOM}feed":
        raise _Malformed(f"root element is {root.tag!r}, not an Atom feed")
    entries = root.findall(f"{_ATOM}entry")
    for entry in entries:
        entry_id = _text(entry, f"{_ATOM}id")
        if _text(entry, f"{_ATOM}title") == "Error" or "/api/errors" in entry_id:
            return _Feed([], _text(entry, f"{_ATOM}summary") or "Error")
    return _Feed(entries, None)


def _text(element: ET.Element, tag: str) -> str:
    found = element.find(tag)
    return collapse(found.text or "") if found is not None else ""


def _metadata(asked: str, entry: ET.Element) -> tuple[str, ArxivMetadata | None]:
    title = _text(entry, f"{_ATOM}title")
    if not title:
        return "has no title", None
    terms = [
        element.get("term", "").strip()
        for element in (
            entry.findall(f"{_ARXIV}primary_category") + entry.findall(f"{_ATOM}category")
        )
    ]
    categories = tuple(dict.fromkeys(t for t in terms if _ARXIV_CATEGORY.fullmatch(t)))
    if not categories:
        return "has no arXiv category", None
    authors = tuple(
        name
        for author in entry.findall(f"{_ATOM}author")
        if (name := _text(author, f"{_ATOM}name"))
    )
    pdf_url = next(
        (
            link.get("href")
            for link in entry.findall(f"{_ATOM}link")
            if link.get("title") == "pdf" and link.get("href")
        ),
        None,
    )
    abstract = _text(entry, f"{_ATOM}summary")
    comment = _text(entry, f"{_ARXIV}comment")
    withdrawn = bool(_WITHDRAWN_COMMENT.search(comment) or _WITHDRAWN_ABSTRACT.match(abstract))
    return "", ArxivMetadata(
        arxiv_id=asked,
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        pdf_url=pdf_url,
        withdrawn=withdrawn,
    )


def _snippet(body: bytes, limit: int = 120) -> str:
    text = collapse(body.decode("utf-8", "replace"))
    return text if len(text) <= limit else text[: limit - 3] + "..."
