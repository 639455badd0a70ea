"""The domain: what a Hot Papers post says, as plain frozen data with no I/O."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

Platform = Literal["twitter", "bluesky"]
"""Where a day's attention was counted: Twitter-era Hot Papers posts, or Bluesky."""

# What the AppView shows for a handle that fails to verify: no profile link works with it.
INVALID_HANDLE = "handle.invalid"
# atproto's handle syntax: a domain name of at most 253 characters.
_HANDLE = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?",
    re.ASCII,
)


@dataclass(frozen=True, slots=True)
class Wording:
    """The words a person reads for a platform's counts and posts."""

    site: str  # "Twitter"
    shared: str  # "retweet": an appearance's `retweets`, in the singular
    liked: str  # "favorite": an appearance's `favorites`
    post: str  # "tweet": a post shown under a paper
    score: str  # "retweets + favorites": what min_score counts


WORDING: Mapping[Platform, Wording] = {
    "twitter": Wording("Twitter", "retweet", "favorite", "tweet", "retweets + favorites"),
    "bluesky": Wording("Bluesky", "repost", "like", "post", "likes + reposts"),
}
SCORE_WORDING = "likes + reposts, or retweets + favorites on Twitter-era days"
"""What a channel's min_score counts: it applies to the days of both platforms."""


FollowKind = Literal["keyword", "author"]
"""What a follow looks for: a phrase in a paper's title or abstract, or one of its authors."""


@dataclass(frozen=True, slots=True)
class Tweet:
    """A post shown under a paper: a tweet embedded in a Hot Papers post, or a Bluesky post.

    A Bluesky post also keeps what its embed needs (`bluesky_embed` in the blog format): its
    record's at-URI, the record's CID ("" when the AppView gave none) and when it was posted,
    in UTC to the minute as the embed shows it (`posted` is that day). Tweets have none.
    """

    url: str
    author: str
    handle: str
    posted: dt.date
    lang: str
    text: str
    platform: Platform = "twitter"
    uri: str | None = None  # at://<did>/app.bsky.feed.post/<rkey>
    cid: str | None = None
    posted_at: dt.datetime | None = None


def bluesky_post_url(did: str, handle: str, rkey: str) -> str:
    """A Bluesky post's bsky.app link: by handle, or by DID when the handle failed to verify
    (or is no handle at all, which would make no safe link)."""
    valid = handle != INVALID_HANDLE and len(handle) <= 253 and _HANDLE.fullmatch(handle)
    return f"https://bsky.app/profile/{handle if valid else did}/post/{rkey}"


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
    """One Hot Papers post: the day it covers, when it was published, and its papers by rank.

    `platform` is where its attention was counted, so every appearance and post of the day
    is of that platform; a day without papers keeps it too."""

    date: dt.date
    published_at: dt.datetime
    papers: tuple[RankedPaper, ...]
    platform: Platform = "twitter"

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
    tweet_count: int  # its posts: tweets, or Bluesky posts
    source: str
    platform: Platform = "twitter"


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
    # Keywords and authors the channel follows: matching papers join its digest.
    follows: tuple[Follow, ...] = ()


@dataclass(frozen=True, slots=True)
class Follow:
    """A keyword or author name followed by a channel or a member: the text as typed, and the
    key it is matched by (bot.follows normalises it)."""

    kind: FollowKind
    text: str
    key: str


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
