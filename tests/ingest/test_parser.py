"""The post parser against real Hot Papers posts, broken posts and mutated posts."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.arxiv import parse_arxiv_id
from bot.ingest.parser import ParseError, collapse, parse_post
from bot.models import Appearance, Day, Tweet
from bot.samples import sample_posts
from tests.support.posts import (
    PERCEIVER,
    PERCEIVER_ABSTRACT,
    PERCEIVER_AUTHORS_LINE,
    PERCEIVER_CATEGORIES,
    PERCEIVER_LINKS,
    PERCEIVER_TWEETS,
)
from tests.support.real_posts import all_post_params, corpus_posts

SAMPLES = {path.name[:10]: path for path in sample_posts()}
MARCH_5 = SAMPLES["2021-03-05"]
MARCH_5_TEXT = MARCH_5.read_text(encoding="utf-8")
TWEET_URL = re.compile(r"https://twitter\.com/\w+/status/\d+")
UTC = dt.UTC


def parse_sample(day: str) -> Day:
    path = SAMPLES[day]
    return parse_post(path.read_bytes(), str(path))


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def with_paper(day: Day, index: int, **changes: object) -> Day:
    """`day` with the paper at `index` changed as given."""
    papers = list(day.papers)
    ranked = papers[index]
    papers[index] = dataclasses.replace(ranked, paper=dataclasses.replace(ranked.paper, **changes))
    return dataclasses.replace(day, papers=tuple(papers))


def line_of(text: str, snippet: str) -> int:
    """The 1-based number of the only line containing `snippet`."""
    hits = [n for n, line in enumerate(text.split("\n"), start=1) if snippet in line]
    assert len(hits) == 1, f"{snippet!r} is on lines {hits}"
    return hits[0]


def tweet_line(text: str, status: str) -> str:
    return next(line for line in text.split("\n") if f"/status/{status}" in line)


# --- a real post, field by field ---------------------------------------------------------------


def test_day_takes_its_date_from_the_title_and_published_at_from_the_front_matter() -> None:
    day = parse_sample("2021-03-05")
    assert day.date == dt.date(2021, 3, 5)
    # `date: 2021-03-06T15:15:57.Z`: an empty fraction, in UTC.
    assert day.published_at == dt.datetime(2021, 3, 6, 15, 15, 57, tzinfo=UTC)
    assert day.published_at.utcoffset() == dt.timedelta(0)
    assert len(day.papers) == 13
    assert day.tweet_count == 20
    assert [p.appearance.rank for p in day.papers] == list(range(1, 14))
    assert {p.appearance.date for p in day.papers} == {dt.date(2021, 3, 5)}


def test_paper_fields() -> None:
    ranked = parse_sample("2021-03-05").papers[2]
    assert ranked.paper == PERCEIVER
    assert ranked.paper.primary_category == "cs.CV"


def test_appearance_counts() -> None:
    ranked = parse_sample("2021-03-05").papers[2]
    assert ranked.appearance == Appearance(
        date=dt.date(2021, 3, 5), rank=3, retweets=857, favorites=251
    )
    assert ranked.appearance.score == 1108


def test_tweets_url_author_handle_date_lang_and_text() -> None:
    ranked = parse_sample("2021-03-05").papers[2]
    assert ranked.tweets == PERCEIVER_TWEETS


def test_tweet_url_drops_the_tracking_query() -> None:
    raw = tweet_line(MARCH_5_TEXT, "1367657530143383561")
    assert "1367657530143383561?ref_src=twsrc%5Etfw" in raw
    tweet = parse_sample("2021-03-05").papers[2].tweets[0]
    assert tweet.url == "https://twitter.com/arankomatsuzaki/status/1367657530143383561"


def test_title_whitespace_is_collapsed() -> None:
    raw = "# 4. Improving Computational Efficiency in Visual Reinforcement Learning via  Stored"
    assert raw in MARCH_5_TEXT  # the post really has the double space
    paper = parse_sample("2021-03-05").papers[3].paper
    assert paper.title == (
        "Improving Computational Efficiency in Visual Reinforcement Learning via Stored Embeddings"
    )


def test_authors_are_a_list_in_post_order() -> None:
    paper = parse_sample("2021-03-05").papers[0].paper
    assert len(paper.authors) == 17
    assert paper.authors[:3] == ("Xavier Bouthillier", "Pierre Delaunay", "Mirko Bronzi")
    assert paper.authors[-2:] == ("Gaël Varoquaux", "Pascal Vincent")
    assert parse_sample("2021-03-15").papers[2].paper.authors == ("Philip D. Waggoner",)


def test_categories_keep_the_primary_first() -> None:
    papers = parse_sample("2021-03-05").papers
    assert papers[1].paper.categories == ("stat.ML", "cs.LG")
    assert papers[1].paper.primary_category == "stat.ML"
    assert papers[8].paper.categories == ("eess.IV", "cs.CV", "cs.LG")
    assert parse_sample("2021-03-24").papers[11].paper.categories == (
        "econ.TH",
        "eess.SY",
        "math.OC",
    )


def test_pdf_url_is_none_without_the_pdf_link() -> None:
    text = replace_once(MARCH_5_TEXT, " | [pdf](https://arxiv.org/pdf/2103.03206)", "")
    day = parse_post(text, "no-pdf.md")
    assert day.papers[2].paper.pdf_url is None
    assert day.papers[2].paper.abs_url == "https://arxiv.org/abs/2103.03206"
    assert day.papers[3].paper.pdf_url == "https://arxiv.org/pdf/2103.02886"


@pytest.mark.parametrize(
    ("abs_link", "pdf_link"),
    [
        ("https://arxiv.org/abs/2103.03206v2", "https://arxiv.org/pdf/2103.03206v2"),
        ("http://arxiv.org/abs/2103.03206", "http://arxiv.org/pdf/2103.03206.pdf"),
        ("https://arxiv.org/abs/2103.03206v1", "https://arxiv.org/pdf/2103.03206v3.pdf"),
    ],
)
def test_links_are_rebuilt_from_the_id(abs_link: str, pdf_link: str) -> None:
    text = replace_once(
        MARCH_5_TEXT,
        "[abs](https://arxiv.org/abs/2103.03206) | [pdf](https://arxiv.org/pdf/2103.03206)",
        f"[abs]({abs_link}) | [pdf]({pdf_link})",
    )
    paper = parse_post(text).papers[2].paper
    assert (paper.arxiv_id, paper.abs_url, paper.pdf_url) == (
        "2103.03206",
        "https://arxiv.org/abs/2103.03206",
        "https://arxiv.org/pdf/2103.03206",
    )


def test_old_style_ids_get_their_links_too() -> None:
    text = replace_once(
        MARCH_5_TEXT,
        "[abs](https://arxiv.org/abs/2103.03206) | [pdf](https://arxiv.org/pdf/2103.03206)",
        "[abs](https://arxiv.org/abs/hep-th/9901001v2)",
    )
    paper = parse_post(text).papers[2].paper
    assert (paper.arxiv_id, paper.abs_url, paper.pdf_url) == (
        "hep-th/9901001",
        "https://arxiv.org/abs/hep-th/9901001",
        None,
    )


def test_tweet_text_decodes_entities_and_turns_br_into_newlines() -> None:
    march_5 = parse_sample("2021-03-05").papers
    # &#39; and <br><br>; the <a> tag is dropped and its text kept.
    assert march_5[1].tweets[0].text == (
        "Out of Distribution Generalization in Machine Learning\n\n"
        "Martin Arjovsky's PhD thesis to review, contextualize, and clarify the current "
        "knowledge in out of distribution generalization.https://t.co/BQojqTcbPy"
    )
    # &quot;
    assert march_5[4].tweets[0].text == (
        "Catala: a programming language for the law https://t.co/Qd9ZhwPFNH\n\n"
        '"We evaluate Catala on several legal texts (...), notably section 121 of the US federal '
        "income tax and the byzantine French family benefits; in doing so, we uncover a bug in "
        'the official implementation."'
    )
    # &amp; and a mention link whose text is kept.
    jalal = parse_sample("2021-03-24").papers[11].tweets[0]
    assert jalal.author == "Jalal Kazempour"
    assert jalal.text.startswith("Despite recent mathematical & computational advances, ")
    assert jalal.text.endswith("https://t.co/H13tQKZLzD@anubhavratha pic.twitter.com/LHRE6fOFqB")
    for ranked in (*march_5, *parse_sample("2021-03-24").papers):
        for tweet in ranked.tweets:
            assert "<" not in tweet.text
            assert "&amp;" not in tweet.text
            assert "&quot;" not in tweet.text
            assert "&#39;" not in tweet.text


def test_character_references_of_any_length_read_as_html_reads_short_ones() -> None:
    """Python refuses to read an int of over 4,300 digits: such a reference in one tweet
    made the post (and every post of its batch) fail instead of reading as U+FFFD."""
    text = SAMPLES["2021-03-05"].read_text(encoding="utf-8")
    huge = "&#" + "9" * 5000 + ";"
    padded = "&#" + "0" * 5000 + "65;"
    tweet = 'dir="ltr">Out of Distribution Generalization'
    author = "&mdash; Aran Komatsuzaki"
    assert tweet in text
    assert author in text
    text = text.replace(tweet, f'dir="ltr">{huge} {padded} Out of Distribution Generalization', 1)
    text = text.replace(author, f"&mdash; Aran {huge}Komatsuzaki", 1)
    changed = parse_post(text.encode()).papers[1].tweets[0]
    assert changed.text.startswith("\ufffd A Out of Distribution")
    assert changed.author == "Aran \ufffdKomatsuzaki"


def test_tweet_text_with_every_entity(corpus_dir: Path) -> None:
    day = parse_post((corpus_dir / "2020-10-19---Hot-Papers.md").read_bytes())
    ranked = day.papers[2]
    assert ranked.paper.arxiv_id == "2010.08508"
    tweet = next(t for t in ranked.tweets if t.handle == "whybansal")
    assert tweet == Tweet(
        url="https://twitter.com/whybansal/status/1317995856256245760",
        author="Yamini Bansal",
        handle="whybansal",
        posted=dt.date(2020, 10, 19),
        lang="en",
        text=(
            "New paper https://t.co/UTCiz1k66L w Gal Kaplun & @boazbaraktcs!\n\n"
            'Recent work has focused on the "deep learning generalization puzzle" (highlighted by '
            "Zhang  et al https://t.co/HwlONZV7hC). Since deep nets interpolate train data, the "
            "train err doesn't tell you much about test err. https://t.co/B8bu3vW3p4"
        ),
    )


def test_unusual_tweet_authors_and_languages() -> None:
    day = parse_sample("2021-03-15")
    first = day.papers[0].tweets
    assert [t.lang for t in first] == ["fr", "in"]
    assert first[1].author == "Shinnosuke Takamichi (高道 慎之介)"
    assert first[1].handle == "forthshinji"
    assert parse_sample("2021-03-05").papers[4].tweets[0].author == "ly(s)xia"


def test_a_paper_without_tweets() -> None:
    ranked = parse_sample("2021-03-15").papers[8]
    assert ranked.paper.arxiv_id == "2103.07289"
    assert ranked.paper.title == (
        "Searching by Generating: Flexible and Efficient One-Shot NAS with Architecture Generator"
    )
    assert ranked.tweets == ()


def test_a_post_without_papers(corpus_dir: Path) -> None:
    day = parse_post((corpus_dir / "2020-12-07---Hot-Papers.md").read_bytes())
    assert day == Day(
        date=dt.date(2020, 12, 7),
        published_at=dt.datetime(2020, 12, 8, 13, 4, 41, tzinfo=UTC),
        papers=(),
    )


def test_bytes_str_crlf_and_bom_parse_alike() -> None:
    expected = parse_sample("2021-03-05")
    assert parse_post(MARCH_5_TEXT) == expected
    assert parse_post(MARCH_5_TEXT.replace("\n", "\r\n").encode()) == expected
    assert parse_post(b"\xef\xbb\xbf" + MARCH_5.read_bytes()) == expected


def test_published_at_forms() -> None:
    def published(value: str) -> dt.datetime:
        text = replace_once(MARCH_5_TEXT, "date: 2021-03-06T15:15:57.Z", f"date: {value}")
        return parse_post(text).published_at

    expected = dt.datetime(2021, 3, 6, 15, 15, 57, tzinfo=UTC)
    assert published("2021-03-06T15:15:57Z") == expected
    assert published('"2021-03-06T15:15:57.Z"') == expected
    assert published("2021-03-06 15:15:57") == expected
    for other_zone in ("2021-03-06T17:15:57+02:00", "!!timestamp 2021-03-06T17:15:57+02:00"):
        stamp = published(other_zone)
        assert stamp == expected
        assert stamp.utcoffset() == dt.timedelta(0)


OUT_OF_RANGE = "is out of range: in UTC it falls before year 1 or after year 9999"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+01:00"),
        ("9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59-01:00"),
        ('"0001-01-01 00:30:00 +0100"', "0001-01-01 00:30:00 +0100"),
        ("!!timestamp 0001-01-01T00:00:00+01:00", "0001-01-01T00:00:00+01:00"),
        ("!!timestamp 9999-12-31 23:59:59.5 -01:00", "9999-12-31T23:59:59.500000-01:00"),
    ],
)
def test_published_at_out_of_range_in_utc(value: str, shown: str) -> None:
    text = replace_once(MARCH_5_TEXT, "date: 2021-03-06T15:15:57.Z", f"date: {value}")
    with pytest.raises(ParseError) as info:
        parse_post(text, "bad.md")
    assert type(info.value) is ParseError
    assert str(info.value) == f"bad.md:3: front matter date {shown!r} {OUT_OF_RANGE}"


def test_published_at_at_the_ends_of_time() -> None:
    def published(value: str) -> dt.datetime:
        text = replace_once(MARCH_5_TEXT, "date: 2021-03-06T15:15:57.Z", f"date: {value}")
        return parse_post(text).published_at

    assert published("0001-01-01T00:59:59+00:59") == dt.datetime(1, 1, 1, 0, 0, 59, tzinfo=UTC)
    assert published("9999-12-31T22:59:59-01:00") == dt.datetime(
        9999, 12, 31, 23, 59, 59, tzinfo=UTC
    )
    assert published("!!timestamp 0001-01-01 00:00:00") == dt.datetime(1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("authors", [",", " , ", ",,,", ", ,\t,"])
def test_an_authors_line_without_names_is_no_authors(authors: str) -> None:
    # `', '.join(names)` of blank names: the writer could print it, so it is no error.
    text = replace_once(MARCH_5_TEXT, PERCEIVER_AUTHORS_LINE, f"{authors}\n")
    assert parse_post(text) == with_paper(parse_sample("2021-03-05"), 2, authors=())


@pytest.mark.parametrize(
    ("added", "message"),
    [
        ("title: Hot Papers 2021-03-06", "front matter has 'title' twice (lines 2 and 6)"),
        ('"title": Hot Papers 2021-03-06', "front matter has 'title' twice (lines 2 and 6)"),
        ("date: 2021-03-07T00:00:00Z", "front matter has 'date' twice (lines 3 and 6)"),
        ("draft: true", "front matter has 'draft' twice (lines 5 and 6)"),
        ("extra: {a: 1, b: 2, a: 3}", "front matter has 'a' twice on line 6"),
        ("extra:\n  a: 1\n  a: 3", "front matter has 'a' twice (lines 7 and 8)"),
    ],
)
def test_a_front_matter_key_given_twice(added: str, message: str) -> None:
    text = replace_once(MARCH_5_TEXT, "draft: false\n", f"draft: false\n{added}\n")
    with pytest.raises(ParseError) as info:
        parse_post(text, "bad.md")
    line = int(re.findall(r"\d+", message)[-1])
    assert str(info.value) == f"bad.md:{line}: {message}"


def test_a_merge_key_may_be_overridden() -> None:
    text = replace_once(
        MARCH_5_TEXT, "draft: false\n", "draft: false\nbase: &b {x: 1}\nextra: {<<: *b, x: 2}\n"
    )
    assert parse_post(text) == parse_sample("2021-03-05")


def test_a_wrapped_abstract_is_one_paragraph() -> None:
    wrapped = replace_once(MARCH_5_TEXT, "etc. The perception", "etc.\nThe perception")
    assert parse_post(wrapped).papers[2].paper.abstract == PERCEIVER_ABSTRACT
    indented = replace_once(MARCH_5_TEXT, "etc. The perception", "etc.\n   The perception")
    assert parse_post(indented).papers[2].paper.abstract == PERCEIVER_ABSTRACT


def test_a_heading_right_below_an_abstract_starts_the_next_paper() -> None:
    march_15 = SAMPLES["2021-03-15"].read_text(encoding="utf-8")
    text = replace_once(march_15, "\n\n\n\n# 10. Preregistering", "# 10. Preregistering")
    assert "SGNAS.\n# 10. Preregistering" in text
    assert parse_post(text) == parse_sample("2021-03-15")


@pytest.mark.parametrize("gap", ["\n\n", "\n\n\n", "\n \n\t\n"])
def test_a_second_abstract_paragraph_is_unexpected_text(gap: str) -> None:
    # No real post has one (test_every_real_post_parses): it is stray text, not abstract.
    text = replace_once(MARCH_5_TEXT, "etc. The perception", f"etc.{gap}The perception")
    with pytest.raises(ParseError) as info:
        parse_post(text, "bad.md")
    line = line_of(text, "The perception models")
    assert str(info.value) == (
        f"bad.md:{line}: unexpected text after the abstract of paper 3: "
        "'The perception models used in deep learning on the other hand are designed for i'"
    )


def test_text_after_a_paper_without_tweets_is_not_abstract() -> None:
    assert parse_sample("2021-03-15").papers[8].tweets == ()
    text = replace_once(
        SAMPLES["2021-03-15"].read_text(encoding="utf-8"),
        "\n\n\n\n# 10. Preregistering",
        "\n\nThanks for reading!\n\n# 10. Preregistering",
    )
    with pytest.raises(ParseError) as info:
        parse_post(text, "bad.md")
    assert str(info.value) == (
        f"bad.md:{line_of(text, 'Thanks for reading!')}: "
        "unexpected text after the abstract of paper 9: 'Thanks for reading!'"
    )


# --- shapes the writer could have printed (HotPaperBlogWriter.save_markdown) -------------------
# Each is a real post edited as the writer would have printed it: the parse is the real post's
# with just that paper's field changed.


def without_abstract(text: str, abstract: str) -> str:
    """The post as printed for a paper arXiv gave no abstract: its abstract line left empty."""
    return replace_once(text, f"\n{abstract}\n", "\n\n")


def test_a_paper_without_abstract_between_categories_and_tweets() -> None:
    text = without_abstract(MARCH_5_TEXT, PERCEIVER_ABSTRACT)
    categories = "[eess.AS](https://arxiv.org/list/eess.AS/recent)\n"
    assert categories + "\n\n\n<blockquote" in text  # categories line, then three blank lines
    day = parse_post(text, "post.md")
    assert day == with_paper(parse_sample("2021-03-05"), 2, abstract="")
    assert day.papers[2].tweets == PERCEIVER_TWEETS


def test_a_paper_without_abstract_or_tweets_before_the_next_paper() -> None:
    march_15 = parse_sample("2021-03-15")
    assert march_15.papers[8].tweets == ()
    abstract = march_15.papers[8].paper.abstract
    text = without_abstract(SAMPLES["2021-03-15"].read_text(encoding="utf-8"), abstract)
    assert parse_post(text) == with_paper(march_15, 8, abstract="")


def test_the_last_paper_without_abstract_at_the_end_of_the_post() -> None:
    march_24 = parse_sample("2021-03-24")
    text = SAMPLES["2021-03-24"].read_text(encoding="utf-8")
    last = march_24.papers[-1]
    # The writer's last paper without abstract or tweets: after its categories line, a blank
    # line, the empty abstract line, a blank line and the two that close the paper.
    cut = text[: text.index("<blockquote", text.index(last.paper.abstract))]
    cut = without_abstract(cut, last.paper.abstract) + "\n\n"
    assert cut.endswith("/recent)\n\n\n\n\n\n")
    ended = dataclasses.replace(last, paper=dataclasses.replace(last.paper, abstract=""), tweets=())
    assert parse_post(cut) == dataclasses.replace(march_24, papers=(*march_24.papers[:-1], ended))


def test_a_day_where_no_paper_has_an_abstract() -> None:
    march_5 = parse_sample("2021-03-05")
    text = MARCH_5_TEXT
    for ranked in march_5.papers:
        text = without_abstract(text, ranked.paper.abstract)
    day = parse_post(text)
    assert [p.paper.abstract for p in day.papers] == [""] * 13
    assert day == dataclasses.replace(
        march_5,
        papers=tuple(
            dataclasses.replace(r, paper=dataclasses.replace(r.paper, abstract=""))
            for r in march_5.papers
        ),
    )


def test_an_empty_authors_line() -> None:
    text = replace_once(MARCH_5_TEXT, PERCEIVER_AUTHORS_LINE, "\n")
    day = parse_post(text)
    assert day == with_paper(parse_sample("2021-03-05"), 2, authors=())


def test_an_empty_categories_line() -> None:
    text = replace_once(MARCH_5_TEXT, PERCEIVER_CATEGORIES + "\n", "- \n")
    day = parse_post(text)
    assert day == with_paper(parse_sample("2021-03-05"), 2, categories=())
    assert day.papers[2].paper.primary_category == ""


def test_an_empty_title() -> None:
    text = replace_once(MARCH_5_TEXT, f"# 3. {PERCEIVER.title}\n", "# 3. \n")
    assert parse_post(text) == with_paper(parse_sample("2021-03-05"), 2, title="")


def test_every_field_the_writer_may_leave_empty_at_once() -> None:
    text = replace_once(MARCH_5_TEXT, f"# 3. {PERCEIVER.title}\n", "# 3. \n")
    text = replace_once(text, PERCEIVER_AUTHORS_LINE, "\n")
    text = replace_once(text, PERCEIVER_CATEGORIES + "\n", "- \n")
    text = replace_once(text, " | [pdf](https://arxiv.org/pdf/2103.03206)", "")
    text = without_abstract(text, PERCEIVER_ABSTRACT)
    expected = with_paper(
        parse_sample("2021-03-05"),
        2,
        title="",
        authors=(),
        categories=(),
        abstract="",
        pdf_url=None,
    )
    assert parse_post(text) == expected


TWEET_LIKE = tweet_line(MARCH_5_TEXT, "1367657530143383561")


@pytest.mark.parametrize(
    "abstract",
    [
        "# 1. We study headings in abstracts",
        "#MeToo on Twitter: a study",
        "- retweets: 1, favorites: 2 (03/06/2021 15:15:58)",
        "- [cs.LG](https://arxiv.org/list/cs.LG/recent)",
        "<blockquote> is an HTML tag; we study markup",
        '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>',
        TWEET_LIKE,
    ],
)
def test_an_abstract_is_read_by_its_place_whatever_it_looks_like(abstract: str) -> None:
    text = replace_once(MARCH_5_TEXT, f"\n{PERCEIVER_ABSTRACT}\n", f"\n{abstract}\n")
    assert parse_post(text) == with_paper(parse_sample("2021-03-05"), 2, abstract=abstract)


def test_a_paper_listed_twice_keeps_its_first_listing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.ingest.parser")
    # Paper 4's links name paper 3 (2103.03206), another version: the writer's input had it twice.
    text = replace_once(
        MARCH_5_TEXT,
        "[abs](https://arxiv.org/abs/2103.02886) | [pdf](https://arxiv.org/pdf/2103.02886)",
        "[abs](https://arxiv.org/abs/2103.03206v2) | [pdf](https://arxiv.org/pdf/2103.03206v2)",
    )
    day = parse_post(text, "twice.md")
    march_5 = parse_sample("2021-03-05")
    assert day == dataclasses.replace(march_5, papers=march_5.papers[:3] + march_5.papers[4:])
    assert [p.appearance.rank for p in day.papers] == [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.INFO,
            f"twice.md:{line_of(text, 'abs/2103.03206v2)')}: paper 2103.03206 is listed again "
            "as paper 4 (first as paper 3); keeping the first listing",
        )
    ]


def test_a_post_covering_several_days_is_stored_as_its_first() -> None:
    text = replace_once(
        MARCH_5_TEXT, "title: Hot Papers 2021-03-05", "title: Hot Papers 2021-03-05 - 2021-03-07"
    )
    assert parse_post(text) == parse_sample("2021-03-05")


@pytest.mark.parametrize(
    ("title_date", "today", "line"),
    [
        ("2099-01-01", dt.date(2021, 3, 6), 2),
        ("9999-12-31", dt.date(2021, 3, 6), 2),
        ("2021-03-08 - 2021-03-09", dt.date(2021, 3, 6), 2),
        ("2021-03-05", dt.date(2021, 3, 3), 2),
    ],
)
def test_a_post_dated_more_than_a_day_after_today_is_refused(
    title_date: str, today: dt.date, line: int
) -> None:
    text = replace_once(
        MARCH_5_TEXT, "title: Hot Papers 2021-03-05", f"title: Hot Papers {title_date}"
    )
    with pytest.raises(ParseError) as info:
        parse_post(text, "ahead.md", today=today)
    first = title_date[:10]
    assert str(info.value) == (
        f"ahead.md:{line}: title date {first} is more than a day after today ({today}); "
        "a post covers a day that is over"
    )


@pytest.mark.parametrize("today", [dt.date(2021, 3, 4), dt.date(2021, 3, 5), dt.date(2030, 1, 1)])
def test_a_post_dated_at_most_a_day_after_today_is_taken(today: dt.date) -> None:
    assert parse_post(MARCH_5_TEXT, today=today) == parse_sample("2021-03-05")


def test_a_post_of_no_papers_as_the_writer_prints_it() -> None:
    front_matter = MARCH_5_TEXT[: MARCH_5_TEXT.index("\n---\n") + 5]
    day = parse_post(front_matter)
    assert day == dataclasses.replace(parse_sample("2021-03-05"), papers=())


# --- every real post ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", all_post_params())
def test_every_real_post_parses(path: Path) -> None:
    day = parse_post(path.read_bytes(), str(path))
    assert day.date.isoformat() == path.name[:10]
    assert day.published_at.tzinfo is not None
    assert day.published_at.date() >= day.date
    assert [p.appearance.rank for p in day.papers] == list(range(1, len(day.papers) + 1))
    assert len({p.paper.arxiv_id for p in day.papers}) == len(day.papers)
    for ranked in day.papers:
        paper = ranked.paper
        assert parse_arxiv_id(paper.arxiv_id) == paper.arxiv_id
        assert paper.title
        assert paper.title == " ".join(paper.title.split())
        assert paper.authors
        assert all(a and a == a.strip() for a in paper.authors)
        assert paper.categories
        assert paper.abstract
        assert paper.abs_url == f"https://arxiv.org/abs/{paper.arxiv_id}"
        assert paper.pdf_url == f"https://arxiv.org/pdf/{paper.arxiv_id}"
        assert ranked.appearance.date == day.date
        for tweet in ranked.tweets:
            assert TWEET_URL.fullmatch(tweet.url), tweet.url
            assert f"/{tweet.handle}/status/".lower() in tweet.url.lower()
            assert tweet.author
            assert tweet.lang


def test_corpus_totals(corpus_dir: Path) -> None:
    days = [parse_post(p.read_bytes(), str(p)) for p in sample_posts() + corpus_posts()]
    assert len(days) == 129
    appearances = Counter(r.paper.arxiv_id for day in days for r in day.papers)
    assert sum(appearances.values()) == 1190
    assert len(appearances) == 1187
    assert sorted(i for i, n in appearances.items() if n > 1) == [
        "2010.04296",
        "2010.14680",
        "2011.11660",
    ]
    assert sum(day.tweet_count for day in days) == 1327
    assert [d.date for d in days if not d.papers] == [dt.date(2020, 12, 7)]


# --- broken posts: ParseError naming the right line --------------------------------------------

Case = Callable[[str], tuple[str | bytes, int, str]]
CASES: dict[str, Case] = {}


def case(function: Case) -> Case:
    CASES[function.__name__.replace("_", "-")] = function
    return function


@case
def no_front_matter(t: str) -> tuple[str | bytes, int, str]:
    return t.removeprefix("---\n"), 1, "no YAML front matter"


@case
def empty_file(t: str) -> tuple[str | bytes, int, str]:
    return b"", 1, "no YAML front matter"


@case
def unclosed_front_matter(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "\n---\n", "\n\n")
    return s, s.count("\n") + 1, "front matter is never closed by a '---' line"


@case
def invalid_yaml(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "draft: false", "draft: false: true")
    return s, 5, "front matter is not valid YAML: mapping values are not allowed"


@case
def unclosed_yaml_list(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, 'category: "arXiv"', "category: [arXiv")
    return s, 8, "front matter is not valid YAML"


@case
def front_matter_not_a_mapping(t: str) -> tuple[str | bytes, int, str]:
    return "---\n- a list\n---\n", 2, "front matter is not a mapping"


@case
def missing_title(t: str) -> tuple[str | bytes, int, str]:
    return replace_once(t, "title: Hot Papers 2021-03-05\n", ""), 1, "front matter has no title"


@case
def bad_title(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "title: Hot Papers 2021-03-05", "title: Hot Stuff 2021-03-05")
    return s, 2, "is not of the form 'Hot Papers YYYY-MM-DD'"


@case
def title_date_that_does_not_exist(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "title: Hot Papers 2021-03-05", "title: Hot Papers 2021-02-30")
    return s, 2, "title date 2021-02-30 does not exist"


@case
def bad_date(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "date: 2021-03-06T15:15:57.Z", "date: last Friday")
    return s, 3, "front matter date 'last Friday' is not a timestamp like 2021-03-06T15:15:57Z"


@case
def date_without_time(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "date: 2021-03-06T15:15:57.Z", "date: 2021-03-06")
    return s, 3, "is not a timestamp"


@case
def missing_date(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "date: 2021-03-06T15:15:57.Z\n", "")
    return s, 1, "front matter date None is not a timestamp"


@case
def published_day_that_does_not_exist(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "date: 2021-03-06T15:15:57.Z", "date: 2021-02-30T15:15:57.Z")
    return s, 3, "front matter date '2021-02-30T15:15:57.Z' does not exist"


@case
def published_hour_that_does_not_exist(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "date: 2021-03-06T15:15:57.Z", "date: 2021-03-06T24:15:57.Z")
    return s, 3, "front matter date '2021-03-06T24:15:57.Z' does not exist"


@case
def published_month_that_does_not_exist(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "date: 2021-03-06T15:15:57.Z", "date: 2021-13-06T15:15:57Z")
    return s, 3, "does not exist"


@case
def section_without_arxiv_link(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(
        t,
        "- links: [abs](https://arxiv.org/abs/2103.03206) | [pdf](https://arxiv.org/pdf/2103.03206)",
        "- links: [abs](https://example.org/abs/2103.03206)",
    )
    return s, line_of(s, "example.org"), "paper 3 has no arXiv link"


@case
def section_without_links_line(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(
        t,
        "- links: [abs](https://arxiv.org/abs/2103.03206) | "
        "[pdf](https://arxiv.org/pdf/2103.03206)\n",
        "",
    )
    return s, line_of(s, "[eess.AS]"), "paper 3 has no arXiv link"


@case
def arxiv_link_with_a_bad_id(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "(https://arxiv.org/abs/2103.03206)", "(https://arxiv.org/abs/2113.03206)")
    return s, line_of(s, "abs/2113.03206"), "bad arXiv link: '2113.03206' is not an arXiv id"


@case
def abs_link_that_is_no_arxiv_abs_url(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(
        t,
        "(https://arxiv.org/abs/2103.03206)",
        '(https://arxiv.org/abs/arxiv.org/abs/2103.03206?ref="x")',
    )
    return (
        s,
        line_of(s, "?ref="),
        "bad arXiv link: 'arxiv.org/abs/2103.03206?ref=\"x\"' is not an arXiv id "
        "(not a bare id like 2103.03206 or hep-th/9901001)",
    )


@case
def abs_link_with_a_query(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(
        t, "(https://arxiv.org/abs/2103.03206)", "(https://arxiv.org/abs/2103.03206?x)"
    )
    return s, line_of(s, "?x)"), "bad arXiv link: '2103.03206?x' is not an arXiv id"


@case
def pdf_link_of_another_paper(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "(https://arxiv.org/pdf/2103.03206)", "(https://arxiv.org/pdf/2103.02886)")
    return (
        s,
        line_of(s, "abs/2103.03206"),
        "bad PDF link 'https://arxiv.org/pdf/2103.02886': expected "
        "https://arxiv.org/pdf/2103.03206, the PDF of the paper the abs link names",
    )


@case
def pdf_link_elsewhere(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "(https://arxiv.org/pdf/2103.03206)", "(https://example.org/2103.03206)")
    return s, line_of(s, "example.org"), "bad PDF link 'https://example.org/2103.03206'"


@case
def abstract_right_below_the_categories_line(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, f"\n\n{PERCEIVER_ABSTRACT}\n", f"\n{PERCEIVER_ABSTRACT}\n")
    return (
        s,
        line_of(s, "Biological systems understand"),
        "expected a blank line after the categories line of paper 3, found 'Biological",
    )


@case
def abstract_one_line_too_low(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, f"\n\n{PERCEIVER_ABSTRACT}\n", f"\n\n\n{PERCEIVER_ABSTRACT}\n")
    return (
        s,
        line_of(s, "Biological systems understand"),
        "unexpected text after the abstract of paper 3: 'Biological systems",
    )


@case
def cut_right_after_a_categories_line(t: str) -> tuple[str | bytes, int, str]:
    # It ends in a blank line like a whole post, but the abstract line is missing.
    s = t[: t.index(f"{PERCEIVER_ABSTRACT}\n")]
    assert s.endswith("/recent)\n\n")
    return s, s.count("\n") + 1, "the post ends without the blank line that closes every post"


@case
def cut_right_after_an_empty_abstract_line(t: str) -> tuple[str | bytes, int, str]:
    s = without_abstract(t, PERCEIVER_ABSTRACT)
    s = s[: s.index("/recent)\n\n\n", s.index("eess.AS")) + len("/recent)\n\n\n")]
    return s, s.count("\n") + 1, "the post ends without the blank line that closes every post"


@case
def title_end_date_that_does_not_exist(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "title: Hot Papers 2021-03-05", "title: Hot Papers 2021-03-05 - 2021-02-30")
    return s, 2, "title date 2021-02-30 does not exist"


@case
def heading_without_a_space(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "# 3. Perceiver", "# 3.Perceiver")
    return s, 52, "unexpected heading '# 3.Perceiver"


@case
def bad_retweets_number(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "- retweets: 3537,", "- retweets: 3x37,")
    return s, 22, "bad counts line '- retweets: 3x37, favorites: 189"


@case
def negative_favorites(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "favorites: 251 ", "favorites: -251 ")
    return s, 56, "bad counts line"


@case
def count_too_large_to_store(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "- retweets: 857,", "- retweets: 98765432109876543210,")
    return s, 56, "bad counts line"


@case
def counts_timestamp_that_does_not_exist(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(
        t, "favorites: 251 (03/06/2021 15:15:58)", "favorites: 251 (02/30/2021 15:15:58)"
    )
    return s, 56, "counts timestamp '02/30/2021 15:15:58' does not exist"


@case
def bad_category_line(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(
        t, " | [cs.AI](https://arxiv.org/list/cs.AI/recent) | [cs.LG]", " | cs.AI | [cs.LG]"
    )
    return s, 59, "bad categories line"


@case
def wrong_rank_number(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "# 3. Perceiver", "# 4. Perceiver")
    return s, 52, "paper numbered 4; expected 3"


@case
def first_rank_zero(t: str) -> tuple[str | bytes, int, str]:
    return replace_once(t, "# 1. Accounting", "# 0. Accounting"), 18, "paper numbered 0; expected 1"


@case
def unexpected_heading(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "# 3. Perceiver", "## Notes\n\n# 3. Perceiver")
    return s, 52, "unexpected heading '## Notes'"


@case
def text_before_the_first_paper(t: str) -> tuple[str | bytes, int, str]:
    s = replace_once(t, "# 1. Accounting", "Welcome!\n\n# 1. Accounting")
    return s, 18, "unexpected text 'Welcome!' before the first '# 1. Title'"


@case
def unclosed_blockquote(t: str) -> tuple[str | bytes, int, str]:
    line = tweet_line(t, "1367657530143383561")
    s = replace_once(t, line, line.removesuffix("</blockquote>"))
    return s, 63, "tweet is cut off: '<blockquote>' is never closed"


@case
def unclosed_last_blockquote(t: str) -> tuple[str | bytes, int, str]:
    line = tweet_line(t, "1367920278605598727")
    s = replace_once(t, line, line.removesuffix("</blockquote>"))
    return s, line_of(s, "1367920278605598727"), "tweet is cut off"


@case
def malformed_tweet(t: str) -> tuple[str | bytes, int, str]:
    line = tweet_line(t, "1367657530143383561")
    s = replace_once(t, line, line.replace(" (@arankomatsuzaki)", ""))
    return s, 63, "tweet is not an embedded tweet"


@case
def tweet_date_that_does_not_exist(t: str) -> tuple[str | bytes, int, str]:
    line = tweet_line(t, "1367673823739351048")
    s = replace_once(t, line, line.replace("March 5, 2021", "February 30, 2021"))
    return s, 66, "tweet date 'February 30, 2021' does not exist"


@case
def tweet_month_that_does_not_exist(t: str) -> tuple[str | bytes, int, str]:
    line = tweet_line(t, "1367673823739351048")
    s = replace_once(t, line, line.replace("March 5, 2021", "Marsh 5, 2021"))
    return s, 66, "tweet date 'Marsh 5, 2021' does not exist"


@case
def script_without_a_tweet(t: str) -> tuple[str | bytes, int, str]:
    script = '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>'
    s = replace_once(t, PERCEIVER_ABSTRACT + "\n", PERCEIVER_ABSTRACT + "\n\n" + script + "\n")
    return s, 63, "script tag without a tweet before it"


@case
def text_after_tweets(t: str) -> tuple[str | bytes, int, str]:
    line = tweet_line(t, "1367657218942894081")
    s = replace_once(t, line + "\n", line + "\nThanks for reading!\n")
    return s, line_of(s, "Thanks for reading!"), "unexpected text after the tweets: 'Thanks"


@case
def paper_that_ends_early(t: str) -> tuple[str | bytes, int, str]:
    s = t + "# 14. A Paper Without Details\n\nSomeone\n\n"
    return s, s.count("\n") + 1, "paper 14 ends early; expected '- retweets: N"


@case
def truncated_in_a_tweet(t: str) -> tuple[str | bytes, int, str]:
    s = t[: t.index("Lifelong Hanabi in which")]
    return s, s.count("\n") + 1, "tweet is cut off"


@case
def truncated_after_the_last_tweet(t: str) -> tuple[str | bytes, int, str]:
    s = t[: t.rindex("</script>") + len("</script>\n")]
    return s, s.count("\n") + 1, "the post ends without the blank line that closes every post"


@case
def truncated_in_the_script_line(t: str) -> tuple[str | bytes, int, str]:
    s = t[: t.rindex("</script>")]
    return s, s.count("\n") + 1, "unexpected text after the tweets: '<script async"


@case
def truncated_in_an_abstract(t: str) -> tuple[str | bytes, int, str]:
    s = t[: t.index("proprioception")]
    return s, s.count("\n") + 1, "the post ends without the blank line"


@case
def truncated_right_after_the_front_matter(t: str) -> tuple[str | bytes, int, str]:
    return t[: t.index("\n---\n") + 4], 16, "the post ends in the middle of a line"


@case
def nul_bytes(t: str) -> tuple[str | bytes, int, str]:
    lines = t.encode().split(b"\n")
    lines[29] = b"\x00\x00\x00" + lines[29]
    return b"\n".join(lines), 30, "binary data (NUL byte); expected a UTF-8 Markdown post"


@case
def binary_junk(t: str) -> tuple[str | bytes, int, str]:
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", 3, "binary data (NUL byte)"


@case
def latin_1(t: str) -> tuple[str | bytes, int, str]:
    data = t.encode("latin-1", errors="replace")  # "Gaël" becomes the byte 0xeb
    return data, 20, "not valid UTF-8 (byte 0xeb); expected a UTF-8 Markdown post"


@case
def stray_invalid_byte(t: str) -> tuple[str | bytes, int, str]:
    lines = t.encode().split(b"\n")
    lines[99] += b"\xff"
    return b"\n".join(lines), 100, "not valid UTF-8 (byte 0xff)"


@case
def utf_16(t: str) -> tuple[str | bytes, int, str]:
    return t.encode("utf-16"), 1, "binary data (NUL byte)"


@case
def utf_16_without_bom(t: str) -> tuple[str | bytes, int, str]:
    return t.encode("utf-16-le"), 1, "binary data (NUL byte)"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_post_raises_parse_error_naming_the_line(name: str) -> None:
    source, line, reason = CASES[name](MARCH_5_TEXT)
    with pytest.raises(ParseError) as info:
        parse_post(source, "bad.md")
    error = info.value
    assert type(error) is ParseError
    assert str(error).startswith(f"bad.md:{line}: "), str(error)
    assert (error.path, error.line) == ("bad.md", line)
    assert reason in error.reason
    assert str(error) == f"bad.md:{line}: {error.reason}"


def test_parse_error_uses_a_placeholder_path() -> None:
    with pytest.raises(ParseError, match=r"^<post>:1: no YAML front matter"):
        parse_post("hello\n")


def test_absurd_yaml_is_a_parse_error() -> None:
    for value in ("!!int " + "9" * 5000, "!!timestamp soon", "[" * 50_000, "&a [*a, *a]"):
        text = replace_once(MARCH_5_TEXT, "draft: false", f"draft: {value}")
        result = parse_or_error(text.encode())
        if isinstance(result, ParseError):
            assert 1 <= result.line <= 16


def test_huge_rank_is_a_parse_error() -> None:
    text = replace_once(MARCH_5_TEXT, "# 3. Perceiver", "# " + "9" * 5000 + ". Perceiver")
    with pytest.raises(ParseError, match=r"^bad\.md:52: unexpected heading"):
        parse_post(text, "bad.md")


def test_cut_at_every_line_end_is_a_parse_error_unless_it_ends_a_section() -> None:
    for path in sample_posts():
        data = path.read_bytes()
        front_matter_end = data.index(b"\n---\n") + 5
        for index, byte in enumerate(data):
            if byte != ord("\n"):
                continue
            for cut in (data[:index], data[: index + 1]):
                if cut == data or cut.endswith(b"\n\n"):
                    continue
                if len(cut) == front_matter_end:
                    # Exactly the front matter: a well-formed post without papers, like
                    # 2020-12-07. Nothing in the text can tell it from a cut-short one.
                    assert parse_post(cut).papers == ()
                    continue
                with pytest.raises(ParseError):
                    parse_post(cut, path.name)


# --- hostile posts: parsing time grows linearly with the input -------------------------------

HOSTILE_TWEET = tweet_line(MARCH_5_TEXT, "1367657530143383561")
TWEET_HEAD = '<blockquote class="twitter-tweet"><p lang="en" dir="ltr">'
TWEET_TAIL = HOSTILE_TWEET[HOSTILE_TWEET.index("</p>") :]


def hostile(old: str, new: str) -> str:
    return replace_once(MARCH_5_TEXT, old, new)


HOSTILE: dict[str, Callable[[int], str]] = {
    "<-in-a-tweet": lambda n: hostile(HOSTILE_TWEET, TWEET_HEAD + "<" * n + TWEET_TAIL),
    "&-in-a-tweet": lambda n: hostile(HOSTILE_TWEET, TWEET_HEAD + "&" * n + TWEET_TAIL),
    "</p>-in-a-tweet": lambda n: hostile(
        HOSTILE_TWEET, TWEET_HEAD + "</p>" * (n // 4) + TWEET_TAIL
    ),
    "</p>&mdash;-in-a-tweet": lambda n: hostile(
        HOSTILE_TWEET, TWEET_HEAD + "</p>&mdash; a" * (n // 13) + "</blockquote>"
    ),
    "(@-after-a-tweet": lambda n: hostile(
        HOSTILE_TWEET, TWEET_HEAD + "x</p>&mdash; " + " (@a)" * (n // 5) + "</blockquote>"
    ),
    "<-line-after-tweets": lambda n: hostile(HOSTILE_TWEET, HOSTILE_TWEET + "\n" + "<" * n),
    "unclosed-blockquote": lambda n: hostile(HOSTILE_TWEET, TWEET_HEAD + "<" * n),
    "unclosed-blockquotes": lambda n: hostile(
        HOSTILE_TWEET, (TWEET_HEAD + "\n") * (n // len(TWEET_HEAD))
    ),
    "#-heading": lambda n: hostile("# 3. Perceiver", "#" * n),
    "#-abstract": lambda n: hostile("Biological systems understand", "#" * n),
    "<-title": lambda n: hostile("# 3. Perceiver", "# 3. " + "<" * n),
    ",-authors": lambda n: hostile(PERCEIVER_AUTHORS_LINE, "," * n + "\n"),
    "--counts": lambda n: hostile("- retweets: 857,", "-" * n),
    "[-links": lambda n: hostile(PERCEIVER_LINKS, "- links: " + "[" * n),
    "(-links": lambda n: hostile(PERCEIVER_LINKS, "- links: [abs](" + "(" * n),
    "long-id-links": lambda n: hostile(
        PERCEIVER_LINKS, "- links: [abs](https://arxiv.org/abs/" + "1" * n + ")"
    ),
    "[-categories": lambda n: hostile(PERCEIVER_CATEGORIES, "- " + "[" * n),
    "[a-categories": lambda n: hostile(PERCEIVER_CATEGORIES, "- " + "[a" * (n // 2)),
    "<script-line": lambda n: hostile(HOSTILE_TWEET, HOSTILE_TWEET + "\n<script" + " " * n),
}


def parse_seconds(text: str) -> float:
    """The best of five timings of parsing `text` (a ParseError is a result like any other)."""
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        with contextlib.suppress(ParseError):
            parse_post(text)
        timings.append(time.perf_counter() - start)
    return min(timings)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_parsing_time_grows_linearly_with_hostile_input(name: str) -> None:
    # Linear parsing takes at most four times as long for four times the input (less, with
    # the rest of the post a fixed cost); quadratic parsing takes sixteen times as long.
    small, large = (parse_seconds(HOSTILE[name](size)) for size in (50_000, 200_000))
    shown = f"{small * 1000:.1f} ms for 50 kB, {large * 1000:.1f} ms for 200 kB"
    assert large / small < 8, f"{name}: {shown}"


# --- mutated posts (hypothesis) ----------------------------------------------------------------

POSTS = [path.read_bytes() for path in sample_posts()]
TOKENS = [
    b"\n",
    b"\n\n",
    b"\r",
    b"\r\n",
    b"\t",
    b" ",
    b"---\n",
    b"# ",
    b"# 1. ",
    b"# 99. ",
    b"- ",
    b":",
    b"[",
    b"]",
    b"(",
    b")",
    b"|",
    b"{",
    b"&",
    b'"',
    b"'",
    b"!!",
    b"*",
    b"<",
    b">",
    b"<br>",
    b"</p>",
    b"&mdash;",
    b"<blockquote",
    b"</blockquote>",
    b"<script></script>",
    b"v2",
    b"9" * 25,
    b"0001-01-01T00:00:00+01:00",
    b"9999-12-31T23:59:59-01:00",
    b"!!timestamp 9999-12-31 23:59:59 -1",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xc2\x85",
    b"\xe2\x80\xa8",
    "é".encode(),
    "日本".encode(),
]
MUTATION = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def line_count(data: bytes) -> int:
    """Lines as the parser counts them: `\\r\\n`, `\\r` and `\\n` each end one."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n") + 1


