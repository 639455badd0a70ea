"""The arXiv API client against the stand-in arXiv over real HTTP on 127.0.0.1.

The stand-in and the client share a fake monotonic clock that moves only when the client
sleeps, so the 3-second rule is checked exactly (the stand-in answers `Rate exceeded.` and
counts a violation for any request closer than 3 s to the previous) without real waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.arxiv_api import UNKNOWN, ArxivApi, ArxivMetadata, ArxivUnavailable
from bot.sandbox.arxiv_api import LocalArxiv, StandInPaper, sample_papers
from tests.support.clock import FakeClock

SAMPLES = {p.arxiv_id: p for p in sample_papers()}
PERCEIVER = "2103.03206"
CATALA = "2103.03198"
# 111 characters: the stand-in wraps it over two lines, as arXiv does.
LONG_TITLE = "2103.03170"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=1000.0)


def api(
    session: aiohttp.ClientSession, server: LocalArxiv, clock: FakeClock, **kwargs: float
) -> ArxivApi:
    return ArxivApi(session, server.api_url, clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def standin(clock: FakeClock, *papers: StandInPaper) -> LocalArxiv:
    server = LocalArxiv.with_samples(clock=clock)
    for paper in papers:
        server.add_paper(paper)
    return server


async def test_metadata_as_arxiv_describes_the_papers(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        result = await api(session, server, clock).papers([PERCEIVER, CATALA, LONG_TITLE])
    assert result.missing == {}
    assert result.found[PERCEIVER] == ArxivMetadata(
        arxiv_id=PERCEIVER,
        title="Perceiver: General Perception with Iterative Attention",
        abstract=SAMPLES[PERCEIVER].abstract,
        authors=(
            "Andrew Jaegle",
            "Felix Gimeno",
            "Andrew Brock",
            "Andrew Zisserman",
            "Oriol Vinyals",
            "Joao Carreira",
        ),
        categories=("cs.CV", "cs.AI", "cs.LG", "cs.SD", "eess.AS"),
        pdf_url="https://arxiv.org/pdf/2103.03206v1",
        withdrawn=False,
    )
    # Titles and abstracts arrive hard-wrapped; they come out on one line.
    assert result.found[LONG_TITLE].title == SAMPLES[LONG_TITLE].title
    assert "\n" not in result.found[CATALA].abstract
    assert result.found[CATALA].abstract == SAMPLES[CATALA].abstract
    assert [(r.ids, r.max_results) for r in server.requests] == [
        ((PERCEIVER, CATALA, LONG_TITLE), "3")
    ]


async def test_batches_of_100_always_say_max_results_and_keep_3_seconds_apart(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    extra = [
        StandInPaper(f"2501.{n:05d}", f"Paper {n}", "An abstract.", ("A. Author",), ("cs.LG",))
        for n in range(1, 241)
    ]
    async with standin(clock, *extra) as server:
        client = api(session, server, clock)
        result = await client.papers([p.arxiv_id for p in extra])
    assert len(result.found) == 240
    assert result.missing == {}
    assert [(len(r.ids), r.max_results) for r in server.requests] == [
        (100, "100"),
        (100, "100"),
        (40, "40"),
    ]
    assert client.requests == 3
    assert server.violations == 0
    assert server.min_gap() == 3.0
    assert clock.sleeps == [3.0, 3.0]


async def test_concurrent_callers_take_turns(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        client = api(session, server, clock)
        ids = list(SAMPLES)
        results = await asyncio.gather(*(client.papers([i]) for i in ids[:5]))
    assert [list(r.found) for r in results] == [[i] for i in ids[:5]]
    assert len(server.requests) == 5
    assert server.violations == 0
    assert server.min_gap() == 3.0


async def test_unknown_ids_have_no_entry_and_are_reported_missing(
    session: aiohttp.ClientSession, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with standin(clock) as server:
        client = api(session, server, clock)
        result = await client.papers([PERCEIVER, "2103.99999"])
        assert list(result.found) == [PERCEIVER]
        assert result.missing == {"2103.99999": UNKNOWN}
        assert len(server.requests) == 1
        # A feed with no entry at all is asked once more before its ids count as unknown.
        with caplog.at_level(logging.INFO, logger="bot.arxiv_api"):
            alone = await client.papers(["2103.99998"])
    assert alone.found == {}
    assert alone.missing == {"2103.99998": UNKNOWN}
    assert len(server.requests) == 3
    assert "arXiv answered no entry for 1 ids; asking once more" in caplog.text


async def test_an_empty_answer_for_known_ids_is_asked_again(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        server.empty_next()
        result = await api(session, server, clock).papers([PERCEIVER, CATALA])
    assert list(result.found) == [PERCEIVER, CATALA]
    assert len(server.requests) == 2


async def test_ids_that_are_no_arxiv_ids_are_not_sent(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        result = await api(session, server, clock).papers(["2113.00001", "cats"])
    assert result.found == {}
    assert result.missing == {
        "2113.00001": "'2113.00001' is not an arXiv id (month 13 does not exist); expected an "
        "arXiv id like 2103.03206, 2103.03206v2, arXiv:2103.03206, hep-th/9901001 or "
        "https://arxiv.org/abs/2103.03206",
        "cats": "'cats' is not an arXiv id (unrecognised format); expected an arXiv id like "
        "2103.03206, 2103.03206v2, arXiv:2103.03206, hep-th/9901001 or "
        "https://arxiv.org/abs/2103.03206",
    }
    assert server.requests == []


async def test_an_id_arxiv_calls_malformed_is_dropped_and_the_rest_asked_again(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        server.refuse_ids("2103.00042")
        result = await api(session, server, clock).papers([PERCEIVER, "2103.00042", CATALA])
    assert list(result.found) == [PERCEIVER, CATALA]
    assert result.missing == {"2103.00042": "arXiv: incorrect id format for 2103.00042"}
    assert [r.ids for r in server.requests] == [
        (PERCEIVER, "2103.00042", CATALA),
        (PERCEIVER, CATALA),
    ]
    assert server.violations == 0


async def test_old_style_and_versioned_ids_map_back_to_the_ids_asked(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    old = StandInPaper("hep-th/9901001", "Strings", "On strings.", ("E. Witten",), ("hep-th",))
    geometry = StandInPaper(
        "math/0309136", "Knots", "On knots.", ("W. Thurston",), ("math.GT",), version=3
    )
    async with standin(clock, old, geometry) as server:
        result = await api(session, server, clock).papers(
            ["hep-th/9901001", "math.GT/0309136", "2103.03206v1"]
        )
    assert result.missing == {}
    assert {k: (v.arxiv_id, v.title) for k, v in result.found.items()} == {
        "hep-th/9901001": ("hep-th/9901001", "Strings"),
        "math.GT/0309136": ("math.GT/0309136", "Knots"),
        "2103.03206v1": ("2103.03206v1", "Perceiver: General Perception with Iterative Attention"),
    }
    assert result.found["math.GT/0309136"].pdf_url == "https://arxiv.org/pdf/math/0309136v3"


async def test_categories_are_arxiv_ones_primary_first_each_once(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    paper = StandInPaper(
        "2501.00007",
        "Learning",
        "Abstract.",
        ("A. Author",),
        ("cs.LG", "cs.AI", "cs.LG"),
        extra_classes=("I.2.6", "68T05"),
    )
    async with standin(clock, paper) as server:
        result = await api(session, server, clock).papers(["2501.00007"])
    assert result.found["2501.00007"].categories == ("cs.LG", "cs.AI")


async def test_a_withdrawn_paper_is_flagged(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        server.withdraw(CATALA)
        result = await api(session, server, clock).papers([PERCEIVER, CATALA])
    assert (result.found[PERCEIVER].withdrawn, result.found[CATALA].withdrawn) == (False, True)
    assert result.found[CATALA].pdf_url == "https://arxiv.org/pdf/2103.03198v2"


async def test_rate_exceeded_waits_and_retries(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        server.fail_next(2, status=503)
        result = await api(session, server, clock).papers([PERCEIVER])
    assert list(result.found) == [PERCEIVER]
    assert [r.status for r in server.requests] == [503, 503, 200]
    assert clock.sleeps == [3.0, 6.0]
    assert server.violations == 0


async def test_arxiv_staying_down_raises_unavailable_with_the_reason(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        server.fail_next(10, status=503)
        with pytest.raises(ArxivUnavailable) as raised:
            await api(session, server, clock).papers([PERCEIVER])
    assert str(raised.value) == "HTTP 503 Rate exceeded. after 4 attempts"
    assert len(server.requests) == 4
    assert server.violations == 0


async def test_a_server_error_is_retried(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with standin(clock) as server:
        server.fail_next(1, status=500)
        result = await api(session, server, clock).papers([PERCEIVER])
    assert list(result.found) == [PERCEIVER]
    assert [r.status for r in server.requests] == [500, 200]


async def test_malformed_xml_is_retried_once(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        client = api(session, server, clock)
        server.malformed_next()
        result = await client.papers([PERCEIVER])
        assert list(result.found) == [PERCEIVER]
        server.malformed_next(2)
        with pytest.raises(ArxivUnavailable, match=r"^arXiv answered malformed XML twice \("):
            await client.papers([PERCEIVER])
    assert len(server.requests) == 4
    assert server.violations == 0


async def test_a_timeout_is_retried(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with standin(clock) as server:
        server.hang_next()
        result = await api(session, server, clock, timeout=0.2).papers([PERCEIVER])
        assert list(result.found) == [PERCEIVER]
    assert len(server.requests) == 2


async def test_a_refusal_other_than_throttling_is_not_retried(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    async with standin(clock) as server:
        server.fail_next(1, status=400)
        with pytest.raises(ArxivUnavailable, match=r"^arXiv refused the query: HTTP 400"):
            await api(session, server, clock).papers([PERCEIVER])
    assert len(server.requests) == 1


async def test_xml_with_entities_is_refused_as_malformed(
    session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>&lol2;</title></feed>"
    )

    async def answer(request: web.Request) -> web.Response:
        return web.Response(text=bomb, content_type="application/atom+xml")

    app = web.Application()
    app.router.add_get("/api/query", answer)
    async with TestServer(app, host="127.0.0.1") as server:
        client = ArxivApi(
            session, str(server.make_url("/api/query")), clock=clock, sleep=clock.sleep
        )
        with pytest.raises(ArxivUnavailable, match="malformed XML twice"):
            await client.papers([PERCEIVER])
    assert client.requests == 2
