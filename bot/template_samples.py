"""Sample data that takes every branch of every template, for `Renderer.render_samples`: a
template override's trial at start, so that a block failing on real data
(`{{ paper.nope }}`) stops the bot before its first digest rather than failing every digest.

The data is a real post (the bundled 2021-03-05 one) and the cases that take each block's
other branches: a paper with empty fields, a paper hot on Twitter and on Bluesky, digests cut
by their top or filtered by score, of a Twitter-era day and of a Bluesky one, or with papers
the channel follows, channels paused or waiting for a local time, direct messages of a few
papers and of more than one message holds, follow lists, and each notice with the context its
command gives it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bot.digest import DayDigests, Digest, DigestEntry, build_digest
from bot.follows import parse_follow
from bot.ingest.parser import parse_post
from bot.limits import DIGEST_TOP, FOLLOWS
from bot.models import (
    Appearance,
    Day,
    Follow,
    FoundPaper,
    Listing,
    Paper,
    PaperHistory,
    RankedPaper,
    Subscription,
    Tweet,
    bluesky_post_url,
)
from bot.samples import sample_posts

SAMPLE_DATE = dt.date(2021, 3, 5)
CHANNEL_ID = 1001

NEXT_DUE = dt.datetime(2021, 3, 6, 3, 6, 40, tzinfo=dt.UTC)  # a channel waiting for its time
# Follows that match papers of the sample day: a keyword of the Perceiver's (rank 3) title and
# of Catala's (rank 5, cs.PL) abstract, and an author of the top paper.
KEYWORD = parse_follow("keyword", "Iterative Attention")
AUTHOR = parse_follow("author", "Xavier Bouthillier")
LAW = parse_follow("keyword", "law")
# Each notice's context as its command gives it; more than one where the block branches.
NOTICES: Mapping[str, Sequence[Mapping[str, Any]]] = {
    "subscribed": [
        {"channel_id": CHANNEL_ID, "added": ["cs.CV", "cs.*"], "already": []},
        {"channel_id": CHANNEL_ID, "added": ["cs.CV"], "already": ["cs.LG"]},
    ],
    "already_subscribed": [{"channel_id": CHANNEL_ID, "category": "cs.CV, cs.LG"}],
    "unsubscribed": [
        {"channel_id": CHANNEL_ID, "category": "cs.CV", "remaining": ["cs.LG"]},
        {"channel_id": CHANNEL_ID, "category": "cs.CV", "remaining": []},
    ],
    "not_subscribed": [
        {"channel_id": CHANNEL_ID, "category": "cs.CV", "current": ["cs.LG"]},
        {"channel_id": CHANNEL_ID, "category": "cs.CV", "current": []},
    ],
    "unknown_category": [
        {"query": "cs.VC", "suggestions": ["cs.CV", "cs.CC"]},
        {"query": "zzz", "suggestions": []},
    ],
    "missing_category": [{}],
    "guild_only": [{}],
    "missing_permission": [{}],
    "unknown_paper": [{"arxiv_id": "2103.99999"}],
    "invalid_paper_id": [{"text": "2103.1", "reason": "expected 4 or 5 digits after the dot"}],
    "error": [{}],
    "no_subscription": [{"channel_id": CHANNEL_ID}],
    "invalid_time": [{"text": "25:00"}],
    "invalid_timezone": [
        {"text": "Europe/Pari", "suggestions": ["Europe/Paris"]},
        {"text": "Mars/Olympus", "suggestions": []},
    ],
    "invalid_setting": [
        {"option": "top", "value": 100, "low": 1, "high": DIGEST_TOP, "unit": "papers per digest"}
    ],
    "empty_archive": [{}],
    "invalid_date": [{"text": "2021-13-01"}],
    "unknown_day": [{"date": "2021-03-06"}],
    "no_match": [{"date": "2021-03-05", "categories": ("hep-lat", "cs.*")}],
    "unusable_settings": [{"problem": "stored deliver_at '25:99' cannot be read"}],
    "store_unavailable": [{}],
    "followed": [
        {"channel_id": CHANNEL_ID, "follow": KEYWORD, "count": 1, "limit": FOLLOWS},
        {"channel_id": None, "follow": AUTHOR, "count": 2, "limit": FOLLOWS},
    ],
    "already_following": [
        {"channel_id": CHANNEL_ID, "follow": KEYWORD},
        {"channel_id": None, "follow": AUTHOR},
    ],
    "follows_full": [
        {"channel_id": CHANNEL_ID, "follow": KEYWORD, "limit": FOLLOWS},
        {"channel_id": None, "follow": AUTHOR, "limit": FOLLOWS},
    ],
    "invalid_follow": [
        {"kind": "keyword", "text": "--", "reason": "it has no letter or digit"},
        {"kind": "author", "text": "LeCun", "reason": "first and last name, like Yann LeCun"},
    ],
    "follow_what": [{"given": False}, {"given": True}],
    "unfollowed": [
        {"channel_id": CHANNEL_ID, "follow": KEYWORD, "remaining": 1},
        {"channel_id": None, "follow": AUTHOR, "remaining": 0},
    ],
    "unfollowed_all": [
        {"channel_id": CHANNEL_ID, "count": 1},
        {"channel_id": None, "count": 3},
    ],
    "not_following": [
        {"channel_id": CHANNEL_ID, "text": "diffusion", "current": [KEYWORD]},
        {"channel_id": None, "text": "diffusion", "current": []},
    ],
    "dms_closed": [{}],
    "no_followed_match": [{"date": "2021-03-05"}],
    "invalid_search": [{"text": "-vision", "reason": "it has no word to look for"}],
    "no_results": [
        {"query": "perceiver", "categories": (), "since": None, "until": None, "complete": True},
        {
            "query": "perceiver",
            "categories": ("cs.CV", "stat.*"),
            "since": SAMPLE_DATE,
            "until": SAMPLE_DATE,
            "complete": False,
        },
        {
            "query": "perceiver",
            "categories": (),
            "since": SAMPLE_DATE,
            "until": None,
            "complete": True,
        },
        {
            "query": "perceiver",
            "categories": (),
            "since": None,
            "until": SAMPLE_DATE,
            "complete": True,
        },
    ],
    "since_after_until": [{"since": SAMPLE_DATE, "until": SAMPLE_DATE - dt.timedelta(days=1)}],
    "no_top": [
        {"categories": (), "since": SAMPLE_DATE, "until": SAMPLE_DATE, "period": "day"},
        {"categories": ("hep-lat",), "since": None, "until": None, "period": "all"},
        {
            "categories": ("cs.CV",),
            "since": SAMPLE_DATE - dt.timedelta(days=6),
            "until": SAMPLE_DATE,
            "period": "week",
        },
        {
            "categories": ("hep-lat",),
            "since": SAMPLE_DATE - dt.timedelta(days=400),
            "until": SAMPLE_DATE,
            "period": "all",
        },
    ],
    "unknown_author": [{"author": "Ada Lovelace"}],
    "ambiguous_author": [{"author": "andrew", "names": ["Andrew Brock", "Andrew Jaegle"]}],
    "results_expired": [{"minutes": 15, "command": "search"}],
    "not_your_results": [{"command": "top"}],
}


def sample_day() -> Day:
    """The bundled 2021-03-05 post."""
    path = next(p for p in sample_posts() if p.name.startswith(SAMPLE_DATE.isoformat()))
    return parse_post(path.read_bytes(), str(path))


def bare(paper: Paper, **fields: Any) -> Paper:
    """The paper as a post that gave no title, authors, categories or abstract lists it."""
    return dataclasses.replace(
        paper, **{"title": "", "authors": (), "categories": (), "abstract": "", **fields}
    )


def as_bluesky(day: Day) -> Day:
    """The day as if built from Bluesky: reposts and likes, its tweets Bluesky posts."""
    return dataclasses.replace(
        day,
        platform="bluesky",
        papers=tuple(
            dataclasses.replace(
                ranked,
                appearance=dataclasses.replace(ranked.appearance, platform="bluesky"),
                tweets=tuple(_bluesky_post(t) for t in ranked.tweets),
            )
            for ranked in day.papers
        ),
    )


def _bluesky_post(tweet: Tweet) -> Tweet:
    did, handle, rkey = f"did:plc:{tweet.handle.lower()}", f"{tweet.handle}.bsky.social", "3k2a"
    return dataclasses.replace(
        tweet,
        url=bluesky_post_url(did, handle, rkey),
        handle=handle,
        platform="bluesky",
        uri=f"at://{did}/app.bsky.feed.post/{rkey}",
        cid="",
        posted_at=dt.datetime.combine(tweet.posted, dt.time(), tzinfo=dt.UTC),
    )


def papers(day: Day) -> list[PaperHistory]:
    """A paper hot on two days, a Twitter-era one and a Bluesky one, with more tweets and
    posts than a card shows, and a bare one."""
    ranked = day.papers[2]
    later = Appearance(SAMPLE_DATE + dt.timedelta(days=1), 1, 1, 0, platform="bluesky")
    tweets = tuple(t for p in day.papers for t in p.tweets)
    posts = tuple(t for p in as_bluesky(day).papers[:2] for t in p.tweets)
    return [
        # Both kinds among the posts a card shows (the first five).
        PaperHistory(ranked.paper, (ranked.appearance, later), tweets[:2] + posts + tweets[2:]),
        PaperHistory(bare(ranked.paper, pdf_url=None), (), ()),
    ]


def digests(day: Day) -> list[Digest]:
    """Digests that take each header and paper branch: cut by top, filtered by score, of
    one paper, of a paper with empty fields and no tweets, and of a Bluesky day."""
    bare_paper = bare(day.papers[0].paper, categories=("cs.CV",))
    bare_day = Day(
        day.date, day.published_at, (RankedPaper(bare_paper, Appearance(day.date, 1, 1, 1), ()),)
    )
    found = [
        build_digest(day, ["cs.CV"], top=DIGEST_TOP),
        build_digest(day, ["cs.LG", "cs.*"], top=3, min_score=100),
        build_digest(day, ["cs.PL"], top=1),
        build_digest(bare_day, ["cs.CV"], top=1),
        build_digest(as_bluesky(day), ["cs.CV"], top=3, min_score=100),
        # Follows adding papers to a channel's categories, and a channel with follows only.
        build_digest(day, ["cs.CV"], top=1, follows=[KEYWORD, AUTHOR, LAW]),
        build_digest(day, [], top=10, follows=[AUTHOR]),
    ]
    return [d for d in found if d is not None]


def direct_messages(day: Day) -> list[tuple[DigestEntry, ...]]:
    """A member's papers of a day: a few, and more than one message holds as embeds."""
    digests = DayDigests(day)
    every = [parse_follow("keyword", word) for word in ("the", "a", "of", "for", "learning")]
    return [
        digests.followed_entries(digests.followed([KEYWORD, AUTHOR])),
        digests.followed_entries(digests.followed([*every, AUTHOR])),
    ]


