"""End to end: the project's bot (built by ``build_bot``) answering slash commands in FakeDiscord.

Every test starts its own bot on a fresh database (about 0.2 s) and asserts what a Discord user
would see: the reply bodies the fake stored, with exact values from the bundled sample posts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import taxonomy
from bot.ingest.parser import parse_post
from bot.store import StoreUnavailable
from tests.support.fake_discord import (
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    PAPERS_CHANNEL_ID,
    THREAD_ID,
    FakeDiscord,
    InteractionHandle,
    Perm,
)
from tests.support.harness import past_discord_gates, request_paths, running_bot
from tests.support.posts import SAMPLE_POSTS, sample_post

PERCEIVER = "2103.03206"
PERCEIVER_TITLE = "Perceiver: General Perception with Iterative Attention"
PERCEIVER_AUTHORS = (
    "Andrew Jaegle",
    "Felix Gimeno",
    "Andrew Brock",
    "Andrew Zisserman",
    "Oriol Vinyals",
    "Joao Carreira",
)
PERCEIVER_ABS = "https://arxiv.org/abs/2103.03206"
PERCEIVER_PDF = "https://arxiv.org/pdf/2103.03206"
PERCEIVER_TWEET = "https://twitter.com/arankomatsuzaki/status/1367657530143383561"
EPHEMERAL = 64
ELLIPSIS = "…"

COMMANDS = ("paper", "subscribe", "unsubscribe", "subscriptions", "settings", "digest")
GUILD_ONLY = ("subscribe", "unsubscribe", "subscriptions", "settings", "digest")
MANAGE_CHANNELS_ONLY = ("subscribe", "unsubscribe", "settings")
GLOBAL_SYNC = "/applications/{app}/commands"


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


async def command(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **where: Any
) -> tuple[InteractionHandle, dict[str, Any]]:
    """Invoke a slash command and wait for the bot's (first) reply message."""
    handle = await fake.interact(name, options, **where)
    return handle, await handle.wait_reply()


async def notice(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **where: Any
) -> str:
    """Invoke a command whose answer is a short notice only the user sees; its text."""
    handle, reply = await command(fake, name, options, **where)
    assert handle.ephemeral, reply
    assert int(reply["flags"]) & EPHEMERAL
    assert reply["embeds"] == []
    content: str = reply["content"]
    return content


async def choices(
    fake: FakeDiscord, name: str, option: str, typed: str, **where: Any
) -> list[dict[str, Any]]:
    handle = await fake.autocomplete(name, {option: typed}, focused=option, **where)
    found = await handle.wait_choices()
    assert len(found) <= 25
    for choice in found:
        assert 1 <= len(choice["name"]) <= 100, choice
        assert len(str(choice["value"])) <= 100, choice
    return found


def only_embed(reply: dict[str, Any]) -> dict[str, Any]:
    assert len(reply["embeds"]) == 1, reply["embeds"]
    embed: dict[str, Any] = reply["embeds"][0]
    return embed


def field_named(embed: dict[str, Any], name: str) -> dict[str, Any]:
    found = [f for f in embed.get("fields", []) if f["name"] == name]
    assert len(found) == 1, [f["name"] for f in embed.get("fields", [])]
    return found[0]


def link_buttons(reply: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, url) of the link buttons (type 2, style 5) in the reply's action rows."""
    buttons = []
    for row in reply.get("components", []):
        assert row["type"] == 1
        for item in row["components"]:
            assert (item["type"], item["style"]) == (2, 5), item
            buttons.append((item["label"], item["url"]))
    return buttons


def assert_fits_discord(embed: dict[str, Any]) -> None:
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    assert len(embed.get("title", "")) <= 256
    assert len(embed.get("description", "")) <= 4096
    assert len(embed.get("fields", [])) <= 25
    for item in embed.get("fields", []):
        assert 1 <= len(item["name"]) <= 256
        assert 1 <= len(item["value"]) <= 1024
        total += len(item["name"]) + len(item["value"])
    footer = embed.get("footer", {}).get("text", "")
    assert len(footer) <= 2048
    total += len(footer) + len(embed.get("author", {}).get("name", ""))
    assert total <= 6000


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def sync_requests(fake: FakeDiscord, guild_id: int | None = None) -> list[str]:
    app = fake.application_id
    if guild_id is None:
        return request_paths(fake, "PUT", f"/applications/{app}/commands")
    return request_paths(fake, "PUT", f"/applications/{app}/guilds/{guild_id}/commands")


