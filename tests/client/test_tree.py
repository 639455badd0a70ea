"""The command tree with the real discord.py client and the local Discord: commands synced
only when their definition changed, and every failure turned into a reply and one log entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.store import StoreUnavailable
from tests.support.commands import (
    COMMANDS,
    GUILD_ONLY,
    MANAGE_CHANNELS_ONLY,
    PERCEIVER,
    PERCEIVER_TITLE,
    choices,
    command,
    notice,
    only_embed,
    sync_requests,
)
from tests.support.fake_discord import (
    GUILD_ID,
    FakeDiscord,
    Perm,
)
from tests.support.harness import running_bot

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
    assert options("search") == [
        ("query", 3, True, False),
        ("category", 3, False, True),
        ("since", 3, False, False),
        ("until", 3, False, False),
    ]
    assert options("top") == [("period", 3, False, False), ("category", 3, False, True)]
    assert [c["value"] for c in commands["top"]["options"][0]["choices"]] == [
        "day",
        "week",
        "month",
        "year",
        "all",
    ]
    assert options("author") == [("name", 3, True, True)]
    assert options("settings") == [
        ("time", 3, False, False),
        ("timezone", 3, False, True),
        ("top", 4, False, False),
        ("min_score", 4, False, False),
        ("paused", 5, False, False),
    ]
    top = next(o for o in commands["settings"]["options"] if o["name"] == "top")
    assert (top["min_value"], top["max_value"]) == (1, 25)
    assert options("follow") == [
        ("keyword", 3, False, False),
        ("author", 3, False, False),
        ("for", 3, False, False),
    ]
    assert options("following") == [("for", 3, False, False)]
    assert options("unfollow") == [("follow", 3, True, True), ("for", 3, False, False)]
    for name in ("follow", "following", "unfollow"):
        whom = next(o for o in commands[name]["options"] if o["name"] == "for")
        assert whom["choices"] == [
            {"name": "this channel", "value": "channel"},
            {"name": "me, by direct message", "value": "me"},
        ]
    keyword = commands["follow"]["options"][0]
    assert (keyword["min_length"], keyword["max_length"]) == (1, 80)

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