def followings() -> list[dict[str, Any]]:
    """/following's lists: a channel's and a member's, empty or not, with DMs closed."""
    some: tuple[Follow, ...] = (KEYWORD, AUTHOR)
    return [
        {"channel": "papers", "channel_follows": some, "member_follows": ()},
        {"channel": "papers", "channel_follows": (), "member_follows": some, "dms_closed": True},
        {"channel": None, "channel_follows": (), "member_follows": some},
    ]


def subscriptions() -> list[Subscription | None]:
    """No subscription, one with none left, and channels active, waiting and paused, and
    channels with follows (with categories and without)."""
    active = Subscription(
        channel_id=CHANNEL_ID,
        guild_id=1000,
        categories=("cs.CV", "cs.*"),
        since_date=SAMPLE_DATE,
        top=None,
        min_score=0,
        deliver_at=None,
        timezone="UTC",
        paused=False,
        pause_reason=None,
    )
    return [
        None,
        dataclasses.replace(active, categories=()),
        active,
        dataclasses.replace(active, top=5, deliver_at=dt.time(8, 30), timezone="Europe/Paris"),
        dataclasses.replace(active, paused=True),
        dataclasses.replace(active, paused=True, pause_reason="Discord refused to post here"),
        dataclasses.replace(active, problem="stored deliver_at '25:99' cannot be read"),
        dataclasses.replace(active, categories=(), follows=(KEYWORD,)),
        dataclasses.replace(active, follows=(KEYWORD, AUTHOR)),
    ]


