"""bot.render: escaping, the /paper card and the daily digest always fit Discord,
plus the `hotpapers digest` command that prints them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import limits, template_samples
from bot.cli import main
from bot.digest import DayDigests, Digest, build_digest
from bot.follows import parse_follow
from bot.ingest.parser import parse_post
from bot.markup import escape_markdown
from bot.message import Message, embed_size
from bot.models import Appearance, Day, Paper, PaperHistory, RankedPaper, Tweet
from bot.render import (
    BUNDLED_TEMPLATES,
    Renderer,
    TemplateBlockError,
    TemplateOverrideError,
)
from bot.samples import sample_posts
from bot.text import ELLIPSIS
from tests.support.bluesky_days import bluesky_day

HOSTILE = [
    "@everyone",
    "@here",
    "@EveryOne look",
    "<@123>",
    "<@!123>",
    "<@&5>",
    "<#9>",
    "</cmd:1>",
    "<t:1700000000>",
    "<:emoji:42>",
    "<a:dance:42>",
    "**bold**",
    "__underline__",
    "*it* _it_",
    "~~strike~~",
    "||spoiler||",
    "[x](http://evil)",
    "`code`",
    "```block```",
    "> quote",
    ">>> quote",
    "# heading",
    "## heading",
    "- item",
    "+ item",
    "   # indented heading",
    "line\n> quote\n# heading\n- item",
    "back\\slash **x**",
    "\\*not escaped*",
    "<id:customize>",
    "<id:browse>",
    "<ID:guide>",
    "-# subtext",
    "### heading",
    "1. first",
    "line\r# heading after a carriage return",
    "\u202eevil reversed",
    "\u2066isolated\u2069",
]
_SPECIAL = set("\\*_~`|[]")
_LIVE_MENTION = re.compile(r"<(?:[@#/:]|a:|t:|id:)|@(?:everyone|here)", re.IGNORECASE)
_LINE_MARKUP = re.compile(r"(?:[#>+-]|\d+\.)")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def live_markup(text: str) -> list[str]:
    """What in `text` Discord would still read as a mention, formatting or reordering."""
    found = [m.group() for m in _LIVE_MENTION.finditer(text)]
    found += _BIDI.findall(text)
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _SPECIAL:
            found.append(char)
    for line in re.split("[\r\n]", text):
        if _LINE_MARKUP.match(line.lstrip()):
            found.append(line)
    return found


@functools.cache
def sample_day(date: str) -> Day:
    for path in sample_posts():
        if path.name.startswith(date):
            return parse_post(path.read_bytes(), str(path))
    raise LookupError(date)


def sample_digest(categories: Sequence[str], top: int = 10, min_score: int = 0) -> Digest:
    digest = build_digest(sample_day("2021-03-05"), categories, top=top, min_score=min_score)
    assert digest is not None
    return digest


def assert_embed_fits(embed: dict[str, Any]) -> None:
    assert len(embed.get("title", "")) <= limits.EMBED_TITLE
    assert len(embed.get("description", "")) <= limits.EMBED_DESCRIPTION
    assert len(embed.get("fields", ())) <= limits.EMBED_FIELDS
    for item in embed.get("fields", ()):
        assert 0 < len(item["name"]) <= limits.FIELD_NAME
        assert 0 < len(item["value"]) <= limits.FIELD_VALUE
    assert len(embed.get("footer", {}).get("text", "")) <= limits.FOOTER_TEXT
    assert embed_size(embed) <= limits.EMBED_TOTAL


def assert_message_fits(message: Message) -> None:
    assert len(message.content) <= limits.CONTENT
    assert len(message.embeds) <= limits.EMBEDS_PER_MESSAGE
    assert sum(embed_size(e) for e in message.embeds) <= limits.EMBED_TOTAL
    for embed in message.embeds:
        assert_embed_fits(embed)
    assert message.body()["allowed_mentions"] == {"parse": []}


# --- escape_markdown -------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_escape_markdown_leaves_nothing_live(text: str) -> None:
    assert live_markup(text), "the hostile sample should be live before escaping"
    escaped = escape_markdown(text)
    assert live_markup(escaped) == []


def test_escape_markdown_exact_forms() -> None:
    zwsp = "\u200b"
    assert escape_markdown("@everyone @here") == f"@{zwsp}everyone @{zwsp}here"
    assert escape_markdown("<@123> <@&5> <#9>") == f"<{zwsp}@123> <{zwsp}@&5> <{zwsp}#9>"
    assert escape_markdown("**bold**") == r"\*\*bold\*\*"
    assert escape_markdown("[x](http://evil)") == r"\[x\](http://evil)"
    assert escape_markdown("`x`") == r"\`x\`"
    assert escape_markdown("> quote") == r"\> quote"
    assert escape_markdown("# heading") == r"\# heading"
    assert escape_markdown("plain text: a, b (c).") == "plain text: a, b (c)."
    assert escape_markdown("  \n  # x\n\n> y\r - z\n 12. w") == (
        "  \n  \\# x\n\n\\> y\r \\- z\n 12\\. w"
    )


@given(
    st.lists(
        st.sampled_from([*HOSTILE, " ", "\n", "a", "<", "@", "\\", "#", ">", "1.", "-"]),
        max_size=12,
    ).map("".join)
)
def test_escape_markdown_never_leaves_anything_live(text: str) -> None:
    assert live_markup(escape_markdown(text)) == []


def test_escape_markdown_neutralises_navigation_mentions_and_bidi_controls() -> None:
    zwsp = "\u200b"
    assert (
        escape_markdown("<id:customize> <id:browse>") == f"<{zwsp}id:customize> <{zwsp}id:browse>"
    )
    assert escape_markdown("a\u202eb\u202ac\u2066d\u2069e") == "abcde"
    assert escape_markdown("<\u202e@123>") == f"<{zwsp}@123>"  # removed first, then escaped
    assert escape_markdown("-# small") == r"\-# small"
    assert escape_markdown("x\r> quote") == "x\r\\> quote"
    assert escape_markdown("\u200f\u200e") == "\u200f\u200e"  # marks that only hint direction


# Pieces of Discord's mention and markdown syntax, to be put together in every order.
_SYNTAX = [
    *"<>@#/:&!*_~`|[]()\\-+.>1 \n\r\t",
    "\u202e",
    "\u2067",
    "\u200b",
    "a:",
    "t:",
    "id:",
    "everyone",
    "here",
    "customize",
    "123",
    "http://x",
]


@given(st.lists(st.sampled_from(_SYNTAX), max_size=24).map("".join))
def test_escaped_syntax_never_forms_a_mention_or_markup(text: str) -> None:
    assert live_markup(escape_markdown(text)) == []


@given(st.text())
def test_escaped_text_never_forms_a_mention_or_markup(text: str) -> None:
    assert live_markup(escape_markdown(text)) == []


# --- the /paper card -------------------------------------------------------------------------


def perceiver_history() -> PaperHistory:
    ranked = sample_day("2021-03-05").papers[2]
    return PaperHistory(paper=ranked.paper, appearances=(ranked.appearance,), tweets=ranked.tweets)


def test_paper_card_of_a_sample_paper() -> None:
    message = Renderer().paper(perceiver_history())
    assert_message_fits(message)
    (embed,) = message.embeds
    assert embed["title"] == "Perceiver: General Perception with Iterative Attention"
    assert embed["url"] == "https://arxiv.org/abs/2103.03206"
    assert embed["color"] == Renderer.COLOR
    assert "Andrew Jaegle" in embed["description"]
    assert "Biological systems understand the world" in embed["description"]
    names = [f["name"] for f in embed["fields"]]
    assert names[0] == "Hot on"
    assert embed["fields"][0]["value"] == "2021-03-05 · #3 · 857 retweets · 251 favorites"
    assert names[1] == "Aran Komatsuzaki (@arankomatsuzaki) · 2021-03-05"
    assert len(names) == 4  # Hot on + the 3 tweets
    assert (
        "https://twitter.com/arankomatsuzaki/status/1367657530143383561"
        in (embed["fields"][1]["value"])
    )
    assert [b.url for b in message.buttons] == [
        "https://arxiv.org/abs/2103.03206",
        "https://arxiv.org/pdf/2103.03206",
    ]


def huge_paper(index: int = 1, *, tweets: int = 40) -> RankedPaper:
    date = dt.date(2021, 3, 5)
    words = " ".join(f"word{i}" for i in range(3000))
    paper = Paper(
        arxiv_id=f"2103.{index:05d}",
        title=f"@everyone {index} **Long** " + "Title " * 60,
        authors=tuple(f"Author Number {i} <@{i}>" for i in range(60)),
        categories=("cs.LG", "cs.CV", "cs.AI", "stat.ML", "eess.IV"),
        abstract=f"> {index} " + words[:10_000],
        abs_url=f"https://arxiv.org/abs/2103.{index:05d}",
        pdf_url=None,
    )
    return RankedPaper(
        paper=paper,
        appearance=Appearance(date=date, rank=index, retweets=1000 - index, favorites=index),
        tweets=tuple(
            Tweet(
                url=f"https://twitter.com/user{i}/status/{1000 + i}",
                author=f"Name {i} @here",
                handle=f"user{i}",
                posted=date,
                lang="en",
                text="tweet text [link](http://evil) " * 20,
            )
            for i in range(tweets)
        ),
    )


def test_paper_card_of_a_huge_paper_fits_every_limit() -> None:
    ranked = huge_paper()
    assert len(ranked.paper.title) >= 300
    assert len(ranked.paper.abstract) >= 10_000
    history = PaperHistory(ranked.paper, (ranked.appearance,), ranked.tweets)
    message = Renderer().paper(history)
    assert_message_fits(message)
    (embed,) = message.embeds
    assert embed["title"].endswith(ELLIPSIS)
    assert embed["description"].endswith(ELLIPSIS)
    assert embed["title"].startswith("@\u200beveryone 1 \\*\\*Long\\*\\*")
    assert not _LIVE_MENTION.search(json.dumps(message.body(), ensure_ascii=False))


def test_paper_card_of_a_crafted_post_stays_under_the_total_and_link_limits() -> None:
    """A category code of 2,500 letters, long author names and a 622-character PDF link."""
    ranked = huge_paper(tweets=5)
    paper = dataclasses.replace(
        ranked.paper,
        authors=tuple("Author " + "x" * 200 + f" {i}" for i in range(5)),
        categories=("cs." + "A" * 2500, "cs.CV"),
        pdf_url="https://arxiv.org/pdf/" + "9" * 600,
    )
    message = Renderer().paper(PaperHistory(paper, (ranked.appearance,), ranked.tweets))
    assert_message_fits(message)
    (embed,) = message.embeds
    assert embed_size(embed) <= limits.EMBED_TOTAL
    assert embed["description"].startswith("**Authors:** Author xxx")
    assert len(embed["description"]) > 2000  # the abstract still gets its room
    assert len(embed["footer"]["text"]) <= 256
    # The PDF link is longer than a button takes: only the abstract's button is left.
    assert [(b.label, b.url) for b in message.buttons] == [
        ("arXiv abstract", "https://arxiv.org/abs/2103.00001")
    ]


def test_paper_card_without_an_over_long_abs_link() -> None:
    ranked = huge_paper(tweets=0)
    paper = dataclasses.replace(ranked.paper, abs_url="https://arxiv.org/abs/" + "1" * 3000)
    message = Renderer().paper(PaperHistory(paper, (ranked.appearance,), ()))
    (embed,) = message.embeds
    assert "url" not in embed
    assert message.buttons == ()


def bare_paper(**changes: Any) -> Paper:
    """A paper whose post gave no title, authors, categories or abstract."""
    fields: dict[str, Any] = {
        "arxiv_id": "2103.00001",
        "title": "",
        "authors": (),
        "categories": (),
        "abstract": "",
        "abs_url": "https://arxiv.org/abs/2103.00001",
        "pdf_url": None,
    }
    return Paper(**{**fields, **changes})


@pytest.mark.parametrize("blank", ["", "  \n "])
def test_paper_card_of_a_paper_with_empty_fields(blank: str) -> None:
    paper = bare_paper(title=blank, abstract=blank)
    appearance = Appearance(dt.date(2021, 3, 5), 4, 10, 20)
    message = Renderer().paper(PaperHistory(paper, (appearance,), ()))
    assert_message_fits(message)
    (embed,) = message.embeds
    assert embed["title"] == "arXiv:2103.00001"
    assert embed["description"] == (
        "**Authors:** not listed\n**Categories:** none listed\n\nNo abstract available."
    )
    assert embed["footer"] == {"text": "arXiv:2103.00001"}
    assert embed["fields"] == [
        {"name": "Hot on", "value": "2021-03-05 · #4 · 10 retweets · 20 favorites", "inline": False}
    ]


def test_digest_of_a_paper_with_empty_fields() -> None:
    date = dt.date(2021, 3, 5)
    paper = bare_paper(categories=("cs.CV",))
    day = Day(
        date,
        dt.datetime(2021, 3, 6, tzinfo=dt.UTC),
        (RankedPaper(paper, Appearance(date, 1, 2, 3), ()),),
    )
    digest = build_digest(day, ["cs.CV"], top=10)
    assert digest is not None
    (message,) = Renderer().digest(digest)
    assert_message_fits(message)
    (embed,) = message.embeds
    assert embed["title"] == "#1 · arXiv:2103.00001"
    assert embed["description"] == (
        "Authors not listed\n**cs.CV**\n🔁 2 retweets · ❤️ 3 favorites\n\nNo abstract available."
    )


def test_tweet_handles_and_names_never_mention() -> None:
    date = dt.date(2021, 3, 5)
    tweets = tuple(
        Tweet(f"https://twitter.com/{handle}/status/{i}", author, handle, date, "en", "hi")
        for i, (author, handle) in enumerate(
            [("Mallory", "everyone"), ("@here", "here"), ("<id:customize>", "x_y")]
        )
    )
    history = PaperHistory(perceiver_history().paper, (), tweets)
    message = Renderer().paper(history)
    (embed,) = message.embeds
    assert [f["name"] for f in embed["fields"]] == [
        "Mallory (@\u200beveryone) · 2021-03-05",
        "@\u200bhere (@\u200bhere) · 2021-03-05",
        "<\u200bid:customize> (@x\\_y) · 2021-03-05",
    ]
    assert not _LIVE_MENTION.search(json.dumps(message.body(), ensure_ascii=False))


# --- the digest ------------------------------------------------------------------------------

CV_TITLES = [
    "#3 · Perceiver: General Perception with Iterative Attention",
    "#4 · Improving Computational Efficiency in Visual Reinforcement Learning via Stored "
    "Embeddings",
    "#7 · Anycost GANs for Interactive Image Synthesis and Editing",
    "#8 · Self-supervised Geometric Perception",
    "#9 · COIN: COmpression with Implicit Neural representations",
    "#10 · Enhanced 3D Human Pose Estimation from Videos by using Attention-Based Neural Network "
    "with Dilated Convolutions",
    "#11 · Data Augmentation for Object Detection via Differentiable Neural Rendering",
    "#12 · MOGAN: Morphologic-structure-aware Generative Learning from a Single Image",
]
PERCEIVER_EXCERPT = (
    "Biological systems understand the world by simultaneously processing high-dimensional "
    "inputs from modalities as diverse as vision, audition, touch, proprioception, etc. The "
    "perception models used in deep learning on the other hand are designed for individual "
    "modalities, often…"
)
PERCEIVER_TWEET = "https://twitter.com/arankomatsuzaki/status/1367657530143383561"


def perceiver_embed(categories: str) -> dict[str, Any]:
    return {
        "type": "rich",
        "title": "#3 · Perceiver: General Perception with Iterative Attention",
        "url": "https://arxiv.org/abs/2103.03206",
        "description": (
            "Andrew Jaegle, Felix Gimeno, Andrew Brock and 3 more (6 authors)\n"
            f"{categories}\n"
            "🔁 857 retweets · ❤️ 251 favorites\n\n"
            f"{PERCEIVER_EXCERPT}\n\n"
            f"Top tweet: {PERCEIVER_TWEET}"
        ),
        "color": Renderer.COLOR,
    }


def test_digest_of_a_sample_day() -> None:
    messages = Renderer().digest(sample_digest(["cs.CV"]))
    assert len(messages) == 1
    (message,) = messages
    assert message.content == "**Hot Papers 2021-03-05** · 8 of 13 papers match cs.CV"
    assert [e["title"] for e in message.embeds] == CV_TITLES
    assert message.embeds[0] == perceiver_embed("**cs.CV** · cs.AI · cs.LG · cs.SD · eess.AS")
    assert_message_fits(message)
    assert message.body() == {
        "allowed_mentions": {"parse": []},
        "content": message.content,
        "embeds": list(message.embeds),
    }


def test_digest_marks_every_matching_category() -> None:
    (message,) = Renderer().digest(sample_digest(["cs.LG", "cs.CV"], top=3))
    assert message.content == (
        "**Hot Papers 2021-03-05** · top 3 of 12 papers matching cs.CV, cs.LG (13 that day)"
    )
    assert message.embeds[2] == perceiver_embed("**cs.CV** · cs.AI · **cs.LG** · cs.SD · eess.AS")
    assert message.embeds[1]["description"].splitlines()[1] == "stat.ML · **cs.LG**"


def test_digest_headers() -> None:
    renderer = Renderer()
    assert renderer.digest_header(sample_digest(["cs.PL"])) == (
        "**Hot Papers 2021-03-05** · 1 of 13 papers matches cs.PL"
    )
    assert renderer.digest_header(sample_digest(["eess"])) == (
        "**Hot Papers 2021-03-05** · 2 of 13 papers match eess.\\*"
    )
    assert renderer.digest_header(sample_digest(["eess"]), markdown=False) == (
        "Hot Papers 2021-03-05 · 2 of 13 papers match eess.*"
    )
    assert renderer.digest_header(sample_digest(["cs.CV"], min_score=300)) == (
        "**Hot Papers 2021-03-05** · 5 of 13 papers match cs.CV"
        " with at least 300 retweets + favorites"
    )


# --- days built from Bluesky --------------------------------------------------------------------


def mixed_history() -> PaperHistory:
    """The Perceiver, hot on the 2021-03-05 Twitter day and on a Bluesky day."""
    twitter, bluesky = sample_day("2021-03-05").papers[2], bluesky_day().papers[0]
    return PaperHistory(
        paper=bluesky.paper,
        appearances=(twitter.appearance, bluesky.appearance),
        tweets=twitter.tweets + bluesky.tweets,
    )


def test_paper_card_of_a_paper_hot_on_twitter_and_on_bluesky() -> None:
    message = Renderer().paper(mixed_history(), max_tweets=4)
    assert_message_fits(message)
    (embed,) = message.embeds
    fields = [(f["name"], f["value"]) for f in embed["fields"]]
    assert fields[0] == (
        "Hot on",
        "2021-03-05 · #3 · 857 retweets · 251 favorites\n"
        "2025-06-15 · #1 · 8 reposts · 43 likes on Bluesky",
    )
    assert fields[1][0] == "Aran Komatsuzaki (@arankomatsuzaki) · 2021-03-05"
    assert fields[1][1].endswith(
        "\n[Open tweet](https://twitter.com/arankomatsuzaki/status/1367657530143383561)"
    )
    assert fields[4] == (
        "Ada L. (@ada.bsky.social) · 2025-06-15 · Bluesky",
        "Perceiver is hot again https://arxiv.org/abs/2103.03206\n"
        "[Open post](https://bsky.app/profile/ada.bsky.social/post/3lrada1)",
    )
    assert fields[5] == ("More posts", "and 1 more post")


def test_a_hostile_bluesky_post_is_escaped_and_never_pings() -> None:
    history = mixed_history()
    hostile = PaperHistory(history.paper, history.appearances[1:], history.tweets[3:])
    (embed,) = Renderer().paper(hostile).embeds
    assert embed["fields"][2] == {
        "name": 'Mal <b>"lory"<\u200b/b> &amp; Co (@handle.invalid) · 2025-06-15 · Bluesky',
        "value": 'Read <\u200b/p><\u200b/blockquote><blockquote class="bluesky-embed"> & '
        '"this" it\'s <br> &amp;\n\\# 1. Not a paper\n\\---\n@\u200beveryone <\u200b@123> '
        "\\*\\*bold\\*\\*\r\nend  \n"
        "[Open post](https://bsky.app/profile/did:plc:mallory/post/3lrmal2)",
        "inline": False,
    }
    assert live_markup(embed["fields"][2]["value"].rsplit("\n", 1)[0]) == []


def test_digest_of_a_bluesky_day() -> None:
    digest = build_digest(bluesky_day(), ["cs.LG"], top=5, min_score=3)
    assert digest is not None
    (message,) = Renderer().digest(digest)
    assert message.body() == {
        "allowed_mentions": {"parse": []},
        "content": "**Hot Papers 2025-06-15** · 1 of 2 papers matches cs.LG with at least 3 "
        "likes + reposts",
        "embeds": [
            {
                "type": "rich",
                "title": "#1 · Perceiver: General Perception with Iterative Attention",
                "url": "https://arxiv.org/abs/2103.03206",
                "description": "Ada Lovelace, Alan Turing\n**cs.LG** · cs.CV\n"
                "🔁 8 reposts · ❤️ 43 likes\n\n"
                "What Perceiver: General Perception with Iterative Attention is about, & why "
                "<it> matters.\n\n"
                "Top post: https://bsky.app/profile/ada.bsky.social/post/3lrada1",
                "color": Renderer.COLOR,
            }
        ],
    }
    single = build_digest(bluesky_day(), ["cs.CV"], top=5)
    assert single is not None
    last = Renderer().digest(single)[0].embeds[1]["description"]
    assert "🔁 0 reposts · ❤️ 2 likes" in last.splitlines()


def test_digest_omits_the_tweet_line_without_tweets() -> None:
    digest = build_digest(sample_day("2021-03-15"), ["cs.CV"], top=10)
    assert digest is not None
    (message,) = Renderer().digest(digest)
    last = message.embeds[-1]
    assert last["title"] == (
        "#9 · Searching by Generating: Flexible and Efficient One-Shot NAS with "
        "Architecture Generator"
    )
    assert "Top tweet" not in last["description"]
    assert last["description"].endswith(ELLIPSIS)
    assert all("Top tweet: https://twitter.com/" in e["description"] for e in message.embeds[:-1])


def test_digest_escapes_hostile_posts() -> None:
    date = dt.date(2021, 3, 5)
    paper = Paper(
        arxiv_id="2103.00001",
        title="@everyone <@123> **Free** [x](http://evil)",
        authors=("<@&5>", "`Mallory`", "@here"),
        categories=("cs.CV",),
        abstract="> quote\n# heading\n<#9> ||spoiler|| ~~strike~~ _it_",
        abs_url="https://arxiv.org/abs/2103.00001",
        pdf_url=None,
    )
    day = Day(
        date=date,
        published_at=dt.datetime(2021, 3, 6, tzinfo=dt.UTC),
        papers=(RankedPaper(paper, Appearance(date, 1, 1, 1), ()),),
    )
    digest = build_digest(day, ["cs.CV"], top=10)
    assert digest is not None
    (message,) = Renderer().digest(digest)
    (embed,) = message.embeds
    assert embed["title"] == "#1 · " + escape_markdown(paper.title)
    assert live_markup(embed["title"].removeprefix("#1 · ")) == []
    description = embed["description"]
    assert description.splitlines()[:3] == [
        escape_markdown("<@&5>, `Mallory`, @here"),
        "**cs.CV**",
        "🔁 1 retweet · ❤️ 1 favorite",
    ]
    assert live_markup(description.replace("**cs.CV**", "")) == []
    assert not _LIVE_MENTION.search(json.dumps([m.body() for m in [message]]))
    assert message.body()["allowed_mentions"] == {"parse": []}


def long_day(papers: int = 25) -> Day:
    date = dt.date(2021, 3, 5)
    return Day(
        date=date,
        published_at=dt.datetime(2021, 3, 6, tzinfo=dt.UTC),
        papers=tuple(huge_paper(i, tweets=3) for i in range(1, papers + 1)),
    )


def test_a_long_digest_splits_over_messages_in_rank_order() -> None:
    digest = build_digest(long_day(), ["cs.CV"], top=25)
    assert digest is not None
    assert len(digest.entries) == 25
    messages = Renderer().digest(digest)
    assert len(messages) > 3  # the 6000-character total splits, not only the 10 embeds
    for message in messages:
        assert_message_fits(message)
        for embed in message.embeds:
            assert embed["title"].endswith(ELLIPSIS)
            assert embed["description"].endswith("Top tweet: https://twitter.com/user0/status/1000")
    titles = [e["title"] for m in messages for e in m.embeds]
    assert [t.split(" · ")[0] for t in titles] == [f"#{i}" for i in range(1, 26)]
    assert messages[0].content == ("**Hot Papers 2021-03-05** · 25 of 25 papers match cs.CV")
    assert all(m.content == "" for m in messages[1:])
    assert not any(_LIVE_MENTION.search(json.dumps(m.body())) for m in messages)


def test_a_digest_of_short_papers_splits_by_embed_count() -> None:
    day = sample_day("2021-03-24")
    papers = tuple(day.papers) + tuple(day.papers)[:10]
    renumbered = tuple(
        RankedPaper(
            p.paper,
            Appearance(day.date, rank, p.appearance.retweets, p.appearance.favorites),
            p.tweets,
        )
        for rank, p in enumerate(papers, start=1)
    )
    big = Day(date=day.date, published_at=day.published_at, papers=renumbered)
    digest = build_digest(big, ["cs.*", "econ.*"], top=25)
    assert digest is not None
    messages = Renderer().digest(digest)
    assert [len(m.embeds) for m in messages] == [10, 10, 5]
    for message in messages:
        assert_message_fits(message)


# --- hotpapers digest ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("archive") / "hot.sqlite3"
    assert main(["ingest", "--samples", "--db", str(db)], environ={}) == 0
    return db


def run(capsys: pytest.CaptureFixture[str], archive: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["digest", "--db", str(archive), *args], environ={})
    out, err = capsys.readouterr()
    return code, out, err


PLAIN_TOP_2 = """\
Hot Papers 2021-03-05 · top 2 of 8 papers matching cs.CV (13 that day)