# ---------------------------------------------------------------------------------------------
# posts edited from a real one (the parser insists on the real structure)
# ---------------------------------------------------------------------------------------------

PERCEIVER_POST = sample_post("2021-03-05")
_PERCEIVER_HEADING = f"# 3. {PERCEIVER_TITLE}"
_PERCEIVER_AUTHORS_LINE = ", ".join(PERCEIVER_AUTHORS)
_BLOCKQUOTE = re.compile(r'<blockquote class="twitter-tweet">.*?</blockquote>', re.DOTALL)
_TWEET_BODY = re.compile(r'(<p lang="[^"]*" dir="ltr">)(.*?)(</p>)', re.DOTALL)
_STATUS = re.compile(r"/status/(\d+)")


def _perceiver_section(text: str) -> tuple[int, int]:
    start = text.index(_PERCEIVER_HEADING)
    end = text.index("\n# 4. ", start)
    return start, end


def edited_perceiver_post(
    tmp_path: Path,
    *,
    title: str | None = None,
    authors: list[str] | None = None,
    abstract: str | None = None,
    first_tweet_html: str | None = None,
    tweets: list[str] | None = None,
) -> Path:
    """The 2021-03-05 post with the Perceiver section (rank 3) edited; written to tmp_path.

    ``first_tweet_html`` replaces the HTML inside the first tweet's ``<p>``; ``tweets``
    replaces all three tweets by copies of the first with these HTML bodies (each with its
    own status id, as the archive keeps one tweet per URL).
    """
    text = PERCEIVER_POST.read_text(encoding="utf-8")
    start, end = _perceiver_section(text)
    section = text[start:end]
    if title is not None:
        assert "\n" not in title
        section = section.replace(_PERCEIVER_HEADING, f"# 3. {title}", 1)
    if authors is not None:
        assert _PERCEIVER_AUTHORS_LINE in section
        section = section.replace(_PERCEIVER_AUTHORS_LINE, ", ".join(authors), 1)
    if abstract is not None:
        old = next(line for line in section.split("\n") if line.startswith("Biological systems"))
        section = section.replace(old, abstract, 1)
    quotes = _BLOCKQUOTE.findall(section)
    assert len(quotes) == 3
    if first_tweet_html is not None:
        first = _TWEET_BODY.sub(lambda m: m[1] + first_tweet_html + m[3], quotes[0], count=1)
        section = section.replace(quotes[0], first, 1)
    if tweets is not None:
        template = quotes[0]
        script = '<script async src="https://platform.twitter.com/widgets.js" charset="utf-8">'
        script += "</script>"
        made = []
        for number, body in enumerate(tweets):
            quote = _TWEET_BODY.sub(lambda m, b=body: m[1] + b + m[3], template, count=1)
            quote = _STATUS.sub(f"/status/{1367657530143383561 + 1000 + number}", quote)
            made.append(f"{quote}\n{script}\n")
        head = section[: section.index(quotes[0])]
        section = head + "\n".join(made) + "\n\n\n"
    path = tmp_path / "2021-03-05---Hot-Papers.md"
    path.write_text(text[:start] + section + text[end:], encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# command sync
# ---------------------------------------------------------------------------------------------


async def test_commands_are_synced_with_their_options(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        assert bot.synced is True
    assert len(sync_requests(fake_discord)) == 1
    assert set(fake_discord.commands) == {None}
    commands = {c["name"]: c for c in fake_discord.commands[None]}
    assert sorted(commands) == sorted(COMMANDS)

    def options(name: str) -> list[tuple[str, int, bool, bool]]:
        return [
            (o["name"], o["type"], o.get("required", False), o.get("autocomplete", False))
            for o in commands[name]["options"]
        ]

    assert options("paper") == [("id", 3, True, True)]
    assert options("subscribe") == [("category", 3, True, True)]
    assert options("unsubscribe") == [("category", 3, True, True)]
    assert options("subscriptions") == []
    assert options("digest") == [("date", 3, False, True)]
    assert options("settings") == [
        ("time", 3, False, False),
        ("timezone", 3, False, True),
        ("top", 4, False, False),
        ("min_score", 4, False, False),
        ("paused", 5, False, False),
    ]
    top = next(o for o in commands["settings"]["options"] if o["name"] == "top")
    assert (top["min_value"], top["max_value"]) == (1, 25)

    for name, definition in commands.items():
        expected = str(Perm.MANAGE_CHANNELS) if name in MANAGE_CHANNELS_ONLY else None
        assert definition["default_member_permissions"] == expected, name
        assert 1 <= len(definition["description"]) <= 100
        if name in GUILD_ONLY:
            assert definition["contexts"] == [0], name
        else:
            assert definition["contexts"] is None or 1 in definition["contexts"], name
            assert definition["dm_permission"] is True
    assert Perm.MANAGE_CHANNELS == 16


async def test_restart_with_the_same_database_does_not_sync_again(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path):
        pass
    synced = [dict(c) for c in fake_discord.commands[None]]
    assert len(sync_requests(fake_discord)) == 1

    async with running_bot(fake_discord, tmp_path, samples=False) as bot:
        assert bot.synced is False
        # The commands Discord already has keep working.
        _, reply = await command(fake_discord, "paper", {"id": PERCEIVER})
        assert only_embed(reply)["title"] == PERCEIVER_TITLE
    assert len(sync_requests(fake_discord)) == 1
    assert fake_discord.find_requests("POST", "/applications/*") == []
    assert fake_discord.commands[None] == synced


async def test_force_sync_syncs_even_when_unchanged(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path):
        pass
    async with running_bot(fake_discord, tmp_path, samples=False, force_sync=True) as bot:
        assert bot.synced is True
    assert len(sync_requests(fake_discord)) == 2
    assert sorted(c["name"] for c in fake_discord.commands[None]) == sorted(COMMANDS)


async def test_dev_guild_syncs_to_that_guild(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        pass
    dev = {"discord": {"dev_guild": GUILD_ID}}
    async with running_bot(fake_discord, tmp_path, samples=False, config_overrides=dev) as bot:
        assert bot.synced is True
        handle, reply = await command(fake_discord, "paper", {"id": PERCEIVER})
        assert handle.payload["data"]["guild_id"] == str(GUILD_ID)
        assert only_embed(reply)["title"] == PERCEIVER_TITLE
    assert len(sync_requests(fake_discord, GUILD_ID)) == 1
    assert len(sync_requests(fake_discord)) == 1  # only the first, global, run
    assert sorted(c["name"] for c in fake_discord.commands[GUILD_ID]) == sorted(COMMANDS)
    guild_subscribe = fake_discord.command("subscribe", GUILD_ID)
    assert guild_subscribe is not None
    assert guild_subscribe["default_member_permissions"] == "16"

    # The guild's definition hash is kept too: the next start with it does not sync.
    async with running_bot(fake_discord, tmp_path, samples=False, config_overrides=dev) as bot:
        assert bot.synced is False
    assert len(sync_requests(fake_discord, GUILD_ID)) == 1


# ---------------------------------------------------------------------------------------------
# /paper
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "2103.03206",
        "2103.03206v2",
        "arXiv:2103.03206",
        "https://arxiv.org/abs/2103.03206v1",
        "https://arxiv.org/pdf/2103.03206.pdf",
    ],
)
async def test_paper_shows_the_card_for_every_id_form(
    fake_discord: FakeDiscord, tmp_path: Path, typed: str
) -> None:
    async with running_bot(fake_discord, tmp_path):
        handle, reply = await command(fake_discord, "paper", {"id": typed})
    assert handle.callback_type == 4
    assert not handle.ephemeral
    assert int(reply.get("flags", 0)) & EPHEMERAL == 0
    assert reply["channel_id"] == str(PAPERS_CHANNEL_ID)
    assert handle.callback is not None
    assert handle.callback["data"]["allowed_mentions"] == {"parse": []}

    embed = only_embed(reply)
    assert embed["title"] == PERCEIVER_TITLE
    assert embed["url"] == PERCEIVER_ABS
    description = embed["description"]
    assert ", ".join(PERCEIVER_AUTHORS[:5]) + " and 1 more (6 authors)" in description
    assert "**Categories:** cs.CV, cs.AI, cs.LG, cs.SD, eess.AS" in description
    assert "Biological systems understand the world" in description
    assert embed["footer"]["text"] == "arXiv:2103.03206 · primary cs.CV"
    assert field_named(embed, "Hot on")["value"] == (
        "2021-03-05 · #3 · 857 retweets · 251 favorites"
    )
    tweet_names = [f["name"] for f in embed["fields"][1:]]
    assert tweet_names == [
        "Aran Komatsuzaki (@arankomatsuzaki) · 2021-03-05",
        "ワクワクさん（ミジンコ） (@mosko\\_mule) · 2021-03-05",  # noqa: RUF001 (the real name)
        "AK (@ak92501) · 2021-03-05",
    ]
    first_tweet = embed["fields"][1]["value"]
    assert first_tweet.startswith("Perceiver: General Perception with Iterative Attention\n")
    assert f"[Open tweet]({PERCEIVER_TWEET})" in first_tweet
    assert link_buttons(reply) == [("arXiv abstract", PERCEIVER_ABS), ("PDF", PERCEIVER_PDF)]
    assert_fits_discord(embed)


async def test_paper_unknown_to_the_archive(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        text = await notice(fake_discord, "paper", {"id": "2103.99999"})
    assert "2103.99999 is not in the archive" in text
    assert "https://arxiv.org/abs/2103.99999" in text


async def test_paper_with_a_malformed_id(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        text = await notice(fake_discord, "paper", {"id": "banana"})
        month = await notice(fake_discord, "paper", {"id": "2113.03206"})
    forms = (
        "Use a form like 2103.03206, 2103.03206v2, arXiv:2103.03206, hep-th/9901001 or"
        " https://arxiv.org/abs/2103.03206."
    )
    assert text == f"`banana` is not an arXiv id: unrecognised format. {forms}"
    assert month == f"`2113.03206` is not an arXiv id: month 13 does not exist. {forms}"


async def test_paper_in_a_direct_message(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        handle, reply = await command(fake_discord, "paper", {"id": PERCEIVER}, dm=True)
    assert handle.guild_id is None
    assert "guild_id" not in reply
    assert not handle.ephemeral
    embed = only_embed(reply)
    assert embed["title"] == PERCEIVER_TITLE
    assert field_named(embed, "Hot on")["value"] == (
        "2021-03-05 · #3 · 857 retweets · 251 favorites"
    )
    assert link_buttons(reply) == [("arXiv abstract", PERCEIVER_ABS), ("PDF", PERCEIVER_PDF)]


async def test_paper_autocomplete(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    days = [parse_post(p.read_bytes(), str(p)) for p in reversed(SAMPLE_POSTS)]
    newest_first = list(dict.fromkeys(p.paper.arxiv_id for d in days for p in d.papers))
    async with running_bot(fake_discord, tmp_path):
        by_prefix = await choices(fake_discord, "paper", "id", "2103.03")
        by_word = await choices(fake_discord, "paper", "id", "perceiver")
        recent = await choices(fake_discord, "paper", "id", "")
        by_url = await choices(fake_discord, "paper", "id", "https://arxiv.org/abs/2103.03206v2")
    assert by_prefix
    assert PERCEIVER in [c["value"] for c in by_prefix]
    for choice in by_prefix:
        assert choice["value"].startswith("2103.03"), choice
        assert choice["name"].startswith(choice["value"] + " — "), choice
    assert by_word[0] == {"name": f"{PERCEIVER} — {PERCEIVER_TITLE}", "value": PERCEIVER}
    # Empty input: the most recent days' papers, best ranked first.
    assert len(days[0].papers) < 25
    assert [c["value"] for c in recent] == newest_first[:25]
    assert by_url[0]["value"] == PERCEIVER


# ---------------------------------------------------------------------------------------------
# /subscribe, /subscriptions
# ---------------------------------------------------------------------------------------------


async def test_subscribe_a_category(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(
            fake_discord, "subscribe", {"category": "cs.CV"}, channel_id=PAPERS_CHANNEL_ID
        )
        assert text.startswith("Subscribed <#1001> to cs.CV.")
        stored = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        assert stored is not None
        assert (stored.guild_id, stored.categories) == (GUILD_ID, ("cs.CV",))

        _handle, reply = await command(fake_discord, "subscriptions", channel_id=PAPERS_CHANNEL_ID)
        embed = only_embed(reply)
        assert embed["title"] == "Subscriptions of #papers"
        assert "cs.CV — Computer Vision and Pattern Recognition" in embed["description"]
        assert field_named(embed, "Settings")["value"] == (
            "Top papers per digest: 10\n"
            "Minimum score (retweets + favorites): 0\n"
            "Delivery: as soon as a new day is published\n"
            "Active · next digest with the next Hot Papers day"
        )

        again = await notice(
            fake_discord, "subscribe", {"category": "cs.CV"}, channel_id=PAPERS_CHANNEL_ID
        )
        assert again == "<#1001> is already subscribed to cs.CV."
        stored = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        assert stored is not None
        assert stored.categories == ("cs.CV",)


@pytest.mark.parametrize("typed", ["cs", "cs.*"])
async def test_subscribe_a_whole_archive(
    fake_discord: FakeDiscord, tmp_path: Path, typed: str
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(
            fake_discord, "subscribe", {"category": typed}, channel_id=GENERAL_CHANNEL_ID
        )
        assert text.startswith("Subscribed <#1002> to cs.\\*.")  # shown as cs.*
        stored = await bot.store.subscriptions.get(GENERAL_CHANNEL_ID)
        assert stored is not None
        assert stored.categories == ("cs.*",)
        other = "cs.*" if typed == "cs" else "cs"
        again = await notice(
            fake_discord, "subscribe", {"category": other}, channel_id=GENERAL_CHANNEL_ID
        )
        assert again == "<#1002> is already subscribed to cs.\\*."


@pytest.mark.parametrize("typed", ["cs.CV,", ",cs.CV", " cs.CV ; ", "cs.CV,,cs.LG"])
async def test_subscribe_ignores_empty_parts(
    fake_discord: FakeDiscord, tmp_path: Path, typed: str
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(fake_discord, "subscribe", {"category": typed})
        stored = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
    codes = ("cs.CV", "cs.LG") if "LG" in typed else ("cs.CV",)
    assert text.startswith(f"Subscribed <#1001> to {', '.join(codes)}. Digests start")
    assert stored is not None
    assert stored.categories == codes


@pytest.mark.parametrize("typed", [",", " ", " , ;"])
async def test_subscribe_without_any_category(
    fake_discord: FakeDiscord, tmp_path: Path, typed: str
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(fake_discord, "subscribe", {"category": typed})
        assert await bot.store.subscriptions.get(PAPERS_CHANNEL_ID) is None
    assert text == (
        "No category given. Expected a category code like cs.CV or a whole archive like cs;"
        " several may be separated by commas."
    )


async def test_subscribe_to_several_archives_keeps_their_stars_literal(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path):
        text = await notice(fake_discord, "subscribe", {"category": "cs, math"})
    # Unescaped, "*, math.*" would show in italics.
    assert text.startswith("Subscribed <#1001> to cs.\\*, math.\\*. Digests start")


async def test_subscribe_suggests_for_a_misspelled_category(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(fake_discord, "subscribe", {"category": "cs.VC"})
        assert await bot.store.subscriptions.get(PAPERS_CHANNEL_ID) is None
    assert text == (
        "Unknown arXiv category `cs.VC`.\n"
        f"Did you mean: {', '.join(taxonomy.suggest('cs.VC'))}?\n"
        "Expected a category code like cs.CV or a whole archive like cs."
    )
    assert "cs.CV" in taxonomy.suggest("cs.VC")


async def test_subscribe_needs_manage_channels(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        # Discord hides the command from bob (default_member_permissions) ...
        with pytest.raises(PermissionError, match="hides /subscribe"):
            await fake_discord.interact("subscribe", {"category": "cs.CV"}, user_id=MEMBER_USER_ID)
        # ... but a server can let him see it: the bot checks at run time.
        with past_discord_gates(fake_discord):
            text = await notice(
                fake_discord, "subscribe", {"category": "cs.CV"}, user_id=MEMBER_USER_ID
            )
            explicit = await notice(
                fake_discord,
                "subscribe",
                {"category": "cs.LG"},
                permissions=Perm.EVERYONE_DEFAULT,
            )
        assert "**Manage Channels**" in text
        assert explicit == text
        assert await bot.store.subscriptions.get(PAPERS_CHANNEL_ID) is None


async def test_subscribe_in_a_direct_message(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        with pytest.raises(PermissionError, match="not available in DMs"):
            await fake_discord.interact("subscribe", {"category": "cs.CV"}, dm=True)
        with past_discord_gates(fake_discord):
            text = await notice(fake_discord, "subscribe", {"category": "cs.CV"}, dm=True)
            listing = await notice(fake_discord, "subscriptions", dm=True)
        assert await bot.store.subscriptions.count() == 0
    assert "only works in a server channel" in text
    assert "only works in a server channel" in listing


async def test_subscribe_in_a_thread_subscribes_its_channel(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        text = await notice(fake_discord, "subscribe", {"category": "cs.CV"}, channel_id=THREAD_ID)
        assert text.startswith("Subscribed <#1001> to cs.CV.")
        assert await bot.store.subscriptions.get(THREAD_ID) is None
        stored = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        assert stored is not None
        assert stored.categories == ("cs.CV",)
        _, reply = await command(fake_discord, "subscriptions", channel_id=THREAD_ID)
        embed = only_embed(reply)
        assert embed["title"] == "Subscriptions of #papers"
        assert "cs.CV — Computer Vision and Pattern Recognition" in embed["description"]


async def test_subscribe_autocomplete(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        typed = await choices(fake_discord, "subscribe", "category", "cs.c")
        vision = await choices(fake_discord, "subscribe", "category", "vision")
    values = [c["value"] for c in typed]
    assert "cs.CV" in values
    assert "cs.CL" in values
    assert vision[0]["value"] == "cs.CV"
    assert vision[0]["name"] == "cs.CV — Computer Vision and Pattern Recognition"


async def test_subscriptions_of_an_unsubscribed_channel(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path):
        _handle, reply = await command(fake_discord, "subscriptions", channel_id=GENERAL_CHANNEL_ID)
    embed = only_embed(reply)
    assert embed["title"] == "Subscriptions of #general"
    assert embed["description"].startswith("This channel has no subscriptions.")
    assert "fields" not in embed


# ---------------------------------------------------------------------------------------------
# /settings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"top": 100}, "`top` must be 1 to 25 (papers per digest), got 100."),
        ({"top": 0}, "`top` must be 1 to 25 (papers per digest), got 0."),
        ({"top": -5, "paused": True}, "`top` must be 1 to 25 (papers per digest), got -5."),
        (
            {"min_score": -1},
            "`min_score` must be 0 to 10,000,000 (retweets + favorites), got -1.",
        ),
        (
            {"min_score": 10_000_001, "time": "08:00"},
            "`min_score` must be 0 to 10,000,000 (retweets + favorites), got 10,000,001.",
        ),
    ],
)
async def test_settings_refuses_values_outside_the_declared_ranges(
    fake_discord: FakeDiscord, tmp_path: Path, options: dict[str, Any], refusal: str
) -> None:
    """Discord's client keeps to min_value/max_value; a forged interaction need not."""
    async with running_bot(fake_discord, tmp_path) as bot:
        await notice(fake_discord, "subscribe", {"category": "cs.CV"})
        before = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        text = await notice(fake_discord, "settings", options)
        after = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        accepted = await command(fake_discord, "settings", {"top": 25, "min_score": 10_000_000})
    assert text == f"{refusal} Nothing was changed."
    assert after == before
    assert (
        "Top papers per digest: 25\nMinimum score (retweets + favorites): 10000000"
        in (field_named(only_embed(accepted[1]), "Settings")["value"])
    )


# ---------------------------------------------------------------------------------------------
# /unsubscribe
# ---------------------------------------------------------------------------------------------


async def test_unsubscribe(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        for category in ("cs.CV", "cs.LG"):
            await notice(fake_discord, "subscribe", {"category": category})
        await notice(
            fake_discord, "subscribe", {"category": "cs.AI"}, channel_id=GENERAL_CHANNEL_ID
        )

        listed = await choices(fake_discord, "unsubscribe", "category", "")
        assert [c["value"] for c in listed] == ["cs.CV", "cs.LG"]
        assert listed[0]["name"] == "cs.CV — Computer Vision and Pattern Recognition"
        narrowed = await choices(fake_discord, "unsubscribe", "category", "vision")
        assert [c["value"] for c in narrowed] == ["cs.CV"]
        in_thread = await choices(fake_discord, "unsubscribe", "category", "", channel_id=THREAD_ID)
        assert [c["value"] for c in in_thread] == ["cs.CV", "cs.LG"]
        elsewhere = await choices(
            fake_discord, "unsubscribe", "category", "", channel_id=GENERAL_CHANNEL_ID
        )
        assert [c["value"] for c in elsewhere] == ["cs.AI"]

        text = await notice(fake_discord, "unsubscribe", {"category": "cs.CV"})
        assert text == "Unsubscribed <#1001> from cs.CV. Still subscribed to cs.LG."
        stored = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        assert stored is not None
        assert stored.categories == ("cs.LG",)

        missing = await notice(fake_discord, "unsubscribe", {"category": "cs.CV"})
        assert missing == "<#1001> is not subscribed to cs.CV. Its subscriptions: cs.LG."

        with past_discord_gates(fake_discord):
            refused = await notice(
                fake_discord, "unsubscribe", {"category": "cs.LG"}, user_id=MEMBER_USER_ID
            )
        assert "**Manage Channels**" in refused
        stored = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        assert stored is not None
        assert stored.categories == ("cs.LG",)

        last = await notice(fake_discord, "unsubscribe", {"category": "cs.LG"})
        assert last == "Unsubscribed <#1001> from cs.LG. This channel has no subscriptions left."
        nothing = await notice(fake_discord, "unsubscribe", {"category": "cs.LG"})
        assert nothing == "<#1001> is not subscribed to cs.LG. It has no subscriptions."
        assert await choices(fake_discord, "unsubscribe", "category", "") == []
        # The other channel kept its own.
        other = await bot.store.subscriptions.get(GENERAL_CHANNEL_ID)
        assert other is not None
        assert other.categories == ("cs.AI",)


# ---------------------------------------------------------------------------------------------
# hostile and oversized post content
# ---------------------------------------------------------------------------------------------

HOSTILE_TITLE = "@everyone <@123> <#456> **bold** [x](http://evil.example)"
# Tweets are HTML in the post: the parser unescapes entities into "@here <@&789>".
HOSTILE_TWEET_HTML = "Read this @here &lt;@&amp;789&gt; now"
PINGS = ("@everyone", "@here", "<@123>", "<@&789>", "<#456>")


async def test_paper_neutralises_mentions_and_markdown(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    post = edited_perceiver_post(tmp_path, title=HOSTILE_TITLE, first_tweet_html=HOSTILE_TWEET_HTML)
    async with running_bot(fake_discord, tmp_path, samples=False, posts=[post]) as bot:
        history = await bot.store.archive.paper(PERCEIVER)
        assert history is not None
        assert history.paper.title == HOSTILE_TITLE
        assert history.tweets[0].text == "Read this @here <@&789> now"
        handle, reply = await command(fake_discord, "paper", {"id": PERCEIVER})
        found = await choices(fake_discord, "paper", "id", "evil")
    assert handle.callback is not None
    body = handle.callback["data"]
    assert body["allowed_mentions"] == {"parse": []}
    for text in [*strings(body), *strings(reply)]:
        for ping in PINGS:
            assert ping not in text, (ping, text)
        assert "[x](http://evil.example)" not in text
        assert "**bold**" not in text
    embed = only_embed(reply)
    # Still readable: only invisible or backslash escapes were added.
    visible = embed["title"].replace("\u200b", "").replace("\\", "")
    assert visible == HOSTILE_TITLE
    tweet = embed["fields"][1]["value"].replace("\u200b", "")
    assert tweet.startswith("Read this @here <@&789> now\n")
    assert reply["mentions"] == []
    assert reply["mention_roles"] == []
    assert reply["mention_everyone"] is False
    assert [c["value"] for c in found] == [PERCEIVER]


LONG_TITLE = ("Perceiver " + "with ever more iterative cross attention layers " * 10)[:400].strip()
LONG_ABSTRACT = ("Perception with iterative attention. " * 300)[:9_999] + "."
MANY_AUTHORS = [f"Author Number{i:02d} Longsurname" for i in range(1, 81)]
LONG_TWEETS = [f"Tweet {n}: " + " ".join(f"perceiver{n}x{i}" for i in range(60)) for n in range(30)]


async def test_paper_with_oversized_content_fits_discord(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    assert len(LONG_TITLE) >= 390
    assert len(LONG_ABSTRACT) == 10_000
    assert all(len(t) > 400 for t in LONG_TWEETS)
    post = edited_perceiver_post(
        tmp_path,
        title=LONG_TITLE,
        authors=MANY_AUTHORS,
        abstract=LONG_ABSTRACT,
        tweets=LONG_TWEETS,
    )
    async with running_bot(fake_discord, tmp_path, samples=False, posts=[post]) as bot:
        history = await bot.store.archive.paper(PERCEIVER)
        assert history is not None
        assert (len(history.paper.authors), len(history.tweets)) == (80, 30)
        assert history.paper.abstract == LONG_ABSTRACT
        handle, reply = await command(fake_discord, "paper", {"id": PERCEIVER})
    create = fake_discord.find_requests("POST", "/interactions/{id}/{token}/callback")
    assert [r.status // 100 for r in create] == [2]
    assert create[0].problems == []
    assert not handle.ephemeral
    embed = only_embed(reply)
    assert_fits_discord(embed)
    assert embed["title"].endswith(ELLIPSIS)
    assert LONG_TITLE.startswith(embed["title"][:-1].rstrip())
    assert embed["description"].endswith(ELLIPSIS)
    assert "and 75 more (80 authors)" in embed["description"]
    assert ", ".join(MANY_AUTHORS[:5]) in embed["description"]
    assert "Author Number06" not in embed["description"]
    names = [f["name"] for f in embed["fields"]]
    assert names[0] == "Hot on"
    assert names[-1] == "More tweets"
    tweets = embed["fields"][1:-1]
    assert len(tweets) == 5
    for number, item in enumerate(tweets):
        text, link = item["value"].rsplit("\n", 1)
        assert text.startswith(f"Tweet {number}: ")
        assert text.endswith(ELLIPSIS)
        assert link.startswith("[Open tweet](https://twitter.com/arankomatsuzaki/status/")
    assert embed["fields"][-1]["value"] == "and 25 more tweets"
    assert field_named(embed, "Hot on")["value"] == (
        "2021-03-05 · #3 · 857 retweets · 251 favorites"
    )


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------


async def test_unexpected_error_is_reported_and_the_bot_keeps_serving(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        archive = bot.store.archive
        original = archive.paper
        calls: list[str] = []

        async def broken(arxiv_id: str) -> Any:
            calls.append(arxiv_id)
            if len(calls) == 1:
                raise RuntimeError("database on fire")
            return await original(arxiv_id)

        monkeypatch.setattr(archive, "paper", broken)
        text = await notice(fake_discord, "paper", {"id": PERCEIVER})
        assert text.startswith("Something went wrong")
        assert "database on fire" not in text

        _, reply = await command(fake_discord, "paper", {"id": PERCEIVER})
        assert only_embed(reply)["title"] == PERCEIVER_TITLE
        _, listing = await command(fake_discord, "subscriptions")
        assert only_embed(listing)["title"] == "Subscriptions of #papers"
        assert calls == [PERCEIVER, PERCEIVER]
        assert bot.is_ready()
    failures = [r for r in caplog.records if r.name == "bot.client.tree"]
    assert len(failures) == 1
    assert "command /paper failed" in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], RuntimeError)


async def test_an_unavailable_archive_is_said_plainly_and_offers_no_choices(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        locked = StoreUnavailable("database x.sqlite3 is unavailable (database is locked)")

        async def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise locked

        monkeypatch.setattr(bot.store.archive, "search", unavailable)
        monkeypatch.setattr(bot.store.archive, "paper", unavailable)
        assert await choices(fake_discord, "paper", "id", "perceiver") == []
        text = await notice(fake_discord, "paper", {"id": PERCEIVER})
        assert bot.is_ready()
    assert text == (
        "The archive is busy or cannot be written right now, so nothing was changed."
        " Please try again in a minute."
    )
    logged = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert (
        "bot.client.tree",
        "WARNING",
        f"autocomplete offered nothing: {locked}",
    ) in logged
    assert ("bot.client.tree", "ERROR", f"command failed, archive unavailable: {locked}") in logged
