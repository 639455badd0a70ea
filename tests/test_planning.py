"""When a digest is due: at once, or at the channel's local time, daylight saving included."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.planning import due_time


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("ready", "at", "zone", "due"),
    [
        # No time set: as soon as the day is ready.
        ("2021-03-05 10:00", None, "UTC", "2021-03-05 10:00"),
        # Later today, or tomorrow when today's time has passed.
        ("2021-03-05 06:00", "08:30", "UTC", "2021-03-05 08:30"),
        ("2021-03-05 10:00", "08:30", "UTC", "2021-03-06 08:30"),
        ("2021-03-05 08:30", "08:30", "UTC", "2021-03-05 08:30"),
        # Local time: 05:00 in New York, 08:30 there is 13:30 UTC.
        ("2021-03-05 10:00", "08:30", "America/New_York", "2021-03-05 13:30"),
        # UTC+14: 13:30 on the 6th there, so the next 08:00 is the 7th's (18:00 UTC the 6th).
        ("2021-03-05 23:30", "08:00", "Pacific/Kiritimati", "2021-03-06 18:00"),
        # UTC-11: ready on the 5th in UTC but the 4th there.
        ("2021-03-05 02:00", "20:00", "Pacific/Pago_Pago", "2021-03-05 07:00"),
        # Spring gap in Berlin (28 March 2021, 02:00 → 03:00): 02:30 does not exist and
        # means 03:30 CEST, whether the day was ready before the gap or just after it.
        ("2021-03-28 00:00", "02:30", "Europe/Berlin", "2021-03-28 01:30"),
        ("2021-03-28 01:10", "02:30", "Europe/Berlin", "2021-03-28 01:30"),
        # Autumn fold (31 October 2021, 03:00 → 02:00): 02:30 happens twice, at 00:30 and
        # 01:30 UTC; a day ready between the two goes out at the second, 45 minutes later.
        ("2021-10-31 00:15", "02:30", "Europe/Berlin", "2021-10-31 00:30"),
        ("2021-10-31 00:45", "02:30", "Europe/Berlin", "2021-10-31 01:30"),
        ("2021-10-31 01:45", "02:30", "Europe/Berlin", "2021-11-01 01:30"),
    ],
)
def test_due_time(ready: str, at: str | None, zone: str, due: str) -> None:
    deliver_at = dt.time.fromisoformat(at) if at else None
    assert due_time(utc(ready), deliver_at, zone) == utc(due)
