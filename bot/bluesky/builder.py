"""Build one day from Bluesky: the collected posts → current counts → ranking → arXiv → Day.

The day comes out exactly as an ingested Hot Papers post would be (`Day`), for
`Archive.ingest(day, source=..., content_hash=day_content_hash(day))`; the builder itself
stores nothing. Either the whole day is built or `DayBuildError` says why not: nothing is
returned half-built when the AppView or arXiv cannot be reached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.arxiv_api import ArxivApi, ArxivMetadata, ArxivUnavailable
from bot.bluesky.appview import AppView, AppViewUnavailable
from bot.bluesky.days import DaySchedule
from bot.bluesky.posts import CollectedPost
from bot.bluesky.ranking import Account, Candidate, assemble_day, rank
from bot.config import BlueskyConfig
from bot.models import Day

log = logging.getLogger(__name__)

LoadPosts = Callable[[int, int], Awaitable[list[CollectedPost]]]
"""`BlueskyPosts.between(start_us, end_us)`: the posts the stream delivered in a window."""


class DayBuildError(Exception):
    """A day could not be built; `reason` says why (and nothing was built)."""

    def __init__(self, date: dt.date, reason: str) -> None:
        super().__init__(f"cannot build {date.isoformat()}: {reason}")
        self.date = date
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did, for the log and the operator."""

    posts: int  # collected in the day's window
    gone: int  # of those, no longer returned by the AppView (deleted)
    old: int  # of those, created long before the stream delivered them: not counted
    feeds: tuple[Account, ...]  # left out for linking more than feed_threshold papers
    ignored: tuple[Account, ...]  # left out by [bluesky] ignore
    ranked: int  # papers with at least min_score, before arXiv
    listed: int  # papers in the day
    unknown: tuple[str, ...]  # ids arXiv has no paper for (or calls malformed)
    withdrawn: tuple[str, ...]  # ids of withdrawn papers, left out
    appview_requests: int
    arxiv_requests: int

    def summary(self) -> str:
        return (
            f"{self.posts} posts ({self.gone} gone, {self.old} old), {len(self.feeds)} feeds and "
            f"{len(self.ignored)} ignored accounts left out; {self.ranked} papers ranked, "
            f"{self.listed} listed, {len(self.unknown)} unknown to arXiv, "
            f"{len(self.withdrawn)} withdrawn; requests: {self.appview_requests} AppView, "
            f"{self.arxiv_requests} arXiv"
        )


@dataclass(frozen=True, slots=True)
class BuiltDay:
    day: Day
    report: BuildReport
    # How many counted posts link each listed paper, by id (the day shows at most ten).
    posts_per_paper: dict[str, int]


class DayBuilder:
    """Builds days from `load_posts` (the collector's store), the AppView and arXiv.

    `settings` is the `[bluesky]` configuration (day_ends, timezone, feed_threshold, ignore,
    papers_per_day, min_score); `clock` gives the build time, an aware datetime.
    """

    def __init__(
        self,
        load_posts: LoadPosts,
        appview: AppView,
        arxiv: ArxivApi,
        settings: BlueskyConfig,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.load_posts = load_posts
        self.appview = appview
        self.arxiv = arxiv
        self.settings = settings
        self.schedule = DaySchedule(
            settings.day_ends, settings.timezone, settings.publish_delay_hours
        )
        self.clock = clock

    async def build(self, date: dt.date) -> BuiltDay:
        """Build day `date` from its window's posts; raises DayBuildError when a service
        cannot be reached."""
        appview_before, arxiv_before = self.appview.requests, self.arxiv.requests
        start_us, end_us = self.schedule.window(date)
        posts = await self.load_posts(start_us, end_us)
        try:
            counts = await self.appview.posts([p.uri for p in posts])
        except AppViewUnavailable as exc:  # the caller logs it: once per attempt
            raise DayBuildError(date, f"the Bluesky AppView cannot be reached: {exc}") from None
        ranking = rank(
            posts,
            counts,
            feed_threshold=self.settings.feed_threshold,
            ignore=self.settings.ignore,
            min_score=self.settings.min_score,
        )
        for account in ranking.feeds:
            log.info("building %s: %s links too many papers; left out as a feed", date, account)
        try:
            listed, unknown, withdrawn = await self._metadata(date, ranking.candidates)
        except ArxivUnavailable as exc:
            raise DayBuildError(date, f"arXiv cannot be reached: {exc}") from None
        day = assemble_day(date, self.clock(), listed)
        report = BuildReport(
            posts=ranking.posts,
            gone=ranking.gone,
            old=ranking.old,
            feeds=ranking.feeds,
            ignored=ranking.ignored,
            ranked=len(ranking.candidates),
            listed=len(listed),
            unknown=tuple(unknown),
            withdrawn=tuple(withdrawn),
            appview_requests=self.appview.requests - appview_before,
            arxiv_requests=self.arxiv.requests - arxiv_before,
        )
        log.info("built %s: %s", date, report.summary())
        return BuiltDay(day, report, {c.arxiv_id: len(c.posts) for c, _ in listed})

    async def _metadata(
        self, date: dt.date, candidates: tuple[Candidate, ...]
    ) -> tuple[list[tuple[Candidate, ArxivMetadata]], list[str], list[str]]:
        """arXiv metadata for the best candidates, in rank order, until papers_per_day.

        A request costs arXiv's 3 seconds whatever its size, so each asks a full batch of
        the next candidates (arXiv's batch size) rather than just as many as are missing.
        """
        wanted = self.settings.papers_per_day
        listed: list[tuple[Candidate, ArxivMetadata]] = []
        unknown: list[str] = []
        withdrawn: list[str] = []
        position = 0
        while len(listed) < wanted and position < len(candidates):
            batch = candidates[position : position + self.arxiv.batch_size]
            position += len(batch)
            result = await self.arxiv.papers(c.arxiv_id for c in batch)
            for candidate in batch:
                metadata = result.found.get(candidate.arxiv_id)
                if metadata is None:
                    reason = result.missing.get(candidate.arxiv_id, "not answered")
                    log.warning(
                        "building %s: paper %s (score %d) dropped: %s",
                        date,
                        candidate.arxiv_id,
                        candidate.score,
                        reason,
                    )
                    unknown.append(candidate.arxiv_id)
                elif metadata.withdrawn:
                    log.info(
                        "building %s: paper %s (score %d) is withdrawn; left out",
                        date,
                        candidate.arxiv_id,
                        candidate.score,
                    )
                    withdrawn.append(candidate.arxiv_id)
                elif len(listed) < wanted:
                    listed.append((candidate, metadata))
        return listed, unknown, withdrawn


def day_content_hash(day: Day) -> str:
    """A stable sha256 of the day's content, for `Archive.ingest(content_hash=...)`.

    Every field of the day goes in but `published_at`: rebuilding a day whose papers and
    counts did not change must not count as a change just because the build ran later.
    """
    content = dataclasses.asdict(day)
    del content["published_at"]
    encoded = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
