"""Direct messages through the real discord.py client and the local Discord: the member is looked
up in the servers where they followed, the DM channel opened and the day's papers sent once,
whatever Discord answers."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.nonces import direct_nonce
from bot.follows import parse_follow
from tests.support.delivery import WAIT, Harness, delivering
from tests.support.fake_discord import GUILD_ID, MEMBER_USER_ID, FakeDiscord, RecordedRequest
from tests.support.posts import sample_text
from tests.support.waiting import until_committed

BOB = MEMBER_USER_ID
MARCH_15 = dt.date(2021, 3, 15)
MARCH_24 = dt.date(2021, 3, 24)
# On 2021-03-15 "dimension reduction" matches #3, Modern Dimension Reduction.
DIMENSION_TITLE = "#3 · Modern Dimension Reduction"
LEFT_GUILD = 999  # a server the bot is not in (any more)


async def follow_for_bob(d: Harness, keyword: str = "dimension reduction") -> None:
    """Bob follows a keyword for himself, in the server (as /follow ... for:me does)."""
    follow = parse_follow("keyword", keyword)
    assert await d.bot.store.follows.follow_member(BOB, GUILD_ID, follow) == "added"


def bob_requests(fake: FakeDiscord) -> list[RecordedRequest]:
    """The requests of a direct message to Bob: member look-ups, the DM channel, the post."""
    dm = fake.world.dm_channel_of(BOB)
    wanted = [f"/guilds/{g}/members/{BOB}" for g in (GUILD_ID, LEFT_GUILD)]
    wanted += ["/users/@me/channels"] + ([f"/channels/{dm.id}/messages"] if dm else [])
    return [r for r in fake.requests if r.path in wanted]


def shown(requests: list[RecordedRequest]) -> list[tuple[str, str, int | None]]:
    return [(r.method, r.path, r.status) for r in requests]


async def test_a_direct_message_is_sent_once_to_the_dm_channel(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await follow_for_bob(d)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()

        [message] = await fake_discord.wait_for_dms(BOB, timeout=WAIT)
        assert message["content"].startswith(
            "**Hot Papers 2021-03-15** · 1 of its 10 papers matches what you follow."
        )
        assert [e["title"] for e in message["embeds"]] == [DIMENSION_TITLE]
        dm = fake_discord.world.dm_channel_of(BOB)
        assert dm is not None
        member, opened, post = bob_requests(fake_discord)
        assert shown([member, opened, post]) == [
            ("GET", f"/guilds/{GUILD_ID}/members/{BOB}", 200),
            ("POST", "/users/@me/channels", 200),
            ("POST", f"/channels/{dm.id}/messages", 200),
        ]
        assert opened.json == {"recipient_id": str(BOB)}
        assert post.json is not None
        assert post.json["nonce"] == direct_nonce(BOB, MARCH_15)
        assert (post.json["enforce_nonce"], post.json["allowed_mentions"]) == (True, {"parse": []})
        [row] = await d.bot.store.direct.ledger(BOB)
        assert (row.date, row.status, row.message_id) == (MARCH_15, "sent", int(message["id"]))

        # Nothing more to send, now or at the next run.
        await d.run()
        assert len(bob_requests(fake_discord)) == 3
        assert len(fake_discord.dm_messages(BOB)) == 1


async def test_closed_dms_fail_that_day_without_retry_and_a_later_day_reopens_them(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await follow_for_bob(d, "transformers")  # #5 #6 #9 #14 of March 24, none of March 15
        await follow_for_bob(d)
        fake_discord.close_dms(BOB)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        with caplog.at_level(logging.INFO, logger="bot.delivery.direct"):
            await d.run()
        *_, refused = bob_requests(fake_discord)
        assert (refused.status, refused.response) == (
            403,
            {"message": "Cannot send messages to this user", "code": 50007},
        )
        [row] = await d.bot.store.direct.ledger(BOB)
        assert (row.status, row.attempts, row.last_error) == (
            "failed",
            1,
            "DMs closed (403: Cannot send messages to this user)",
        )
        assert await d.bot.store.follows.owes_dm_note(BOB)
        assert f"member {BOB} does not take direct messages" in caplog.text

        # Never tried again, however often delivery runs.
        count = len(bob_requests(fake_discord))
        await d.run()
        await d.run()
        assert len(bob_requests(fake_discord)) == count

        # The member opens their DMs; the next day's message gets through.
        fake_discord.close_dms(BOB, closed=False)
        d.publish("2021-03-24", sample_text("2021-03-24"))
        await d.run()
        [message] = fake_discord.dm_messages(BOB)
        assert [e["title"].split(" · ")[0] for e in message["embeds"]] == ["#5", "#6", "#9", "#14"]
        assert not await d.bot.store.follows.dms_closed(BOB)
        assert not await d.bot.store.follows.owes_dm_note(BOB)


async def test_a_member_in_none_of_their_servers_loses_their_follows(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await follow_for_bob(d)
        await d.bot.store.follows.follow_member(BOB, LEFT_GUILD, parse_follow("keyword", "nlp"))
        await fake_discord.remove_member(GUILD_ID, BOB)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        with caplog.at_level(logging.INFO, logger="bot.delivery.direct"):
            await d.run()
        # The servers where Bob followed, the latest first: the bot is not in the one, Bob
        # has left the other.
        assert shown(bob_requests(fake_discord)) == [
            ("GET", f"/guilds/{LEFT_GUILD}/members/{BOB}", 404),
            ("GET", f"/guilds/{GUILD_ID}/members/{BOB}", 404),
        ]
        assert [r.response for r in bob_requests(fake_discord)] == [
            {"message": "Unknown Guild", "code": 10004},
            {"message": "Unknown Member", "code": 10007},
        ]
        assert fake_discord.dm_messages(BOB) == []
        assert await d.bot.store.follows.of_member(BOB) == ()
        assert await d.bot.store.direct.ledger() == []
        assert (
            f"member {BOB} is in none of the servers where they followed papers "
            f"({LEFT_GUILD}, {GUILD_ID}); deleted their 2 personal follows"
        ) in caplog.text


async def test_a_member_still_in_one_of_their_servers_gets_the_message(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.bot.store.follows.follow_member(BOB, LEFT_GUILD, parse_follow("keyword", "nlp"))
        await follow_for_bob(d)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        # The server of the latest follow first: Bob is there, no other is looked up.
        assert shown(bob_requests(fake_discord)) == [
            ("GET", f"/guilds/{GUILD_ID}/members/{BOB}", 200),
            ("POST", "/users/@me/channels", 200),
            ("POST", f"/channels/{fake_discord.world.dm_channel_of(BOB).id}/messages", 200),
        ]
        # Both follows match on March 15: "nlp" is in #10, Preregistering NLP Research.
        [message] = fake_discord.dm_messages(BOB)
        assert [e["title"] for e in message["embeds"]] == [
            DIMENSION_TITLE,
            "#10 · Preregistering NLP Research",
        ]


async def test_a_server_error_is_retried_later_and_a_lost_answer_is_not_sent_twice(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await follow_for_bob(d)
        direct: Any = d.bot.service.direct
        now = dt.datetime.now(dt.UTC)
        direct.clock = lambda: now
        # Discord stores the message, then the answer is lost.
        fake_discord.fail_next("POST", "/channels/{id}/messages", 503, commit=True)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        [stored] = fake_discord.dm_messages(BOB)
        [row] = await d.bot.store.direct.ledger(BOB)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error == "HTTP 503: 503: Server Error"

        await d.run()  # not due before its backoff
        assert (await d.bot.store.direct.ledger(BOB))[0].status == "pending"

        # After the backoff, the message found in the DM channel is recorded, not sent again.
        direct.clock = lambda: now + dt.timedelta(seconds=31)
        await d.run()
        assert fake_discord.dm_messages(BOB) == [stored]
        [row] = await d.bot.store.direct.ledger(BOB)
        assert (row.status, row.message_id) == ("sent", int(stored["id"]))
        posts = [r for r in bob_requests(fake_discord) if r.path.endswith("/messages")]
        assert [(r.method, r.status) for r in posts] == [("POST", 503), ("GET", 200)]


async def test_rate_limits_that_outlast_discord_py_hold_every_direct_message(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """Five 429s (discord.py's retries spent): the message waits as long as Discord says and
    at least the base backoff, and no other message is tried meanwhile."""
    async with delivering(fake_discord, tmp_path) as d:
        await follow_for_bob(d)
        direct: Any = d.bot.service.direct
        now = dt.datetime.now(dt.UTC)
        direct.clock = lambda: now
        fake_discord.fail_next("POST", "/channels/{id}/messages", 429, count=5, retry_after=0.01)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        [row] = await d.bot.store.direct.ledger(BOB)
        assert (row.status, row.attempts) == ("pending", 1)
        assert direct.halted_until == now + dt.timedelta(seconds=direct.base_backoff)
        posts = [r for r in bob_requests(fake_discord) if r.path.endswith("/messages")]
        assert [r.status for r in posts] == [429] * 5

        direct.clock = lambda: now + dt.timedelta(seconds=direct.base_backoff)
        await d.run()
        assert [m["embeds"][0]["title"] for m in fake_discord.dm_messages(BOB)] == [DIMENSION_TITLE]
        assert (await d.bot.store.direct.ledger(BOB))[0].status == "sent"


async def test_the_bot_leaving_the_only_server_of_a_member_forgets_them(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await follow_for_bob(d)
        await d.bot.store.follows.follow_member(7, LEFT_GUILD, parse_follow("keyword", "nlp"))
        await fake_discord.remove_guild(GUILD_ID)

        async def forgotten() -> bool:
            return await d.bot.store.follows.of_member(BOB) == ()

        await until_committed(d.bot.store.database, forgotten, "Bob's follows deleted")
        assert await d.bot.store.follows.of_member(7) != ()  # followed in another server
