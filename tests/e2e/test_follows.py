"""Follows end to end: slash commands through the real discord.py client, posts landing in the
watched directory, digests and direct messages arriving at the local Discord; and direct
messages across a SIGKILL of `hotpapers run`, sent exactly once.

Expected papers are read from the bundled posts by hand (see the comments), not by the bot.
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from pathlib import Path
from typing import Any

from bot.follows import parse_follow
from bot.store import Store
from tests.support.delivery import PAPERS, WAIT, Harness, delivering
from tests.support.fake_discord import (
    GUILD_ID,
    MEMBER_USER_ID,
    FakeDiscord,
    FakeMember,
    FakeUser,
)
from tests.support.posts import sample_text
from tests.support.processes import (
    DAY_A,
    DAY_B,
    Layout,
    bot_processes,
    poll_until,
    prepare,
    publish,
    wait_exit,
)
from tests.support.waiting import until_committed

BOB = MEMBER_USER_ID


async def as_bob(d: Harness, name: str, options: dict[str, Any]) -> dict[str, Any]:
    handle = await d.fake.interact(name, options, user_id=BOB, channel_id=PAPERS)
    reply: dict[str, Any] = await handle.wait_reply(WAIT)
    return reply


def titles(message: dict[str, Any]) -> list[str]:
    return [e["title"].split(" · ")[0] for e in message["embeds"]]


def footers(message: dict[str, Any]) -> dict[str, str]:
    return {
        e["title"].split(" · ")[0]: e["footer"]["text"] for e in message["embeds"] if "footer" in e
    }


async def test_a_channel_follow_brings_a_paper_below_its_top_with_its_mark(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.settings(top=2)
        for options in ({"keyword": "dimension reduction"}, {"author": "Philipp Krahenbuhl"}):
            reply = await d.command("follow", options)
            assert reply["content"].startswith("<#1001> now follows"), reply
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()

        # cs.CV's top 2 on March 15 are #1 and #2 (Philipp Krähenbühl's); "dimension
        # reduction" is #3, Modern Dimension Reduction, in cs.LG.
        [message] = d.messages(PAPERS)
        assert message["content"] == (
            "**Hot Papers 2021-03-15** · top 2 of 7 papers matching cs.CV (10 that day)"
            " · and 1 more paper this channel follows"
        )
        assert titles(message) == ["#1", "#2", "#3"]
        assert footers(message) == {
            "#2": "followed: author Philipp Krahenbuhl",
            "#3": "followed: keyword 'dimension reduction'",
        }
        assert [r.status for r in await d.ledger()] == ["sent"]


async def test_a_member_gets_one_direct_message_a_day_with_all_their_matches(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        for options in (
            {"keyword": "Transformers", "for": "me"},
            {"author": "Vladlen Koltun", "for": "me"},
            {"keyword": "dimension reduction", "for": "me"},
        ):
            assert (await as_bob(d, "follow", options))["content"].startswith("You now follow")

        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        # March 15: Vladlen Koltun wrote #2 and #5, "dimension reduction" is #3.
        [first] = await fake_discord.wait_for_dms(BOB, 1, timeout=WAIT)
        assert titles(first) == ["#2", "#3", "#5"]
        assert footers(first) == {
            "#2": "followed: author Vladlen Koltun",
            "#3": "followed: keyword 'dimension reduction'",
            "#5": "followed: author Vladlen Koltun",
        }

        d.publish("2021-03-24", sample_text("2021-03-24"))
        await d.run()
        # March 24: "transformers" is a word of #5, #6 and #9's titles and #14's abstract
        # ("CNN-transformers" in its title is the two words cnn, transformers).
        first_again, second = await fake_discord.wait_for_dms(BOB, 2, timeout=WAIT)
        assert first_again == first
        assert second["content"].startswith(
            "**Hot Papers 2021-03-24** · 4 of its 15 papers match what you follow."
        )
        assert titles(second) == ["#5", "#6", "#9", "#14"]

        await d.run()
        assert len(fake_discord.dm_messages(BOB)) == 2
        rows = await d.bot.store.direct.ledger(BOB)
        assert [(r.date.isoformat(), r.status) for r in rows] == [
            ("2021-03-15", "sent"),
            ("2021-03-24", "sent"),
        ]
        # No channel got anything: these were Bob's own follows.
        assert d.messages(PAPERS) == []


async def test_closed_dms_are_not_retried_and_told_once_in_the_next_reply(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await as_bob(d, "follow", {"keyword": "dimension reduction", "for": "me"})
        fake_discord.close_dms(BOB)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        await d.run()
        refused = [
            r for r in fake_discord.find_requests("POST", "/channels/{id}/messages") if r.status
        ]
        assert [(r.status, (r.response or {}).get("code")) for r in refused] == [(403, 50007)]

        # Any command: here /subscriptions, a public reply, so the note follows it privately.
        handle = await fake_discord.interact("subscriptions", user_id=BOB, channel_id=PAPERS)
        [note] = await handle.wait_followups(1, WAIT)
        assert note["content"].startswith(
            "I couldn't DM you the papers you follow: your DMs are closed."
        )
        assert int(note["flags"]) & 64
        # Told once: recorded as shown, so the next command comes without it.
        store = d.bot.store

        async def told() -> bool:
            return not await store.follows.owes_dm_note(BOB)

        await until_committed(store.database, told, "the note recorded as shown")
        later = await fake_discord.interact("subscriptions", user_id=BOB, channel_id=PAPERS)
        await later.wait_reply(WAIT)
        assert later.followups == []
        assert await told()


async def test_a_member_who_left_the_server_loses_their_follows(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await as_bob(d, "follow", {"keyword": "dimension reduction", "for": "me"})
        await fake_discord.remove_member(GUILD_ID, BOB)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        assert fake_discord.dm_messages(BOB) == []
        assert fake_discord.find_requests("POST", "/users/@me/channels") == []
        assert await d.bot.store.follows.of_member(BOB) == ()


# ---------------------------------------------------------------------------------------------
# `hotpapers run` killed while it sends direct messages
# ---------------------------------------------------------------------------------------------

MEMBERS = tuple(range(3001, 3021))


async def test_killed_while_sending_direct_messages_resumes_without_duplicates(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    setup = prepare(fake_discord, tmp_path, Layout(channels={}))
    guild = fake_discord.guilds[GUILD_ID]
    for user_id in MEMBERS:
        user = FakeUser(user_id, f"member{user_id}")
        fake_discord.users[user_id] = user
        guild.members.append(FakeMember(user))
    async with await Store.open(setup.database) as store:
        for user_id in MEMBERS:
            follow = parse_follow("keyword", "learning")  # in both big days, many times
            assert await store.follows.follow_member(user_id, GUILD_ID, follow) == "added"

    def dms() -> dict[int, list[dict[str, Any]]]:
        return {u: fake_discord.dm_messages(u) for u in MEMBERS}

    victim: list[subprocess.Popen[bytes]] = []

    def kill_at_the_fifth(message: dict[str, Any]) -> None:
        if victim and sum(map(len, dms().values())) >= 5:
            victim.pop().send_signal(signal.SIGKILL)

    fake_discord.message_listeners.append(kill_at_the_fifth)
    async with bot_processes(setup) as processes:
        victim.append(await processes.start_connected())
        first = processes.running[0]
        publish(setup, DAY_A)
        assert await wait_exit(first) == -signal.SIGKILL
        assert 5 <= sum(map(len, dms().values())) < len(MEMBERS)

        second = await processes.start_connected()
        publish(setup, DAY_B)

        def all_sent() -> bool:
            return all(len(messages) == 2 for messages in dms().values())

        await poll_until(all_sent, 30, lambda: f"direct messages: {dms()}", second)
        second.send_signal(signal.SIGTERM)
        await wait_exit(second)

    async with await Store.open(setup.database) as store:
        rows = await store.direct.ledger()
    days = [dt.date.fromisoformat(DAY_A), dt.date.fromisoformat(DAY_B)]
    assert [(r.user_id, r.date, r.status) for r in rows] == [
        (u, day, "sent") for u in MEMBERS for day in days
    ]
    for user_id, messages in dms().items():
        assert [m["content"].split(" · ")[0] for m in messages] == [
            f"**Hot Papers {DAY_A}**",
            f"**Hot Papers {DAY_B}**",
        ], user_id
        ids = [r.message_id for r in rows if r.user_id == user_id]
        assert ids == [int(m["id"]) for m in messages]
    # The fifth message was stored but its answer lost with the process: it was sent again
    # with the same nonce, and Discord answered with the stored one.
    assert fake_discord.nonce_hits >= 1
