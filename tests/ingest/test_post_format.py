"""Day → Hot Papers post (`write_post`) and back (`parse_post`): the seeds' layout, Bluesky's
embed markup, and the round trip on every real post and on days built from Bluesky."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest.parser import ParseError, parse_post
from bot.ingest.post_format import EmbedError, bluesky_embed, read_bluesky_embed, write_post
from bot.models import Appearance, Day, Paper, RankedPaper, Tweet, bluesky_post_url
from bot.samples import sample_posts
from tests.support.bluesky_days import (
    BLUESKY_DATE,
    BLUESKY_POST,
    BUILT_AT,
    HOSTILE_TEXT,
    SCRIPT,
    bluesky_day,
)
from tests.support.real_posts import all_post_params

MARCH_5 = sample_posts()[0]
MARCH_5_TEXT = MARCH_5.read_text(encoding="utf-8")


def read(text: str) -> Day:
    return parse_post(text.encode(), "written.md")


# --- the layout ----------------------------------------------------------------------------------


def test_a_bluesky_day_as_a_post() -> None:
    assert write_post(bluesky_day()) == BLUESKY_POST


def test_a_twitter_day_is_written_in_the_seeds_layout() -> None:
    """The 2021-03-05 seed written back from its day: the same lines but for what the archive
    does not keep (links inside tweets, a second space in a title, the counts' times)."""
    written = write_post(parse_post(MARCH_5.read_bytes())).split("\n")
    seed = MARCH_5_TEXT.split("\n")
    assert len(written) == len(seed)
    differing = [(old, new) for old, new in zip(seed, written, strict=True) if old != new]
    assert all(
        old.startswith(('<blockquote class="twitter-tweet"><p lang=', "- retweets: "))
        or (old.startswith("# ") and " ".join(old.split()) == new)
        for old, new in differing
    ), differing
    assert written[:18] == seed[:18]  # the front matter and the first paper up to its tweet
    assert written[28] == (
        '<blockquote class="twitter-tweet"><p lang="en" dir="ltr">New preprint: Accounting for '
        "Variance in Machine Learning Benchmarkshttps://t.co/iu5QuMWzw8<br>Lead by @bouthilx and "
        "@Mila_Quebec friends<br><br>We show that ML benchmarks contain multiple sources of "
        "uncontrolled variation, not only inits. We propose procedure for reliable conclusion "
        '1/8</p>&mdash; Gael Varoquaux (@GaelVaroquaux) <a href="https://twitter.com/'
        'GaelVaroquaux/status/1367839174469029899?ref_src=twsrc%5Etfw">March 5, 2021</a>'
        "</blockquote>"
    )
    assert written[38] == "- retweets: 1441, favorites: 261 (03/06/2021 15:15:57)"


def test_a_day_without_papers_is_its_front_matter() -> None:
    empty = Day(BLUESKY_DATE, BUILT_AT, (), platform="bluesky")
    written = write_post(empty)
    assert written == BLUESKY_POST[: BLUESKY_POST.index("\n# 1.")]
    assert read(written) == empty
    twitter = Day(dt.date(2020, 12, 7), dt.datetime(2020, 12, 8, 13, 4, 41, tzinfo=dt.UTC), ())
    assert write_post(twitter).splitlines()[2:4] == [
        "date: 2020-12-08T13:04:41.Z",
        'template: "post"',
    ]
    assert '  - "Twitter"' in write_post(twitter).splitlines()


def test_a_tweet_with_hostile_text_and_a_right_to_left_tweet() -> None:
    tweet = Tweet(
        url="https://twitter.com/someone/status/42",
        author='Some <One> & "Co"',
        handle="someone",
        posted=dt.date(2021, 3, 5),
        lang="ar",
        text=HOSTILE_TEXT.strip(),  # as a tweet's text is read: stripped
    )
    day = Day(
        dt.date(2021, 3, 5),
        dt.datetime(2021, 3, 6, 15, 15, 57, tzinfo=dt.UTC),
        (
            RankedPaper(
                Paper("2103.03206", "", (), (), "", "https://arxiv.org/abs/2103.03206", None),
                Appearance(dt.date(2021, 3, 5), 1, 0, 0),
                (tweet,),
            ),
        ),
    )
    written = write_post(day)
    assert written.split("\n---\n", 1)[1] == (
        "\n# 1. \n\n\n\n- retweets: 0, favorites: 0 (03/06/2021 15:15:57)\n\n"
        "- links: [abs](https://arxiv.org/abs/2103.03206)\n- \n\n\n\n"
        '<blockquote class="twitter-tweet"><p lang="ar" dir="rtl">Read &lt;/p&gt;&lt;/blockquote'
        "&gt;&lt;blockquote class=&quot;bluesky-embed&quot;&gt; &amp; &quot;this&quot; it&#39;s "
        "&lt;br&gt; &amp;amp;<br># 1. Not a paper<br>---<br>@everyone &lt;@123&gt; **bold**&#13;"
        "<br>end</p>&mdash; Some &lt;One&gt; &amp; &quot;Co&quot; (@someone) "
        '<a href="https://twitter.com/someone/status/42?ref_src=twsrc%5Etfw">March 5, 2021</a>'
        "</blockquote>\n"
        '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>'
        "\n\n\n\n"
    )
    assert read(written) == day


# --- the round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", all_post_params())
def test_every_real_post_reads_back_as_the_same_day(path: Path) -> None:
    day = parse_post(path.read_bytes(), str(path))
    assert read(write_post(day)) == day


def test_a_built_bluesky_day_reads_back_as_the_same_day() -> None:
    day = bluesky_day()
    again = read(write_post(day))
    assert again == day
    assert again.published_at == BUILT_AT  # to the microsecond
    assert again.papers[0].tweets[1].text == HOSTILE_TEXT


def test_a_day_whose_post_listed_a_paper_twice_is_numbered_anew() -> None:
    """Its ranks skip the listing that was dropped; a post numbers its papers 1, 2, 3..."""
    day = parse_post(MARCH_5.read_bytes())
    gapped = dataclasses.replace(day, papers=day.papers[:1] + day.papers[2:])
    again = read(write_post(gapped))
    assert [p.appearance.rank for p in gapped.papers][:3] == [1, 3, 4]
    assert [p.appearance.rank for p in again.papers][:3] == [1, 2, 3]
    assert [p.paper for p in again.papers] == [p.paper for p in gapped.papers]


ROUND_TRIP = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
texts = st.text(max_size=60)


@ROUND_TRIP
@given(
    text=texts,
    author=texts,
    # Any text, and handles: a link by handle only for those.
    handle=st.one_of(
        texts,
        st.from_regex(r"[a-z0-9]{1,10}(?:\.[a-z0-9-]{1,10}){0,2}\.[a-z]{2,5}", fullmatch=True),
    ),
    lang=texts,
    cid=texts,
    minute=st.integers(0, 60 * 24 * 366 * 30),
)
def test_any_bluesky_post_reads_back_as_itself(
    text: str, author: str, handle: str, lang: str, cid: str, minute: int
) -> None:
    posted_at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)
    post = Tweet(
        url=bluesky_post_url("did:plc:x", handle, "3k"),
        author=author,
        handle=handle,
        posted=posted_at.date(),
        lang=lang,
        text=text,
        platform="bluesky",
        uri="at://did:plc:x/app.bsky.feed.post/3k",
        cid=cid,
        posted_at=posted_at,
    )
    assert read_bluesky_embed(bluesky_embed(post)) == post
    day = Day(
        posted_at.date(),
        posted_at,
        (
            RankedPaper(
                Paper(
                    "2103.03206",
                    "T",
                    ("A",),
                    ("cs.LG",),
                    "Abs.",
                    "https://arxiv.org/abs/2103.03206",
                    None,
                ),
                Appearance(posted_at.date(), 1, 2, 3, "bluesky"),
                (post,),
            ),
        ),
        platform="bluesky",
    )
    assert read(write_post(day)) == day


