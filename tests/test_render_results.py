"""bot.render for /search, /top and /author: a page of found papers and its select menu, and
the related papers on a /paper card, always within Discord's limits and never pinging."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from typing import Any

from bot import limits
from bot.ingest.parser import parse_post
from bot.message import embed_size
from bot.models import Appearance, Day, FoundPaper, Listing, Paper, PaperHistory
from bot.render import Renderer
from bot.samples import sample_posts

MARCH_5 = dt.date(2021, 3, 5)
_LIVE = re.compile(r"<(?:[@#/:]|a:|t:|id:)|@(?:everyone|here)", re.IGNORECASE)


@functools.cache
def march_5() -> Day:
    path = next(p for p in sample_posts() if p.name.startswith("2021-03-05"))
    return parse_post(path.read_bytes(), str(path))


def found(index: int, *appearances: Appearance) -> FoundPaper:
    ranked = march_5().papers[index]
    return FoundPaper(ranked.paper, appearances or (ranked.appearance,))


def assert_fits(embed: dict[str, Any]) -> None:
    assert len(embed.get("title", "")) <= limits.EMBED_TITLE
    assert len(embed.get("description", "")) <= limits.EMBED_DESCRIPTION
    assert len(embed.get("footer", {}).get("text", "")) <= limits.FOOTER_TEXT
    assert embed_size(embed) <= limits.EMBED_TOTAL


def test_a_page_of_search_results() -> None:
    listing = Listing("search", '"iterative attention" -pose', count=7, matched=7)
    page = Renderer().results_page(listing, [found(2), found(0)], 1)
    (embed,) = page.message.embeds
    assert embed["title"] == 'Search: "iterative attention" -pose'
    assert embed["description"] == (
        "7 papers match; the most relevant first, then the most retweeted and favorited.\n\n"
        "**6.** [Perceiver: General Perception with Iterative Attention]"
        "(https://arxiv.org/abs/2103.03206)\n"
        "Andrew Jaegle, Felix Gimeno, Andrew Brock and 3 more (6 authors) · "
        "cs.CV, cs.AI, cs.LG, cs.SD +1\n"
        "2021-03-05 #3 · 1,108 retweets + favorites\n\n"
        "**7.** [Accounting for Variance in Machine Learning Benchmarks]"
        "(https://arxiv.org/abs/2103.03098)\n"
        "Xavier Bouthillier, Pierre Delaunay, Mirko Bronzi and 14 more (17 authors) · "
        "cs.LG, stat.ML\n"
        "2021-03-05 #1 · 3,726 retweets + favorites"
    )
    assert embed["footer"] == {"text": "Page 2 of 2 · 7 papers"}
    assert page.message.content == ""
    assert [(c.label, c.value, c.description) for c in page.choices] == [
        (
            "6. Perceiver: General Perception with Iterative Attention",
            "2103.03206",
            "arXiv:2103.03206 · cs.CV · 1,108",
        ),
        (
            "7. Accounting for Variance in Machine Learning Benchmarks",
            "2103.03098",
            "arXiv:2103.03098 · cs.LG · 3,726",
        ),
    ]
    assert page.placeholder == "Open a paper's card"


def test_a_search_that_ranked_only_the_newest_matches_says_so() -> None:
    listing = Listing(
        "search",
        "learning",
        count=100,
        matched=3210,
        categories=("cs.LG", "stat.*"),
        since=MARCH_5,
        until=dt.date(2021, 3, 24),
        complete=False,
    )
    (embed,) = Renderer().results_page(listing, [found(0)], 0).message.embeds
    assert embed["description"].split("\n\n")[0] == (
        "3,210 papers match in cs.LG, stat.\\*, hot 2021-03-05 to 2021-03-24; the most relevant"
        " first, then the most retweeted and favorited.\n"
        "These are the 100 most relevant.\n"
        "More papers matched than are ranked: these are among the newest matches. Add a word,"
        " a category or dates to reach older ones."
    )
    assert embed["footer"] == {"text": "Page 1 of 20 · 100 papers"}


def test_a_page_of_the_top_papers_counts_the_days_of_the_period() -> None:
    days = [Appearance(MARCH_5 + dt.timedelta(days=n), n + 1, 100, 10 * n) for n in range(5)]
    listing = Listing("top", "week", count=3, matched=3, since=MARCH_5, until=dt.date(2021, 3, 11))
    (embed,) = Renderer().results_page(listing, [found(1, *days)], 0).message.embeds
    assert embed["title"] == "Top papers of the week"
    summary, entry = embed["description"].split("\n\n")
    assert summary == (
        "2021-03-05 to 2021-03-11 · 3 papers hot, by retweets + favorites over those days."
    )
    assert entry.splitlines()[-1] == (
        "2021-03-05 #1, 2021-03-06 #2, 2021-03-07 #3 and 2 more days · 600 retweets + favorites"
    )
    everything = Listing("top", "all", count=100, matched=1152, categories=("cs.CV",))
    (embed,) = Renderer().results_page(everything, [found(1)], 0).message.embeds
    assert embed["title"] == "Top papers of all time"
    assert embed["description"].split("\n\n")[0] == (
        "Every day in the archive · 1,152 papers hot in cs.CV, by retweets + favorites over"
        " those days.\nThese are the top 100."
    )


def test_bluesky_days_count_reposts_and_likes() -> None:
    day = Appearance(MARCH_5, 2, 30, 70, platform="bluesky")
    listing = Listing("author", "Andrew Jaegle", count=1, matched=1)
    (embed,) = Renderer().results_page(listing, [found(2, day)], 0).message.embeds
    assert embed["title"] == "Papers of Andrew Jaegle"
    assert embed["description"].endswith("\n2021-03-05 #2 · 100 reposts + likes")


def test_the_expired_page_says_so_above_it() -> None:
    listing = Listing("author", "Andrew Jaegle", count=1, matched=1)
    page = Renderer().results_page(listing, [found(2)], 0, expired_after=15)
    assert page.message.content == (
        "These results expired after 15 minutes without use; run `/author` again."
    )


HOSTILE_TITLE = "@everyone <@123> **bold** [x](http://evil.example) " + "long " * 80


def test_hostile_and_oversized_papers_fit_and_never_ping() -> None:
    base = march_5().papers[2].paper
    hostile = dataclasses.replace(
        base,
        title=HOSTILE_TITLE,
        authors=tuple(f"<@{n}> @here Author{n}" for n in range(200)),
        categories=tuple(f"cs.{n}" for n in range(40)),
    )
    days = tuple(Appearance(MARCH_5 + dt.timedelta(days=n), 1, 10**9, 10**9) for n in range(60))
    listing = Listing("search", HOSTILE_TITLE * 3, count=100, matched=10**7, complete=False)
    page = Renderer().results_page(listing, [FoundPaper(hostile, days)] * 5, 19)
    (embed,) = page.message.embeds
    assert_fits(embed)
    assert embed["title"].startswith("Search: @\u200beveryone <\u200b@123> \\*\\*bold\\*\\*")
    for text in (embed["title"], embed["description"]):
        assert not _LIVE.findall(text)
        assert "[x](http://evil.example)" not in text
    assert embed["description"].count("](https://arxiv.org/abs/2103.03206)") == 5
    for choice in page.choices:
        assert 1 <= len(choice.label) <= limits.SELECT_OPTION_LABEL
        assert len(choice.description) <= limits.SELECT_OPTION_DESCRIPTION
        assert "\n" not in choice.label
    # Discord shows no markdown in a menu, and the label reads as no mention.
    assert page.choices[0].label.startswith("96. @\u200beveryone <\u200b@123> **bold**")
    assert page.choices[0].description == "arXiv:2103.03206 · cs.0 · 120,000,000,000"


def test_related_papers_close_the_card_as_links() -> None:
    perceiver = march_5().papers[2]
    history = PaperHistory(perceiver.paper, (perceiver.appearance,), perceiver.tweets)
    untitled = dataclasses.replace(march_5().papers[0].paper, title=" ")
    hostile = dataclasses.replace(march_5().papers[1].paper, title="<@1> [x](http://evil) ]")
    related: list[Paper] = [untitled, hostile]
    (embed,) = Renderer().paper(history, related=related).embeds
    assert embed["fields"][-1] == {
        "name": "Related in the archive",
        "value": "[arXiv:2103.03098](https://arxiv.org/abs/2103.03098)\n"
        "[<\u200b@1> \\[x\\](http://evil) \\]](https://arxiv.org/abs/2103.02667)",
        "inline": False,
    }
    (plain,) = Renderer().paper(history).embeds
    assert plain["fields"] == embed["fields"][:-1]
