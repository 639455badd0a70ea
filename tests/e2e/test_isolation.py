"""End to end: one channel's bad row costs only that channel's digests, and is said once.

An old or forged archive may hold settings out of range, a category the taxonomy no longer
has, or a stored digest that cannot be sent; the rows are written with plain SQL, as such a
database would hold them. Every other channel still gets its digest, the bad one is logged
once (not at every poll), and the channel's own commands can still show and fix it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from pathlib import Path

import pytest

from tests.support.delivery import (
    CV_0315_HEADER,
    CV_0315_TITLES,
    GENERAL,
    PAPERS,
    delivering,
    expected_titles,
)
from tests.support.fake_discord import GUILD_ID, FakeChannel, FakeDiscord
from tests.support.harness import database_path
from tests.support.posts import sample_text

# Channels of the fake guild whose stored settings no /settings call could have written.
BAD_SETTINGS = {
    1101: ("top = 100", "top must be 1 to 25, got 100"),
    1102: ("top = 0", "top must be 1 to 25, got 0"),
    1103: ("top = -5", "top must be 1 to 25, got -5"),
    1104: ("min_score = -1", "min_score must be at least 0, got -1"),
}
SKIPPED = "gets no digests until its subscription is fixed"
LG_0315_HEADER = "**Hot Papers 2021-03-15** · 5 of 10 papers match cs.LG"


def forge(tmp_path: Path, *statements: str) -> None:
    """Write rows behind the bot's back, as an old or hand-edited database holds them."""
    with contextlib.closing(sqlite3.connect(database_path(tmp_path))) as db, db:
        for sql in statements:
            db.execute(sql)


