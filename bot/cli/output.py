"""Archive data written for a terminal: a day, a digest, a paper."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, TextIO

from bot.models import WORDING
from bot.text import author_list, shorten

if TYPE_CHECKING:
    from bot.digest import Digest
    from bot.models import Appearance, Day, PaperHistory

NO_ABSTRACT = "No abstract available"


def counts(seen: Appearance, thousands: bool = False) -> tuple[str, str]:
    """An appearance's two counts with their words: ("857 retweets", "251 favorites"), or
    reposts and likes on a Bluesky day."""
    words = WORDING[seen.platform]
    shown = [f"{n:,}" if thousands else str(n) for n in (seen.retweets, seen.favorites)]
    return f"{shown[0]} {words.shared}s", f"{shown[1]} {words.liked}s"


def write_day(day: Day, top: int, out: TextIO) -> None:
    shown = day.papers[:top]
    on = "" if day.platform == "twitter" else f" on {WORDING[day.platform].site}"
    out.write(f"Hot Papers {day.date}{on}: top {len(shown)} of {len(day.papers)}\n\n")
    for ranked in shown:
        paper, seen = ranked.paper, ranked.appearance
        shared, liked = counts(seen)
        out.write(f"{seen.rank:>2}. {paper.title}\n")
        out.write(f"    {author_list(paper.authors, 3)}\n")
        out.write(f"    {', '.join(paper.categories)} · {shared}, {liked} · {paper.abs_url}\n\n")


def write_digest(digest: Digest, header: str, out: TextIO) -> None:
    """A digest for a terminal: the header, then each paper with its matching codes in [ ]."""
    wrap = textwrap.TextWrapper(width=100, initial_indent="    ", subsequent_indent="    ")
    out.write(f"{header}\n")
    for entry in digest.entries:
        paper, seen = entry.ranked.paper, entry.ranked.appearance
        codes = " · ".join(f"[{c}]" if c in entry.matching else c for c in paper.categories)
        out.write(f"\n#{seen.rank} · {paper.title}\n")
        out.write(f"    {author_list(paper.authors, 3)}\n")
        out.write(f"    {codes}\n")
        out.write("    {} · {}\n".format(*counts(seen, thousands=True)))
        abstract = " ".join(paper.abstract.split())
        out.write(wrap.fill(shorten(abstract, 280) if abstract else NO_ABSTRACT) + "\n")
        if entry.ranked.tweets:
            top = entry.ranked.tweets[0]
            out.write(f"    Top {WORDING[top.platform].post}: {top.url}\n")
        out.write(f"    {paper.abs_url}\n")


def write_paper(history: PaperHistory, out: TextIO) -> None:
    paper = history.paper
    wrap = textwrap.TextWrapper(width=100, initial_indent="  ", subsequent_indent="  ")
    out.write(f"{paper.title}\n")
    out.write(f"arXiv:{paper.arxiv_id} · {', '.join(paper.categories)}\n")
    out.write(f"{author_list(paper.authors, 6)}\n")
    out.write(f"abs: {paper.abs_url}\n")
    out.write(f"pdf: {paper.pdf_url or '(none)'}\n\n")
    paragraphs = paper.abstract.split("\n\n") if paper.abstract.strip() else [NO_ABSTRACT]
    for paragraph in paragraphs:
        out.write(wrap.fill(paragraph) + "\n")
    out.write("\nHot on:\n")
    for a in history.appearances:
        on = "" if a.platform == "twitter" else f" on {WORDING[a.platform].site}"
        out.write("  {}  #{:<3} {}, {}{}\n".format(a.date, a.rank, *counts(a), on))
    # "Posts" once any is a Bluesky post; a Twitter-era paper keeps its words.
    posts = "Tweets" if all(t.platform == "twitter" for t in history.tweets) else "Posts"
    out.write(f"\n{posts} ({len(history.tweets)}):\n")
    for tweet in history.tweets:
        author = " ".join(tweet.author.split())
        site = "" if tweet.platform == "twitter" else f" · {WORDING[tweet.platform].site}"
        out.write(f"  {author} (@{tweet.handle}) · {tweet.posted}{site} · {tweet.url}\n")
        for line in tweet.text.splitlines() or [""]:
            out.write(f"    {line}\n" if line.strip() else "\n")