def related(day: Day) -> list[Paper]:
    """Papers a card lists as related: one with a title, one without."""
    return [day.papers[0].paper, bare(day.papers[1].paper)]


def listings() -> list[Listing]:
    """A search of every kind of summary, the top of a period and of all time, an author."""
    week = SAMPLE_DATE - dt.timedelta(days=6)
    return [
        Listing("search", '"iterative attention" -vision', count=1, matched=1),
        Listing(
            "search",
            "attention",
            count=100,
            matched=2345,
            categories=("cs.CV", "cs.*"),
            since=week,
            until=SAMPLE_DATE,
            complete=False,
        ),
        Listing("search", "attention", count=3, matched=3, since=week),
        Listing("search", "attention", count=3, matched=3, until=SAMPLE_DATE),
        Listing("top", "week", count=13, matched=13, since=week, until=SAMPLE_DATE),
        Listing("top", "all", count=100, matched=1152, categories=("cs.CV",)),
        Listing("top", "day", count=1, matched=1, since=SAMPLE_DATE, until=SAMPLE_DATE),
        Listing("author", "Andrew Jaegle", count=1, matched=1),
        Listing("author", "Andrew Jaegle", count=100, matched=130),
    ]


def found(day: Day) -> list[FoundPaper]:
    """Papers as a list shows them: hot once, hot on five days (with more categories than
    a line shows), hot on Bluesky days, and a bare paper with no day in the period."""
    first, second = day.papers[0], day.papers[1]
    days = tuple(Appearance(SAMPLE_DATE + dt.timedelta(days=n), n + 1, 10 * n, n) for n in range(5))
    bluesky = (Appearance(SAMPLE_DATE, 2, 30, 70, platform="bluesky"),)
    many = dataclasses.replace(
        second.paper, categories=("cs.CV", "cs.LG", "cs.AI", "stat.ML", "eess.IV", "cs.RO")
    )
    return [
        FoundPaper(first.paper, (first.appearance,)),
        FoundPaper(many, days),
        FoundPaper(day.papers[2].paper, bluesky),
        FoundPaper(bare(second.paper), ()),
    ]