# A tweet's text and author are read with html.unescape, which makes no NUL of "&#0;".
tweet_texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=60)


@ROUND_TRIP
@given(text=tweet_texts, author=tweet_texts)
def test_any_tweet_text_reads_back_as_itself(text: str, author: str) -> None:
    # As the parser gives them: a tweet's text stripped, its author's spaces collapsed.
    text, author = text.strip(), " ".join(author.split())
    tweet = Tweet(
        "https://twitter.com/a_b/status/7", author, "a_b", dt.date(2021, 3, 5), "en", text
    )
    day = Day(
        dt.date(2021, 3, 5),
        dt.datetime(2021, 3, 6, tzinfo=dt.UTC),
        (
            RankedPaper(
                Paper(
                    "2103.03206",
                    "T",
                    ("A",),
                    ("cs.LG",),
                    "Abs.",
                    "https://arxiv.org/abs/2103.03206",
                    None,
                ),
                Appearance(dt.date(2021, 3, 5), 1, 2, 3),
                (tweet,),
            ),
        ),
    )
    assert read(write_post(day)) == day


def test_a_bluesky_post_needs_its_record_to_be_embedded() -> None:
    post = bluesky_day().papers[0].tweets[0]
    with pytest.raises(EmbedError) as info:
        bluesky_embed(dataclasses.replace(post, cid=None))
    assert str(info.value) == (
        "Bluesky post https://bsky.app/profile/ada.bsky.social/post/3lrada1 cannot be embedded: "
        "it needs its record's at-URI, CID and time, and has "
        "'at://did:plc:ada/app.bsky.feed.post/3lrada1', None and "
        "datetime.datetime(2025, 6, 15, 0, 58, tzinfo=datetime.timezone.utc)"
    )


