"""Ranking a day's papers by Bluesky likes + reposts, and the Day that lists them."""

from __future__ import annotations

import datetime as dt

from bot.arxiv_api import ArxivMetadata
from bot.bluesky.appview import PostCounts
from bot.bluesky.days import to_us
from bot.bluesky.posts import CollectedPost
from bot.bluesky.ranking import Account, assemble_day, posted_time, rank
from bot.models import Appearance, Day, Paper, RankedPaper, Tweet

NOON = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)


def collected(
    did: str,
    n: int,
    *ids: str,
    created: dt.datetime | None = NOON,
    at: dt.datetime = NOON,
    langs: tuple[str, ...] = ("en",),
) -> CollectedPost:
    return CollectedPost(
        uri=f"at://{did}/app.bsky.feed.post/rk{n}",
        did=did,
        rkey=f"rk{n}",
        text=f"post {n} by {did}",
        langs=langs,
        created_at=created,
        time_us=to_us(at) + n,
        arxiv_ids=ids,
    )


def counts(
    post: CollectedPost, likes: int, reposts: int = 0, handle: str = "", name: str = ""
) -> PostCounts:
    handle = handle or post.did.rsplit(":", 1)[-1] + ".bsky.social"
    return PostCounts(post.uri, likes, reposts, post.did, handle, name, cid=f"bafy{post.rkey}")


def ranked(posts: list[CollectedPost], found: dict[str, PostCounts], **kwargs: object):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"feed_threshold": 20, "ignore": (), "min_score": 0}
    options.update(kwargs)
    return rank(posts, found, **options)  # type: ignore[arg-type]


def test_score_is_likes_plus_reposts_over_the_posts_linking_a_paper() -> None:
    a1 = collected("did:plc:a", 1, "2506.00001", "2506.00002")
    b1 = collected("did:plc:b", 2, "2506.00001")
    c1 = collected("did:plc:c", 3, "2506.00003", "2506.00003")  # linked twice: counts once
    found = {
        a1.uri: counts(a1, 10, 2),
        b1.uri: counts(b1, 5, 1),
        c1.uri: counts(c1, 7, 0),
    }
    ranking = ranked([a1, b1, c1], found)
    assert [
        (c.arxiv_id, c.score, c.likes, c.reposts, len(c.posts)) for c in ranking.candidates
    ] == [
        ("2506.00001", 18, 15, 3, 2),
        ("2506.00002", 12, 10, 2, 1),
        ("2506.00003", 7, 7, 0, 1),
    ]
    # Under a paper, the most liked + reposted post first.
    assert [p.post.uri for p in ranking.candidates[0].posts] == [a1.uri, b1.uri]
    assert (ranking.posts, ranking.gone, ranking.feeds, ranking.ignored) == (3, 0, (), ())


def test_ties_go_to_more_posts_then_to_the_id() -> None:
    posts = [
        collected("did:plc:a", 1, "2506.00009"),
        collected("did:plc:b", 2, "2506.00009"),
        collected("did:plc:c", 3, "2506.00005"),
        collected("did:plc:d", 4, "2506.00004"),
    ]
    found = {
        posts[0].uri: counts(posts[0], 3),
        posts[1].uri: counts(posts[1], 3),
        posts[2].uri: counts(posts[2], 6),
        posts[3].uri: counts(posts[3], 6),
    }
    ranking = ranked(posts, found)
    assert [c.arxiv_id for c in ranking.candidates] == ["2506.00009", "2506.00004", "2506.00005"]


def test_an_account_linking_more_than_feed_threshold_papers_is_a_feed() -> None:
    bot_posts = [collected("did:plc:feed", n, f"2506.{n:05d}") for n in range(1, 5)]
    busy = [collected("did:plc:busy", 10 + n, f"2506.{n:05d}") for n in range(1, 4)]
    everyone = bot_posts + busy
    found = {p.uri: counts(p, 1) for p in busy}
    found |= {p.uri: counts(p, 100, handle="arxiv-feed.bsky.social") for p in bot_posts}
    ranking = ranked(everyone, found, feed_threshold=3)
    # The feed linked 4 distinct papers (> 3) and counts for nothing; 3 papers is no feed.
    assert ranking.feeds == (Account("did:plc:feed", "arxiv-feed.bsky.social"),)
    assert [(c.arxiv_id, c.score) for c in ranking.candidates] == [
        ("2506.00001", 1),
        ("2506.00002", 1),
        ("2506.00003", 1),
    ]
    assert str(ranking.feeds[0]) == "@arxiv-feed.bsky.social (did:plc:feed)"


