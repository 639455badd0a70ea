"""/search, /top and /author through the real discord.py client and the local Discord: lists
paged with buttons, a select menu opening a card, other members refused, lists expiring after
15 idle minutes (on a clock the test moves) or forgotten by a restart, and every reply within
Discord's limits, pinging no one."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.client import results
from bot.client.bot import HotPapersBot
from bot.client.results import IDLE_MINUTES
from bot.ingest.files import ingest_files
from tests.support.clock import SteppedClock
from tests.support.commands import (
    EPHEMERAL,
    PERCEIVER,
    PERCEIVER_TITLE,
    assert_fits_discord,
    button,
    choices,
    command,
    components,
    edited_perceiver_post,
    notice,
    only_embed,
    option_values,
    select_menu,
    strings,
)
from tests.support.fake_discord import MEMBER_USER_ID, PAPERS_CHANNEL_ID, FakeDiscord
from tests.support.harness import running_bot
from tests.support.posts import sample_post

PAGES = [
    ["2103.12719", "2103.03098", "2103.03216", "2103.02886", "2103.12407"],
    ["2103.03221", "2103.02852", "2103.07153", "2103.02667", "2103.03170"],
    ["2103.12656", "2103.03114", "2103.07013", "2103.02997", "2103.12685"],
    ["2103.03123", "2103.12710", "2103.07292", "2103.07197", PERCEIVER],
    ["2103.12731"],
]  # what "learning" finds in the bundled posts, by relevance
PREVIOUS, NEXT = "◀ Previous", "Next ▶"
EXPIRED = "These results expired after 15 minutes without use; run `/search` again."


@contextlib.asynccontextmanager
async def bot_with_clock(
    fake: FakeDiscord, tmp_path: Path, **options: Any
) -> AsyncIterator[tuple[HotPapersBot, SteppedClock]]:
    async with running_bot(fake, tmp_path, **options) as bot:
        clock = SteppedClock()
        bot.result_lists.clock, bot.result_lists.sleep = clock, clock.sleep
        yield bot, clock


def footer(reply: dict[str, Any]) -> str:
    text: str = only_embed(reply)["footer"]["text"]
    return text


def disabled(reply: dict[str, Any]) -> list[bool]:
    return [bool(c.get("disabled")) for c in components(reply)]


async def page_to(fake: FakeDiscord, message: dict[str, Any], label: str) -> dict[str, Any]:
    """The list's message once `label` was clicked, as it was then."""
    handle = await fake.click(int(message["id"]), button(message, label)["custom_id"])
    reply = await handle.wait_reply()
    assert handle.callback_type == 7  # the list's own message, updated
    assert reply["id"] == message["id"]
    return copy.deepcopy(reply)


async def listed(fake: FakeDiscord, name: str, options: dict[str, Any], **where: Any) -> Any:
    """A list command's reply, as it was first sent (the local Discord keeps editing it)."""
    handle, reply = await command(fake, name, options, **where)
    return handle, copy.deepcopy(reply)


# --- /search ---------------------------------------------------------------------------------