#3 · Perceiver: General Perception with Iterative Attention
    Andrew Jaegle, Felix Gimeno, Andrew Brock and 3 more (6 authors)
    [cs.CV] · cs.AI · cs.LG · cs.SD · eess.AS
    857 retweets · 251 favorites
    Biological systems understand the world by simultaneously processing high-dimensional inputs
    from modalities as diverse as vision, audition, touch, proprioception, etc. The perception
    models used in deep learning on the other hand are designed for individual modalities, often…
    Top tweet: https://twitter.com/arankomatsuzaki/status/1367657530143383561
    https://arxiv.org/abs/2103.03206

#4 · Improving Computational Efficiency in Visual Reinforcement Learning via Stored Embeddings
    Lili Chen, Kimin Lee, Aravind Srinivas and 1 more (4 authors)
    cs.LG · [cs.CV]
    732 retweets · 243 favorites
    Recent advances in off-policy deep reinforcement learning (RL) have led to impressive success in
    complex tasks from visual observations. Experience replay improves sample-efficiency by reusing
    experiences from the past, and convolutional neural networks (CNNs) process…
    Top tweet: https://twitter.com/AravSrinivas/status/1367885931768807424
    https://arxiv.org/abs/2103.02886
"""


def test_cli_digest_plain(capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    code, out, err = run(
        capsys, archive, "--date", "2021-03-05", "--categories", "cs.CV", "--top", "2"
    )
    assert (code, err) == (0, "")
    assert out == PLAIN_TOP_2


def test_cli_digest_json(capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    code, out, err = run(
        capsys, archive, "--date", "2021-03-05", "--categories", "cs.LG, cs.CV", "--json"
    )
    assert (code, err) == (0, "")
    bodies = json.loads(out)
    assert len(bodies) == 1
    (body,) = bodies
    assert body["allowed_mentions"] == {"parse": []}
    assert body["content"] == (
        "**Hot Papers 2021-03-05** · top 10 of 12 papers matching cs.CV, cs.LG (13 that day)"
    )
    assert [e["title"].split(" · ")[0] for e in body["embeds"]] == [
        "#1",
        "#2",
        "#3",
        "#4",
        "#6",
        "#7",
        "#8",
        "#9",
        "#10",
        "#11",
    ]
    assert body["embeds"][2] == perceiver_embed("**cs.CV** · cs.AI · **cs.LG** · cs.SD · eess.AS")
    expected = Renderer().digest(sample_digest(["cs.CV", "cs.LG"], top=10))
    assert bodies == [m.body() for m in expected]


def test_cli_digest_default_top_comes_from_the_config(
    capsys: pytest.CaptureFixture[str], archive: Path, tmp_path: Path
) -> None:
    config = tmp_path / "hotpapers.toml"
    config.write_text("[digest]\ntop = 2\n", encoding="utf-8")
    code, out, _ = run(
        capsys, archive, "--config", str(config), "--date", "2021-03-05", "--categories", "cs.CV"
    )
    assert code == 0
    assert out == PLAIN_TOP_2
    code, out, _ = run(capsys, archive, "--date", "2021-03-05", "--categories", "cs.CV")
    assert out.startswith("Hot Papers 2021-03-05 · 8 of 13 papers match cs.CV\n")
    assert out.count("\n#") == 8


def test_cli_digest_min_score_and_wildcard(
    capsys: pytest.CaptureFixture[str], archive: Path
) -> None:
    code, out, _ = run(
        capsys, archive, "--date", "2021-03-05", "--categories", "eess", "--min-score", "1000"
    )
    assert code == 0
    assert out.splitlines()[:3] == [
        "Hot Papers 2021-03-05 · 1 of 13 papers matches eess.* with at least 1,000 retweets"
        " + favorites",
        "",
        "#3 · Perceiver: General Perception with Iterative Attention",
    ]
    assert "    cs.CV · cs.AI · cs.LG · cs.SD · [eess.AS]\n" in out


def test_cli_digest_without_a_match(capsys: pytest.CaptureFixture[str], archive: Path) -> None:
    args = ("--date", "2021-03-05", "--categories", "hep-th,gr-qc")
    assert run(capsys, archive, *args) == (0, "no paper on 2021-03-05 matches gr-qc, hep-th\n", "")
    assert run(capsys, archive, *args, "--json") == (0, "[]\n", "")
    code, out, _ = run(
        capsys, archive, "--date", "2021-03-05", "--categories", "cs.CV", "--min-score", "5000"
    )
    assert (code, out) == (
        0,
        "no paper on 2021-03-05 matches cs.CV with at least 5,000 retweets + favorites\n",
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--date", "05/03/2021", "--categories", "cs.CV"], 2, "expected YYYY-MM-DD"),
        (["--date", "2021-02-30", "--categories", "cs.CV"], 2, "expected YYYY-MM-DD"),
        (["--date", "2021-03-06", "--categories", "cs.CV"], 1, "no post for 2021-03-06"),
        (["--date", "2021-03-05", "--categories", "cs.VC"], 2, "closest: cs.CV"),
        (["--date", "2021-03-05", "--categories", "cs.CV,nope"], 2, "unknown arXiv category"),
        (["--date", "2021-03-05", "--categories", " , "], 2, "no categories"),
        (["--date", "2021-03-05", "--categories", "cs.CV", "--top", "0"], 2, "1 to 25, got 0"),
        (["--date", "2021-03-05", "--categories", "cs.CV", "--top", "26"], 2, "1 to 25, got 26"),
        (
            ["--date", "2021-03-05", "--categories", "cs.CV", "--min-score", "-1"],
            2,
            "--min-score must be 0 to 10,000,000, got -1",
        ),
    ],
)
def test_cli_digest_errors(
    capsys: pytest.CaptureFixture[str], archive: Path, args: list[str], code: int, message: str
) -> None:
    got, out, err = run(capsys, archive, *args)
    assert got == code
    assert out == ""
    assert err.startswith("hotpapers: ")
    assert message in err


def test_cli_digest_usage_errors_do_not_create_a_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "none.sqlite3"
    code = main(
        ["digest", "--db", str(db), "--date", "2021-03-05", "--categories", "cs.VC"], environ={}
    )
    assert code == 2
    assert not db.exists()
    with pytest.raises(SystemExit) as info:
        main(["digest", "--db", str(db), "--categories", "cs.CV"], environ={})
    assert info.value.code == 2
    assert "--date" in capsys.readouterr().err


def test_every_corpus_digest_fits(corpus_dir: Path) -> None:
    renderer = Renderer()
    checked = 0
    for path in sorted(corpus_dir.glob("*.md")):
        day = parse_post(path.read_bytes(), str(path))
        codes = sorted({c for ranked in day.papers for c in ranked.paper.categories})
        for categories in (["cs.*"], ["cs.LG", "stat.*"], *([c] for c in codes)):
            digest = build_digest(day, categories, top=25)
            if digest is None:
                continue
            messages = renderer.digest(digest)
            for message in messages:
                assert_message_fits(message)
            titles = [e["title"] for m in messages for e in m.embeds]
            assert len(titles) == len(digest.entries)
            for title, entry in zip(titles, digest.entries, strict=True):
                assert title.startswith(f"#{entry.ranked.appearance.rank} · ")
            checked += 1
    assert checked > 100


# --- template overrides ----------------------------------------------------------------------


def test_an_override_replaces_only_the_blocks_it_defines(tmp_path: Path) -> None:
    (tmp_path / "notices.j2").write_text(
        "{% block guild_only %}Use me in a server, please.{% endblock %}\n", encoding="utf-8"
    )
    renderer = Renderer(tmp_path)
    assert renderer.notice("guild_only").content == "Use me in a server, please."
    # Every other notice is still the bundled one, the error notice included.
    assert renderer.notice("error").content == Renderer().notice("error").content
    assert renderer.paper(PaperHistory(huge_paper().paper, (), ())) == Renderer().paper(
        PaperHistory(huge_paper().paper, (), ())
    )


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("notices.j2", "{% block guild_only %}x{% endblok %}", ":1: not a valid template: "),
        ("notices.j2", "{% block gild_only %}x{% endblock %}", ": unknown block(s) gild_only; "),
        ("notice.j2", "{% block guild_only %}x{% endblock %}", ": no bundled template of that"),
    ],
)
def test_a_broken_override_is_refused_at_start(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(TemplateOverrideError) as info:
        Renderer(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / name}{problem}")


def test_a_missing_override_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TemplateOverrideError) as info:
        Renderer(tmp_path / "nowhere")
    assert str(info.value) == (
        f"[templates] directory {tmp_path / 'nowhere'} does not exist or is not a directory"
    )


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "paper.j2",
            "{% block footer %}arXiv:{{ paper.arxiv_id }} {{ paper.nope }}{% endblock %}",
            ":1: block 'footer' cannot be rendered: 'bot.models.Paper object' has no attribute"
            " 'nope'",
        ),
        # Only a paper without authors has no first author.
        (
            "paper.j2",
            "{% block head %}\nBy {{ paper.authors[0] }}{% endblock %}",
            ":2: block 'head' cannot be rendered: tuple object has no element 0",
        ),
        # Only a direct message of more papers than one message holds lists the others.
        (
            "follows.j2",
            "{% block dm_more %}{{ entries[0].nope }}{% endblock %}",
            ":1: block 'dm_more' cannot be rendered: 'bot.digest.DigestEntry object' has no"
            " attribute 'nope'",
        ),
        # Only a paper a follow matched has a footer saying so.
        (
            "digest.j2",
            "{% block followed %}{{ followed[0].nope }}{% endblock %}",
            ":1: block 'followed' cannot be rendered: 'bot.models.Follow object' has no"
            " attribute 'nope'",
        ),
        # Only a channel paused by its own setting has no pause reason.
        (
            "subscriptions.j2",
            "{% block settings %}{% if subscription.paused %}"
            "{{ subscription.pause_reason.upper() }}{% endif %}{% endblock %}",
            ":1: block 'settings' cannot be rendered: 'None' has no attribute 'upper'",
        ),
        (
            "digest.j2",
            "{% block header %}{{ digest.date }}{% if digest.cut %} {{ digest.top }}{% endif %}"
            "{% endblock %}",
            ":1: block 'header' cannot be rendered: 'bot.digest.Digest object' has no attribute"
            " 'top'",
        ),
        (
            "notices.j2",
            "{% block guild_only %}ok{% endblock %}\n{% block invalid_setting %}{{ option }}"
            " {{ maximum }}{% endblock %}",
            ":2: block 'invalid_setting' cannot be rendered: 'maximum' is undefined",
        ),
    ],
)
def test_an_override_that_fails_to_render_is_refused_at_start(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(TemplateOverrideError) as info:
        Renderer(tmp_path)
    assert str(info.value) == f"{tmp_path / name}{problem} (tried with sample data at start)"


def test_an_override_that_renders_is_used(tmp_path: Path) -> None:
    (tmp_path / "paper.j2").write_text(
        "{% block footer %}{{ paper.arxiv_id }} ({{ history.appearances | length }} days)"
        "{% endblock %}",
        encoding="utf-8",
    )
    (tmp_path / "digest.j2").write_text(
        "{% block title %}{{ entry.ranked.appearance.rank }}. "
        "{{ entry.ranked.paper.title | md }}{% endblock %}",
        encoding="utf-8",
    )
    renderer = Renderer(tmp_path)
    (embed,) = renderer.paper(perceiver_history()).embeds
    assert embed["footer"] == {"text": "2103.03206 (1 days)"}
    assert embed["title"] == Renderer().paper(perceiver_history()).embeds[0]["title"]
    (message,) = renderer.digest(sample_digest(["cs.CV"]))
    assert message.embeds[0]["title"] == "3. Perceiver: General Perception with Iterative Attention"


def test_a_block_failing_at_run_time_names_its_file_and_block() -> None:
    path = BUNDLED_TEMPLATES / "notices.j2"
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "{% block no_subscription %}" in text)
    with pytest.raises(TemplateBlockError) as info:
        Renderer().notice("no_subscription")  # without the channel_id it needs
    assert str(info.value) == (
        f"{path}:{line}: block 'no_subscription' cannot be rendered: 'channel_id' is undefined"
    )


def test_the_samples_render_with_the_bundled_templates_and_take_every_branch() -> None:
    renderer = Renderer()
    renderer.render_samples()
    notices = jinja2.Environment().parse((BUNDLED_TEMPLATES / "notices.j2").read_text("utf-8"))
    assert set(template_samples.NOTICES) == {b.name for b in notices.find_all(jinja2.nodes.Block)}

    day = template_samples.sample_day()
    assert day.date == dt.date(2021, 3, 5)
    full, bare = template_samples.papers(day)
    assert (len(full.appearances), len(full.tweets) > 5, full.paper.pdf_url is not None) == (
        2,
        True,
        True,
    )
    assert (bare.paper.title, bare.paper.authors, bare.paper.categories) == ("", (), ())
    assert (bare.paper.abstract, bare.appearances, bare.tweets) == ("", (), ())
    assert [a.platform for a in full.appearances] == ["twitter", "bluesky"]
    assert {t.platform for t in full.tweets[:5]} == {"twitter", "bluesky"}
    digests = template_samples.digests(day)
    assert {d.platform for d in digests if d.min_score} == {"twitter", "bluesky"}
    assert {d.cut for d in digests} == {True, False}
    assert {d.min_score > 0 for d in digests} == {True, False}
    assert {d.matched == 1 for d in digests} == {True, False}
    entries = [e for d in digests for e in d.entries]
    assert {bool(e.ranked.tweets) for e in entries} == {True, False}
    assert {bool(e.ranked.paper.abstract) for e in entries} == {True, False}
    subscriptions = template_samples.subscriptions()
    assert None in subscriptions
    listed = [s for s in subscriptions if s is not None]
    assert {bool(s.categories) for s in listed} == {True, False}
    assert {(s.paused, s.pause_reason is None) for s in listed} == {
        (False, True),
        (True, True),
        (True, False),
    }
    assert {s.deliver_at is None for s in listed} == {True, False}
    assert {s.top is None for s in listed} == {True, False}
    assert {(bool(d.categories), d.followed > 0) for d in digests} >= {(False, True), (True, True)}
    assert {bool(e.followed) for e in entries} == {True, False}
    direct = [renderer.direct_message(day, e) for e in template_samples.direct_messages(day)]
    assert {len(m.embeds) for m in direct} == {2, limits.EMBEDS_PER_MESSAGE - 2}
    assert direct[1].embeds[-1]["title"] == "And 6 more papers you follow"
    followings = template_samples.followings()
    assert {(f["channel"] is None, bool(f["channel_follows"])) for f in followings} == {
        (False, True),
        (False, False),
        (True, False),
    }
    assert {bool(f["member_follows"]) for f in followings} == {True, False}
    assert {f.get("dms_closed", False) for f in followings} == {True, False}


# --- follows: marks in digests, direct messages, /following ----------------------------------

DIMENSION = parse_follow("keyword", "dimension reduction")
MILTENBURG = parse_follow("author", "Emiel van Miltenburg")
KRAHENBUHL = parse_follow("author", "Philipp Krahenbuhl")


def test_a_digest_marks_what_the_channel_follows() -> None:
    digest = build_digest(
        sample_day("2021-03-15"), ["cs.CV"], top=10, follows=[DIMENSION, MILTENBURG, KRAHENBUHL]
    )
    assert digest is not None
    (message,) = Renderer().digest(digest)
    assert message.content == (
        "**Hot Papers 2021-03-15** · 7 of 10 papers match cs.CV"
        " · and 2 more papers this channel follows"
    )
    assert [(e["title"].split(" · ")[0], e.get("footer")) for e in message.embeds] == [
        ("#1", None),
        ("#2", {"text": "followed: author Philipp Krahenbuhl"}),
        ("#4", None),
        ("#5", None),
        ("#6", None),
        ("#8", None),
        ("#9", None),
        ("#3", {"text": "followed: keyword 'dimension reduction'"}),
        ("#10", {"text": "followed: author Emiel van Miltenburg"}),
    ]
    assert message.embeds[7]["title"] == "#3 · Modern Dimension Reduction"
    assert_message_fits(message)


def test_the_header_of_a_channel_that_only_follows() -> None:
    renderer = Renderer()
    one = build_digest(sample_day("2021-03-15"), [], top=10, follows=[DIMENSION])
    two = build_digest(sample_day("2021-03-15"), [], top=10, follows=[DIMENSION, MILTENBURG])
    assert one is not None
    assert two is not None
    assert renderer.digest_header(one) == (
        "**Hot Papers 2021-03-15** · 1 of 10 papers matches what this channel follows"
    )
    assert renderer.digest_header(two, markdown=False) == (
        "Hot Papers 2021-03-15 · 2 of 10 papers match what this channel follows"
    )
    cut = build_digest(sample_day("2021-03-15"), ["cs.CV"], top=2, follows=[MILTENBURG])
    assert cut is not None
    assert renderer.digest_header(cut) == (
        "**Hot Papers 2021-03-15** · top 2 of 7 papers matching cs.CV (10 that day)"
        " · and 1 more paper this channel follows"
    )


def test_a_direct_message_lists_the_followed_papers() -> None:
    day = sample_day("2021-03-15")
    entries = DayDigests(day).followed_entries(
        DayDigests(day).followed([MILTENBURG, DIMENSION, KRAHENBUHL])
    )
    message = Renderer().direct_message(day, entries)
    assert message.content == (
        "**Hot Papers 2021-03-15** · 3 of its 10 papers match what you follow."
        " `/following for:me` lists your follows, `/unfollow` stops one."
    )
    assert [(e["title"], e["footer"]["text"]) for e in message.embeds] == [
        ("#2 · Probabilistic two-stage detection", "followed: author Philipp Krahenbuhl"),
        ("#3 · Modern Dimension Reduction", "followed: keyword 'dimension reduction'"),
        ("#10 · Preregistering NLP Research", "followed: author Emiel van Miltenburg"),
    ]
    # A paper's embed is the one a channel's digest shows, with the matching categories plain.
    assert message.embeds[0]["description"].splitlines()[:3] == [
        "Xingyi Zhou, Vladlen Koltun, Philipp Krähenbühl",
        "cs.CV",
        "🔁 311 retweets · ❤️ 107 favorites",
    ]
    assert_message_fits(message)


def test_a_direct_message_of_many_papers_stays_one_message() -> None:
    day = long_day(25)
    every = parse_follow("keyword", "Title")
    digests = DayDigests(day)
    entries = digests.followed_entries(digests.followed([every]))
    assert len(entries) == 25
    message = Renderer().direct_message(day, entries)
    assert_message_fits(message)
    *papers, more = message.embeds
    shown = [e["title"].split(" · ")[0] for e in papers]
    assert shown == [f"#{i}" for i in range(1, len(papers) + 1)]
    assert more["title"] == f"And {25 - len(papers)} more papers you follow"
    listed = [line.split(" · ")[0] for line in more["description"].splitlines()]
    assert listed == [f"#{i}" for i in range(len(papers) + 1, 26)]
    assert "(https://arxiv.org/abs/2103.00025)" in more["description"]
    assert not _LIVE_MENTION.search(json.dumps(message.body()))


def test_following_lists_both_kinds_and_escapes_what_was_typed() -> None:
    hostile = parse_follow("keyword", "@everyone <@123> **x**")
    message = Renderer().following(
        channel="papers",
        channel_follows=(DIMENSION, hostile),
        member_follows=(MILTENBURG,),
        dms_closed=True,
    )
    assert message.ephemeral
    channel, member = message.embeds
    assert channel["title"] == "Followed in #papers"
    assert channel["description"].splitlines()[:2] == [
        "• keyword 'dimension reduction'",
        "• keyword '@\u200beveryone <\u200b@123> \\*\\*x\\*\\*'",
    ]
    assert member["title"] == "Followed by you"
    assert member["description"] == (
        "• author Emiel van Miltenburg\n\n"
        "1 of 25. On each new Hot Papers day with a paper they match, I send you a direct"
        " message. `/unfollow all for:me` deletes them all.\n"
        "Your DMs are closed: Discord refused my last direct message. Allow direct messages"
        " from this server's members to receive them again."
    )
    assert_message_fits(message)
    assert not _LIVE_MENTION.search(json.dumps(message.body()))


def test_following_25_of_the_longest_follows_fits_one_message() -> None:
    longest = tuple(parse_follow("keyword", f"{n:02d} " + "*" * 77) for n in range(25))
    message = Renderer().following(
        channel="p" * 100, channel_follows=longest, member_follows=longest
    )
    assert_message_fits(message)
    assert message.embeds[0]["description"].startswith("• keyword '00 \\*\\*")
