"""The live sandbox's made-up day, its clock and its config: events the collector reads as
meant, a day that closes when asked, and Bluesky reached only through the stand-ins."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections import Counter
from pathlib import Path

from bot.bluesky.events import FrameDecoder
from bot.bluesky.posts import PostLinked, PostRemoved
from bot.config import load_config
from bot.sandbox.arxiv_api import sample_papers
from bot.sandbox.live import closing_clock, live_config, live_day, live_world, twitter_scores
from bot.sandbox.local_discord import LocalDiscord
from bot.sandbox.run import sandbox_config

START_US = 1_750_000_000_000_000
UNTIL_US = START_US + 20 * 3600 * 1_000_000


def decoded(time_us: int, event: dict[str, object]) -> object:
    frame = json.dumps({"did": event["did"], "time_us": time_us, "kind": "commit", **event})
    found = FrameDecoder().decode(frame)
    assert found is not None, frame
    return found.change


def test_the_day_is_the_same_for_a_seed_and_in_stream_order() -> None:
    day = live_day(START_US, UNTIL_US)
    assert live_day(START_US, UNTIL_US) == day
    times = [time_us for time_us, _ in day.events]
    assert times == sorted(times)
    assert times[0] >= START_US
    assert times[-1] < UNTIL_US


def test_the_collector_reads_every_post_with_its_papers_and_the_delete() -> None:
    day = live_day(START_US, UNTIL_US)
    linked = {}
    removed = []
    for time_us, event in day.events:
        change = decoded(time_us, event)
        if isinstance(change, PostLinked):
            linked[change.post.uri] = change.post.arxiv_ids
        elif isinstance(change, PostRemoved):
            removed.append(change.uri)
    assert removed == [day.deleted.uri]
    assert linked == {p.uri: p.arxiv_ids for p in [*day.posts, day.deleted]}
    assert day.deleted not in day.posts  # the AppView does not show it
    assert (day.deleted.likes, day.deleted.reposts) == (5000, 900)


def test_every_sample_paper_has_posts_and_the_feed_links_24() -> None:
    day = live_day(START_US, UNTIL_US)
    papers = {p.arxiv_id for p in sample_papers()}
    by_people = Counter(p.arxiv_ids[0] for p in day.posts if p.handle != day.feed)
    assert set(by_people) == papers
    assert set(by_people.values()) <= {1, 2, 3, 4, 5}
    feed = [p.arxiv_ids[0] for p in day.posts if p.handle == day.feed]
    assert len(feed) == len(set(feed)) == 24  # more than feed_threshold (20): left out
    # The most noticed paper on Twitter draws the most likes here too.
    scores = twitter_scores()
    likes = Counter()
    for post in day.posts:
        if post.handle != day.feed:
            likes[post.arxiv_ids[0]] += post.likes
    assert likes.most_common(1)[0][0] == max(scores, key=lambda i: scores[i])


def test_the_day_closes_on_a_whole_minute_so_many_seconds_from_now() -> None:
    clock, closes = closing_clock(30, 1_750_000_000.5)  # 2025-06-15 15:06:40.5 UTC
    assert closes == dt.datetime(2025, 6, 15, 15, 8, tzinfo=dt.UTC)  # the minute after 15:07:10.5
    assert clock.offset == 49.5  # so the sandbox's clock reads 15:08 when 30 s have passed


async def test_only_the_live_mode_collects_and_only_from_its_stand_ins(tmp_path: Path) -> None:
    config = load_config(None, {})
    config = dataclasses.replace(config, bluesky=dataclasses.replace(config.bluesky, enabled=True))
    clock, closes = closing_clock(30, time.time())
    start_us = round((clock() - 3600) * 1_000_000)
    async with LocalDiscord() as local, live_world(clock, start_us) as world:
        offline = sandbox_config(config, local, "sandbox.sqlite3", tmp_path)
        live = live_config(config, local, "sandbox.sqlite3", world, closes)
    assert not offline.bluesky_enabled  # a configured Jetstream is never reached offline
    assert live.bluesky_enabled
    assert (live.source.directory, live.source.url) == ("", "")
    assert (live.bluesky.jetstream_url, live.bluesky.appview_url, live.arxiv.api_url) == (
        world.jetstream.url,
        world.appview.base_url,
        world.arxiv.api_url,
    )
    assert (live.bluesky.day_ends, live.bluesky.timezone) == (closes.strftime("%H:%M"), "UTC")
    assert live.bluesky.publish_delay_hours == 0
    assert world.jetstream.stats.published == len(world.day.events)
    assert len(world.appview.posts) == len(world.day.posts)
