"""The portable JSON shape of a paper, shared by `paper --json` and `export`."""

from __future__ import annotations

from typing import Any

from bot.models import PaperHistory


def paper_json(history: PaperHistory) -> dict[str, Any]:
    """Exactly the keys documented in the README, in a stable order."""
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
            }
            for t in history.tweets
        ],
    }