# --- what the parser refuses ---------------------------------------------------------------------

ADA_EMBED = next(line for line in BLUESKY_POST.split("\n") if "3lrada1" in line)
ADA_LINE = BLUESKY_POST.split("\n").index(ADA_EMBED) + 1


def refused(text: str) -> str:
    with pytest.raises(ParseError) as info:
        read(text)
    return str(info.value)


def with_ada_embed(new: str) -> str:
    return BLUESKY_POST.replace(ADA_EMBED, new)


def test_a_bluesky_post_with_twitter_counts_is_refused() -> None:
    text = BLUESKY_POST.replace("- reposts: 8, likes: 43", "- retweets: 8, favorites: 43")
    assert refused(text) == (
        "written.md:22: counts line '- retweets: 8, favorites: 43 (06/16/2025 06:00:12)' counts "
        "retweets and favorites, but the post is tagged Bluesky: expected "
        "'- reposts: N, likes: N (MM/DD/YYYY HH:MM:SS)'"
    )


def test_a_twitter_post_with_bluesky_counts_is_refused() -> None:
    text = MARCH_5_TEXT.replace("- retweets: 857, favorites: 251", "- reposts: 857, likes: 251")
    assert refused(text) == (
        "written.md:56: counts line '- reposts: 857, likes: 251 (03/06/2021 15:15:58)' counts "
        "reposts and likes, but the post is tagged Twitter: expected "
        "'- retweets: N, favorites: N (MM/DD/YYYY HH:MM:SS)'"
    )
    mixed = MARCH_5_TEXT.replace("- retweets: 857, favorites: 251", "- retweets: 857, likes: 251")
    assert refused(mixed).startswith("written.md:56: counts line '- retweets: 857, likes: 251")


def test_posts_of_the_other_platform_are_refused() -> None:
    bluesky_in_twitter = MARCH_5_TEXT.replace(
        MARCH_5_TEXT.split("\n")[28], ADA_EMBED.replace(SCRIPT, "")
    )
    assert refused(bluesky_in_twitter) == (
        "written.md:29: a Bluesky post in a post not tagged Bluesky; a post shows tweets or "
        "Bluesky posts, and a Bluesky day's post is tagged 'Bluesky'"
    )
    tweet_in_bluesky = with_ada_embed(MARCH_5_TEXT.split("\n")[28])
    assert refused(tweet_in_bluesky).startswith(
        f"written.md:{ADA_LINE}: a tweet in a post tagged Bluesky; a Bluesky post is embedded "
        'on one line as \'<blockquote class="bluesky-embed" '
    )


