"""End-to-end tests of digest delivery: a post lands in the watched directory, the bot plans
each subscribed channel's digest in the ledger and posts it to the fake Discord exactly once.

The bot is the project's own (``build_bot`` through ``harness.running_bot``) with the real
discord.py HTTP client; the fake checks every body against Discord's schema and limits.
Most tests drive the two scheduled jobs by hand (``poll_sources`` then ``deliver_due``) so
nothing waits on a timer; one runs the real scheduler. Expected digests are read from the
bundled posts by ``listed_papers``, independently of the bot's parser.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main as cli_main
from bot.delivery.deliverer import DeliveryReport
from bot.ingest.sources import DirectorySource
from bot.scheduler import DELIVER_JOB
from bot.store import Store, StoreUnavailable
from tests.support.clock import FakeClock
from tests.support.delivery import (
    CV_0315_HEADER,
    CV_0315_TITLES,
    GENERAL,
    PAPERS,
    WAIT,
    delivering,
    expected_titles,
    listed_papers,
    sent,
    settings_field,
    utc,
)
from tests.support.fake_discord import (
    BOT_ROLE_ID,
    GUILD_ID,
    FakeDiscord,
    Overwrite,
    Perm,
)
from tests.support.harness import database_path, ingest
from tests.support.posts import merged_post, retitled, sample_text
from tests.support.waiting import eventually, scheduled_runs, until_committed


def test_expected_digest_is_read_from_the_post() -> None:
    """The hand-written expectation and the independent reading of the post agree."""
    assert expected_titles(sample_text("2021-03-15"), ["cs.CV"]) == CV_0315_TITLES
    assert len(listed_papers(sample_text("2021-03-15"))) == 10


# ---------------------------------------------------------------------------------------------
# The happy path, with the real scheduler
# ---------------------------------------------------------------------------------------------


async def test_new_post_reaches_the_subscribed_channel_once(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path, run_jobs=True) as d:
        await d.subscribe("cs.CV")
        d.publish("2021-03-15", sample_text("2021-03-15"))

        [message] = await fake_discord.wait_for_messages(PAPERS, 1, timeout=WAIT)
        assert message["content"] == CV_0315_HEADER
        assert [e["title"] for e in message["embeds"]] == CV_0315_TITLES
        assert [e["url"] for e in message["embeds"]][:2] == [
            "https://arxiv.org/abs/2103.06902",
            "https://arxiv.org/abs/2103.07461",
        ]
        [post] = d.posts(PAPERS)
        assert post.status == 200
        assert post.json["allowed_mentions"] == {"parse": []}
        assert post.json["enforce_nonce"] is True
        assert isinstance(post.json["nonce"], str)
        assert 0 < len(post.json["nonce"]) <= 25
        assert message["nonce"] == post.json["nonce"]

        [row] = await d.wait_ledger(sent)
        assert (row.date, row.status, row.parts_sent) == (dt.date(2021, 3, 15), "sent", 1)
        assert row.message_ids == (int(message["id"]),)

        # Further runs, by hand and by the scheduler, find nothing more to post.
        report = await d.run()
        assert (report.sent_messages, report.completed) == (0, 0)
        await scheduled_runs(d.bot.service.jobs, DELIVER_JOB, 1)
        assert len(d.posts(PAPERS)) == 1
        assert len(d.messages(PAPERS)) == 1
        assert d.posts(GENERAL) == []
        assert d.messages(GENERAL) == []
        assert await d.ledger() == [row]


async def test_day_without_a_matching_paper_posts_nothing(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("hep-lat")
        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()
        assert report == DeliveryReport()
        assert d.posts(PAPERS) == []
        [row] = await d.ledger()
        assert (row.date, row.status, row.message_ids) == (dt.date(2021, 3, 15), "empty", ())
        assert "next digest due" not in settings_field(await d.command("subscriptions"))


# ---------------------------------------------------------------------------------------------
# Settings: what arrives and when
# ---------------------------------------------------------------------------------------------


async def test_top_setting_replans_an_unsent_digest(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.bot.service.poll_sources()  # planned with the default top 10, not sent yet
        assert [r.status for r in await d.ledger()] == ["pending"]

        assert "Top papers per digest: 2" in await d.settings(top=2)
        report = await d.bot.service.deliver_due()

        assert report.sent_messages == 1
        [message] = d.messages(PAPERS)
        assert message["content"] == (
            "**Hot Papers 2021-03-15** · top 2 of 7 papers matching cs.CV (10 that day)"
        )
        assert d.titles(PAPERS) == [CV_0315_TITLES[:2]]
        assert d.titles(PAPERS) == [expected_titles(sample_text("2021-03-15"), ["cs.CV"], top=2)]


async def test_min_score_setting_keeps_only_papers_with_that_attention(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    text = sample_text("2021-03-15")
    # cs.CV papers of the day score 915, 418, 294, 177, 157, 123, 95 (retweets + favorites).
    assert [p.score for p in listed_papers(text) if "cs.CV" in p.categories] == [
        915,
        418,
        294,
        177,
        157,
        123,
        95,
    ]
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        assert (
            "Minimum score (likes + reposts, or retweets + favorites on Twitter-era days): 200"
            in await d.settings(min_score=200)
        )
        d.publish("2021-03-15", text)
        await d.run()

        [message] = d.messages(PAPERS)
        assert message["content"] == (
            "**Hot Papers 2021-03-15** · 3 of 10 papers match cs.CV"
            " with at least 200 retweets + favorites"
        )
        assert d.titles(PAPERS) == [
            [CV_0315_TITLES[0], CV_0315_TITLES[1], CV_0315_TITLES[2]],
        ]
        assert d.titles(PAPERS) == [expected_titles(text, ["cs.CV"], min_score=200)]


@pytest.mark.parametrize(
    ("time", "zone", "due"),
    [
        # 10:00 UTC on 2021-03-16 is 06:00 in New York (EDT since 2021-03-14, UTC-4).
        pytest.param("08:30", "America/New_York", "2021-03-16T12:30:00", id="later-today-EDT"),
        pytest.param("05:00", "America/New_York", "2021-03-17T09:00:00", id="tomorrow-EDT"),
        # ... and 15:30 in Kolkata (UTC+5:30).
        pytest.param("23:15", "Asia/Kolkata", "2021-03-16T17:45:00", id="later-today-IST"),
        pytest.param("10:00", "UTC", "2021-03-16T10:00:00", id="right-now-UTC"),
    ],
)
async def test_delivery_time_in_the_channel_time_zone(
    fake_discord: FakeDiscord, tmp_path: Path, time: str, zone: str, due: str
) -> None:
    now = [utc("2021-03-16T10:00:00")]
    async with delivering(fake_discord, tmp_path) as d:
        d.bot.service.planner.clock = d.bot.service.deliverer.clock = lambda: now[0]
        await d.subscribe("cs.CV")
        assert f"Delivery: {time} {zone}" in await d.settings(time=time, timezone=zone)
        d.publish("2021-03-15", sample_text("2021-03-15"))

        due_at = utc(due)
        if due_at > now[0]:
            report = await d.run()
            assert report.sent_messages == 0
            assert d.posts(PAPERS) == []
            [row] = await d.ledger()
            assert (row.status, row.due_at) == ("pending", due_at)
            shown = settings_field(await d.command("subscriptions"))
            assert f"next digest due <t:{int(due_at.timestamp())}:f>" in shown

            now[0] = due_at - dt.timedelta(seconds=1)
            assert (await d.bot.service.deliver_due()).sent_messages == 0
            now[0] = due_at
        assert (await d.run()).sent_messages == 1
        [message] = d.messages(PAPERS)
        assert message["content"] == CV_0315_HEADER
        [row] = await d.ledger()
        assert (row.status, row.due_at) == ("sent", due_at)


async def test_paused_channel_gets_its_digest_once_resumed(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        assert "Paused" in await d.settings(paused=True)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        await d.run()
        assert d.posts(PAPERS) == []
        assert [r.status for r in await d.ledger()] == ["pending"]

        assert "Active" in await d.settings(paused=False)
        await d.run()
        assert [m["content"] for m in d.messages(PAPERS)] == [CV_0315_HEADER]
        assert d.titles(PAPERS) == [CV_0315_TITLES]
        assert [r.status for r in await d.ledger()] == ["sent"]


async def test_subscription_starts_with_the_next_day(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()  # ingested before anyone subscribed
        await d.subscribe("cs.CV")
        await d.run()
        assert d.posts(PAPERS) == []
        assert await d.ledger() == []

        d.publish("2021-03-24", sample_text("2021-03-24"))
        await d.run()
        assert [m["content"] for m in d.messages(PAPERS)] == [
            "**Hot Papers 2021-03-24** · 10 of 15 papers match cs.CV"
        ]
        assert d.titles(PAPERS) == [expected_titles(sample_text("2021-03-24"), ["cs.CV"])]
        assert [(r.date, r.status) for r in await d.ledger()] == [(dt.date(2021, 3, 24), "sent")]


async def test_catch_up_after_downtime_posts_only_the_newest_days_oldest_first(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    # While the bot is down: #papers subscribes, then five days are ingested.
    posts = {
        "2021-03-05": sample_text("2021-03-05"),
        "2021-03-15": sample_text("2021-03-15"),
        "2021-03-24": sample_text("2021-03-24"),
        "2021-03-25": retitled(sample_text("2021-03-05"), "2021-03-25"),
        "2021-03-26": retitled(sample_text("2021-03-15"), "2021-03-26"),
    }
    files = []
    for date, text in posts.items():
        path = tmp_path / f"{date}---Hot-Papers.md"
        path.write_text(text, encoding="utf-8")
        files.append(path)
    async with await Store.open(database_path(tmp_path)) as store:
        await store.subscriptions.subscribe(PAPERS, GUILD_ID, ["cs.CV"])
    await ingest(database_path(tmp_path), files)

    async with delivering(fake_discord, tmp_path, run_jobs=True, digest={"catch_up_days": 3}) as d:
        await fake_discord.wait_for_messages(PAPERS, 3, timeout=WAIT)
        rows = await d.wait_ledger(lambda rows: len(rows) == 3 and sent(rows))
        assert [r.date.isoformat() for r in rows] == ["2021-03-24", "2021-03-25", "2021-03-26"]
        assert [m["content"] for m in d.messages(PAPERS)] == [
            "**Hot Papers 2021-03-24** · 10 of 15 papers match cs.CV",
            "**Hot Papers 2021-03-25** · 8 of 13 papers match cs.CV",
            "**Hot Papers 2021-03-26** · 7 of 10 papers match cs.CV",
        ]
        assert d.titles(PAPERS) == [
            expected_titles(posts[date], ["cs.CV"])
            for date in ("2021-03-24", "2021-03-25", "2021-03-26")
        ]
        assert [int(m["id"]) for m in d.messages(PAPERS)] == [r.message_ids[0] for r in rows]
        assert len(d.posts(PAPERS)) == 3


# ---------------------------------------------------------------------------------------------
# What Discord answers
# ---------------------------------------------------------------------------------------------

REFUSED = (
    "Paused: Discord refused to post here (403: Missing Permissions). Give the bot View "
    "Channel, Send Messages and Embed Links, then change any /settings to resume."
)


async def test_forbidden_channel_is_paused_until_its_settings_change(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        papers = fake_discord.guilds[GUILD_ID].channel(PAPERS)
        assert papers is not None
        papers.overwrites.append(Overwrite(BOT_ROLE_ID, type=0, deny=Perm.SEND_MESSAGES))

        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()
        assert report.paused == [PAPERS]
        assert report.sent_messages == 0
        assert [p.status for p in d.posts(PAPERS)] == [403]
        assert REFUSED in settings_field(await d.command("subscriptions"))

        # Paused: later runs and a new day do not try again.
        d.publish("2021-03-24", sample_text("2021-03-24"))
        await d.run()
        await d.run()
        assert len(d.posts(PAPERS)) == 1
        assert d.messages(PAPERS) == []

        # The permission is given back and someone changes a setting: both days arrive.
        papers.overwrites.clear()
        shown = await d.settings(min_score=0)
        assert "Paused" not in shown
        assert "Active" in shown
        await d.run()
        assert [m["content"] for m in d.messages(PAPERS)] == [
            CV_0315_HEADER,
            "**Hot Papers 2021-03-24** · 10 of 15 papers match cs.CV",
        ]
        assert [r.status for r in await d.ledger()] == ["sent", "sent"]


async def test_unknown_channel_loses_its_subscriptions(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.LG", channel=GENERAL)
        fake_discord.fail_next("POST", f"/channels/{PAPERS}/messages", 404)

        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()
        assert report.removed == [PAPERS]
        assert [p.status for p in d.posts(PAPERS)] == [404]
        shown = await d.subscriptions()
        assert shown["description"].startswith("This channel has no subscriptions.")
        assert await d.ledger() == []
        assert len(d.messages(GENERAL)) == 1  # other channels are not affected

        d.publish("2021-03-24", sample_text("2021-03-24"))
        await d.run()
        assert len(d.posts(PAPERS)) == 1
        assert len(d.messages(GENERAL)) == 2


async def test_deleted_channel_loses_its_subscriptions(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.CV", channel=GENERAL)
        subscriptions = d.bot.store.subscriptions

        await fake_discord.delete_channel(PAPERS)  # CHANNEL_DELETE on the gateway

        async def papers_gone() -> bool:
            return await subscriptions.get(PAPERS) is None

        await until_committed(d.bot.store.database, papers_gone, "#papers removed")
        assert await subscriptions.get(GENERAL) is not None
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        assert d.posts(PAPERS) == []
        assert [m["content"] for m in d.messages(GENERAL)] == [CV_0315_HEADER]


async def test_removed_from_guild_drops_its_channels(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.LG", channel=GENERAL)
        subscriptions = d.bot.store.subscriptions

        await fake_discord.remove_guild(GUILD_ID)  # GUILD_DELETE on the gateway

        async def all_gone() -> bool:
            return await subscriptions.count() == 0

        await until_committed(d.bot.store.database, all_gone, "every channel removed")
        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()
        assert report == DeliveryReport()
        assert fake_discord.find_requests("POST", "/channels/{id}/messages") == []
        assert await d.bot.store.deliveries.ledger() == []


async def test_guild_outage_keeps_its_channels(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    """GUILD_DELETE with unavailable: true is a Discord outage, not a removal."""
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await fake_discord.dispatch(
            "GUILD_DELETE", {"id": str(GUILD_ID), "unavailable": True}, guild_id=GUILD_ID
        )

        async def unavailable() -> bool:
            guild = d.bot.get_guild(GUILD_ID)
            return guild is None or guild.unavailable

        await eventually(unavailable, "the guild unavailable", WAIT)
        assert await d.bot.store.subscriptions.count() == 1
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()
        assert [m["content"] for m in d.messages(PAPERS)] == [CV_0315_HEADER]


async def test_rate_limited_post_is_retried_after_the_wait(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        fake_discord.fail_next("POST", f"/channels/{PAPERS}/messages", 429, retry_after=0.3)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()

        first, second = d.posts(PAPERS)
        assert (first.status, second.status) == (429, 200)
        assert second.at - first.at >= 0.3  # discord.py waited retry_after
        assert report.completed == 1
        assert report.retried == 0
        assert [m["content"] for m in d.messages(PAPERS)] == [CV_0315_HEADER]
        [row] = await d.ledger()
        assert (row.status, row.attempts) == ("sent", 0)


async def test_server_errors_are_retried_by_discord_py(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        fake_discord.fail_next("POST", f"/channels/{PAPERS}/messages", 500, count=2)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()

        assert [p.status for p in d.posts(PAPERS)] == [500, 500, 200]
        assert report.completed == 1
        assert [m["content"] for m in d.messages(PAPERS)] == [CV_0315_HEADER]
        assert [r.status for r in await d.ledger()] == ["sent"]


async def test_lost_response_does_not_post_twice(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    """Discord stores the message but the answer is a 500: discord.py sends it again."""
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        fake_discord.fail_next("POST", f"/channels/{PAPERS}/messages", 500, commit=True)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await d.run()

        first, second = d.posts(PAPERS)
        assert (first.status, second.status) == (500, 200)
        assert first.json["nonce"] == second.json["nonce"]
        [message] = d.messages(PAPERS)
        assert fake_discord.nonce_hits == 1
        [row] = await d.ledger()
        assert (row.status, row.message_ids) == ("sent", (int(message["id"]),))


@pytest.mark.parametrize("history", ["readable", "unreadable"])
async def test_lost_response_retried_on_a_later_run_does_not_post_twice(
    fake_discord: FakeDiscord, tmp_path: Path, history: str
) -> None:
    """A 503 (not retried by discord.py) after the message was stored: the ledger backs off,
    and the later run finds the bot's message among the channel's latest and records it, so
    nothing is posted again even once Discord has forgotten the nonce. Where the channel
    cannot be read, the resend carries the same nonce, which Discord answers with the
    stored message."""
    if history == "readable":
        fake_discord.nonce_ttl = 0.0
    async with delivering(fake_discord, tmp_path) as d:
        start = dt.datetime.now(dt.UTC)
        now = [start]
        d.bot.service.planner.clock = d.bot.service.deliverer.clock = lambda: now[0]
        await d.subscribe("cs.CV")
        fake_discord.fail_next("POST", f"/channels/{PAPERS}/messages", 503, commit=True)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()
        assert report.retried == 1
        [row] = await d.ledger()
        assert (row.status, row.attempts, row.parts_sent) == ("pending", 1, 0)
        assert row.last_error is not None
        assert "503" in row.last_error
        assert row.due_at > start + dt.timedelta(seconds=20)

        now[0] = row.due_at - dt.timedelta(seconds=1)
        await d.run()
        assert len(d.posts(PAPERS)) == 1  # not before the backoff is over

        now[0] = row.due_at
        if history == "unreadable":
            fake_discord.fail_next("GET", f"/channels/{PAPERS}/messages", 403)
        assert (await d.run()).completed == 1
        looked = fake_discord.find_requests("GET", f"/channels/{PAPERS}/messages")
        assert [r.status for r in looked] == [200 if history == "readable" else 403]
        if history == "readable":
            assert [p.status for p in d.posts(PAPERS)] == [503]
            assert fake_discord.nonce_hits == 0
        else:
            assert [p.status for p in d.posts(PAPERS)] == [503, 200]
            assert fake_discord.nonce_hits == 1
        [message] = d.messages(PAPERS)
        [row] = await d.ledger()
        assert (row.status, row.message_ids) == ("sent", (int(message["id"]),))


async def test_settings_change_after_a_lost_response_keeps_the_digest_whole(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """The first message of a three-message digest is stored but its answer lost (503), then
    someone changes /settings: the channel ends with that digest whole, not with parts of
    two digests (the retry's nonce brings back the message already posted)."""
    big_day = merged_post("2021-03-25", (sample_text(d) for d in ("2021-03-24", "2021-03-15")))
    want = expected_titles(big_day, ["cs.*"], top=25)
    assert len(want) == 24
    async with delivering(fake_discord, tmp_path, digest={"top": 25}) as d:
        now = [dt.datetime.now(dt.UTC)]
        d.bot.service.planner.clock = d.bot.service.deliverer.clock = lambda: now[0]
        await d.subscribe("cs")
        fake_discord.fail_next("POST", f"/channels/{PAPERS}/messages", 503, commit=True)
        d.publish("2021-03-25", big_day)
        assert (await d.run()).retried == 1
        assert len(d.messages(PAPERS)) == 1  # already visible in the channel

        await d.settings(top=5)
        now[0] += dt.timedelta(hours=2)
        await d.run()
        [row] = await d.ledger()
        assert row.status == "sent"
        assert [len(m) for m in d.titles(PAPERS)] == [10, 10, 4]
        assert [t for message in d.titles(PAPERS) for t in message] == want
        assert [m["content"] for m in d.messages(PAPERS)] == [
            r"**Hot Papers 2021-03-25** · 24 of 25 papers match cs.\*",
            "",
            "",
        ]
        assert row.message_ids == tuple(int(m["id"]) for m in d.messages(PAPERS))


@pytest.mark.parametrize("second_day", ["published-later", "caught-up-together"])
async def test_day_retried_later_is_not_overtaken_by_the_next_day(
    fake_discord: FakeDiscord, tmp_path: Path, second_day: str
) -> None:
    """A channel gets its days oldest first, even when the older one had to wait out a
    server error (503: discord.py does not retry it, the ledger backs off)."""
    async with delivering(fake_discord, tmp_path) as d:
        now = [dt.datetime.now(dt.UTC)]
        d.bot.service.planner.clock = d.bot.service.deliverer.clock = lambda: now[0]
        await d.subscribe("cs.CV")
        fake_discord.fail_next("POST", f"/channels/{PAPERS}/messages", 503)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        if second_day == "caught-up-together":
            d.publish("2021-03-24", sample_text("2021-03-24"))
        assert (await d.run()).retried == 1
        d.publish("2021-03-24", sample_text("2021-03-24"))
        await d.run()
        now[0] += dt.timedelta(seconds=5)
        await d.run()
        assert d.messages(PAPERS) == []  # 2021-03-24 waits for 2021-03-15

        [retried, _] = await d.ledger()
        now[0] = retried.due_at
        await d.run()
        assert [m["content"] for m in d.messages(PAPERS)] == [
            CV_0315_HEADER,
            "**Hot Papers 2021-03-24** · 10 of 15 papers match cs.CV",
        ]
        assert [r.status for r in await d.ledger()] == ["sent", "sent"]


# ---------------------------------------------------------------------------------------------
# The watched directory
# ---------------------------------------------------------------------------------------------


def rejections(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "bot.service" and r.getMessage().startswith("post rejected")
    ]


async def test_half_written_post_waits_until_complete(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A post still being written (modified less than settle_seconds ago) is not read."""
    caplog.set_level(logging.WARNING)
    text = sample_text("2021-03-15")
    async with delivering(fake_discord, tmp_path, settle_seconds=2.0) as d:
        [source] = d.bot.service.sources
        assert isinstance(source, DirectorySource)
        now = [0.0]  # the source's clock, moved by hand: no sleeping, no timing luck
        source.clock = lambda: now[0]
        await d.subscribe("cs.CV")
        path = d.publish("2021-03-15", text[: len(text) // 2], settled=False)
        now[0] = path.stat().st_mtime + 1.9
        await d.run()
        await d.run()
        assert await d.bot.store.archive.days() == []
        assert d.posts(PAPERS) == []

        with path.open("a", encoding="utf-8") as handle:  # the writer finishes
            handle.write(text[len(text) // 2 :])
        now[0] = path.stat().st_mtime + 1.9
        await d.run()
        assert d.posts(PAPERS) == []  # just modified: not read yet

        now[0] = path.stat().st_mtime + 2.0
        await d.run()
        await d.run()
        assert [m["content"] for m in d.messages(PAPERS)] == [CV_0315_HEADER]
        assert d.titles(PAPERS) == [CV_0315_TITLES]
        assert len(d.posts(PAPERS)) == 1
        assert rejections(caplog) == []


async def test_malformed_post_is_reported_and_skipped(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    broken = sample_text("2021-03-15").replace("# 2. Probabilistic", "# 7. Probabilistic", 1)
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        path = d.publish("2021-03-15", broken)
        await d.run()
        await d.run()
        [reported] = rejections(caplog)  # once, not at every poll
        assert str(path) in reported
        assert "paper numbered 7; expected 2" in reported
        assert await d.bot.store.archive.days() == []

        d.publish("2021-03-24", sample_text("2021-03-24"))
        await d.run()
        assert [m["content"] for m in d.messages(PAPERS)] == [
            "**Hot Papers 2021-03-24** · 10 of 15 papers match cs.CV"
        ]
        assert len(rejections(caplog)) == 1


async def test_rate_limits_that_outlast_discord_py_halt_every_delivery(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """Five 429s in a row (discord.py's retries spent): the digest is not given up, and no
    other channel is tried until the wait is over."""
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.CV", channel=GENERAL)
        clock = FakeClock()
        d.bot.service.planner.clock = d.bot.service.deliverer.clock = clock.utc
        d.bot.service.deliverer.base_backoff = 0.5
        d.bot.service.deliverer.concurrency = 1  # nothing else in flight when the 429s come back
        fake_discord.fail_next("POST", "/channels/{id}/messages", 429, count=5, retry_after=0.01)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()

        posts = fake_discord.find_requests("POST", "/channels/{id}/messages")
        assert [p.status for p in posts] == [429] * 5
        assert len({p.path for p in posts}) == 1  # one channel tried, the other left alone
        assert (report.sent_messages, report.retried, report.failed) == (0, 1, 0)
        assert {r.status for r in await d.ledger(PAPERS) + await d.ledger(GENERAL)} == {"pending"}
        assert (await d.bot.service.deliver_due()).sent_messages == 0  # still waiting: no request
        assert len(fake_discord.find_requests("POST", "/channels/{id}/messages")) == 5

        clock.advance(0.9)  # Retry-After: 1 (more than base_backoff)
        assert (await d.bot.service.deliver_due()).sent_messages == 0
        clock.advance(0.1)
        report = await d.bot.service.deliver_due()
        assert report.completed == 2
        assert [m["content"] for m in d.messages(PAPERS)] == [CV_0315_HEADER]
        assert [m["content"] for m in d.messages(GENERAL)] == [CV_0315_HEADER]


async def test_a_refused_token_stops_deliveries_instead_of_failing_every_digest(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.CV", channel=GENERAL)
        clock = FakeClock()
        d.bot.service.planner.clock = d.bot.service.deliverer.clock = clock.utc
        d.bot.service.deliverer.concurrency = 1  # nothing else in flight when the 401 comes back
        fake_discord.fail_next("POST", "/channels/{id}/messages", 401)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        report = await d.run()

        assert [
            p.status for p in fake_discord.find_requests("POST", "/channels/{id}/messages")
        ] == [401]
        assert (report.sent_messages, report.failed) == (0, 0)
        rows = await d.ledger(PAPERS) + await d.ledger(GENERAL)
        assert [(r.status, r.attempts) for r in rows] == [("pending", 0), ("pending", 0)]
        assert any(
            r.levelno == logging.ERROR and "Discord refused the bot's token (401)" in r.getMessage()
            for r in caplog.records
        )

        clock.advance(3599)  # every delivery waits max_backoff, an hour
        assert (await d.bot.service.deliver_due()).sent_messages == 0
        clock.advance(1)
        assert (await d.bot.service.deliver_due()).completed == 2
        assert [m["content"] for m in d.messages(GENERAL)] == [CV_0315_HEADER]


async def test_cli_digest_json_is_exactly_what_the_bot_posts(
    fake_discord: FakeDiscord, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.LG")
        d.publish("2021-03-24", sample_text("2021-03-24"))
        assert (await d.run()).completed == 1
        posted = [p.json for p in d.posts(PAPERS)]
    argv = ["digest", "--db", str(database_path(tmp_path)), "--date", "2021-03-24"]
    argv += ["--categories", "cs.CV,cs.LG", "--json", "--channel", str(PAPERS)]
    assert await asyncio.to_thread(cli_main, argv, {}) == 0  # asyncio.run of its own
    printed = json.loads(capsys.readouterr().out)
    assert printed == posted
    assert [b["nonce"] for b in printed] == [f"rt.210324.{part}" for part in range(len(posted))]


async def test_a_changed_post_replans_the_digests_not_sent_yet(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """A post first read cut short at a paper's end (a writer that paused) parses as a
    shorter day; when the whole post arrives, digests still waiting carry all of it."""
    now = [utc("2021-03-16T10:00:00")]
    async with delivering(fake_discord, tmp_path) as d:
        d.bot.service.planner.clock = d.bot.service.deliverer.clock = lambda: now[0]
        await d.subscribe("cs.CV")
        await d.settings(time="18:00", timezone="UTC")
        await d.subscribe("cs.CV", channel=GENERAL)  # no time: posted as soon as read
        text = sample_text("2021-03-15")
        cut = text[: text.index("# 3. ")]
        assert cut.endswith("\n\n")
        d.publish("2021-03-15", cut)
        await d.run()
        assert d.titles(GENERAL) == [CV_0315_TITLES[:2]]  # already posted: stays as it was
        assert d.posts(PAPERS) == []

        d.publish("2021-03-15", text)
        await d.run()
        now[0] = utc("2021-03-16T18:00:00")
        assert (await d.bot.service.deliver_due()).completed == 1
        assert d.titles(PAPERS) == [CV_0315_TITLES]
        assert [m["content"] for m in d.messages(PAPERS)] == [CV_0315_HEADER]
        assert d.titles(GENERAL) == [CV_0315_TITLES[:2]]


async def test_a_message_posted_while_the_ledger_cannot_be_written_is_not_posted_again(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discord accepted the message but the ledger was read-only or locked at that moment:
    the next runs record it instead of posting it again, even after Discord has forgotten
    its nonce."""
    fake_discord.nonce_ttl = 0.0  # Discord keeps nonces only minutes; here not at all
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        deliveries = d.bot.store.deliveries
        part_sent = deliveries.part_sent
        # Refused three times: after the post, on the same run's second pass, on the next run.
        failures = [StoreUnavailable("database x is read-only (...); nothing was changed")] * 3

        async def flaky(*args: Any, **kwargs: Any) -> None:
            if failures:
                raise failures.pop()
            await part_sent(*args, **kwargs)

        monkeypatch.setattr(deliveries, "part_sent", flaky)
        d.publish("2021-03-15", sample_text("2021-03-15"))
        first = await d.run()
        assert (first.sent_messages, first.completed) == (1, 0)
        assert [r.status for r in await d.ledger()] == ["pending"]
        second = await d.bot.service.deliver_due()  # the ledger still refuses: nothing posted
        assert (second.sent_messages, second.completed) == (0, 0)
        assert failures == []
        third = await d.bot.service.deliver_due()
        assert (third.sent_messages, third.completed) == (0, 1)

        [message] = d.messages(PAPERS)
        assert len(d.posts(PAPERS)) == 1
        [row] = await d.ledger()
        assert (row.status, row.message_ids) == ("sent", (int(message["id"]),))


async def test_subscriptions_say_when_the_next_digest_comes(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        shown = await d.settings(time="08:30", timezone="Europe/Paris")
    assert shown.endswith(
        "Delivery: 08:30 Europe/Paris\nActive · next digest with the next Hot Papers day,"
        " at 08:30 Europe/Paris"
    )