def test_ignored_accounts_by_did_or_handle_in_any_case() -> None:
    by_did = collected("did:plc:spam", 1, "2506.00001")
    by_handle = collected("did:plc:loud", 2, "2506.00002")
    kept = collected("did:plc:fine", 3, "2506.00003")
    found = {
        by_did.uri: counts(by_did, 50),
        by_handle.uri: counts(by_handle, 40, handle="Loud.Example.com"),
        kept.uri: counts(kept, 1),
    }
    ranking = ranked([by_did, by_handle, kept], found, ignore=("did:plc:spam", "@loud.example.COM"))
    assert [c.arxiv_id for c in ranking.candidates] == ["2506.00003"]
    assert ranking.ignored == (
        Account("did:plc:loud", "Loud.Example.com"),
        Account("did:plc:spam", "spam.bsky.social"),
    )
    assert ranking.feeds == ()


def test_a_post_the_appview_no_longer_returns_counts_nothing() -> None:
    deleted = collected("did:plc:a", 1, "2506.00001")
    alive = collected("did:plc:b", 2, "2506.00001")
    ranking = ranked([deleted, alive], {alive.uri: counts(alive, 4, 1)})
    assert [(c.arxiv_id, c.score, len(c.posts)) for c in ranking.candidates] == [
        ("2506.00001", 5, 1)
    ]
    assert ranking.gone == 1


def test_a_post_created_long_before_the_stream_brought_it_counts_nothing() -> None:
    """Jetstream v2 may deliver old records again as creates, and imports come backdated
    with likes gathered long ago: not the day's attention."""
    new = collected("did:plc:a", 1, "2506.00001", created=NOON - dt.timedelta(hours=47))
    old = collected("did:plc:b", 2, "2506.00002", created=NOON - dt.timedelta(days=2, hours=1))
    undated = collected("did:plc:c", 3, "2506.00003", created=None)
    found = {new.uri: counts(new, 5), old.uri: counts(old, 500), undated.uri: counts(undated, 2)}
    ranking = ranked([new, old, undated], found)
    assert [(c.arxiv_id, c.score) for c in ranking.candidates] == [
        ("2506.00001", 5),
        ("2506.00003", 2),
    ]
    assert (ranking.posts, ranking.gone, ranking.old) == (3, 0, 1)


def test_papers_below_min_score_are_not_candidates() -> None:
    posts = [collected("did:plc:a", n, f"2506.{n:05d}") for n in range(1, 4)]
    found = {p.uri: counts(p, likes) for p, likes in zip(posts, (10, 9, 30), strict=True)}
    ranking = ranked(posts, found, min_score=10)
    assert [c.arxiv_id for c in ranking.candidates] == ["2506.00003", "2506.00001"]
    assert ranking.below_min_score == 1


def metadata(arxiv_id: str, pdf: bool = True) -> ArxivMetadata:
    return ArxivMetadata(
        arxiv_id=arxiv_id,
        title=f"Title of {arxiv_id}",
        abstract="An abstract.",
        authors=("Ada Lovelace", "Alan Turing"),
        categories=("cs.LG", "stat.ML"),
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}v1" if pdf else None,
        withdrawn=False,
    )


def test_the_day_lists_papers_with_their_posts_as_an_ingested_post_would() -> None:
    first = collected("did:plc:ada", 1, "2506.00001", langs=("fr", "en"))
    late = dt.datetime(2025, 6, 15, 23, 59, 59, 999999, tzinfo=dt.UTC)
    second = collected("did:plc:bob", 2, "2506.00001", langs=(), created=late)
    other = collected("did:plc:ada", 3, "2506.00002")
    found = {
        first.uri: counts(first, 30, 5, handle="ada.bsky.social", name="Ada L."),
        second.uri: counts(second, 40, 0, handle="bob.example.org"),
        other.uri: counts(other, 2, 1, handle="ada.bsky.social", name="Ada L."),
    }
    ranking = ranked([first, second, other], found)
    built_at = dt.datetime(2025, 6, 16, 12, 0, tzinfo=dt.UTC)
    day = assemble_day(
        dt.date(2025, 6, 15),
        built_at,
        [
            (ranking.candidates[0], metadata("2506.00001")),
            (ranking.candidates[1], metadata("2506.00002", pdf=False)),
        ],
    )
    date = dt.date(2025, 6, 15)
    assert day == Day(
        date=date,
        published_at=built_at,
        platform="bluesky",
        papers=(
            RankedPaper(
                paper=Paper(
                    arxiv_id="2506.00001",
                    title="Title of 2506.00001",
                    authors=("Ada Lovelace", "Alan Turing"),
                    categories=("cs.LG", "stat.ML"),
                    abstract="An abstract.",
                    abs_url="https://arxiv.org/abs/2506.00001",
                    pdf_url="https://arxiv.org/pdf/2506.00001",
                ),
                appearance=Appearance(date, 1, retweets=5, favorites=70, platform="bluesky"),
                tweets=(
                    Tweet(
                        url="https://bsky.app/profile/bob.example.org/post/rk2",
                        author="bob.example.org",
                        handle="bob.example.org",
                        posted=date,
                        lang="",
                        text="post 2 by did:plc:bob",
                        platform="bluesky",
                        uri="at://did:plc:bob/app.bsky.feed.post/rk2",
                        cid="bafyrk2",
                        # To the minute, as its embed shows it: still the 15th.
                        posted_at=dt.datetime(2025, 6, 15, 23, 59, tzinfo=dt.UTC),
                    ),
                    Tweet(
                        url="https://bsky.app/profile/ada.bsky.social/post/rk1",
                        author="Ada L.",
                        handle="ada.bsky.social",
                        posted=date,
                        lang="fr",
                        text="post 1 by did:plc:ada",
                        platform="bluesky",
                        uri="at://did:plc:ada/app.bsky.feed.post/rk1",
                        cid="bafyrk1",
                        posted_at=NOON,
                    ),
                ),
            ),
            RankedPaper(
                paper=Paper(
                    arxiv_id="2506.00002",
                    title="Title of 2506.00002",
                    authors=("Ada Lovelace", "Alan Turing"),
                    categories=("cs.LG", "stat.ML"),
                    abstract="An abstract.",
                    abs_url="https://arxiv.org/abs/2506.00002",
                    pdf_url=None,
                ),
                appearance=Appearance(date, 2, retweets=1, favorites=2, platform="bluesky"),
                tweets=(
                    Tweet(
                        url="https://bsky.app/profile/ada.bsky.social/post/rk3",
                        author="Ada L.",
                        handle="ada.bsky.social",
                        posted=date,
                        lang="en",
                        text="post 3 by did:plc:ada",
                        platform="bluesky",
                        uri="at://did:plc:ada/app.bsky.feed.post/rk3",
                        cid="bafyrk3",
                        posted_at=NOON,
                    ),
                ),
            ),
        ),
    )