async def test_search_pages_forward_and_back(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        handle, first = await listed(fake_discord, "search", {"query": "learning"})
        assert handle.callback_type == 4
        assert not handle.ephemeral  # the results are content: the channel sees them
        embed = only_embed(first)
        assert embed["title"] == "Search: learning"
        assert embed["description"].split("\n\n")[:2] == [
            "21 papers match; the most relevant first, then the most retweeted and favorited.",
            "**1.** [Leveraging background augmentations to encourage semantic focus in"
            " self-supervised contrastive learning](https://arxiv.org/abs/2103.12719)\n"
            "Chaitanya K. Ryali, David J. Schwab, Ari S. Morcos · cs.CV, cs.AI\n"
            "2021-03-24 #11 · 70 retweets + favorites",
        ]
        assert footer(first) == "Page 1 of 5 · 21 papers"
        assert option_values(first) == PAGES[0]
        assert select_menu(first)["placeholder"] == "Open a paper's card"
        assert disabled(first) == [False, True, False]  # no page before the first

        pages = [first]
        for number in range(2, 6):
            pages.append(await page_to(fake_discord, pages[-1], NEXT))
            assert footer(pages[-1]) == f"Page {number} of 5 · 21 papers"
            assert option_values(pages[-1]) == PAGES[number - 1]
        assert only_embed(pages[-1])["description"].split("\n\n")[1].startswith("**21.** ")
        assert disabled(pages[-1]) == [False, False, True]  # no page after the last

        back = await page_to(fake_discord, pages[-1], PREVIOUS)
        assert only_embed(back) == only_embed(pages[3])
        for _ in range(3):
            back = await page_to(fake_discord, back, PREVIOUS)
        assert only_embed(back) == embed
        assert disabled(back) == [False, True, False]
        # Every page replaced the one message: nothing else was posted.
        assert [m["id"] for m in fake_discord.messages.values()] == [first["id"]]


async def test_the_menu_opens_a_card_for_the_member_only(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        _, first = await listed(fake_discord, "search", {"query": "iterative attention"})
        assert option_values(first) == [PERCEIVER]
        assert components(first)[0]["options"][0]["label"] == f"1. {PERCEIVER_TITLE}"
        assert len(components(first)) == 1  # one page: no buttons
        handle = await fake_discord.choose(
            int(first["id"]), select_menu(first)["custom_id"], [PERCEIVER]
        )
        card = await handle.wait_reply()
    assert handle.callback_type == 4
    assert int(card["flags"]) & EPHEMERAL  # the card is for the member who chose it
    embed = only_embed(card)
    assert embed["title"] == PERCEIVER_TITLE
    assert embed["fields"][-1]["name"] == "Related in the archive"
    assert embed["fields"][-1]["value"].startswith("[Enhanced 3D Human Pose Estimation")
    assert fake_discord.messages[int(first["id"])]["edited_timestamp"] is None


async def test_another_member_cannot_page_or_open(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        _, first = await listed(fake_discord, "search", {"query": "learning"})
        refusals = [
            await fake_discord.click(
                int(first["id"]), button(first, NEXT)["custom_id"], user_id=MEMBER_USER_ID
            ),
            await fake_discord.choose(
                int(first["id"]),
                select_menu(first)["custom_id"],
                [PAGES[0][1]],
                user_id=MEMBER_USER_ID,
            ),
        ]
        for handle in refusals:
            reply = await handle.wait_reply()
            assert handle.callback_type == 4
            assert int(reply["flags"]) & EPHEMERAL
            assert reply["content"] == (
                "Only the member who ran this `/search` can page it or open its papers;"
                " run your own `/search`."
            )
        # bob's own search is his to page.
        _, his = await command(
            fake_discord, "search", {"query": "learning"}, user_id=MEMBER_USER_ID
        )
        handle = await fake_discord.click(
            int(his["id"]), button(his, NEXT)["custom_id"], user_id=MEMBER_USER_ID
        )
        assert footer(await handle.wait_reply()) == "Page 2 of 5 · 21 papers"
    assert fake_discord.messages[int(first["id"])]["edited_timestamp"] is None


async def test_a_list_expires_after_15_minutes_without_use(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    assert IDLE_MINUTES == 15
    async with bot_with_clock(fake_discord, tmp_path) as (bot, clock):
        _, first = await listed(fake_discord, "search", {"query": "learning"})
        message = fake_discord.messages[int(first["id"])]
        await clock.advance(14 * 60)
        second = await page_to(fake_discord, first, NEXT)  # used: another 15 minutes
        await clock.advance(14 * 60)
        assert message["content"] == ""
        assert bot.result_lists.lists
        await clock.advance(60)
        await fake_discord.notifier.wait_for(
            lambda: message["content"] or None, 5, lambda: "the message was not edited"
        )
        # Edited through the channel: no interaction token of the list is valid any more.
        (edit,) = fake_discord.find_requests("PATCH", f"/channels/{PAPERS_CHANNEL_ID}/messages/*")
        assert edit.path == f"/channels/{PAPERS_CHANNEL_ID}/messages/{first['id']}"
        assert edit.json["allowed_mentions"] == {"parse": []}
        assert message["content"] == EXPIRED
        assert message["embeds"] == second["embeds"]  # the page it was left on
        assert disabled(message) == [True, True, True]
        assert bot.result_lists.lists == {}
        with pytest.raises(PermissionError, match="disabled"):
            await fake_discord.click(int(first["id"]), button(message, NEXT)["custom_id"])


async def test_a_click_on_a_list_a_restart_forgot_is_answered(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        _, first = await listed(fake_discord, "search", {"query": "learning"})
    async with bot_with_clock(fake_discord, tmp_path, samples=False):
        handle = await fake_discord.click(int(first["id"]), button(first, NEXT)["custom_id"])
        updated = await handle.wait_reply()
        (told,) = await handle.wait_followups()
    assert handle.callback_type == 7  # answered, not "This interaction failed"
    assert updated["content"] == EXPIRED
    assert updated["embeds"] == first["embeds"]
    assert disabled(updated) == [True, True, True]
    assert told["content"] == EXPIRED
    assert int(told["flags"]) & EPHEMERAL


async def test_a_list_the_bot_cannot_edit_when_it_expires_is_answered_when_used(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with bot_with_clock(fake_discord, tmp_path) as (_, clock):
        _, first = await listed(fake_discord, "search", {"query": "learning"})
        fake_discord.fail_next("PATCH", "/channels/{channel}/messages/{message}", status=403)
        await clock.advance(IDLE_MINUTES * 60)
        await fake_discord.notifier.wait_for(
            lambda: fake_discord.find_requests("PATCH", "/channels/*") or None,
            5,
            lambda: "no edit was tried",
        )
        handle = await fake_discord.choose(
            int(first["id"]), select_menu(first)["custom_id"], [PAGES[0][0]]
        )
        updated = await handle.wait_reply()
    assert handle.callback_type == 7
    assert updated["content"] == EXPIRED
    assert disabled(updated) == [True, True, True]


async def test_search_filters_by_category_and_dates(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        _, reply = await command(
            fake_discord,
            "search",
            {
                "query": "learning",
                "category": "stat, cs.LG",
                "since": "2021-03-05",
                "until": "2021-03-05",
            },
        )
        found = await choices(fake_discord, "search", "category", "stat")
    embed = only_embed(reply)
    assert embed["description"].split("\n\n")[0] == (
        "8 papers match in stat.\\*, cs.LG, hot 2021-03-05; the most relevant first, then the"
        " most retweeted and favorited."
    )
    assert footer(reply) == "Page 1 of 2 · 8 papers"
    assert found[0] == {"name": "stat.* — Statistics (all 6 categories)", "value": "stat.*"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"query": "-vision"},
            "`-vision` cannot be searched: it only says what to leave out; add a word to look"
            " for, as in “transformer -vision”. Every word given must be in the title,"
            ' abstract or authors; put a phrase in "quotes", -word leaves papers with that word'
            " out, and word* also finds longer words.",
        ),
        (
            {"query": "learning", "since": "2021-3-5"},
            "`2021-3-5` is not a date. Use YYYY-MM-DD, like 2021-03-05.",
        ),
        (
            {"query": "learning", "since": "2021-03-24", "until": "2021-03-05"},
            "`since` 2021-03-24 is after `until` 2021-03-05: no day is in between.",
        ),
        (
            {"query": "learning", "category": "cs.VC"},
            "Unknown arXiv category `cs.VC`.\nDid you mean: cs.CV, cs.CC, cs.CE, cs.CG, cs.CL?\n"
            "Expected a category code like cs.CV or a whole archive like cs.",
        ),
        (
            {"query": "zyzzyva", "category": "cs.CV"},
            "No paper in the archive matches `zyzzyva` in cs.CV. Try other or fewer words, or"
            " leave out the category or dates.",
        ),
    ],
)
async def test_search_says_what_was_wrong(
    fake_discord: FakeDiscord, tmp_path: Path, options: dict[str, str], expected: str
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        assert await notice(fake_discord, "search", options) == expected


HOSTILE_TITLE = "@everyone <@123> **bold** [x](http://evil.example) " + "learning " * 60


async def test_results_fit_discord_and_ping_no_one(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    post = edited_perceiver_post(
        tmp_path, title=HOSTILE_TITLE.strip(), authors=[f"<@{n}> @here" for n in range(300)]
    )
    async with bot_with_clock(fake_discord, tmp_path, samples=False, posts=[post]):
        handle, reply = await command(fake_discord, "search", {"query": "everyone learning"})
        assert option_values(reply) == [PERCEIVER]
        opened = await fake_discord.choose(
            int(reply["id"]), select_menu(reply)["custom_id"], [PERCEIVER]
        )
        card = await opened.wait_reply()
    assert handle.callback is not None
    for body in (handle.callback["data"], reply, card):
        for text in strings(body):
            for ping in ("@everyone", "<@123>", "@here", "<@0>"):
                assert ping not in text, text
    assert handle.callback["data"]["allowed_mentions"] == {"parse": []}
    assert_fits_discord(only_embed(reply))
    label = select_menu(reply)["options"][0]["label"]
    assert len(label) <= 100
    assert label.endswith("…")
    assert label.startswith("1. @\u200beveryone <\u200b@123> **bold**")
    assert reply["mentions"] == []
    assert reply["mention_everyone"] is False


# --- /top ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "summary", "first_page"),
    [
        (
            "day",
            "2021-03-24 · 15 papers hot, by retweets + favorites over those days.",
            ["2103.12352", "2103.12685", "2103.12731", "2103.12718", "2103.12091"],
        ),
        (
            "week",
            "2021-03-18 to 2021-03-24 · 15 papers hot, by retweets + favorites over those days.",
            ["2103.12352", "2103.12685", "2103.12731", "2103.12718", "2103.12091"],
        ),
        (
            "month",
            "2021-02-23 to 2021-03-24 · 38 papers hot, by retweets + favorites over those days.",
            ["2103.12352", "2103.03098", "2103.12685", "2103.02667", PERCEIVER],
        ),
        (
            "year",
            "2020-03-25 to 2021-03-24 · 38 papers hot, by retweets + favorites over those days.",
            ["2103.12352", "2103.03098", "2103.12685", "2103.02667", PERCEIVER],
        ),
        (
            "all",
            "Every day in the archive · 38 papers hot, by retweets + favorites over those days.",
            ["2103.12352", "2103.03098", "2103.12685", "2103.02667", PERCEIVER],
        ),
    ],
)
async def test_top_over_each_period(
    fake_discord: FakeDiscord, tmp_path: Path, period: str, summary: str, first_page: list[str]
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        _, reply = await command(fake_discord, "top", {"period": period})
    embed = only_embed(reply)
    assert embed["title"] == f"Top papers of {'all time' if period == 'all' else 'the ' + period}"
    assert embed["description"].split("\n\n")[0] == summary
    assert option_values(reply) == first_page


async def test_top_of_the_week_by_default_in_a_category(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        _, reply = await listed(fake_discord, "top", {"category": "cs.CV"})
        handle = await fake_discord.click(int(reply["id"]), button(reply, NEXT)["custom_id"])
        second = await handle.wait_reply()
        empty = await notice(fake_discord, "top", {"period": "day", "category": "hep-lat"})
        never = await notice(fake_discord, "top", {"period": "all", "category": "hep-lat"})
    assert only_embed(reply)["title"] == "Top papers of the week"
    assert only_embed(reply)["description"].split("\n\n")[:2] == [
        "2021-03-18 to 2021-03-24 · 10 papers hot in cs.CV, by retweets + favorites over those"
        " days.",
        "**1.** [iMAP: Implicit Mapping and Positioning in Real-Time]"
        "(https://arxiv.org/abs/2103.12352)\n"
        "Edgar Sucar, Shikun Liu, Joseph Ortiz and 1 more (4 authors) · cs.CV\n"
        "2021-03-24 #1 · 6,460 retweets + favorites",
    ]
    assert option_values(second) == [
        "2103.12710",
        "2103.12236",
        "2103.12719",
        "2103.12723",
        "2103.12424",
    ]
    assert empty == "No paper in hep-lat was hot on 2021-03-24, the latest day in the archive."
    assert never == "No paper in hep-lat was hot on any day in the archive."


async def test_top_of_an_archive_whose_only_day_is_in_year_one(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """A post titled 0001-01-03 is one the generator could write: the week before it
    starts at the first date there is."""
    post = tmp_path / "0001-01-03---Hot-Papers.md"
    post.write_text(
        sample_post("2021-03-05").read_text(encoding="utf-8").replace("2021-03-05", "0001-01-03"),
        encoding="utf-8",
    )
    async with bot_with_clock(fake_discord, tmp_path, samples=False) as (bot, _):
        assert not (await ingest_files(bot.store.archive, [post])).rejected
        _, reply = await command(fake_discord, "top", {"period": "week"})
    assert only_embed(reply)["description"].split(" · ")[0] == "0001-01-01 to 0001-01-03"


async def test_top_of_an_empty_archive(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with bot_with_clock(fake_discord, tmp_path, samples=False):
        text = await notice(fake_discord, "top", {})
    assert text == (
        "The archive has no Hot Papers days yet; digests appear once the first post is published."
    )


# --- /author ---------------------------------------------------------------------------------


async def test_author_lists_their_papers_latest_first(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        offered = await choices(fake_discord, "author", "name", "KOLT")
        accented = await choices(fake_discord, "author", "name", "helene")
        _, reply = await command(fake_discord, "author", {"name": offered[0]["value"]})
        _, typed = await command(fake_discord, "author", {"name": "vladlen koltun"})
        _, unique = await command(fake_discord, "author", {"name": "zisser"})
    assert offered == [{"name": "Vladlen Koltun · 3 papers", "value": "Vladlen Koltun"}]
    assert accented == [{"name": "Hélène Le Cadre · 1 paper", "value": "Hélène Le Cadre"}]
    embed = only_embed(reply)
    assert embed["title"] == "Papers of Vladlen Koltun"
    assert embed["description"].split("\n\n")[0] == (
        "3 papers in the archive, the latest hot first."
    )
    assert option_values(reply) == ["2103.07461", "2103.07013", "2103.03114"]
    assert only_embed(typed) == embed
    assert only_embed(unique)["title"] == "Papers of Andrew Zisserman"


async def test_author_names_that_fit_several_or_none(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with bot_with_clock(fake_discord, tmp_path):
        several = await notice(fake_discord, "author", {"name": "andrew"})
        none = await notice(fake_discord, "author", {"name": "Ada Lovelace"})
    assert several == (
        "`andrew` fits several authors: Andrew B. Singleton, Andrew Brock, Andrew J. Davison,"
        " Andrew Jaegle, Andrew Zisserman. Pick one from the suggestions as you type."
    )
    assert none == (
        "No author in the archive is called `Ada Lovelace`. Pick a name from the suggestions"
        " as you type: they are the archive's authors."
    )


async def test_lists_work_in_direct_messages(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with bot_with_clock(fake_discord, tmp_path) as (_, clock):
        handle, reply = await listed(fake_discord, "search", {"query": "learning"}, dm=True)
        assert handle.guild_id is None
        second = await page_to(fake_discord, reply, NEXT)
        assert footer(second) == "Page 2 of 5 · 21 papers"
        await clock.advance(IDLE_MINUTES * 60)
        message = fake_discord.messages[int(reply["id"])]
        await fake_discord.notifier.wait_for(
            lambda: message["content"] or None, 5, lambda: "the message was not edited"
        )
    assert message["content"] == EXPIRED


async def test_the_list_unused_longest_expires_when_too_many_are_kept(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(results, "MAX_LISTS", 2)
    async with bot_with_clock(fake_discord, tmp_path) as (bot, clock):
        _, first = await listed(fake_discord, "search", {"query": "learning"})
        await clock.advance(60)
        _, second = await listed(fake_discord, "top", {})
        await clock.advance(60)
        await page_to(fake_discord, first, NEXT)  # used since: the second is the oldest now
        await clock.advance(60)
        await listed(fake_discord, "author", {"name": "Vladlen Koltun"})
        message = fake_discord.messages[int(second["id"])]
        await fake_discord.notifier.wait_for(
            lambda: message["content"] or None, 5, lambda: "the oldest list was not expired"
        )
        assert message["content"] == (
            "These results expired after 15 minutes without use; run `/top` again."
        )
        assert disabled(message) == [True, True, True]
        assert sorted(found.listing.kind for found in bot.result_lists.lists.values()) == [
            "author",
            "search",
        ]
        live = fake_discord.messages[int(first["id"])]
        assert footer(await page_to(fake_discord, live, NEXT)) == "Page 3 of 5 · 21 papers"
