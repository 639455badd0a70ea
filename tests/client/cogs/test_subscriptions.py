"""/subscribe, /unsubscribe and /subscriptions through the real discord.py client and the local
Discord: what a channel follows, who may change it, and the autocompletes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import taxonomy
from tests.support.commands import (
    choices,
    command,
    field_named,
    notice,
    only_embed,
)
from tests.support.fake_discord import (
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    PAPERS_CHANNEL_ID,
    THREAD_ID,
    FakeDiscord,
    Perm,
)
from tests.support.harness import past_discord_gates, running_bot

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
            "Minimum score (likes + reposts, or retweets + favorites on Twitter-era days): 0\n"
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