def test_a_day_with_no_paper_is_still_a_bluesky_day() -> None:
    day = assemble_day(NOON.date(), NOON, [])
    assert day == Day(NOON.date(), NOON, (), platform="bluesky")


def test_at_most_ten_posts_under_a_paper_the_best_first() -> None:
    posts = [collected(f"did:plc:u{n}", n, "2506.00001") for n in range(14)]
    found = {p.uri: counts(p, n) for n, p in enumerate(posts)}
    ranking = ranked(posts, found)
    day = assemble_day(NOON.date(), NOON, [(ranking.candidates[0], metadata("2506.00001"))])
    (paper,) = day.papers
    assert [t.url.rsplit("/", 1)[1] for t in paper.tweets] == [f"rk{n}" for n in range(13, 3, -1)]
    # The score counts every post, not only the ten shown.
    assert paper.appearance.favorites == sum(range(14))


def test_a_handle_that_failed_verification_links_by_did() -> None:
    post = collected("did:plc:x7", 1, "2506.00001")
    ranking = ranked([post], {post.uri: counts(post, 3, handle="handle.invalid")})
    day = assemble_day(NOON.date(), NOON, [(ranking.candidates[0], metadata("2506.00001"))])
    (tweet,) = day.papers[0].tweets
    assert tweet.url == "https://bsky.app/profile/did:plc:x7/post/rk1"
    assert (tweet.author, tweet.handle) == ("handle.invalid", "handle.invalid")


def test_a_handle_that_is_no_handle_links_by_did() -> None:
    post = collected("did:plc:x7", 1, "2506.00001")
    ranking = ranked([post], {post.uri: counts(post, 3, handle="x) [a](http://evil.example")})
    day = assemble_day(NOON.date(), NOON, [(ranking.candidates[0], metadata("2506.00001"))])
    (tweet,) = day.papers[0].tweets
    assert tweet.url == "https://bsky.app/profile/did:plc:x7/post/rk1"


def test_posted_is_created_at_in_utc_to_the_minute_unless_it_is_missing_or_absurd() -> None:
    streamed = dt.datetime(2025, 6, 16, 3, 0, 41, 5, tzinfo=dt.UTC)
    new_york = dt.timezone(dt.timedelta(hours=-4))
    late_evening = dt.datetime(2025, 6, 15, 22, 30, 59, tzinfo=new_york)  # 02:30 UTC on the 16th
    assert posted_time(collected("d", 1, created=late_evening, at=streamed)) == dt.datetime(
        2025, 6, 16, 2, 30, tzinfo=dt.UTC
    )
    # Naive: read as UTC, 22 hours before the stream saw it.
    assert posted_time(
        collected("d", 1, created=dt.datetime(2025, 6, 15, 5, 0), at=streamed)
    ) == dt.datetime(2025, 6, 15, 5, 0, tzinfo=dt.UTC)
    stream_time = dt.datetime(2025, 6, 16, 3, 0, tzinfo=dt.UTC)
    assert posted_time(collected("d", 1, created=None, at=streamed)) == stream_time
    backdated = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    assert posted_time(collected("d", 1, created=backdated, at=streamed)) == stream_time
    future = dt.datetime(2025, 6, 18, tzinfo=dt.UTC)
    assert posted_time(collected("d", 1, created=future, at=streamed)) == stream_time
