"""The local AppView and arXiv stand-ins, asked over HTTP as the real services are: their
answers keep the documented shapes (lexicons, arXiv's API manual), limits and faults."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.sandbox.appview import LocalAppView, StandInPost
from bot.sandbox.arxiv_api import LocalArxiv, StandInPaper, malformed, sample_papers
from tests.support.clock import FakeClock

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
NOW = 1_750_000_000.0


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def bsky_post(n: int, likes: int = 0) -> StandInPost:
    return StandInPost(
        uri=f"at://did:plc:abc{n}/app.bsky.feed.post/3l{n}",
        did=f"did:plc:abc{n}",
        handle=f"user{n}.bsky.social",
        display_name="Ada" if n == 1 else "",
        text=f"post {n}",
        created_at=dt.datetime(2025, 6, 15, 14, 0, 0, 123456, tzinfo=dt.UTC),
        langs=("en", "fr"),
        likes=likes,
        reposts=2,
        replies=1,
        quotes=3,
    )


async def get_posts(
    session: aiohttp.ClientSession, server: LocalAppView, uris: list[str]
) -> tuple[int, dict[str, str], object]:
    url = f"{server.base_url}/xrpc/app.bsky.feed.getPosts"
    async with session.get(url, params=[("uris", u) for u in uris]) as resp:
        return resp.status, dict(resp.headers), await resp.json()


# --- the AppView ----------------------------------------------------------------------------


async def test_get_posts_answers_post_views(session: aiohttp.ClientSession) -> None:
    clock = FakeClock(NOW)
    async with LocalAppView(clock=clock) as server:
        one, two = server.add_post(bsky_post(1, likes=9)), server.add_post(bsky_post(2))
        status, headers, body = await get_posts(
            session, server, [two.uri, "at://did:plc:gone/app.bsky.feed.post/x", one.uri]
        )
    assert status == 200
    assert isinstance(body, dict)
    views = body["posts"]
    assert [v["uri"] for v in views] == [two.uri, one.uri]
    view = views[1]
    assert re.fullmatch(r"bafyrei[a-z2-7]{52}", view.pop("cid"))
    assert view == {
        "uri": "at://did:plc:abc1/app.bsky.feed.post/3l1",
        "author": {
            "did": "did:plc:abc1",
            "handle": "user1.bsky.social",
            "displayName": "Ada",
            "labels": [],
        },
        "record": {
            "$type": "app.bsky.feed.post",
            "createdAt": "2025-06-15T14:00:00.123Z",
            "langs": ["en", "fr"],
            "text": "post 1",
        },
        "replyCount": 1,
        "repostCount": 2,
        "likeCount": 9,
        "quoteCount": 3,
        "indexedAt": "2025-06-15T14:00:00.123Z",
        "labels": [],
    }
    assert "displayName" not in views[0]["author"]
    assert {k: v for k, v in headers.items() if k.lower().startswith("ratelimit-")} == {
        "ratelimit-limit": "3000",
        "ratelimit-remaining": "2999",
        "ratelimit-reset": str(int(NOW) + 300),
        "ratelimit-policy": "3000;w=300",
    }


async def test_the_window_limit_answers_429_until_it_resets(
    session: aiohttp.ClientSession,
) -> None:
    clock = FakeClock(NOW)
    async with LocalAppView(limit=2, window=60, clock=clock) as server:
        uri = server.add_post(bsky_post(1)).uri
        answers = [await get_posts(session, server, [uri]) for _ in range(3)]
        clock.now += 60
        after = await get_posts(session, server, [uri])
    assert [a[0] for a in answers] == [200, 200, 429]
    assert [a[1]["ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2][2] == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert answers[2][1]["ratelimit-reset"] == str(int(NOW) + 60)
    assert (after[0], after[1]["ratelimit-remaining"]) == (200, "1")
    assert after[1]["ratelimit-reset"] == str(int(NOW) + 120)
    assert server.rate_limited == 1


@pytest.mark.parametrize(
    ("uris", "message"),
    [
        ([], 'Error: Params must have the property "uris"'),
        (
            [f"at://did:plc:a/app.bsky.feed.post/{n}" for n in range(26)],
            "Error: uris must not have more than 25 elements",
        ),
        (["https://bsky.app/profile/a/post/1"], "Error: uris/0 must be a valid at-uri"),
    ],
)
async def test_bad_requests_get_xrpc_errors(
    session: aiohttp.ClientSession, uris: list[str], message: str
) -> None:
    async with LocalAppView() as server:
        status, _, body = await get_posts(session, server, uris)
    assert (status, body) == (400, {"error": "InvalidRequest", "message": message})


async def test_an_unknown_method_is_not_implemented(session: aiohttp.ClientSession) -> None:
    async with (
        LocalAppView() as server,
        session.get(f"{server.base_url}/xrpc/app.bsky.feed.getTimeline") as resp,
    ):
        assert resp.status == 501
        assert await resp.json() == {
            "error": "MethodNotImplemented",
            "message": "Method Not Implemented",
        }


async def test_faults_apply_to_the_next_requests_in_order(session: aiohttp.ClientSession) -> None:
    async with LocalAppView() as server:
        uri = server.add_post(bsky_post(1)).uri
        server.fail_next(2, status=502)
        server.empty_next()
        server.malformed_next()
        url = f"{server.base_url}/xrpc/app.bsky.feed.getPosts"
        seen = []
        for _ in range(5):
            async with session.get(url, params={"uris": uri}) as resp:
                seen.append((resp.status, await resp.text()))
    assert [s for s, _ in seen] == [502, 502, 200, 200, 200]
    assert seen[2][1] == '{"posts": []}'
    with pytest.raises(json.JSONDecodeError):
        json.loads(seen[3][1])
    assert '"likeCount": 0' in seen[4][1]
    assert server.faults == []


# --- arXiv ----------------------------------------------------------------------------------


async def query(
    session: aiohttp.ClientSession, server: LocalArxiv, **params: str
) -> tuple[int, str]:
    async with session.get(server.api_url, params=params) as resp:
        return resp.status, await resp.text()


def entry_ids(feed: str) -> list[str]:
    root = ET.fromstring(feed)
    return [e.findtext(f"{ATOM}id", "") for e in root.findall(f"{ATOM}entry")]


async def test_id_list_returns_ten_entries_unless_max_results_says(
    session: aiohttp.ClientSession,
) -> None:
    clock = FakeClock(0.0)
    ids = [p.arxiv_id for p in sample_papers()][:12]
    async with LocalArxiv.with_samples(clock=clock) as server:
        _, default = await query(session, server, id_list=",".join(ids))
        clock.now += 3
        _, twelve = await query(session, server, id_list=",".join(ids), max_results="12")
        clock.now += 3
        _, paged = await query(session, server, id_list=",".join(ids), start="10", max_results="5")
    assert entry_ids(default) == [f"https://arxiv.org/abs/{i}v1" for i in ids[:10]]
    assert entry_ids(twelve) == [f"https://arxiv.org/abs/{i}v1" for i in ids]
    assert entry_ids(paged) == [f"https://arxiv.org/abs/{i}v1" for i in ids[10:]]
    assert server.violations == 0


async def test_an_entry_has_the_fields_of_the_manual(session: aiohttp.ClientSession) -> None:
    paper = StandInPaper(
        "2501.00042",
        "A title long enough that arXiv wraps it over two lines, with a two-space indent at "
        "the start of the second",
        "Short abstract & <escaped> text.",
        ("Ada Lovelace", "Alan Turing"),
        ("cs.LG", "stat.ML"),
        version=2,
        comment="12 pages",
        extra_classes=("I.2.6",),
    )
    async with LocalArxiv([paper]) as server:
        status, feed = await query(session, server, id_list="2501.00042")
    assert status == 200
    root = ET.fromstring(feed)
    assert root.findtext(f"{OPENSEARCH}totalResults") == "1"
    (entry,) = root.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}id") == "https://arxiv.org/abs/2501.00042v2"
    assert entry.findtext(f"{ATOM}title") == (
        "A title long enough that arXiv wraps it over two lines, with a two-space\n"
        "  indent at the start of the second"
    )
    assert entry.findtext(f"{ATOM}summary") == "Short abstract & <escaped> text."
    assert [a.findtext(f"{ATOM}name") for a in entry.findall(f"{ATOM}author")] == [
        "Ada Lovelace",
        "Alan Turing",
    ]
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == [
        "cs.LG",
        "stat.ML",
        "I.2.6",
    ]
    assert entry.find(f"{ARXIV}primary_category").get("term") == "cs.LG"  # type: ignore[union-attr]
    assert entry.findtext(f"{ARXIV}comment") == "12 pages"
    assert [(link.get("title"), link.get("href")) for link in entry.findall(f"{ATOM}link")] == [
        (None, "https://arxiv.org/abs/2501.00042v2"),
        ("pdf", "https://arxiv.org/pdf/2501.00042v2"),
    ]
    assert entry.findtext(f"{ATOM}published") == "2025-01-01T12:00:00Z"


async def test_unknown_ids_have_no_entry_though_the_total_says_one(
    session: aiohttp.ClientSession,
) -> None:
    async with LocalArxiv.with_samples() as server:
        status, feed = await query(session, server, id_list="2501.99999")
    root = ET.fromstring(feed)
    assert (status, root.findall(f"{ATOM}entry")) == (200, [])
    assert root.findtext(f"{OPENSEARCH}totalResults") == "1"


async def test_a_malformed_id_gets_the_manuals_error_entry(session: aiohttp.ClientSession) -> None:
    clock = FakeClock(0.0)
    async with LocalArxiv.with_samples(clock=clock) as server:
        status, feed = await query(session, server, id_list="2103.03206,1234.12345")
        clock.now += 3
        _, bad_max = await query(session, server, id_list="2103.03206", max_results="ten")
    assert status == 200
    (entry,) = ET.fromstring(feed).findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Error"
    assert entry.findtext(f"{ATOM}summary") == "incorrect id format for 1234.12345"
    assert entry.findtext(f"{ATOM}id") == (
        "http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345"
    )
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "arXiv api core"
    (bad,) = ET.fromstring(bad_max).findall(f"{ATOM}entry")
    assert bad.findtext(f"{ATOM}summary") == "max_results must be an integer"


@pytest.mark.parametrize(
    ("arxiv_id", "is_malformed"),
    [
        ("2103.03206", False),
        ("2103.03206v12", False),
        ("0704.0001", False),
        ("1412.1234", False),
        ("1234.12345", True),
        ("1234.1234", True),
        ("1412.12345", True),
        ("1501.1234", True),
        ("0612.1234", True),
        ("hep-th/9901001", False),
        ("math.GT/0309136v2", False),
        ("cond—mat/0709123", True),
        ("", True),
    ],
)
def test_malformed_follows_arxivs_identifier_scheme(arxiv_id: str, is_malformed: bool) -> None:
    assert malformed(arxiv_id) is is_malformed


async def test_requests_closer_than_3_seconds_are_refused_and_counted(
    session: aiohttp.ClientSession,
) -> None:
    clock = FakeClock(100.0)
    async with LocalArxiv.with_samples(clock=clock) as server:
        first = await query(session, server, id_list="2103.03206")
        clock.now += 2.999
        second = await query(session, server, id_list="2103.03206")
        clock.now += 3.0
        third = await query(session, server, id_list="2103.03206")
    assert [first[0], second[0], third[0]] == [200, 503, 200]
    assert second[1] == "Rate exceeded."
    assert server.violations == 1
    assert [r.at for r in server.requests] == [100.0, 102.999, 105.999]
    assert server.min_gap() == pytest.approx(2.999)


async def test_withdrawing_adds_a_version_with_arxivs_comment(
    session: aiohttp.ClientSession,
) -> None:
    async with LocalArxiv.with_samples() as server:
        server.withdraw("2103.03198")
        _, feed = await query(session, server, id_list="2103.03198")
    (entry,) = ET.fromstring(feed).findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}id") == "https://arxiv.org/abs/2103.03198v2"
    assert entry.findtext(f"{ARXIV}comment") == "This paper has been withdrawn by the authors"


async def test_arxiv_faults(session: aiohttp.ClientSession) -> None:
    clock = FakeClock(0.0)
    async with LocalArxiv.with_samples(clock=clock) as server:
        server.fail_next(1, status=503)
        server.malformed_next()
        server.empty_next()
        answers = []
        for _ in range(4):
            answers.append(await query(session, server, id_list="2103.03206"))
            clock.now += 3
    assert answers[0] == (503, "Rate exceeded.")
    with pytest.raises(ET.ParseError):
        ET.fromstring(answers[1][1])
    assert entry_ids(answers[2][1]) == []
    assert entry_ids(answers[3][1]) == ["https://arxiv.org/abs/2103.03206v1"]
    assert server.violations == 0