def warnings(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """The bot's own warnings and errors (not discord.py's about voice support)."""
    return [
        (r.name, r.getMessage())
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("bot.")
    ]


async def test_bad_subscriptions_cost_only_their_own_channels(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    guild = fake_discord.guilds[GUILD_ID]
    guild.channels += [FakeChannel(c, f"bad-{c}", 0) for c in BAD_SETTINGS]
    caplog.set_level(logging.WARNING)
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.LG", channel=GENERAL)
        for channel in BAD_SETTINGS:
            await d.subscribe("cs.CV", channel=channel)
        forge(
            tmp_path,
            *(
                f"UPDATE channels SET {s} WHERE channel_id = {c}"
                for c, (s, _) in BAD_SETTINGS.items()
            ),
            # #general also follows a category arXiv no longer has.
            f"INSERT INTO subscriptions VALUES ({GENERAL}, 'cs.XX', '2021-03-01T00:00:00+00:00')",
        )
        d.publish("2021-03-15", sample_text("2021-03-15"))
        for _ in range(3):  # three polls and delivery runs: each bad row is said once
            await d.run()

        assert [m["content"] for m in d.messages(PAPERS)] == [CV_0315_HEADER]
        assert d.titles(PAPERS) == [CV_0315_TITLES]
        for channel in (GENERAL, *BAD_SETTINGS):
            assert d.posts(channel) == []
        logged = warnings(caplog)
        assert [name for name, _ in logged] == ["bot.planning"] * 5
        # By channel id: #general (1002) first.
        assert logged[0][1].startswith(
            f"channel {GENERAL} {SKIPPED}: unknown arXiv category 'cs.XX'"
        )
        assert [m for _, m in logged[1:]] == [
            f"channel {c} {SKIPPED}: {problem}" for c, (_, problem) in BAD_SETTINGS.items()
        ]

        # The channels can see what is wrong and fix it themselves.
        shown = await d.subscriptions(channel=GENERAL)
        assert shown["description"] == (
            "• cs.LG — Machine Learning\n• cs.XX — no longer an arXiv category"
        )
        reply = await d.command("unsubscribe", {"category": "cs.XX"}, channel=GENERAL)
        assert reply["content"] == "Unsubscribed <#1002> from cs.XX. Still subscribed to cs.LG."
        reply = await d.command("settings", {"top": 2}, channel=1101)
        assert "Top papers per digest: 2" in reply["embeds"][0]["fields"][0]["value"]
        await d.run()

        assert [m["content"] for m in d.messages(GENERAL)] == [LG_0315_HEADER]
        assert d.titles(GENERAL) == [expected_titles(sample_text("2021-03-15"), ["cs.LG"])]
        assert d.titles(1101) == [CV_0315_TITLES[:2]]
        for channel in (1102, 1103, 1104):
            assert d.posts(channel) == []
        assert len(d.posts(PAPERS)) == 1
        assert len(warnings(caplog)) == 5


async def test_a_digest_that_cannot_be_sent_fails_alone(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.LG", channel=GENERAL)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.bot.service.poll_sources()  # planned, not sent
        # #papers' stored digest is no longer a list of message bodies.
        forge(
            tmp_path,
            "UPDATE digests SET messages = '[1]' WHERE digest_hash ="
            f" (SELECT digest_hash FROM deliveries WHERE channel_id = {PAPERS})",
        )
        caplog.clear()

        report = await d.bot.service.deliver_due()
        assert (report.sent_messages, report.completed, report.failed) == (1, 1, 1)
        assert [m["content"] for m in d.messages(GENERAL)] == [LG_0315_HEADER]
        assert d.posts(PAPERS) == []
        [row] = await d.ledger(PAPERS)
        assert (row.status, row.last_error) == (
            "failed",
            "TypeError: 'int' object is not a mapping",
        )
        [error] = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert (error.name, error.getMessage()) == (
            "bot.delivery.deliverer",
            f"digest 2021-03-15 for channel {PAPERS} cannot be sent",
        )
        assert error.exc_info is not None

        # Not tried again at every run.
        assert (await d.bot.service.deliver_due()).failed == 0
        assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
        assert len(d.posts(GENERAL)) == 1


async def test_unreadable_settings_cost_only_their_own_channel(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Values that cannot even be read (not just out of range) used to raise while the
    channels were listed for planning, which stopped every channel's digest."""
    guild = fake_discord.guilds[GUILD_ID]
    guild.channels += [FakeChannel(1105, "bad-time", 0), FakeChannel(1106, "bad-top", 0)]
    caplog.set_level(logging.WARNING)
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.CV", channel=1105)
        await d.subscribe("cs.CV", channel=1106)
        forge(
            tmp_path,
            "UPDATE channels SET deliver_at = '25:99' WHERE channel_id = 1105",
            "UPDATE channels SET top = 'ten' WHERE channel_id = 1106",
        )
        d.publish("2021-03-15", sample_text("2021-03-15"))
        for _ in range(2):
            await d.run()

        assert d.titles(PAPERS) == [CV_0315_TITLES]
        assert d.posts(1105) == d.posts(1106) == []
        assert [m for _, m in warnings(caplog)] == [
            f"channel 1105 {SKIPPED}: stored deliver_at '25:99' cannot be read",
            f"channel 1106 {SKIPPED}: stored top 'ten' is not a whole number",
        ]

        shown = await d.subscriptions(channel=1105)
        assert shown["fields"][0]["value"].endswith(
            "No digests: the stored settings cannot be used (stored deliver\\_at '25:99' cannot"
            " be read). Set them again with /settings."
        )
        reply = await d.command("digest", channel=1106)
        assert reply["content"] == (
            "This channel's stored settings cannot be used (stored top 'ten' is not a whole"
            " number), so it gets no digests. Someone with Manage Channels can set them again"
            " with `/settings` (for example `/settings time:now top:10`)."
        )
        await d.command("settings", {"time": "now"}, channel=1105)
        await d.run()
        assert d.titles(1105) == [CV_0315_TITLES]
        assert d.posts(1106) == []


async def test_a_stored_digest_that_is_not_json_fails_alone(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.LG", channel=GENERAL)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.bot.service.poll_sources()
        forge(
            tmp_path,
            "UPDATE digests SET messages = 'not json' WHERE digest_hash ="
            f" (SELECT digest_hash FROM deliveries WHERE channel_id = {PAPERS})",
        )
        report = await d.bot.service.deliver_due()
        assert (report.completed, report.failed) == (1, 1)
        assert [m["content"] for m in d.messages(GENERAL)] == [LG_0315_HEADER]
        [row] = await d.ledger(PAPERS)
        assert row.status == "failed"
        assert row.last_error is not None
        assert row.last_error.startswith("ValueError: the stored digest cannot be read (")
