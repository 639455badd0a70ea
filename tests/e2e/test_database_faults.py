"""End-to-end: the database locked by another process, or read-only, while posts arrive.

The bot is the project's own, in-process (``harness.running_bot`` through test_delivery's
``delivering``), its two jobs driven by hand. During an episode the bot logs one clear line,
keeps running and answers commands (reads from the archive); once the database is usable
again the post is ingested and its digest delivered exactly once. The lock is a real second
process holding ``BEGIN EXCLUSIVE``; read-only is ``chattr +i`` as root or ``chmod 0o444``
(tests/support/database.py), each proven before the episode and undone after it.
The long version is ``python -m bench.database_faults``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.models import Day
from bot.store import IngestOutcome
from tests.support.clock import FakeClock
from tests.support.database import Locker, is_locked, read_only
from tests.support.delivery import (
    CV_0315_HEADER,
    CV_0315_TITLES,
    PAPERS,
    WAIT,
    Harness,
    delivering,
    expected_titles,
)
from tests.support.fake_discord import FakeDiscord
from tests.support.harness import database_path
from tests.support.posts import sample_text

PERCEIVER = "2103.03206"  # in the 2021-03-05 post
PERCEIVER_TITLE = "Perceiver: General Perception with Iterative Attention"
UNAVAILABLE = (
    "The archive is busy or cannot be written right now, so nothing was changed."
    " Please try again in a minute."
)


def problems(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """(logger, message) of every warning and error; the jobs' lines carry no traceback (the
    command tree's may: it is the one place where command errors are logged)."""
    found = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r for r in found if r.exc_info and r.name != "bot.client.tree"] == []
    return [(r.name, r.getMessage()) for r in found]


async def first_day(d: Harness) -> None:
    """#papers follows cs.CV and has had its 2021-03-05 digest."""
    await d.subscribe("cs.CV")
    d.publish("2021-03-05", sample_text("2021-03-05"))
    report = await d.run()
    assert report.completed == 1
    assert d.titles(PAPERS) == [expected_titles(sample_text("2021-03-05"), ["cs.CV"])]


async def paper_card(d: Harness) -> dict[str, Any]:
    reply = await d.command("paper", {"id": PERCEIVER})
    [embed] = reply["embeds"]
    assert embed["title"] == PERCEIVER_TITLE
    assert embed["url"] == f"https://arxiv.org/abs/{PERCEIVER}"
    return reply


async def delivered_once(d: Harness) -> None:
    """The 2021-03-15 digest arrives, once, after the 2021-03-05 one; nothing more comes."""
    assert d.bot.is_ready()
    assert not d.bot.is_closed()
    assert len(d.messages(PAPERS)) == 2
    assert d.messages(PAPERS)[1]["content"] == CV_0315_HEADER
    assert d.titles(PAPERS)[1] == CV_0315_TITLES
    rows = await d.ledger()
    assert [(str(r.date), r.status, r.parts_sent) for r in rows] == [
        ("2021-03-05", "sent", 1),
        ("2021-03-15", "sent", 1),
    ]
    again = await d.run()
    assert (again.sent_messages, again.completed) == (0, 0)
    assert len(d.posts(PAPERS)) == 2
    assert len(d.messages(PAPERS)) == 2


