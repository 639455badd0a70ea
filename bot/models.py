"""The domain: what a Hot Papers post says, as plain frozen data with no I/O."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Platform = Literal["twitter", "bluesky"]
"""Where a day's attention was counted: Twitter-era Hot Papers posts, or Bluesky."""


@dataclass(frozen=True, slots=True)
class Tweet:
    """A post shown under a paper: a tweet embedded in a Hot Papers post, or a Bluesky post."""

    url: str
    author: str
    handle: str
    posted: dt.date
    lang: str
    text: str
    platform: Platform = "twitter"


@dataclass(frozen=True, slots=True)
class Paper:
    """An arXiv paper, keyed by its version-less id; the same paper may be hot on several days."""

    arxiv_id: str
    title: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    abstract: str
    abs_url: str
    pdf_url: str | None

    @property
    def primary_category(self) -> str:
        """The first category listed; "" for a paper listed without any."""
        return self.categories[0] if self.categories else ""


@dataclass(frozen=True, slots=True)
class Appearance:
    """A paper's place on one day's list, with the attention it drew."""

    date: dt.date
    rank: int
    retweets: int  # reposts on Bluesky days
    favorites: int  # likes on Bluesky days
    platform: Platform = "twitter"

    @property
    def score(self) -> int:
        return self.retweets + self.favorites


@dataclass(frozen=True, slots=True)
class RankedPaper:
    """One `# N. Title` section of a post: the paper, its appearance and the tweets under it."""

    paper: Paper
    appearance: Appearance
    tweets: tuple[Tweet, ...]


@dataclass(frozen=True, slots=True)
class Day:
    """One Hot Papers post: the day it covers, when it was published, and its papers by rank."""

    date: dt.date
    published_at: dt.datetime
    papers: tuple[RankedPaper, ...]

    @property
    def tweet_count(self) -> int:
        return sum(len(p.tweets) for p in self.papers)


@dataclass(frozen=True, slots=True)
class PaperHistory:
    """Everything the archive knows of a paper: its metadata, each day it was hot, its tweets."""

    paper: Paper
    appearances: tuple[Appearance, ...]
    tweets: tuple[Tweet, ...]


@dataclass(frozen=True, slots=True)
class DaySummary:
    """A stored day as listed by `hotpapers days`."""

    date: dt.date
    published_at: dt.datetime
    paper_count: int
    tweet_count: int
    source: str


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel's subscription: the categories it follows and how it wants its digests."""

    channel_id: int
    guild_id: int
    categories: tuple[str, ...]
    since_date: dt.date
    top: int | None
    min_score: int
    deliver_at: dt.time | None
    timezone: str
    paused: bool
    pause_reason: str | None
    # Why the stored settings cannot be used (an unreadable time or date in an old or
    # edited archive); such a channel gets no digests until its settings are fixed.
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class FoundPaper:
    """A paper as /search, /top and /author list it: its details and the days it was hot
    (those of the period asked for, when one was)."""

    paper: Paper
    appearances: tuple[Appearance, ...]

    @property
    def score(self) -> int:
        """Retweets + favorites (reposts + likes on Bluesky days) over those days."""
        return sum(a.score for a in self.appearances)


@dataclass(frozen=True, slots=True)
class Listing:
    """What a list of found papers answers (/search, /top, /author), and how much was found."""

    kind: Literal["search", "top", "author"]
    subject: str  # the query as understood, the period (day ... all) or the author's name
    count: int  # papers in the list
    matched: int  # papers found; the list holds the first `count` of them
    categories: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    complete: bool = True  # False: a search that ranked only the newest of its matches
