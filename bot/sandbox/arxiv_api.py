"""A local arXiv API on 127.0.0.1 serving Atom for `id_list` queries from a registry of papers.

The offline sandbox and the tests ask it for paper metadata instead of export.arxiv.org.
Its answers follow arXiv's API user manual and today's service: entries as arXiv writes them
(versioned `https://arxiv.org/abs/ID vN` ids, hard-wrapped titles and abstracts, ACM classes
beside arXiv's categories), `max_results` honoured (10 when absent), no entry at all for an
unknown id, one `Error` entry for a malformed one, withdrawn papers with arXiv's comment.
A versioned id is answered with the paper's latest version.

It enforces arXiv's request spacing: every request's start is recorded (`requests`), and one
that comes less than `min_interval` seconds after the previous one is answered
`Rate exceeded.` (503) and counted in `violations`, so a test can prove the 3-second rule
held. Fault hooks come from `LocalService` (bot.sandbox.service).

Usage::

    async with LocalArxiv.with_samples() as arxiv:
        api = ArxivApi(session, arxiv.api_url)
        result = await api.papers(["2103.03206"])
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import re
import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

from bot.ingest.parser import parse_post
from bot.samples import sample_posts
from bot.sandbox.service import LocalService

__all__ = ["ArxivRequest", "LocalArxiv", "StandInPaper", "sample_papers"]

WITHDRAWN_COMMENT = "This paper has been withdrawn by the authors"
_NEW_STYLE = re.compile(r"(?P<yy>\d{2})(?P<mm>\d{2})\.(?P<num>\d{4,5})(?:v\d+)?")
_OLD_STYLE = re.compile(r"(?P<archive>[a-z]+(?:-[a-z]+)*)(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?")
_VERSION = re.compile(r"v\d+$")
_SCHEME = "http://arxiv.org/schemas/atom"


@dataclass(frozen=True, slots=True)
class StandInPaper:
    """A paper the stand-in knows, as arXiv holds it."""

    arxiv_id: str  # version-less; old style without a subject class (hep-th/9901001)
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]  # primary first
    version: int = 1
    comment: str = ""
    extra_classes: tuple[str, ...] = ()  # ACM or MSC classes, listed as categories too

    @property
    def published(self) -> str:
        """The first version's date, from the id's year and month where it has them."""
        match = _NEW_STYLE.fullmatch(self.arxiv_id) or re.search(r"/(\d{2})(\d{2})", self.arxiv_id)
        yy, mm = (int(match[1]), int(match[2])) if match else (7, 4)
        year = 2000 + yy if yy < 91 else 1900 + yy
        return f"{year:04d}-{mm:02d}-01T12:00:00Z"


@dataclass(frozen=True, slots=True)
class ArxivRequest:
    """One request the stand-in received: its start (the stand-in's clock), the ids asked,
    `max_results` as given (None when absent) and the status answered."""

    at: float
    ids: tuple[str, ...]
    max_results: str | None
    status: int


def sample_papers() -> list[StandInPaper]:
    """The papers of the bundled sample posts, as arXiv would describe them."""
    papers: dict[str, StandInPaper] = {}
    for path in sample_posts():
        for ranked in parse_post(path.read_bytes(), str(path)).papers:
            paper = ranked.paper
            papers.setdefault(
                paper.arxiv_id,
                StandInPaper(
                    arxiv_id=paper.arxiv_id,
                    title=paper.title,
                    abstract=paper.abstract,
                    authors=paper.authors,
                    categories=paper.categories,
                ),
            )
    return list(papers.values())


def _key(arxiv_id: str) -> str:
    """How arXiv looks an id up: no version, and old-style ids without the subject class."""
    bare = _VERSION.sub("", arxiv_id)
    return re.sub(r"^([a-z-]+)\.[A-Z]{2}/", r"\1/", bare)


def malformed(arxiv_id: str) -> bool:
    """Whether arXiv calls `arxiv_id` malformed (see arXiv's identifier scheme)."""
    new = _NEW_STYLE.fullmatch(arxiv_id)
    if new:
        yymm, five = f"{new['yy']}{new['mm']}", len(new["num"]) == 5
        return not 1 <= int(new["mm"]) <= 12 or yymm < "0704" or five != (yymm >= "1501")
    return _OLD_STYLE.fullmatch(arxiv_id) is None


class LocalArxiv(LocalService):
    """The arXiv API stand-in at `api_url`; `clock` is monotonic seconds for the spacing."""

    def __init__(
        self,
        papers: Iterable[StandInPaper] = (),
        *,
        min_interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.min_interval = min_interval
        self.clock = clock
        self.papers: dict[str, StandInPaper] = {}
        self.requests: list[ArxivRequest] = []
        self.violations = 0
        self.refused_ids: set[str] = set()
        for paper in papers:
            self.add_paper(paper)

    @classmethod
    def with_samples(
        cls, *, min_interval: float = 3.0, clock: Callable[[], float] = time.monotonic
    ) -> LocalArxiv:
        """A stand-in that knows the papers of the bundled sample posts."""
        return cls(sample_papers(), min_interval=min_interval, clock=clock)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/query"

    def add_paper(self, paper: StandInPaper) -> None:
        self.papers[_key(paper.arxiv_id)] = paper

    def withdraw(self, arxiv_id: str) -> None:
        """Withdraw a paper as arXiv does: a new version whose comment says so."""
        paper = self.papers[_key(arxiv_id)]
        self.add_paper(replace(paper, version=paper.version + 1, comment=WITHDRAWN_COMMENT))

    def refuse_ids(self, *ids: str) -> None:
        """Answer queries naming these ids with arXiv's Error entry, as for a malformed id
        (arXiv's checks are its own: an id may look well formed and still be refused)."""
        self.refused_ids.update(ids)

    def min_gap(self) -> float | None:
        """The shortest time between two request starts, or None before two requests."""
        starts = [r.at for r in self.requests]
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        return min(gaps) if gaps else None

    def _routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/api/query", self._query)]

    async def _query(self, request: web.Request) -> web.Response:
        now = self.clock()
        previous = self.requests[-1].at if self.requests else None
        id_list = request.query.get("id_list", "")
        ids = tuple(i.strip() for i in id_list.split(",") if i.strip())
        max_results = request.query.get("max_results")
        if previous is not None and now - previous < self.min_interval:
            self.violations += 1
            response = web.Response(status=503, text="Rate exceeded.")
        else:
            response = await self._answer(ids, max_results, request.query.get("start"))
        self.requests.append(ArxivRequest(now, ids, max_results, response.status))
        return response

    async def _answer(
        self, ids: tuple[str, ...], max_results_text: str | None, start_text: str | None
    ) -> web.Response:
        fault = self._take_fault()
        if fault is not None:
            if fault.kind == "hang":
                await self._hang(fault.seconds)
            elif fault.kind == "status":
                text = "Rate exceeded." if fault.status in (429, 503) else "Internal Server Error"
                return web.Response(status=fault.status, text=text)
        query = f"search_query=&id_list={','.join(ids)}"
        numbers: dict[str, int] = {}
        for name, given, default in (
            ("max_results", max_results_text, 10),
            ("start", start_text, 0),
        ):
            value = default if given is None else _integer(given)
            if value is None:
                return _atom(_error_feed(query, f"{name} must be an integer"))
            if value < 0:
                return _atom(_error_feed(query, f"{name} must be non-negative"))
            numbers[name] = value
        max_results, start = numbers["max_results"], numbers["start"]
        query += f"&start={start}&max_results={max_results}"
        for arxiv_id in ids:
            if malformed(arxiv_id) or arxiv_id in self.refused_ids:
                return _atom(_error_feed(query, f"incorrect id format for {arxiv_id}"))
        known = [self.papers[_key(i)] for i in ids if _key(i) in self.papers]
        entries = known[start : start + max_results]
        if fault is not None and fault.kind == "empty":
            entries = []
        feed = _feed(query, [_entry(p) for p in entries], total=len(ids), per_page=max_results)
        if fault is not None and fault.kind == "malformed":
            cut = feed.find("<summary>")
            feed = feed[: cut if cut > 0 else len(feed) // 2]
        return _atom(feed)


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _atom(body: str) -> web.Response:
    return web.Response(text=body, content_type="application/atom+xml", charset="utf-8")


def _updated() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _feed(query: str, entries: list[str], *, total: int, per_page: int) -> str:
    """A feed as arXiv writes them since late 2025."""
    query_id = hashlib.sha1(query.encode()).hexdigest()[:27]
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <id>https://arxiv.org/api/{query_id}</id>\n"
        f"  <title>arXiv Query: {escape(query)}</title>\n"
        f"  <updated>{_updated()}</updated>\n"
        f"  <link href={quoteattr('https://arxiv.org/api/query?' + query)} "
        'type="application/atom+xml"/>\n'
        f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>\n"
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
        "  <opensearch:startIndex>0</opensearch:startIndex>\n" + "".join(entries) + "</feed>\n"
    )


def _entry(paper: StandInPaper) -> str:
    versioned = f"{paper.arxiv_id}v{paper.version}"
    # arXiv wraps titles with a two-space indent and abstracts at 80 columns, at spaces only.
    wrap = textwrap.TextWrapper(break_long_words=False, break_on_hyphens=False)
    wrap.width = 78
    title = "\n  ".join(wrap.wrap(paper.title)) or paper.title
    wrap.width = 80
    summary = wrap.fill(paper.abstract)
    lines = [
        "  <entry>",
        f"    <id>https://arxiv.org/abs/{versioned}</id>",
        f"    <title>{escape(title)}</title>",
        f"    <updated>{paper.published}</updated>",
        f'    <link href="https://arxiv.org/abs/{versioned}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{versioned}" rel="related" '
        'type="application/pdf" title="pdf"/>',
        f"    <summary>{escape(summary)}</summary>",
    ]
    lines += [
        f"    <category term={quoteattr(c)} scheme={quoteattr(_SCHEME)}/>"
        for c in (*paper.categories, *paper.extra_classes)
    ]
    lines.append(f"    <published>{paper.published}</published>")
    if paper.comment:
        lines.append(f"    <arxiv:comment>{escape(paper.comment)}</arxiv:comment>")
    lines.append(f"    <arxiv:primary_category term={quoteattr(paper.categories[0])}/>")
    lines += [f"    <author>\n      <name>{escape(a)}</name>\n    </author>" for a in paper.authors]
    lines.append("  </entry>\n")
    return "\n".join(lines)


def _error_feed(query: str, message: str) -> str:
    """The single Error entry of arXiv's user manual (section 3.4)."""
    anchor = re.sub(r"\s+", "_", message)
    error_id = f"http://arxiv.org/api/errors#{anchor}"
    entry = (
        "  <entry>\n"
        f"    <id>{escape(error_id)}</id>\n"
        "    <title>Error</title>\n"
        f"    <summary>{escape(message)}</summary>\n"
        f"    <updated>{_updated()}</updated>\n"
        f'    <link href={quoteattr(error_id)} rel="alternate" type="text/html"/>\n'
        "    <author>\n      <name>arXiv api core</name>\n    </author>\n"
        "  </entry>\n"
    )
    return _feed(query, [entry], total=1, per_page=1)