def parse_or_error(data: bytes) -> Day | ParseError:
    """parse_post's result: a Day, or a ParseError naming a line of the file; nothing else."""
    try:
        day = parse_post(data, "mutant.md")
    except ParseError as error:
        failure = error
    else:
        # Ranks rise (a paper listed twice keeps only its first listing) and each paper is
        # there once; title, authors, categories and abstract may be empty, as printed.
        ranks = [p.appearance.rank for p in day.papers]
        assert ranks == sorted(set(ranks))
        assert all(rank >= 1 for rank in ranks)
        assert len({p.paper.arxiv_id for p in day.papers}) == len(day.papers)
        for ranked in day.papers:
            paper = ranked.paper
            assert parse_arxiv_id(paper.arxiv_id) == paper.arxiv_id
            assert paper.abs_url == f"https://arxiv.org/abs/{paper.arxiv_id}"
            assert paper.pdf_url in (None, f"https://arxiv.org/pdf/{paper.arxiv_id}")
            assert paper.title == collapse(paper.title)
            assert all(TWEET_URL.fullmatch(t.url) for t in ranked.tweets)
        return day
    assert 1 <= failure.line <= line_count(data) + 1, failure
    assert str(failure).startswith(f"mutant.md:{failure.line}: ")
    return failure


posts = st.sampled_from(POSTS)
inserts = st.one_of(st.sampled_from(TOKENS), st.binary(min_size=1, max_size=12))


