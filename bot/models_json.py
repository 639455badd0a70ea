"""The portable JSON shape of a paper, shared by `paper --json` and `export`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.models import PaperHistory


def paper_json(history: PaperHistory) -> dict[str, Any]:
    """Exactly the keys documented in the README, in a stable order.

    A Bluesky post is an element of `tweets` like a tweet, and a Bluesky day's reposts and
    likes are an appearance's `retweets` and `favorites`; `platform` tells them apart. A
    post's `uri`, `cid` and `posted_at` (null for tweets) are what its embed in a Hot Papers
    post is made of, so an export keeps everything `hotpapers post` writes.
    """
    paper = history.paper
    return {
        "arxiv_id": paper.arxiv_id,
        "title": paper.title,
        "authors": list(paper.authors),
        "categories": list(paper.categories),
        "abstract": paper.abstract,
        "abs_url": paper.abs_url,
        "pdf_url": paper.pdf_url,
        "appearances": [
            {
                "date": a.date.isoformat(),
                "rank": a.rank,
                "retweets": a.retweets,
                "favorites": a.favorites,
                "platform": a.platform,
            }
            for a in history.appearances
        ],
        "tweets": [
            {
                "url": t.url,
                "author": t.author,
                "handle": t.handle,
                "posted": t.posted.isoformat(),
                "lang": t.lang,
                "text": t.text,
                "platform": t.platform,
                "uri": t.uri,
                "cid": t.cid,
                "posted_at": None if t.posted_at is None else _utc(t.posted_at),
            }
            for t in history.tweets
        ],
    }


def _utc(moment: dt.datetime) -> str:
    """`2025-06-15T00:58:00Z`."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
