"""The application service without any Discord: what a poll stores is planned, a changed
channel is planned anew, a stop reaches the deliverer and the Bluesky collector, and a plan
the archive refused is owed until the next poll."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path

import aiohttp
import pytest

from bot.bluesky.source import BlueskySource, day_builder
from bot.config import load_config
from bot.delivery.report import DeliveryReport
from bot.ingest.sources import DirectorySource
from bot.planning import DeliveryPlanner
from bot.render import Renderer
from bot.service import DigestService
from bot.store import SettingsChange, Store, StoreUnavailable
from tests.support.posts import sample_post

NOW = dt.datetime(2021, 3, 16, 8, 0, tzinfo=dt.UTC)


class RecordingDeliverer:
    """A `Delivering` that posts nothing and notes what it was asked."""

    def __init__(self) -> None:
        self.runs = 0
        self.stopped = False

    async def deliver_due(self) -> DeliveryReport:
        self.runs += 1
        return DeliveryReport()

    async def stop(self) -> None:
        self.stopped = True


def service_over(
    store: Store, watched: Path, *, bluesky: BlueskySource | None = None
) -> tuple[DigestService, RecordingDeliverer]:
    deliverer = RecordingDeliverer()
    planner = DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=3, clock=lambda: NOW)
    source = DirectorySource(store.archive, watched, settle_seconds=0)
    service = DigestService(
        store=store,
        planner=planner,
        deliverer=deliverer,
        sources=[source],
        bluesky=bluesky,
        poll_seconds=60,
        deliver_seconds=60,
    )
    return service, deliverer


async def test_a_polled_post_is_planned_for_its_channels(store: Store, tmp_path: Path) -> None:
    service, deliverer = service_over(store, tmp_path)
    await store.subscriptions.subscribe(1, 1000, ["cs.CV"])
    await store.subscriptions.subscribe(2, 1000, ["hep-th"])
    shutil.copy(sample_post("2021-03-15"), tmp_path)

    await service.poll_sources()

    rows = await store.deliveries.ledger()
    assert [(r.channel_id, str(r.date), r.status, r.due_at) for r in rows] == [
        (1, "2021-03-15", "pending", NOW),
        (2, "2021-03-15", "empty", NOW),  # no hep-th paper that day
    ]
    assert await service.next_due(1) == NOW
    assert await service.next_due(2) is None
    assert deliverer.runs == 0  # sending is the delivery job's, not the poll's


async def test_a_changed_channel_is_planned_anew(store: Store, tmp_path: Path) -> None:
    service, _ = service_over(store, tmp_path)
    await store.subscriptions.subscribe(1, 1000, ["cs.CV"])
    shutil.copy(sample_post("2021-03-15"), tmp_path)
    await service.poll_sources()
    await store.subscriptions.update_settings(1, SettingsChange(deliver_at=dt.time(9, 30)))

    await service.channel_changed(1)

    [row] = await store.deliveries.ledger()
    assert (row.status, row.due_at) == ("pending", NOW.replace(hour=9, minute=30))
    assert await service.next_due(1) == NOW.replace(hour=9, minute=30)


async def test_a_plan_the_archive_refused_is_made_at_the_next_poll(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _ = service_over(store, tmp_path)
    await store.subscriptions.subscribe(1, 1000, ["cs.CV"])
    shutil.copy(sample_post("2021-03-15"), tmp_path)
    plan = service.planner.plan

    async def unavailable() -> int:
        raise StoreUnavailable("database is locked by another process; nothing was changed")

    monkeypatch.setattr(service.planner, "plan", unavailable)
    await service.poll_sources()  # stored, but not planned
    assert await store.deliveries.ledger() == []

    monkeypatch.setattr(service.planner, "plan", plan)
    await service.poll_sources()  # nothing new to store: the plan was owed all the same
    [row] = await store.deliveries.ledger()
    assert (row.channel_id, str(row.date), row.status) == (1, "2021-03-15", "pending")


async def test_stop_stops_the_deliverer(store: Store, tmp_path: Path) -> None:
    service, deliverer = service_over(store, tmp_path)
    await service.stop()
    assert deliverer.stopped


class Collector:
    """Stands in for the Bluesky collector: says when it runs and when it is stopped."""

    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.stopped = asyncio.Event()

    async def __call__(self) -> None:
        self.running.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.stopped.set()


async def test_the_collector_runs_from_start_until_stop(store: Store, tmp_path: Path) -> None:
    collector = Collector()
    async with aiohttp.ClientSession() as session:
        config = load_config(None, {})
        bluesky = BlueskySource(
            store,
            day_builder(config, store, session),
            catch_up_days=3,
            collector=collector,
        )
        service, deliverer = service_over(store, tmp_path, bluesky=bluesky)
        service.start()
        try:
            await asyncio.wait_for(collector.running.wait(), 5)
            assert not collector.stopped.is_set()
            await service.stop()
            assert collector.stopped.is_set()  # stopped and awaited before stop returns
            assert deliverer.stopped
        finally:
            service.close()