@st.composite
def positions(draw: st.DrawFn, data: bytes) -> int:
    """Anywhere, or often in the front matter where YAML does the parsing."""
    return draw(st.one_of(st.integers(0, len(data)), st.integers(0, min(len(data), 420))))


@MUTATION
@given(st.data())
def test_deleting_bytes(data: st.DataObject) -> None:
    post = data.draw(posts)
    start = data.draw(positions(post))
    size = data.draw(st.integers(1, 64))
    parse_or_error(post[:start] + post[start + size :])


@MUTATION
@given(st.data())
def test_inserting_bytes(data: st.DataObject) -> None:
    post = data.draw(posts)
    at = data.draw(positions(post))
    parse_or_error(post[:at] + data.draw(inserts) + post[at:])


@MUTATION
@given(st.data())
def test_replacing_bytes(data: st.DataObject) -> None:
    post = data.draw(posts)
    start = data.draw(positions(post))
    size = data.draw(st.integers(1, 16))
    parse_or_error(post[:start] + data.draw(inserts) + post[start + size :])


@MUTATION
@given(st.data())
def test_replacing_text(data: st.DataObject) -> None:
    text = data.draw(posts).decode()
    start = data.draw(st.integers(0, len(text)))
    size = data.draw(st.integers(0, 8))
    new = data.draw(st.text(alphabet="0123456789 -:#.|[]()<>/&;\n\r\tvé\u2028\x85", max_size=8))
    parse_or_error((text[:start] + new + text[start + size :]).encode())


