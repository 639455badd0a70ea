"""The delivery ledger on a real SQLite file: its migration, its due query and catch-up."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from bot.planning import DeliveryPlanner
from bot.render import Renderer
from bot.store import PlannedDelivery, Store, encode_digest
from bot.store.database import migrations
from bot.store.deliveries import DUE_QUERY
from tests.support.archive import MARCH_5, MARCH_15, MARCH_24, ingest_sample, query

NOW = dt.datetime(2021, 3, 25, 12, 0, tzinfo=dt.UTC)
DIGEST = encode_digest([{"content": "**Hot Papers** · 1 of 1 papers match cs.CV"}])


async def test_the_ledger_migration_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite3"
    with sqlite3.connect(path) as db:
        for number, _, sql in migrations()[:3]:
            db.executescript(f"{sql}\nPRAGMA user_version = {number};")
        db.execute(
            "INSERT INTO channels VALUES (7, 1, '2021-03-01', NULL, 0, NULL, 'UTC', 0, NULL,"
            " 'x', 'x')"
        )
        db.execute("INSERT INTO digests VALUES ('h', '[{\"content\": \"hi\"}]')")
        db.execute(
            "INSERT INTO deliveries VALUES (7, '2021-03-05', 'sent', 'h',"
            " '2021-03-05T10:00:00Z', 1, '[99]', 1, NULL, 'c', 's')"
        )
        db.execute(
            "INSERT INTO deliveries VALUES (7, '2021-03-15', 'pending', 'h',"
            " '2021-03-15T10:00:00Z', 0, '[]', 2, 'HTTP 500', 'c', NULL)"
        )
    db.close()
    async with await Store.open(path) as store:
        assert await query(store, "PRAGMA user_version") == [(len(migrations()),)]
        rows = await query(store, "SELECT * FROM deliveries ORDER BY date")
        assert rows == [
            (7, "2021-03-05", "sent", "h", "2021-03-05T10:00:00Z", 1, "[99]", 1, None, "c", "s"),
            (
                7,
                "2021-03-15",
                "pending",
                "h",
                "2021-03-15T10:00:00Z",
                0,
                "[]",
                2,
                "HTTP 500",
                "c",
                None,
            ),
        ]
        [due] = await store.deliveries.due(NOW)
        assert (due.channel_id, due.date, due.attempts) == (7, MARCH_15, 2)


async def test_due_deliveries_are_read_by_index_in_sending_order(store: Store) -> None:
    plan = await query(store, f"EXPLAIN QUERY PLAN {DUE_QUERY}", ("2021-03-25T12:00:00Z", 500))
    details = [row[-1] for row in plan]
    assert any("USING INDEX deliveries_due" in d for d in details), details
    assert any("deliveries_pending_by_channel" in d for d in details), details
    assert not any("TEMP B-TREE" in d for d in details), details


async def test_catch_up_skips_pending_days_older_than_the_window(store: Store) -> None:
    """A channel whose digests wait (a delivery time, a pause, a retry) while new days keep
    coming gets at most the newest `catch_up_days` of them; one partly posted is finished."""
    for date in (MARCH_5, MARCH_15, MARCH_24):
        await ingest_sample(store, date)
    await store.subscriptions.subscribe(7, 1, ["cs.CV"])
    await store.subscriptions.subscribe(8, 1, ["cs.CV"])
    assert DIGEST is not None
    old = [
        PlannedDelivery(channel, day, NOW, DIGEST)
        for channel in (7, 8)
        for day in (dt.date(2021, 3, 1), dt.date(2021, 3, 2))
    ]
    assert await store.deliveries.record_plan(old) == 4
    await store.deliveries.part_sent(8, dt.date(2021, 3, 2), 0, 555, last=False)

    planner = DeliveryPlanner(store, Renderer(), default_top=10, catch_up_days=2, clock=lambda: NOW)
    await planner.plan()

    status = {
        (r.channel_id, r.date): (r.status, r.last_error) for r in await store.deliveries.ledger()
    }
    skipped = ("skipped", "not sent: older than the newest 2 days")
    assert status[7, dt.date(2021, 3, 1)] == skipped
    assert status[7, dt.date(2021, 3, 2)] == skipped
    assert status[8, dt.date(2021, 3, 1)] == skipped
    assert status[8, dt.date(2021, 3, 2)] == ("pending", None)  # partly posted: finished
    # The sample days were planned for neither channel: both subscribed after the last one.
    assert (7, MARCH_24) not in status
    due = [(d.channel_id, d.date) for d in await store.deliveries.due(NOW)]
    assert due == [(8, dt.date(2021, 3, 2))]