async def test_locked_database_commands_answered_post_delivered_once_when_released(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = database_path(tmp_path)
    locker = Locker(path)
    async with delivering(fake_discord, tmp_path) as d:
        await first_day(d)
        database = d.bot.store.database
        database.busy_timeout = 2.0
        clock = FakeClock()  # the busy wait takes no real time
        database.clock, database.sleep = clock, clock.sleep
        caplog.clear()
        try:
            await locker.lock()
            post = d.publish("2021-03-15", sample_text("2021-03-15"))
            clock.hold()
            poll = asyncio.create_task(d.bot.service.poll_sources())
            await asyncio.wait_for(clock.asleep.wait(), WAIT)
            assert not poll.done()  # its write is waiting for the other process
            await paper_card(d)  # answered meanwhile, well within Discord's 3 s
            assert not poll.done()
            clock.release()
            await poll  # gives up after busy_timeout, without raising
            assert is_locked(path)
            assert (await d.bot.service.deliver_due()).sent_messages == 0
            assert problems(caplog) == [
                (
                    "bot.ingest.sources",
                    f"cannot store post {post}: database {path} is locked by another process "
                    "(still locked after 2 s); nothing was changed; will retry at the next poll",
                )
            ]
            assert [str(r.date) for r in await d.ledger()] == ["2021-03-05"]
            assert d.bot.is_ready()
            assert not d.bot.is_closed()
        finally:
            await locker.release()

        report = await d.run()
        assert (report.sent_messages, report.completed) == (1, 1)
        await delivered_once(d)
        assert len(problems(caplog)) == 1


async def test_plan_that_fails_on_a_locked_database_is_retried_at_the_next_poll(
    fake_discord: FakeDiscord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = database_path(tmp_path)
    locker = Locker(path)
    async with delivering(fake_discord, tmp_path) as d:
        await first_day(d)
        store = d.bot.store
        store.database.busy_timeout = 0.3
        ingest = store.archive.ingest

        async def then_lock(day: Day, *, source: str, content_hash: str) -> IngestOutcome:
            outcome = await ingest(day, source=source, content_hash=content_hash)
            await locker.lock()  # stored; now another process holds the lock
            return outcome

        monkeypatch.setattr(store.archive, "ingest", then_lock)
        caplog.clear()
        try:
            d.publish("2021-03-15", sample_text("2021-03-15"))
            await d.bot.service.poll_sources()
            assert is_locked(path)
            assert problems(caplog) == [
                (
                    "bot.service",
                    f"cannot plan digests: database {path} is locked by another process "
                    "(still locked after 0.3 s); nothing was changed; will retry at the next poll",
                )
            ]
            assert [str(s.date) for s in await store.archive.days()] == [
                "2021-03-05",
                "2021-03-15",
            ]
            assert [str(r.date) for r in await d.ledger()] == ["2021-03-05"]  # not planned
        finally:
            await locker.release()
        monkeypatch.undo()

        report = await d.run()  # no new post, but the plan owed is made now
        assert (report.sent_messages, report.completed) == (1, 1)
        await delivered_once(d)
        assert len(problems(caplog)) == 1


async def test_read_only_database_at_start_serves_reads_refuses_changes_then_recovers(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = database_path(tmp_path)
    async with delivering(fake_discord, tmp_path) as d:
        await first_day(d)
    caplog.clear()

    refused = f"database {path} is read-only ({path} cannot be written); nothing was changed"
    with contextlib.ExitStack() as episode:
        episode.enter_context(read_only(path))
        async with delivering(fake_discord, tmp_path) as d:
            assert d.bot.synced is False  # nothing to write at start: it started
            post = d.publish("2021-03-15", sample_text("2021-03-15"))
            await d.bot.service.poll_sources()
            await paper_card(d)
            reply = await d.command("subscribe", {"category": "cs.LG"})  # a change: refused
            assert reply["content"] == UNAVAILABLE
            assert (await d.bot.service.deliver_due()).sent_messages == 0
            assert d.bot.is_ready()
            assert not d.bot.is_closed()
            assert problems(caplog) == [
                (
                    "bot.store.database",
                    f"database {path} is read-only ({path} cannot be written): serving reads; "
                    "every change fails until it can be written again",
                ),
                (
                    "bot.ingest.sources",
                    f"cannot store post {post}: {refused}; will retry at the next poll",
                ),
                ("bot.client.tree", f"command failed, archive unavailable: {refused}"),
            ]
            assert d.bot.store.database.reopens == 0

            episode.close()  # writable again, the bot still running
            report = await d.run()
            assert (report.sent_messages, report.completed) == (1, 1)
            assert d.bot.store.database.reopens == 1
            await delivered_once(d)
            assert len(problems(caplog)) == 3
            subscription = await d.bot.store.subscriptions.get(PAPERS)
            assert subscription is not None
            assert subscription.categories == ("cs.CV",)  # the refused change did not happen


async def test_read_only_database_with_changed_commands_still_starts(
    fake_discord: FakeDiscord, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The commands are registered with Discord; only the note of it cannot be written, so
    the next start registers them again."""
    path = database_path(tmp_path)
    async with delivering(fake_discord, tmp_path) as d:
        await first_day(d)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        # As after an upgrade that changed a command: the recorded hash no longer matches.
        db.execute("DELETE FROM bot_state WHERE key LIKE 'commands_hash:%'")
    caplog.clear()
    with read_only(path):
        async with delivering(fake_discord, tmp_path) as d:
            assert d.bot.synced is True
            assert d.bot.is_ready()
            await paper_card(d)
    assert len(fake_discord.find_requests("PUT", "/applications/{id}/commands")) == 2
    [warning] = [r for r in caplog.records if r.name == "bot.client.bot"]
    assert warning.getMessage().startswith("could not record the synced commands (database ")
    assert warning.getMessage().endswith("; will sync again")