@MUTATION
@given(st.data())
def test_truncating(data: st.DataObject) -> None:
    post = data.draw(posts)
    cut = post[: data.draw(positions(post))]
    result = parse_or_error(cut)
    if not cut.endswith(b"\n\n") and len(cut) != post.index(b"\n---\n") + 5:
        assert isinstance(result, ParseError), f"a post cut to {len(cut)} bytes was accepted"


@MUTATION
@given(st.data())
def test_swapping_lines(data: st.DataObject) -> None:
    lines = data.draw(posts).split(b"\n")
    i = data.draw(st.integers(0, len(lines) - 1))
    j = data.draw(st.integers(0, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    parse_or_error(b"\n".join(lines))


@MUTATION
@given(st.data())
def test_duplicating_and_dropping_lines(data: st.DataObject) -> None:
    lines = data.draw(posts).split(b"\n")
    i = data.draw(st.integers(0, len(lines) - 1))
    if data.draw(st.booleans()):
        lines.insert(data.draw(st.integers(0, len(lines))), lines[i])
    else:
        del lines[i]
    parse_or_error(b"\n".join(lines))


@MUTATION
@given(st.data())
def test_several_mutations(data: st.DataObject) -> None:
    post = data.draw(posts)
    for _ in range(data.draw(st.integers(2, 6))):
        at = data.draw(st.integers(0, len(post)))
        if data.draw(st.booleans()):
            post = post[:at] + data.draw(inserts) + post[at:]
        else:
            post = post[:at] + post[at + data.draw(st.integers(1, 200)) :]
    parse_or_error(post)


@st.composite
def extreme_dates(draw: st.DrawFn) -> tuple[str, str, dt.datetime]:
    """A front matter `date:` near year 1 or 9999 with a UTC offset, in any accepted form:
    (the YAML value, the value as an error quotes it, the moment it names)."""
    day = draw(
        st.one_of(
            st.dates(max_value=dt.date(1, 1, 2)),
            st.dates(min_value=dt.date(9999, 12, 30)),
            st.dates(),
        )
    )
    time = draw(st.times())
    minutes = draw(st.integers(-(24 * 60 - 1), 24 * 60 - 1))
    moment = dt.datetime.combine(day, time, dt.timezone(dt.timedelta(minutes=minutes)))
    hours, rest = divmod(abs(minutes), 60)
    sign = "-" if minutes < 0 else "+"
    offsets = [f"{sign}{hours:02}:{rest:02}", f" {sign}{hours:02}:{rest:02}"]
    offsets += ["Z"] if minutes == 0 else []
    form = draw(st.sampled_from(["plain", "quoted", "tagged"]))
    if form != "tagged":  # YAML's own timestamps have no ±HHMM
        offsets.append(f"{sign}{hours:02}{rest:02}")
    clock = f"{time:%H:%M:%S}" + (f".{time.microsecond:06}" if time.microsecond else "")
    separator = draw(st.sampled_from(["T", " "]))
    stamp = f"{day.isoformat()}{separator}{clock}{draw(st.sampled_from(offsets))}"
    if form == "tagged":
        return f"!!timestamp {stamp}", moment.isoformat(), moment
    return (f'"{stamp}"' if form == "quoted" else stamp), stamp, moment


@MUTATION
@given(extreme_dates())
def test_extreme_published_dates(date: tuple[str, str, dt.datetime]) -> None:
    value, shown, moment = date
    text = replace_once(MARCH_5_TEXT, "date: 2021-03-06T15:15:57.Z", f"date: {value}")
    result = parse_or_error(text.encode())
    try:
        expected = moment.astimezone(UTC)
    except OverflowError:
        assert isinstance(result, ParseError)
        assert str(result) == f"mutant.md:3: front matter date {shown!r} {OUT_OF_RANGE}"
    else:
        assert isinstance(result, Day), result
        assert result.published_at == expected
        assert result.published_at.utcoffset() == dt.timedelta(0)
