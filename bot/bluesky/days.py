"""Which posts make up a day, and when a day is ready to be built. Pure: no I/O, no clock.

A day is the posts the stream delivered between two consecutive `day_ends` times (HH:MM on
the wall clock of `timezone`): the window starts at day_ends on one local date and ends at
day_ends on the next, half-open, so consecutive windows tile time with neither gap nor
overlap. Because the bounds are wall-clock times, a window across a DST change lasts 23 or
25 hours (23.5 or 24.5 on Lord Howe Island), not 24.

The day's date is the local date of the window's midpoint on the wall clock (start + 12
hours of wall-clock time): with the default 00:00 the window [D 00:00, D+1 00:00) is day D;
with 06:00, [D 06:00, D+1 06:00) is day D; with 18:00, [D-1 18:00, D 18:00) is day D. Reading
the midpoint off the wall clock rather than elapsed time keeps that rule true on a 23- or
25-hour day, so every date has exactly one window.

A day_ends that does not exist on some date (inside a spring-forward gap) is read with the
offset before the change, and one that happens twice (fall back) means its first occurrence,
as Python's `fold=0` does; both sides of a window use the same reading, so the tiling holds.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from dataclasses import dataclass

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NOON = dt.time(12, 0)


def to_us(moment: dt.datetime) -> int:
    """An aware datetime as microseconds since the Unix epoch (the stream's `time_us`)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; expected an aware datetime")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(time_us: int) -> dt.datetime:
    """Microseconds since the Unix epoch as an aware UTC datetime."""
    return _EPOCH + dt.timedelta(microseconds=time_us)


@dataclass(frozen=True, slots=True)
class DaySchedule:
    """`[bluesky] day_ends`, `timezone` and `publish_delay_hours`, as answers about dates."""

    day_ends: str = "00:00"
    timezone: str = "UTC"
    publish_delay_hours: float = 12.0

    def __post_init__(self) -> None:
        try:
            hours, minutes = self.day_ends.split(":")
            dt.time(int(hours), int(minutes))
            if len(hours) != 2 or len(minutes) != 2:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"day_ends must be a 24-hour time HH:MM like 00:00, got {self.day_ends!r}"
            ) from None
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone must be an IANA time zone like UTC or Europe/Paris, "
                f"got {self.timezone!r}"
            ) from None
        delay = self.publish_delay_hours
        if not (math.isfinite(delay) and delay >= 0):
            raise ValueError(f"publish_delay_hours must be 0 or more hours, got {delay}")

    @property
    def _end_time(self) -> dt.time:
        hours, minutes = self.day_ends.split(":")
        return dt.time(int(hours), int(minutes))

    @property
    def _zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def _boundary(self, local_date: dt.date) -> dt.datetime:
        """day_ends on `local_date`, in UTC."""
        local = dt.datetime.combine(local_date, self._end_time, tzinfo=self._zone)
        return local.astimezone(dt.UTC)

    def _start_date(self, date: dt.date) -> dt.date:
        """The local date on which day `date`'s window starts."""
        # Before noon the wall-clock midpoint (start + 12 h) falls on the start's own date.
        return date if self._end_time < _NOON else date - dt.timedelta(days=1)

    def bounds(self, date: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """Day `date`'s window [start, end) as aware UTC datetimes."""
        start_date = self._start_date(date)
        return self._boundary(start_date), self._boundary(start_date + dt.timedelta(days=1))

    def window(self, date: dt.date) -> tuple[int, int]:
        """Day `date`'s window [start, end) in UTC microseconds, as the stream's `time_us`."""
        start, end = self.bounds(date)
        return to_us(start), to_us(end)

    def date_of(self, moment: dt.datetime) -> dt.date:
        """The day whose window holds `moment` (an aware datetime)."""
        if moment.tzinfo is None:
            raise ValueError(f"{moment!r} has no time zone; expected an aware datetime")
        local_date = moment.astimezone(self._zone).date()
        # The window holding `moment` starts on its local date or the one before.
        start_date = local_date
        if moment < self._boundary(local_date):
            start_date -= dt.timedelta(days=1)
        return start_date if self._end_time < _NOON else start_date + dt.timedelta(days=1)

    def date_of_us(self, time_us: int) -> dt.date:
        """The day whose window holds the stream time `time_us`."""
        return self.date_of(from_us(time_us))

    def due_at(self, date: dt.date) -> dt.datetime:
        """When day `date` may be built: its window's end plus publish_delay_hours (UTC)."""
        return self.bounds(date)[1] + dt.timedelta(hours=self.publish_delay_hours)

    def latest_due(self, now: dt.datetime) -> dt.date:
        """The most recent day that is due at `now`."""
        latest = self.date_of(now - dt.timedelta(hours=self.publish_delay_hours))
        # That moment's day is still open; the day before it ended before `now - delay`.
        return latest - dt.timedelta(days=1)

    def due_dates(self, now: dt.datetime, last_built: dt.date | None) -> list[dt.date]:
        """The days due at `now` that come after `last_built`, oldest first.

        With nothing built yet only the latest due day is returned: the days before it
        would hold no posts from a collector that was not running then.
        """
        latest = self.latest_due(now)
        if last_built is None:
            return [latest]
        count = (latest - last_built).days
        return [last_built + dt.timedelta(days=n) for n in range(1, count + 1)]
