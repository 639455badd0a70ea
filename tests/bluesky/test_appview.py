"""The AppView client against the stand-in AppView over real HTTP on 127.0.0.1.

Rate-limit waits and backoff go through an injected clock and sleep shared with the
stand-in, so a five-minute wait for a window to reset takes no time at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.bluesky.appview import AppView, AppViewUnavailable, PostCounts
from bot.sandbox.appview import LocalAppView, StandInPost
from tests.support.clock import NOW, FakeClock

CREATED = dt.datetime(2025, 6, 15, 14, 0, tzinfo=dt.UTC)


def post(n: int, *, likes: int = 0, reposts: int = 0, name: str = "") -> StandInPost:
    did = f"did:plc:author{n:04d}"
    return StandInPost(
        uri=f"at://{did}/app.bsky.feed.post/3lrkey{n:04d}",
        did=did,
        handle=f"author{n}.bsky.social",
        display_name=name,
        text=f"Read https://arxiv.org/abs/2506.{n:05d}",
        created_at=CREATED,
        likes=likes,
        reposts=reposts,
    )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client(
    session: aiohttp.ClientSession, server: LocalAppView, clock: FakeClock, **kwargs: float
) -> AppView:
    return AppView(session, server.base_url, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


async def test_counts_and_authors_of_the_posts_that_still_exist(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(clock=clock) as server:
        ada = server.add_post(post(1, likes=42, reposts=7, name="Ada Lovelace"))
        bob = server.add_post(post(2, likes=3))
        gone = server.add_post(post(3, likes=99))
        server.remove(gone.uri)
        counts = await client(session, server, clock).posts([ada.uri, bob.uri, gone.uri, ada.uri])
    # The record's CID comes along, for the post's embed.
    ada_cid, bob_cid = ada.view()["cid"], bob.view()["cid"]
    assert isinstance(ada_cid, str)
    assert isinstance(bob_cid, str)
    assert ada_cid.startswith("bafyrei")
    assert counts == {
        ada.uri: PostCounts(
            ada.uri, 42, 7, "did:plc:author0001", "author1.bsky.social", "Ada Lovelace", ada_cid
        ),
        bob.uri: PostCounts(
            bob.uri, 3, 0, "did:plc:author0002", "author2.bsky.social", "", bob_cid
        ),
    }
    assert [r.uris for r in server.requests] == [(ada.uri, bob.uri, gone.uri)]


async def test_asks_25_uris_a_request_and_sees_counts_change(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(clock=clock) as server:
        posts = [server.add_post(post(n, likes=n)) for n in range(60)]
        appview = client(session, server, clock)
        counts = await appview.posts([p.uri for p in posts])
        assert {u: c.likes for u, c in counts.items()} == {p.uri: p.likes for p in posts}
        assert [len(r.uris) for r in server.requests] == [25, 25, 10]
        assert appview.requests == 3
        server.set_counts(posts[5].uri, likes=500, reposts=20)
        again = await appview.posts([posts[5].uri])
    assert (again[posts[5].uri].likes, again[posts[5].uri].reposts) == (500, 20)


async def test_waits_for_the_window_to_reset_instead_of_spending_its_last_request(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(limit=2, window=60, clock=clock) as server:
        posts = [server.add_post(post(n, likes=1)) for n in range(75)]
        counts = await client(session, server, clock).posts([p.uri for p in posts])
    assert len(counts) == 75
    assert [r.status for r in server.requests] == [200, 200, 200]
    assert server.rate_limited == 0
    # The window opened at NOW and resets at NOW + 60: the third request waited for that.
    assert clock.sleeps == [60.0]
    assert server.requests[2].at == NOW + 60


async def test_a_429_waits_for_ratelimit_reset_then_retries(
    session: aiohttp.ClientSession, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with LocalAppView(limit=100, window=300, clock=clock) as server:
        ada = server.add_post(post(1, likes=5))
        server.fail_next(status=429)  # another client used the window up
        with caplog.at_level(logging.INFO, logger="bot.bluesky.appview"):
            counts = await client(session, server, clock).posts([ada.uri])
    assert counts[ada.uri].likes == 5
    assert [r.status for r in server.requests] == [429, 200]
    assert clock.sleeps == [300.0]
    assert "HTTP 429 RateLimitExceeded: Rate Limit Exceeded; retry 1 of 4 in 300.0 s" in caplog.text


async def test_a_429_that_resets_too_late_gives_up_with_the_reason(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(limit=100, window=3600, clock=clock) as server:
        ada = server.add_post(post(1))
        server.fail_next(status=429)
        with pytest.raises(AppViewUnavailable) as raised:
            await client(session, server, clock).posts([ada.uri])
    assert str(raised.value) == (
        "HTTP 429 RateLimitExceeded: Rate Limit Exceeded: rate limited until 3600 s from now, "
        "more than the 300 s we wait"
    )
    assert len(server.requests) == 1
    assert clock.sleeps == []


async def test_a_used_up_window_resetting_too_late_is_not_even_asked(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(limit=1, window=3600, clock=clock) as server:
        posts = [server.add_post(post(n)) for n in range(30)]
        with pytest.raises(AppViewUnavailable, match="resets in 3600 s, more than the 300 s"):
            await client(session, server, clock).posts([p.uri for p in posts])
    assert len(server.requests) == 1


async def test_server_errors_are_retried_with_exponential_backoff(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(clock=clock) as server:
        ada = server.add_post(post(1, likes=8))
        server.fail_next(2, status=503)
        counts = await client(session, server, clock).posts([ada.uri])
    assert counts[ada.uri].likes == 8
    assert [r.status for r in server.requests] == [503, 503, 200]
    assert clock.sleeps == [1.0, 2.0]


async def test_an_appview_that_stays_down_raises_unavailable_with_the_reason(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(clock=clock) as server:
        ada = server.add_post(post(1))
        server.fail_next(10, status=500)
        with pytest.raises(AppViewUnavailable) as raised:
            await client(session, server, clock).posts([ada.uri])
    assert str(raised.value) == (
        "HTTP 500 InternalServerError: Internal Server Error after 5 attempts"
    )
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


async def test_a_timeout_is_retried(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with LocalAppView(clock=clock) as server:
        ada = server.add_post(post(1, reposts=4))
        server.hang_next()
        counts = await client(session, server, clock, timeout=0.2).posts([ada.uri])
        assert counts[ada.uri].reposts == 4
    assert len(server.requests) == 2
    assert clock.sleeps == [1.0]


async def test_a_connection_refused_ends_in_unavailable(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    server = LocalAppView(clock=clock)
    await server.start()
    url = server.base_url
    await server.stop()
    appview = AppView(session, url, clock=clock, sleep=clock.sleep, retries=1)
    with pytest.raises(AppViewUnavailable, match=r"connection failed .* after 2 attempts"):
        await appview.posts(["at://did:plc:x/app.bsky.feed.post/1"])


async def test_a_malformed_answer_is_retried(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(clock=clock) as server:
        ada = server.add_post(post(1, likes=2))
        server.malformed_next()
        counts = await client(session, server, clock).posts([ada.uri])
    assert counts[ada.uri].likes == 2
    assert len(server.requests) == 2


async def test_a_refused_request_is_not_retried(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with LocalAppView(clock=clock) as server:
        with pytest.raises(AppViewUnavailable) as raised:
            await client(session, server, clock).posts(["https://bsky.app/profile/x/post/1"])
    assert str(raised.value) == (
        "the AppView refused getPosts: HTTP 400 InvalidRequest: Error: uris/0 must be a valid "
        "at-uri"
    )
    assert len(server.requests) == 1


async def test_no_uris_no_request(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with LocalAppView(clock=clock) as server:
        assert await client(session, server, clock).posts([]) == {}
    assert server.requests == []
