"""A day's papers ranked by the Bluesky attention they drew, and the `Day` that lists them.

Pure: it takes the day's collected posts, their current counts from the AppView and the
papers' arXiv metadata, and returns data. A paper's score is the likes + reposts of the posts
that link it, as the Twitter-era posts used retweets + favorites; posts from accounts that
link too many papers a day (feeds, bots) or that are ignored by configuration do not count,
nor do posts the AppView no longer returns (deleted).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.arxiv import abs_url
from bot.arxiv_api import ArxivMetadata
from bot.bluesky.appview import PostCounts
from bot.bluesky.days import from_us
from bot.bluesky.posts import CollectedPost
from bot.models import Appearance, Day, Paper, RankedPaper, Tweet, bluesky_post_url

POSTS_PER_PAPER = 10  # the posts shown under a paper, most liked + reposted first
# A createdAt further than this from when the stream delivered the post is not believed
# (clients set it freely: backdated imports, wrong clocks).
_PLAUSIBLE = dt.timedelta(days=1)
# A post the stream delivers more than this after its createdAt is not new attention of the
# day: Jetstream v2 may deliver old records again as creates (a repository written anew),
# and imports from other networks arrive backdated, with likes gathered elsewhere or long ago.
OLD_POST = dt.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Account:
    """A Bluesky account as the report names it."""

    did: str
    handle: str  # "" when the AppView returned none of its posts

    def __str__(self) -> str:
        return f"@{self.handle} ({self.did})" if self.handle else self.did


@dataclass(frozen=True, slots=True)
class CountedPost:
    """A collected post with its current counts."""

    post: CollectedPost
    counts: PostCounts

    @property
    def score(self) -> int:
        return self.counts.likes + self.counts.reposts


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper with the posts that count for it, best first."""

    arxiv_id: str
    posts: tuple[CountedPost, ...]

    @property
    def likes(self) -> int:
        return sum(p.counts.likes for p in self.posts)

    @property
    def reposts(self) -> int:
        return sum(p.counts.reposts for p in self.posts)

    @property
    def score(self) -> int:
        return self.likes + self.reposts


@dataclass(frozen=True, slots=True)
class Ranking:
    """The day's candidates in rank order, and what was left out on the way."""

    candidates: tuple[Candidate, ...]  # score at least min_score, best first
    posts: int  # the day's collected posts
    gone: int  # of those, posts the AppView no longer returns
    old: int  # of those, posts created long before the stream delivered them (OLD_POST)
    feeds: tuple[Account, ...]  # accounts left out for linking too many papers
    ignored: tuple[Account, ...]  # accounts left out by `ignore`
    below_min_score: int  # papers with counting posts but too few likes + reposts


def rank(
    posts: Sequence[CollectedPost],
    counts: Mapping[str, PostCounts],
    *,
    feed_threshold: int,
    ignore: Iterable[str],
    min_score: int,
) -> Ranking:
    """Rank the papers the day's posts link.

    An account linking more than `feed_threshold` distinct papers among the day's posts is
    a feed; `ignore` lists DIDs or handles (a leading @ and letter case do not matter).
    A post whose createdAt is more than OLD_POST before the stream delivered it does not
    count. Papers are ranked by score, then by more counting posts, then by id.
    """
    ignored_names = {name.strip().lstrip("@").lower() for name in ignore}
    handles: dict[str, str] = {}
    papers_by_account: dict[str, set[str]] = defaultdict(set)
    for post in posts:
        papers_by_account[post.did].update(post.arxiv_ids)
        found = counts.get(post.uri)
        if found is not None:
            handles[post.did] = found.handle
    ignored = {
        did
        for did in papers_by_account
        if did.lower() in ignored_names or handles.get(did, "").lower() in ignored_names
    }
    feeds = {
        did
        for did, linked in papers_by_account.items()
        if len(linked) > feed_threshold and did not in ignored
    }
    by_paper: dict[str, list[CountedPost]] = defaultdict(list)
    gone = old = 0
    for post in posts:
        found = counts.get(post.uri)
        if found is None:
            gone += 1
            continue
        if post.created_at is not None and post.created_at < from_us(post.time_us) - OLD_POST:
            old += 1
            continue
        if post.did in ignored or post.did in feeds:
            continue
        for arxiv_id in dict.fromkeys(post.arxiv_ids):
            by_paper[arxiv_id].append(CountedPost(post, found))
    candidates = [
        Candidate(arxiv_id, tuple(sorted(linked, key=_post_order)))
        for arxiv_id, linked in by_paper.items()
    ]
    candidates.sort(key=lambda c: (-c.score, -len(c.posts), c.arxiv_id))
    kept = tuple(c for c in candidates if c.score >= min_score)

    def accounts(dids: set[str]) -> tuple[Account, ...]:
        return tuple(Account(did, handles.get(did, "")) for did in sorted(dids))

    return Ranking(
        candidates=kept,
        posts=len(posts),
        gone=gone,
        old=old,
        feeds=accounts(feeds),
        ignored=accounts(ignored),
        below_min_score=len(candidates) - len(kept),
    )


def _post_order(post: CountedPost) -> tuple[int, int, str]:
    return -post.score, post.post.time_us, post.post.uri


def assemble_day(
    date: dt.date,
    published_at: dt.datetime,
    papers: Sequence[tuple[Candidate, ArxivMetadata]],
) -> Day:
    """The `Day` listing `papers` in the order given, stored like an ingested post."""
    ranked = []
    for rank_number, (candidate, metadata) in enumerate(papers, start=1):
        arxiv_id = candidate.arxiv_id
        paper = Paper(
            arxiv_id=arxiv_id,
            title=metadata.title,
            authors=metadata.authors,
            categories=metadata.categories,
            abstract=metadata.abstract,
            abs_url=abs_url(arxiv_id),
            pdf_url=f"https://arxiv.org/pdf/{arxiv_id}" if metadata.pdf_url else None,
        )
        appearance = Appearance(
            date=date,
            rank=rank_number,
            retweets=candidate.reposts,
            favorites=candidate.likes,
            platform="bluesky",
        )
        tweets = tuple(bluesky_post(p) for p in candidate.posts[:POSTS_PER_PAPER])
        ranked.append(RankedPaper(paper=paper, appearance=appearance, tweets=tweets))
    return Day(date=date, published_at=published_at, papers=tuple(ranked), platform="bluesky")


def bluesky_post(counted: CountedPost) -> Tweet:
    """A post as shown under a paper: its bsky.app link, author, date, language and text,
    and what its embed needs (record URI and CID, time posted)."""
    post, counts = counted.post, counted.counts
    posted_at = posted_time(post)
    return Tweet(
        url=bluesky_post_url(post.did, counts.handle, post.rkey),
        author=counts.display_name or counts.handle,
        handle=counts.handle,
        posted=posted_at.date(),
        lang=post.langs[0] if post.langs else "",
        text=post.text,
        platform="bluesky",
        uri=post.uri,
        cid=counts.cid,
        posted_at=posted_at,
    )


def posted_time(post: CollectedPost) -> dt.datetime:
    """When the post was posted, in UTC to the minute (as its embed shows it): its createdAt,
    or the stream's time when createdAt is missing or more than a day away from when the
    stream delivered the post."""
    streamed = from_us(post.time_us)
    created = post.created_at
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    if created is None or abs(created - streamed) > _PLAUSIBLE:
        created = streamed
    return created.astimezone(dt.UTC).replace(second=0, microsecond=0)
