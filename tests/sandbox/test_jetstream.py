"""The local Jetstream: Jetstream's documented `/subscribe`, and the faults it can inject."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bot.sandbox.jetstream import LocalJetstream, Subscription
from tests.support.waiting import eventually

ALICE = "did:plc:alice"
BOB = "did:plc:bob"
T0 = 1_725_911_162_000_000  # a unix time in microseconds
RECEIVE_TIMEOUT = 5.0


class Clock:
    """The stand-in's clock, moved by the test: seconds since the epoch."""

    def __init__(self, now_us: int) -> None:
        self.now_us = now_us

    def __call__(self) -> float:
        return self.now_us / 1e6


def commit(collection: str = "app.bsky.feed.post", rkey: str = "3k1") -> dict[str, Any]:
    return {
        "rev": "3l3qo2vutsw2b",
        "operation": "create",
        "collection": collection,
        "rkey": rkey,
        "record": {"$type": collection, "text": "hi", "createdAt": "2024-09-09T19:46:02.102Z"},
        "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
    }


def post(did: str = ALICE, rkey: str = "3k1") -> dict[str, Any]:
    return {"did": did, "commit": commit(rkey=rkey)}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
async def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def jetstream(clock: Clock) -> AsyncIterator[LocalJetstream]:
    async with LocalJetstream(clock=clock) as local:
        yield local


