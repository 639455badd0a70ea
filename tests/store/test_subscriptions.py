"""Channels, the categories they follow and their settings, on a real temporary SQLite file."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from bot.ingest.files import ingest_files
from bot.models import Subscription
from bot.store import SettingsChange, Store
from tests.support.archive import MARCH_5, MARCH_15, ingest_sample

GUILD = 1000
OTHER_GUILD = 2000


def fresh(channel_id: int, categories: tuple[str, ...], since: dt.date) -> Subscription:
    """A channel just subscribed: every setting at its default."""
    return Subscription(
        channel_id=channel_id,
        guild_id=GUILD,
        categories=categories,
        since_date=since,
        top=None,
        min_score=0,
        deliver_at=None,
        timezone="UTC",
        paused=False,
        pause_reason=None,
    )


async def test_subscribe_returns_only_the_new_categories(store: Store) -> None:
    assert await store.subscriptions.subscribe(1, GUILD, ["cs.CV", "cs.*"]) == ["cs.CV", "cs.*"]
    assert await store.subscriptions.subscribe(1, GUILD, ["cs.LG", "cs.CV"]) == ["cs.LG"]
    assert await store.subscriptions.get(1) == fresh(1, ("cs.*", "cs.CV", "cs.LG"), dt.date.min)
    assert await store.subscriptions.get(2) is None


async def test_a_new_channel_starts_after_the_newest_day_stored(store: Store) -> None:
    await ingest_sample(store, MARCH_5)
    await ingest_sample(store, MARCH_15)
    await store.subscriptions.subscribe(1, GUILD, ["cs.CV"])
    assert await store.subscriptions.get(1) == fresh(1, ("cs.CV",), dt.date(2021, 3, 16))


async def test_unsubscribing_the_last_category_forgets_the_channel(store: Store) -> None:
    await store.subscriptions.subscribe(1, GUILD, ["cs.CV", "cs.LG"])
    await store.subscriptions.update_settings(1, SettingsChange(top=3))
    assert await store.subscriptions.unsubscribe(1, "cs.CV") is True
    assert await store.subscriptions.unsubscribe(1, "cs.CV") is False  # not subscribed any more
    assert await store.subscriptions.get(1) == dataclasses.replace(
        fresh(1, ("cs.LG",), dt.date.min), top=3
    )
    assert await store.subscriptions.unsubscribe(1, "cs.LG") is True
    assert await store.subscriptions.get(1) is None
    # Subscribing again starts over, settings included.
    await store.subscriptions.subscribe(1, GUILD, ["cs.LG"])
    assert await store.subscriptions.get(1) == fresh(1, ("cs.LG",), dt.date.min)


async def test_settings_change_only_what_is_given(store: Store) -> None:
    await store.subscriptions.subscribe(1, GUILD, ["cs.CV"])
    changed = await store.subscriptions.update_settings(
        1,
        SettingsChange(top=5, deliver_at=dt.time(8, 30), timezone="Europe/Paris"),
    )
    expected = dataclasses.replace(
        fresh(1, ("cs.CV",), dt.date.min), top=5, deliver_at=dt.time(8, 30), timezone="Europe/Paris"
    )
    assert changed == expected
    changed = await store.subscriptions.update_settings(1, SettingsChange(min_score=100))
    assert changed == dataclasses.replace(expected, min_score=100)
    changed = await store.subscriptions.update_settings(1, SettingsChange(clear_deliver_at=True))
    assert changed == dataclasses.replace(expected, min_score=100, deliver_at=None)
    assert await store.subscriptions.get(1) == changed


async def test_settings_of_an_unknown_channel_change_nothing(store: Store) -> None:
    assert await store.subscriptions.update_settings(9, SettingsChange(top=5)) is None
    assert await store.subscriptions.count() == 0


async def test_a_pause_discord_caused_lifts_at_any_settings_change(store: Store) -> None:
    await store.subscriptions.subscribe(1, GUILD, ["cs.CV"])
    await store.subscriptions.pause(1, "Discord refused to post here (403: Missing Access).")
    paused = await store.subscriptions.get(1)
    assert paused is not None
    assert (paused.paused, paused.pause_reason) == (
        True,
        "Discord refused to post here (403: Missing Access).",
    )
    resumed = await store.subscriptions.update_settings(1, SettingsChange(top=4))
    assert resumed is not None
    assert (resumed.paused, resumed.pause_reason, resumed.top) == (False, None, 4)


async def test_a_pause_the_channel_asked_for_stays_until_asked_to_resume(store: Store) -> None:
    await store.subscriptions.subscribe(1, GUILD, ["cs.CV"])
    await store.subscriptions.update_settings(1, SettingsChange(paused=True))
    still = await store.subscriptions.update_settings(1, SettingsChange(top=4))
    assert still is not None
    assert (still.paused, still.pause_reason) == (True, None)
    resumed = await store.subscriptions.update_settings(1, SettingsChange(paused=False))
    assert resumed is not None
    assert resumed.paused is False


async def test_removed_channels_and_guilds_lose_their_subscriptions(store: Store) -> None:
    for channel in (1, 2, 3):
        await store.subscriptions.subscribe(channel, GUILD, ["cs.CV"])
    await store.subscriptions.subscribe(4, OTHER_GUILD, ["cs.CV"])
    assert await store.subscriptions.remove_channels([1, 99]) == 1
    assert await store.subscriptions.get(1) is None
    assert await store.subscriptions.count() == 3
    assert await store.subscriptions.remove_guild(GUILD) == 2
    assert await store.subscriptions.count() == 1
    assert await store.subscriptions.get(4) is not None


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE channels SET deliver_at = '25:99'", "stored deliver_at '25:99' cannot be read"),
        ("UPDATE channels SET since_date = 'soon'", "stored since_date 'soon' cannot be read"),
        ("UPDATE channels SET top = 'ten'", "stored top 'ten' is not a whole number"),
        ("UPDATE channels SET min_score = 1.5", "stored min_score 1.5 is not a whole number"),
    ],
)
async def test_a_stored_value_that_cannot_be_read_is_the_channels_problem(
    store: Store, tmp_path: Path, sql: str, problem: str
) -> None:
    """An old or edited archive: the channel is still read, with its problem said, so that
    it alone is skipped and /subscriptions can show it."""
    await store.subscriptions.subscribe(1, GUILD, ["cs.CV"])
    with contextlib.closing(sqlite3.connect(tmp_path / "archive.sqlite3")) as db, db:
        db.execute(sql)
    subscription = await store.subscriptions.get(1)
    assert subscription is not None
    assert (subscription.categories, subscription.problem) == (("cs.CV",), problem)


async def test_an_archive_holding_the_last_date_there_is_still_takes_subscriptions(
    store: Store, samples: list[Path], tmp_path: Path
) -> None:
    """Stored before posts dated in the future were refused, 9999-12-31 made every
    /subscribe fail (the day after it does not exist); it now starts there, until
    `hotpapers forget-day` removes the day."""
    post = tmp_path / "9999-12-31---Hot-Papers.md"
    post.write_text(
        samples[0].read_text(encoding="utf-8").replace("2021-03-05", "9999-12-31"),
        encoding="utf-8",
    )
    report = await ingest_files(store.archive, [post], today=lambda: dt.date.max)
    assert (report.new, report.rejected) == (1, [])
    assert await store.subscriptions.subscribe(1, 1000, ["cs.CV"]) == ["cs.CV"]
    channel = await store.subscriptions.get(1)
    assert channel is not None
    assert channel.since_date == dt.date.max
