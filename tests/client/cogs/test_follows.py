"""/follow, /following and /unfollow through the real discord.py client and the local Discord:
who may follow for a channel or for themselves, the limit, the autocomplete, and the one-time
note of closed DMs in a member's next reply."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.client.bot import HotPapersBot
from bot.follows import parse_follow
from bot.store import PlannedDirect, encode_digest
from tests.support.commands import EPHEMERAL, PERCEIVER, choices, command, notice
from tests.support.fake_discord import (
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    PAPERS_CHANNEL_ID,
    THREAD_ID,
    FakeDiscord,
)
from tests.support.harness import running_bot

BOB = MEMBER_USER_ID
DIMENSION = parse_follow("keyword", "dimension reduction")
LECUN = parse_follow("author", "Yann LeCun")
DMS_CLOSED = (
    "I couldn't DM you the papers you follow: your DMs are closed. Allow direct messages from"
    " this server's members (the server's Privacy Settings) and the next day's papers will"
    " reach you; `/following for:me` lists what you follow."
)


async def listing(
    fake: FakeDiscord, options: dict[str, Any] | None = None, **where: Any
) -> dict[str, str]:
    """/following's embeds, title → description; only the member who asked sees them."""
    handle, reply = await command(fake, "following", options, **where)
    assert handle.ephemeral
    return {e["title"]: e["description"] for e in reply["embeds"]}


# ---------------------------------------------------------------------------------------------
# /follow
# ---------------------------------------------------------------------------------------------