def test_tags_naming_both_platforms_are_refused() -> None:
    text = BLUESKY_POST.replace('  - "Bluesky"\n', '  - "Bluesky"\n  - "Twitter"\n')
    assert refused(text) == (
        "written.md:8: tags name both Twitter and Bluesky; a post counts the attention of one: "
        "expected 'Twitter' (retweets, favorites, tweets) or 'Bluesky' (reposts, likes, "
        "Bluesky posts)"
    )


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (SCRIPT, "", "a Bluesky post is embedded on one line as"),
        ("is hot again", "is <b>hot</b> again", "a Bluesky post is embedded on one line as"),
        ("Ada L.", "Ada&#39;s", "Bluesky post is escaped otherwise than"),
        ("Ada L.", "Ada's", "Bluesky post is escaped otherwise than"),
        ("is hot again", "is\u00a0hot &#x26; again", "Bluesky post is escaped otherwise than"),
        (
            'data-bluesky-uri="at://did:plc:ada/app.bsky.feed.post/3lrada1"',
            'data-bluesky-uri="https://bsky.app/profile/ada.bsky.social/post/3lrada1"',
            "Bluesky post's data-bluesky-uri 'https://bsky.app/profile/ada.bsky.social/post/"
            "3lrada1' is not a post's at-URI like at://did:plc:abc/app.bsky.feed.post/3kabc",
        ),
        (
            "profile/did:plc:ada?ref_src=embed",
            "profile/ada.bsky.social?ref_src=embed",
            "Bluesky post's profile link 'https://bsky.app/profile/ada.bsky.social?ref_src=embed' "
            "is not 'https://bsky.app/profile/did:plc:ada?ref_src=embed', the link its at-URI "
            "makes",
        ),
        (
            "did:plc:ada/post/3lrada1?ref_src=embed",
            "did:plc:ada/post/3lrOTHER?ref_src=embed",
            "Bluesky post's post link",
        ),
        (
            "June 15, 2025 at 12:58 AM",
            "2025-06-15T00:58:31Z",
            "Bluesky post's time '2025-06-15T00:58:31Z' is not of the form "
            "'November 25, 2024 at 12:58 AM'",
        ),
        (
            "June 15, 2025 at 12:58 AM",
            "June 31, 2025 at 12:58 AM",
            "Bluesky post's time 'June 31, 2025 at 12:58 AM' does not exist",
        ),
        (
            "June 15, 2025 at 12:58 AM",
            "June 15, 2025 at 13:58 PM",
            "Bluesky post's time 'June 15, 2025 at 13:58 PM' does not exist",
        ),
        (
            "June 15, 2025 at 12:58 AM",
            "June 15, 2025 at 00:58 AM",
            "Bluesky post's time 'June 15, 2025 at 00:58 AM' does not exist",
        ),
        ("June 15, 2025 at 12:58 AM", "June 15, 2025 at 12:58 PM", None),  # noon: fine
    ],
)
def test_a_bluesky_embed_hotpapers_post_would_not_write_is_refused(
    old: str, new: str, reason: str | None
) -> None:
    assert ADA_EMBED.count(old) == 1
    text = with_ada_embed(ADA_EMBED.replace(old, new))
    if reason is None:
        assert read(text).papers[0].tweets[0].posted_at == dt.datetime(
            2025, 6, 15, 12, 58, tzinfo=dt.UTC
        )
        return
    message = refused(text)
    assert message.startswith(f"written.md:{ADA_LINE}: {reason}"), message


def test_a_bluesky_embed_over_two_lines_is_refused() -> None:
    text = with_ada_embed(ADA_EMBED.replace("</p>&mdash;", "</p>\n&mdash;"))
    assert refused(text).startswith(
        f"written.md:{ADA_LINE}: a Bluesky post is embedded on one line as"
    )


def parse_seconds(text: str) -> float:
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        with contextlib.suppress(ParseError):
            read(text)
        timings.append(time.perf_counter() - start)
    return min(timings)


HOSTILE_EMBEDS = {
    "<br>-in-text": lambda n: ADA_EMBED.replace("is hot again", "<br>" * (n // 4)),
    "<br-in-text": lambda n: ADA_EMBED.replace("is hot again", "<br" * (n // 3)),
    "(-in-name": lambda n: ADA_EMBED.replace("Ada L.", "a (" * (n // 3)),
    "name-unclosed": lambda n: ADA_EMBED.replace("Ada L. (<a", "a (<br>" * (n // 7)),
    "&-everywhere": lambda n: ADA_EMBED.replace("is hot again", "&amp;" * (n // 5)),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_EMBEDS))
def test_reading_hostile_bluesky_embeds_takes_linear_time(name: str) -> None:
    # Large enough that each read takes milliseconds: shorter ones are noise on a busy machine.
    small, large = (
        parse_seconds(with_ada_embed(HOSTILE_EMBEDS[name](size))) for size in (200_000, 800_000)
    )
    shown = f"{small * 1000:.1f} ms for 200 kB, {large * 1000:.1f} ms for 800 kB"
    assert large / small < 8, f"{name}: {shown}"


@pytest.mark.parametrize(
    "handle", ["x) [evil](http://evil.example", "ada.bsky.social/../..", "a" * 250 + ".com"]
)
def test_a_post_whose_handle_is_no_handle_links_by_its_did(handle: str) -> None:
    """Its link goes into Discord markdown: only a handle's syntax is safe there."""
    line = ADA_EMBED.replace("@ada.bsky.social", f"@{handle}")
    post = read_bluesky_embed(line)
    assert (post.handle, post.url) == (handle, "https://bsky.app/profile/did:plc:ada/post/3lrada1")
    assert bluesky_embed(post) == line