async def receive(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    frames = []
    for _ in range(count):
        message = await ws.receive(timeout=RECEIVE_TIMEOUT)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frames.append(json.loads(message.data))
    return frames


async def seqs_from(
    session: aiohttp.ClientSession, jetstream: LocalJetstream, query: str, count: int
) -> list[int]:
    async with session.ws_connect(f"{jetstream.url}?{query}") as ws:
        return [frame["cursor"] for frame in await receive(ws, count)]


async def test_frames_are_jetstreams_v1_json_with_the_v2_sequence_number(
    jetstream: LocalJetstream, session: aiohttp.ClientSession, clock: Clock
) -> None:
    async with session.ws_connect(jetstream.url) as ws:
        assert jetstream.publish(post()) == 1
        message = await ws.receive(timeout=RECEIVE_TIMEOUT)
    assert message.type == aiohttp.WSMsgType.TEXT
    frame = json.loads(message.data)
    assert list(frame) == ["did", "time_us", "cursor", "kind", "commit"]
    assert frame == {"did": ALICE, "time_us": T0, "cursor": 1, "kind": "commit", "commit": commit()}
    assert jetstream.subscriptions[0] == Subscription(None, 1, (), ())


async def test_without_sequence_numbers_frames_are_as_jetstream_v1_sent_them(
    clock: Clock, session: aiohttp.ClientSession
) -> None:
    async with LocalJetstream(clock=clock, send_seq=False) as jetstream:
        jetstream.publish(post())
        async with session.ws_connect(f"{jetstream.url}?cursor=0") as ws:
            [frame] = await receive(ws, 1)
    assert list(frame) == ["did", "time_us", "kind", "commit"]


async def test_account_and_identity_events(
    jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    account = {"active": False, "did": BOB, "seq": 9, "time": "2024-09-05T06:11:04.870Z"}
    identity = {"did": BOB, "handle": "bob.test", "seq": 10, "time": "2024-09-05T06:11:05Z"}
    jetstream.publish({"account": {**account, "status": "deleted"}})
    jetstream.publish({"identity": identity})
    async with session.ws_connect(f"{jetstream.url}?cursor=1") as ws:
        frames = await receive(ws, 2)
    assert frames == [
        {
            "did": BOB,
            "time_us": T0,
            "cursor": 1,
            "kind": "account",
            "account": {**account, "status": "deleted"},
        },
        {"did": BOB, "time_us": T0, "cursor": 2, "kind": "identity", "identity": identity},
    ]


async def test_time_never_goes_backwards(
    jetstream: LocalJetstream, clock: Clock, session: aiohttp.ClientSession
) -> None:
    jetstream.publish(post(), time_us=T0 + 50)
    jetstream.publish(post())  # the clock says T0: earlier than the last event
    clock.now_us = T0 + 100
    jetstream.publish(post())
    async with session.ws_connect(f"{jetstream.url}?cursor=0") as ws:
        frames = await receive(ws, 3)
    assert [f["time_us"] for f in frames] == [T0 + 50, T0 + 50, T0 + 100]


async def test_wanted_collections_exact_and_prefix_and_markers_always(
    jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    jetstream.publish({"did": ALICE, "commit": commit("app.bsky.feed.like")})  # 1
    jetstream.publish({"did": ALICE, "commit": commit("app.bsky.feed.post")})  # 2
    jetstream.publish({"did": ALICE, "commit": commit("app.bsky.graph.follow")})  # 3
    jetstream.publish({"account": {"active": True, "did": BOB, "seq": 1, "time": "x"}})  # 4
    jetstream.publish({"identity": {"did": BOB, "seq": 2, "time": "x"}})  # 5
    jetstream.publish({"did": ALICE, "commit": commit("app.bsky.feed.repost")})  # 6
    jetstream.publish({"did": ALICE, "commit": commit("app.bsky.feedx.post")})  # 7
    jetstream.publish(post())  # 8
    exact = "cursor=0&wantedCollections=app.bsky.feed.post"
    assert await seqs_from(session, jetstream, exact, 4) == [2, 4, 5, 8]
    prefix = "cursor=0&wantedCollections=app.bsky.feed.*"
    assert await seqs_from(session, jetstream, prefix, 6) == [1, 2, 4, 5, 6, 8]
    both = "cursor=0&wantedCollections=app.bsky.graph.follow&wantedCollections=app.bsky.feedx.post"
    assert await seqs_from(session, jetstream, both, 4) == [3, 4, 5, 7]
    assert jetstream.subscriptions[-1].collections == (
        "app.bsky.graph.follow",
        "app.bsky.feedx.post",
    )


async def test_wanted_dids_filter_every_kind(
    jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    jetstream.publish(post(ALICE))  # 1
    jetstream.publish(post(BOB))  # 2
    jetstream.publish({"account": {"active": True, "did": BOB, "seq": 1, "time": "x"}})  # 3
    jetstream.publish({"identity": {"did": ALICE, "seq": 2, "time": "x"}})  # 4
    jetstream.publish(post(BOB))  # 5
    assert await seqs_from(session, jetstream, f"cursor=0&wantedDids={BOB}", 3) == [2, 3, 5]
    query = f"cursor=0&wantedDids={BOB}&wantedDids={ALICE}&wantedCollections=app.bsky.feed.like"
    assert await seqs_from(session, jetstream, query, 2) == [3, 4]


async def test_sequence_cursors_are_inclusive_and_clamped_to_the_oldest(
    clock: Clock, session: aiohttp.ClientSession
) -> None:
    async with LocalJetstream(clock=clock, retain=5) as jetstream:
        for n in range(8):
            jetstream.publish(post(rkey=f"3k{n}"))
        # Seqs 4 to 8 are kept.
        assert await seqs_from(session, jetstream, "cursor=6", 3) == [6, 7, 8]
        assert await seqs_from(session, jetstream, "cursor=2", 5) == [4, 5, 6, 7, 8]
        assert await seqs_from(session, jetstream, "cursor=0", 1) == [4]
        assert jetstream.stats.clamped == 2


async def test_time_cursors_are_inclusive_and_the_window_is_kept(
    clock: Clock, session: aiohttp.ClientSession
) -> None:
    async with LocalJetstream(clock=clock, window_seconds=60) as jetstream:
        for n in range(5):
            clock.now_us = T0 + n * 10_000_000
            jetstream.publish(post(rkey=f"3k{n}"))  # seq n + 1 at T0 + 10 n seconds
        assert await seqs_from(session, jetstream, f"cursor={T0 + 20_000_000}", 3) == [3, 4, 5]
        assert await seqs_from(session, jetstream, f"cursor={T0 + 20_000_001}", 2) == [4, 5]
        assert await seqs_from(session, jetstream, f"cursor={T0 - 3_600_000_000}", 1) == [1]
        assert jetstream.stats.clamped == 1
        # 70 s after the first event, it is out of the 60 s window.
        clock.now_us = T0 + 70_000_000
        jetstream.publish(post(rkey="3k5"))  # seq 6
        assert await seqs_from(session, jetstream, f"cursor={T0}", 1) == [2]
        assert await seqs_from(session, jetstream, "cursor=1", 1) == [2]


@pytest.mark.parametrize("cursor", ["", "cursor=1000", f"cursor={T0 + 1_000_000}"])
async def test_no_cursor_or_a_future_one_starts_at_the_live_tip(
    jetstream: LocalJetstream, session: aiohttp.ClientSession, cursor: str
) -> None:
    for n in range(3):
        jetstream.publish(post(rkey=f"3k{n}"))
    async with session.ws_connect(f"{jetstream.url}?{cursor}") as ws:
        await _wait_for(lambda: jetstream.active_connections == 1)
        jetstream.publish(post(rkey="3k9"))
        [frame] = await receive(ws, 1)
    assert frame["cursor"] == 4
    assert jetstream.subscriptions[0].start_seq == 4


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("cursor=abc", "cursor must be a sequence number or a unix time in microseconds"),
        ("cursor=-5", "cursor must be a sequence number or a unix time in microseconds"),
        ("cursor=1&cursor=2", "cursor may be given once"),
        ("wantedCollections=not%20an%20nsid", "wantedCollections must be NSIDs"),
        ("wantedDids=alice", "wantedDids must be DIDs"),
        ("&".join(f"wantedCollections=a.b{n}" for n in range(101)), "at most 100"),
    ],
)
async def test_bad_requests_are_refused_with_a_reason(
    jetstream: LocalJetstream, session: aiohttp.ClientSession, query: str, message: str
) -> None:
    http_url = jetstream.url.replace("ws://", "http://")
    async with session.get(f"{http_url}?{query}") as response:
        body = await response.json()
    assert response.status == 400
    assert body["error"] == "BadRequest"
    assert message in body["message"]
    assert jetstream.stats.refused == 1
    assert jetstream.stats.connections == 0


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"did": ALICE}, "an event holds one of commit, account, identity; got ['did']"),
        (
            {"did": ALICE, "commit": commit(), "account": {}},
            "an event holds one of commit, account, identity; got ['account', 'commit', 'did']",
        ),
        ({"commit": commit()}, "a commit event needs a did, got None"),
        ({"did": ALICE, "identity": "bob"}, "an event's identity is an object, got 'bob'"),
        (
            {"did": ALICE, "commit": {"operation": "create"}},
            "a commit needs a collection, got None",
        ),
    ],
)
def test_publish_refuses_events_it_cannot_serve(event: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        LocalJetstream().publish(event)


async def test_a_replay_is_drawn_as_subscribers_read_it(
    clock: Clock, session: aiohttp.ClientSession
) -> None:
    replay = ((T0 + n, post(rkey=f"3k{n}")) for n in range(2500))
    async with LocalJetstream(clock=clock, replay=replay) as jetstream:
        assert jetstream.next_seq == 1
        assert not jetstream.replay_done
        async with session.ws_connect(f"{jetstream.url}?cursor=0") as ws:
            frames = await receive(ws, 2500)
        assert [f["cursor"] for f in frames] == list(range(1, 2501))
        assert [f["time_us"] for f in frames] == [T0 + n for n in range(2500)]
        await _wait_for(lambda: jetstream.replay_done)
        assert jetstream.last_time_us == T0 + 2499


async def test_redeliver_sends_a_recent_range_again(
    jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    for n in range(5):
        jetstream.publish(post(rkey=f"3k{n}"))
    async with session.ws_connect(f"{jetstream.url}?cursor=1") as ws:
        assert [f["cursor"] for f in await receive(ws, 5)] == [1, 2, 3, 4, 5]
        jetstream.redeliver(3)
        assert [f["cursor"] for f in await receive(ws, 3)] == [3, 4, 5]
        jetstream.publish(post(rkey="3k9"))
        assert [f["cursor"] for f in await receive(ws, 1)] == [6]
    assert jetstream.stats.redelivered == 1


async def test_close_connections_closes_with_the_code(
    jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(jetstream.url) as ws:
        await _wait_for(lambda: jetstream.active_connections == 1)
        await jetstream.close_connections(1011, "maintenance")
        message = await ws.receive(timeout=RECEIVE_TIMEOUT)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert (message.data, message.extra) == (1011, "maintenance")
    assert jetstream.stats.closed == 1
    assert jetstream.active_connections == 0


async def test_stop_and_start_on_the_same_port_keeping_the_events_or_not(
    jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    url = jetstream.url
    for n in range(3):
        jetstream.publish(post(rkey=f"3k{n}"))
    async with session.ws_connect(f"{url}?cursor=0") as ws:
        await receive(ws, 3)
        await jetstream.stop()
        message = await ws.receive(timeout=RECEIVE_TIMEOUT)
        assert message.type == aiohttp.WSMsgType.CLOSE
        assert message.data == 1001
    with pytest.raises(aiohttp.ClientConnectionError):
        await session.ws_connect(url)
    await jetstream.start()
    assert jetstream.url == url
    assert await seqs_from(session, jetstream, "cursor=2", 2) == [2, 3]
    await jetstream.stop(keep_log=False)
    await jetstream.start()
    # Another instance's numbering: from 1 again, the old events gone.
    assert jetstream.publish(post(rkey="3kz")) == 1
    async with session.ws_connect(f"{url}?cursor=0") as ws:
        [frame] = await receive(ws, 1)
    assert (frame["cursor"], frame["commit"]["rkey"]) == (1, "3kz")


async def test_drop_connections_cuts_a_frame_short_then_aborts(
    jetstream: LocalJetstream,
) -> None:
    """Read raw bytes: the connection ends inside a frame, with no close frame."""
    port = int(jetstream.url.split(":")[2].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            "GET /subscribe?cursor=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), RECEIVE_TIMEOUT)
    assert head.startswith(b"HTTP/1.1 101")
    jetstream.publish(post(rkey="3k1"))
    first = await asyncio.wait_for(_read_frame(reader), RECEIVE_TIMEOUT)
    assert json.loads(first)["cursor"] == 1
    jetstream.publish(post(rkey="3k2"))
    jetstream.drop_connections()
    rest = await asyncio.wait_for(reader.read(), RECEIVE_TIMEOUT)  # to EOF
    writer.close()
    # A text frame's header announcing the whole second frame, then only part of it.
    assert rest[0] == 0x81
    length = rest[1] if rest[1] < 126 else int.from_bytes(rest[2:4], "big")
    payload = rest[2:] if rest[1] < 126 else rest[4:]
    second = {
        "did": ALICE,
        "time_us": T0,
        "cursor": 2,
        "kind": "commit",
        "commit": commit("app.bsky.feed.post", "3k2"),
    }
    whole = json.dumps(second, separators=(",", ":")).encode()
    assert length == len(whole)
    assert 0 < len(payload) < length
    assert whole.startswith(payload)
    assert jetstream.stats.dropped == 1
    await _wait_for(lambda: jetstream.active_connections == 0)


async def test_drop_connections_of_a_client_waiting_at_the_tip(
    jetstream: LocalJetstream, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(jetstream.url) as ws:
        await _wait_for(lambda: jetstream.active_connections == 1)
        jetstream.drop_connections()
        message = await ws.receive(timeout=RECEIVE_TIMEOUT)
    assert message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED)
    assert jetstream.stats.dropped == 1


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(2)
    assert header[0] == 0x81
    length = header[1]
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    return await reader.readexactly(length)


async def _wait_for(condition: Callable[[], bool]) -> None:
    """Check `condition` until it holds, failing after RECEIVE_TIMEOUT seconds."""
    await eventually(condition, "condition not met in time", RECEIVE_TIMEOUT)