async def test_follow_for_the_channel(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(fake_discord, "follow", {"keyword": "Dimension  Reduction"})
        assert text == (
            "<#1001> now follows keyword 'Dimension Reduction': from the next Hot Papers day,"
            " papers that match join its digest, marked with it. 1 of 25 follows."
        )
        again = await notice(fake_discord, "follow", {"keyword": "dimension-reduction"})
        assert again == "<#1001> already follows keyword 'Dimension Reduction'."
        author = await notice(fake_discord, "follow", {"author": "Yann LeCun", "for": "channel"})
        assert author.endswith("2 of 25 follows.")
        channel = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        assert channel is not None
        assert channel.categories == ()
        assert [f.text for f in channel.follows] == ["Dimension Reduction", "Yann LeCun"]
        # The newest day in the archive is 2021-03-24: the channel starts with the next.
        assert channel.since_date == dt.date(2021, 3, 25)


async def test_follow_for_me_is_open_to_every_member(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(
            fake_discord, "follow", {"author": "Yann A. LeCun", "for": "me"}, user_id=BOB
        )
        assert text == (
            "You now follow author Yann A. LeCun: on each new Hot Papers day with a paper that"
            " matches, I send you a direct message (allow direct messages from this server's"
            " members). 1 of 25 follows."
        )
        assert await bot.store.follows.of_member(BOB) == (parse_follow("author", "Yann A. LeCun"),)
        assert await bot.store.follows.member_guilds(BOB) == (GUILD_ID,)
        assert await bot.store.subscriptions.get(PAPERS_CHANNEL_ID) is None


async def test_the_channel_form_needs_manage_channels_when_it_runs(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        # Discord offers /follow to everyone (for:me); the bot checks the channel form itself.
        text = await notice(fake_discord, "follow", {"keyword": "diffusion"}, user_id=BOB)
        assert text == (
            "You need the **Manage Channels** permission in this channel to change its"
            " subscriptions or settings."
        )
        await notice(fake_discord, "follow", {"keyword": "diffusion"})  # alice, an admin
        refused = await notice(
            fake_discord, "unfollow", {"follow": "keyword:diffusion"}, user_id=BOB
        )
        assert refused == text
        assert [f.text for f in await bot.store.follows.of_channel(PAPERS_CHANNEL_ID)] == [
            "diffusion"
        ]
        assert await bot.store.follows.of_member(BOB) == ()


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        (
            {},
            "Give one keyword or one author to follow, like `/follow keyword:diffusion` or"
            " `/follow author:Yann LeCun`. Add `for:me` to get the papers by direct message"
            " instead of in this channel.",
        ),
        (
            {"keyword": "diffusion", "author": "Yann LeCun"},
            "Give one keyword or one author to follow, like `/follow keyword:diffusion` or"
            " `/follow author:Yann LeCun`, not both at once. Add `for:me` to get the papers by"
            " direct message instead of in this channel.",
        ),
        (
            {"keyword": "--", "for": "me"},
            "`--` cannot be followed as a keyword: it has no letter or digit; a keyword is one"
            " or more words.",
        ),
        (
            {"author": "LeCun", "for": "me"},
            "`LeCun` cannot be followed as an author: an author is followed by first and last"
            " name, like Yann LeCun.",
        ),
        (
            {"keyword": "one two three four five six seven eight nine"},
            "`one two three four five six seven eight nine` cannot be followed as a keyword: it"
            " has 9 words; a keyword has at most 8.",
        ),
    ],
)
async def test_follow_refuses_what_it_cannot_follow(
    fake_discord: FakeDiscord, tmp_path: Path, options: dict[str, str], refusal: str
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        assert await notice(fake_discord, "follow", options) == refusal
        assert await bot.store.follows.of_member(2001) == ()
        assert await bot.store.subscriptions.get(PAPERS_CHANNEL_ID) is None


async def test_at_most_25_follows(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        for n in range(25):
            await bot.store.follows.follow_member(BOB, GUILD_ID, parse_follow("keyword", f"t{n}"))
            await bot.store.follows.follow_channel(
                PAPERS_CHANNEL_ID, GUILD_ID, parse_follow("keyword", f"t{n}")
            )
        mine = await notice(
            fake_discord, "follow", {"keyword": "diffusion", "for": "me"}, user_id=BOB
        )
        channel = await notice(fake_discord, "follow", {"keyword": "diffusion"})
        assert mine == (
            "You already follow 25 keywords and authors, the most allowed, so keyword"
            " 'diffusion' was not added. Remove one with `/unfollow` first."
        )
        assert channel == (
            "<#1001> already follows 25 keywords and authors, the most allowed, so keyword"
            " 'diffusion' was not added. Remove one with `/unfollow` first."
        )
        assert len(await bot.store.follows.of_member(BOB)) == 25
        assert len(await bot.store.follows.of_channel(PAPERS_CHANNEL_ID)) == 25
        # Another channel has 25 of its own.
        other = await notice(
            fake_discord, "follow", {"keyword": "diffusion"}, channel_id=GENERAL_CHANNEL_ID
        )
        assert other.endswith("1 of 25 follows.")


async def test_follow_in_a_thread_follows_for_its_channel(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(fake_discord, "follow", {"keyword": "diffusion"}, channel_id=THREAD_ID)
        assert text.startswith("<#1001> now follows keyword 'diffusion'")
        assert await bot.store.follows.of_channel(THREAD_ID) == ()
        assert len(await bot.store.follows.of_channel(PAPERS_CHANNEL_ID)) == 1


async def test_follow_is_not_offered_in_direct_messages(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path):
        with pytest.raises(PermissionError, match="not available in DMs"):
            await fake_discord.interact("follow", {"keyword": "x", "for": "me"}, dm=True)


# ---------------------------------------------------------------------------------------------
# /following
# ---------------------------------------------------------------------------------------------


async def test_following_lists_the_channel_and_the_member(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        await bot.store.follows.follow_channel(PAPERS_CHANNEL_ID, GUILD_ID, DIMENSION)
        await bot.store.follows.follow_member(BOB, GUILD_ID, LECUN)
        both = await listing(fake_discord, user_id=BOB)
        assert both == {
            "Followed in #papers": (
                "• keyword 'dimension reduction'\n\n"
                "1 of 25. Papers they match join this channel's digest, marked with what they"
                " matched. Someone with Manage Channels can add one with `/follow` and remove"
                " one with `/unfollow`."
            ),
            "Followed by you": (
                "• author Yann LeCun\n\n"
                "1 of 25. On each new Hot Papers day with a paper they match, I send you a"
                " direct message. `/unfollow all for:me` deletes them all."
            ),
        }
        mine = await listing(fake_discord, {"for": "me"}, user_id=BOB)
        assert list(mine) == ["Followed by you"]
        channel = await listing(fake_discord, {"for": "channel"}, channel_id=THREAD_ID)
        assert list(channel) == ["Followed in #papers"]
        in_dm = await listing(fake_discord, user_id=BOB, dm=True)
        assert in_dm == {"Followed by you": mine["Followed by you"]}
        nobody = await listing(fake_discord, channel_id=GENERAL_CHANNEL_ID)
        assert nobody == {
            "Followed in #general": (
                "This channel follows no keyword or author. Someone with Manage Channels can"
                " add one with `/follow keyword:diffusion` or `/follow author:Yann LeCun`."
            ),
            "Followed by you": (
                "You follow no keyword or author yourself. Add one with `/follow"
                " keyword:diffusion for:me` to get matching papers by direct message."
            ),
        }
        refused = await notice(fake_discord, "following", {"for": "channel"}, dm=True)
        assert refused == "This command only works in a server channel, not in direct messages."


# ---------------------------------------------------------------------------------------------
# /unfollow
# ---------------------------------------------------------------------------------------------


async def test_unfollow_autocomplete_offers_the_follows_then_all(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        for follow in (DIMENSION, LECUN):
            await bot.store.follows.follow_channel(PAPERS_CHANNEL_ID, GUILD_ID, follow)
        await bot.store.follows.follow_member(BOB, GUILD_ID, parse_follow("keyword", "Naïve"))

        offered = await choices(fake_discord, "unfollow", "follow", "")
        assert offered == [
            {"name": "keyword 'dimension reduction'", "value": "keyword:dimension reduction"},
            {"name": "author Yann LeCun", "value": "author:Yann LeCun"},
            {"name": "all of them (2)", "value": "all"},
        ]
        narrowed = await choices(fake_discord, "unfollow", "follow", "LÉCUN")
        assert [c["value"] for c in narrowed] == ["author:Yann LeCun"]
        in_thread = await choices(fake_discord, "unfollow", "follow", "", channel_id=THREAD_ID)
        assert in_thread == offered

        handle = await fake_discord.autocomplete(
            "unfollow", {"follow": "nai", "for": "me"}, focused="follow", user_id=BOB
        )
        assert await handle.wait_choices() == [
            {"name": "keyword 'Naïve'", "value": "keyword:Naïve"}
        ]
        in_dm = await choices(fake_discord, "unfollow", "follow", "", user_id=BOB, dm=True)
        assert [c["value"] for c in in_dm] == ["keyword:Naïve", "all"]
        nothing = await choices(
            fake_discord, "unfollow", "follow", "", channel_id=GENERAL_CHANNEL_ID
        )
        assert nothing == []


async def test_unfollow_autocomplete_offers_all_even_with_25_follows(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        for n in range(25):
            follow = parse_follow("keyword", f"topic {n}")
            assert await bot.store.follows.follow_member(BOB, GUILD_ID, follow) == "added"
        offered = await choices(fake_discord, "unfollow", "follow", "", user_id=BOB, dm=True)
    assert len(offered) == 25
    assert offered[-1] == {"name": "all of them (25)", "value": "all"}
    assert offered[-2]["value"] == "keyword:topic 23"


async def test_unfollow_one_by_its_choice_or_as_typed(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        for follow in (DIMENSION, LECUN):
            await bot.store.follows.follow_channel(PAPERS_CHANNEL_ID, GUILD_ID, follow)
        chosen = await notice(fake_discord, "unfollow", {"follow": "author:Yann LeCun"})
        assert chosen == "<#1001> no longer follows author Yann LeCun. 1 follow left."
        typed = await notice(fake_discord, "unfollow", {"follow": "Dimension-Reduction"})
        assert typed == "<#1001> no longer follows keyword 'dimension reduction'. 0 follows left."
        # Its last follow gone and no category: the channel is forgotten.
        assert await bot.store.subscriptions.get(PAPERS_CHANNEL_ID) is None
        missing = await notice(fake_discord, "unfollow", {"follow": "diffusion"})
        assert missing == "<#1001> does not follow `diffusion`.\nIt follows nothing yet."


async def test_unfollow_something_not_followed_names_what_is(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        await bot.store.follows.follow_member(BOB, GUILD_ID, LECUN)
        text = await notice(
            fake_discord, "unfollow", {"follow": "keyword:Yann LeCun", "for": "me"}, user_id=BOB
        )
        assert text == ("You do not follow `keyword:Yann LeCun`.\nYour follows: author Yann LeCun.")
        assert await bot.store.follows.of_member(BOB) == (LECUN,)


async def test_unfollow_all_for_me_deletes_everything_kept_of_the_member(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        store = bot.store
        for follow in (DIMENSION, LECUN):
            await store.follows.follow_member(BOB, GUILD_ID, follow)
        await store.follows.follow_channel(PAPERS_CHANNEL_ID, GUILD_ID, DIMENSION)
        body = encode_digest([{"content": "papers"}])
        await store.direct.record_plan(
            [PlannedDirect(BOB, dt.date(2021, 3, 24), dt.datetime.now(dt.UTC), body)]
        )
        text = await notice(fake_discord, "unfollow", {"follow": "all", "for": "me"}, user_id=BOB)
        assert text == (
            "You no longer follow anything: 2 follows deleted, with the record of the direct"
            " messages sent to you."
        )
        assert await store.follows.of_member(BOB) == ()
        assert await store.direct.ledger() == []
        # The channel's follow is the channel's.
        assert await store.follows.of_channel(PAPERS_CHANNEL_ID) == (DIMENSION,)
        again = await notice(
            fake_discord, "unfollow", {"follow": "all", "for": "me"}, user_id=BOB, dm=True
        )
        assert again == "You do not follow `all`.\nYou follow nothing yet."


# ---------------------------------------------------------------------------------------------
# The note of closed DMs
# ---------------------------------------------------------------------------------------------


async def close_bobs_dms(bot: HotPapersBot) -> None:
    """As a refused direct message leaves it: Bob's DMs closed, a note owed."""
    store = bot.store
    await store.follows.follow_member(BOB, GUILD_ID, DIMENSION)
    day = dt.date(2021, 3, 24)
    body = encode_digest([{"content": "papers"}])
    await store.direct.record_plan([PlannedDirect(BOB, day, dt.datetime.now(dt.UTC), body)])
    assert await store.direct.closed(BOB, day, "DMs closed (403: Cannot send messages)")


async def test_closed_dms_are_told_once_with_the_next_reply(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        await close_bobs_dms(bot)
        # A reply only Bob sees carries the note in its text.
        _, reply = await command(
            fake_discord, "follow", {"keyword": "diffusion", "for": "me"}, user_id=BOB
        )
        assert reply["content"] == (
            "You now follow keyword 'diffusion': on each new Hot Papers day with a paper that"
            " matches, I send you a direct message (allow direct messages from this server's"
            f" members). 2 of 25 follows.\n\n{DMS_CLOSED}"
        )
        assert not await bot.store.follows.owes_dm_note(BOB)
        # Once: the next reply has no note, and /following says the DMs are still closed.
        again = await listing(fake_discord, {"for": "me"}, user_id=BOB)
        assert again["Followed by you"].endswith(
            "Your DMs are closed: Discord refused my last direct message. Allow direct messages"
            " from this server's members to receive them again."
        )
        _, later = await command(fake_discord, "paper", {"id": PERCEIVER}, user_id=BOB)
        assert [r["content"] for r in fake_discord.interactions[-1].replies] == [""]
        assert later["embeds"]


async def test_a_public_reply_leaves_the_note_to_a_follow_up_only_the_member_sees(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        await close_bobs_dms(bot)
        # Other members are not told Bob's news, and it stays owed to him.
        _, theirs = await command(fake_discord, "paper", {"id": PERCEIVER})
        assert theirs["content"] == ""
        assert await bot.store.follows.owes_dm_note(BOB)
        handle, card = await command(fake_discord, "paper", {"id": PERCEIVER}, user_id=BOB)
        assert not handle.ephemeral
        assert card["content"] == ""
        [note] = await handle.wait_followups(1)
        assert note["content"] == DMS_CLOSED
        assert int(note["flags"]) & EPHEMERAL
        assert fake_discord.interactions[-2].followups == []  # by now, theirs would be there


@pytest.mark.parametrize(
    ("name", "options"),
    [("search", {"query": "attention"}), ("top", {}), ("author", {"name": "Vladlen Koltun"})],
)
async def test_a_paged_list_is_followed_by_the_note_only_the_member_sees(
    fake_discord: FakeDiscord, tmp_path: Path, name: str, options: dict[str, Any]
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        await close_bobs_dms(bot)
        handle, listed = await command(fake_discord, name, options, user_id=BOB)
        assert not handle.ephemeral
        assert listed["embeds"]
        [note] = await handle.wait_followups(1)
        assert note["content"] == DMS_CLOSED
        assert int(note["flags"]) & EPHEMERAL
        assert not await bot.store.follows.owes_dm_note(BOB)


# ---------------------------------------------------------------------------------------------
# A channel that follows without categories: /digest and /subscriptions
# ---------------------------------------------------------------------------------------------


async def test_a_channel_with_follows_only_previews_its_digest(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        await bot.store.follows.follow_channel(PAPERS_CHANNEL_ID, GUILD_ID, DIMENSION)
        _, preview = await command(fake_discord, "digest", {"date": "2021-03-15"})
        assert preview["content"] == (
            "**Hot Papers 2021-03-15** · 1 of 10 papers matches what this channel follows"
        )
        [embed] = preview["embeds"]
        assert (embed["title"], embed["footer"]["text"]) == (
            "#3 · Modern Dimension Reduction",
            "followed: keyword 'dimension reduction'",
        )
        empty = await notice(fake_discord, "digest", {"date": "2021-03-05"})
        assert empty == (
            "No paper on 2021-03-05 matches what this channel follows, so that day's digest"
            " is empty here."
        )
        _, shown = await command(fake_discord, "subscriptions")
        fields = {f["name"]: f["value"] for f in shown["embeds"][0]["fields"]}
        assert fields["Follows"] == (
            "1 keyword or author: papers that match join the digest. `/following` lists them."
        )
