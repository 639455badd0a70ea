"""Which posts make up a day, and when a day is due: exact windows, then properties over time
zones with DST changes of an hour, half an hour (Lord Howe) and none at +05:45 (Kathmandu)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.bluesky.days import DaySchedule, from_us, to_us

UTC = dt.UTC
ZONES = (
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/Santiago",  # changes at midnight: some dates have no 00:00
)
HOUR_US = 3_600_000_000


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def us(*args: int) -> int:
    return to_us(utc(*args))


def test_the_default_day_is_the_utc_calendar_day() -> None:
    schedule = DaySchedule()
    assert schedule.window(dt.date(2025, 3, 10)) == (1_741_564_800_000_000, 1_741_651_200_000_000)
    assert schedule.window(dt.date(2025, 3, 10)) == (us(2025, 3, 10), us(2025, 3, 11))


def test_microseconds_round_trip() -> None:
    moment = dt.datetime(2025, 3, 10, 12, 34, 56, 789_012, tzinfo=UTC)
    assert to_us(moment) == 1_741_610_096_789_012
    assert from_us(1_741_610_096_789_012) == moment
    with pytest.raises(ValueError, match="no time zone"):
        to_us(dt.datetime(2025, 3, 10))


@pytest.mark.parametrize(
    ("zone", "date", "start", "end", "hours"),
    [
        # Paris springs forward on 2025-03-30 (02:00 → 03:00) and falls back on 10-26.
        ("Europe/Paris", dt.date(2025, 3, 30), utc(2025, 3, 29, 23), utc(2025, 3, 30, 22), 23),
        ("Europe/Paris", dt.date(2025, 10, 26), utc(2025, 10, 25, 22), utc(2025, 10, 26, 23), 25),
        ("Europe/Paris", dt.date(2025, 7, 14), utc(2025, 7, 13, 22), utc(2025, 7, 14, 22), 24),
        ("America/New_York", dt.date(2025, 3, 9), utc(2025, 3, 9, 5), utc(2025, 3, 10, 4), 23),
        ("America/New_York", dt.date(2025, 11, 2), utc(2025, 11, 2, 4), utc(2025, 11, 3, 5), 25),
        # Lord Howe Island moves its clocks by half an hour (02:00 → 01:30 on 2025-04-06).
        (
            "Australia/Lord_Howe",
            dt.date(2025, 4, 6),
            utc(2025, 4, 5, 13),
            utc(2025, 4, 6, 13, 30),
            24.5,
        ),
        (
            "Australia/Lord_Howe",
            dt.date(2025, 10, 5),
            utc(2025, 10, 4, 13, 30),
            utc(2025, 10, 5, 13),
            23.5,
        ),
        # Kathmandu is UTC+05:45 all year.
        (
            "Asia/Kathmandu",
            dt.date(2025, 3, 30),
            utc(2025, 3, 29, 18, 15),
            utc(2025, 3, 30, 18, 15),
            24,
        ),
    ],
)
def test_a_day_across_a_dst_change_lasts_as_long_as_the_wall_clock_says(
    zone: str, date: dt.date, start: dt.datetime, end: dt.datetime, hours: float
) -> None:
    schedule = DaySchedule(timezone=zone)
    assert schedule.bounds(date) == (start, end)
    assert schedule.window(date) == (to_us(start), to_us(end))
    assert (end - start) == dt.timedelta(hours=hours)


def test_the_date_is_the_wall_clock_midpoint_of_the_window() -> None:
    morning = DaySchedule(day_ends="06:00", timezone="Europe/Paris")
    # [D 06:00, D+1 06:00) Paris is day D.
    assert morning.bounds(dt.date(2025, 7, 14)) == (utc(2025, 7, 14, 4), utc(2025, 7, 15, 4))
    evening = DaySchedule(day_ends="18:00", timezone="Europe/Paris")
    # [D-1 18:00, D 18:00) Paris is day D.
    assert evening.bounds(dt.date(2025, 7, 14)) == (utc(2025, 7, 13, 16), utc(2025, 7, 14, 16))
    assert evening.date_of(utc(2025, 7, 13, 16)) == dt.date(2025, 7, 14)
    assert evening.date_of(utc(2025, 7, 13, 15, 59, 59)) == dt.date(2025, 7, 13)


def test_a_day_ending_near_noon_keeps_its_date_on_a_23_hour_day() -> None:
    # 11:45 + 11.5 elapsed hours is 00:15 the next day on the wall clock after springing
    # forward; the wall-clock midpoint (23:45) keeps the window on its own date.
    schedule = DaySchedule(day_ends="11:45", timezone="Europe/Paris")
    start, end = schedule.bounds(dt.date(2025, 3, 29))
    assert (start, end) == (utc(2025, 3, 29, 10, 45), utc(2025, 3, 30, 9, 45))
    assert schedule.date_of(start) == dt.date(2025, 3, 29)
    assert schedule.date_of(end) == dt.date(2025, 3, 30)


def test_a_day_end_that_does_not_exist_that_night_reads_as_before_the_change() -> None:
    # 02:30 does not exist in Paris on 2025-03-30; it is read with the winter offset.
    schedule = DaySchedule(day_ends="02:30", timezone="Europe/Paris")
    assert schedule.bounds(dt.date(2025, 3, 29)) == (
        utc(2025, 3, 29, 1, 30),
        utc(2025, 3, 30, 1, 30),
    )
    assert schedule.bounds(dt.date(2025, 3, 30))[0] == utc(2025, 3, 30, 1, 30)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        DaySchedule().date_of(dt.datetime(2025, 3, 10, 12))


def test_a_day_is_due_publish_delay_hours_after_it_ends() -> None:
    schedule = DaySchedule(publish_delay_hours=12)
    assert schedule.due_at(dt.date(2025, 3, 11)) == utc(2025, 3, 12, 12)
    assert schedule.latest_due(utc(2025, 3, 12, 11, 59, 59)) == dt.date(2025, 3, 10)
    assert schedule.latest_due(utc(2025, 3, 12, 12)) == dt.date(2025, 3, 11)
    paris = DaySchedule(timezone="Europe/Paris", publish_delay_hours=1.5)
    assert paris.due_at(dt.date(2025, 3, 30)) == utc(2025, 3, 30, 23, 30)


def test_due_dates_are_the_days_after_the_last_built_one_oldest_first() -> None:
    schedule = DaySchedule(publish_delay_hours=12)
    now = utc(2025, 3, 12, 13)
    assert schedule.due_dates(now, dt.date(2025, 3, 8)) == [
        dt.date(2025, 3, 9),
        dt.date(2025, 3, 10),
        dt.date(2025, 3, 11),
    ]
    assert schedule.due_dates(now, dt.date(2025, 3, 11)) == []
    assert schedule.due_dates(now, dt.date(2025, 3, 12)) == []
    # Nothing built yet: only the latest due day, not every day since 1970.
    assert schedule.due_dates(now, None) == [dt.date(2025, 3, 11)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"day_ends": "24:00"}, "day_ends must be a 24-hour time HH:MM like 00:00, got '24:00'"),
        ({"day_ends": "7:00"}, "day_ends must be a 24-hour time HH:MM like 00:00, got '7:00'"),
        ({"timezone": "Mars/Olympus"}, "timezone must be an IANA time zone"),
        ({"publish_delay_hours": -1.0}, "publish_delay_hours must be 0 or more hours, got -1.0"),
    ],
)
def test_bad_settings_say_what_is_expected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        DaySchedule(**kwargs)  # type: ignore[arg-type]


# --- properties ----------------------------------------------------------------------------

DATES = st.dates(min_value=dt.date(1990, 1, 2), max_value=dt.date(2037, 12, 30))
DAY_ENDS = st.builds(
    lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59])
)
SCHEDULES = st.builds(DaySchedule, DAY_ENDS, st.sampled_from(ZONES))
PROPERTY = settings(max_examples=400, deadline=None)


@PROPERTY
@given(SCHEDULES, DATES)
def test_consecutive_days_tile_time(schedule: DaySchedule, date: dt.date) -> None:
    start, end = schedule.window(date)
    assert schedule.window(date + dt.timedelta(days=1))[0] == end
    # 24 hours, give or take the DST change inside it (an hour, or half an hour).
    assert end - start in {h * HOUR_US // 2 for h in (46, 47, 48, 49, 50)}


@PROPERTY
@given(SCHEDULES, DATES)
def test_every_moment_of_a_window_belongs_to_its_date(schedule: DaySchedule, date: dt.date) -> None:
    start, end = schedule.window(date)
    assert schedule.date_of_us(start) == date
    assert schedule.date_of_us(end - 1) == date
    assert schedule.date_of_us(end) == date + dt.timedelta(days=1)
    assert schedule.date_of_us(start - 1) == date - dt.timedelta(days=1)


@PROPERTY
@given(SCHEDULES, st.integers(to_us(utc(1990, 1, 3)), to_us(utc(2037, 12, 29))))
def test_the_date_of_a_moment_has_a_window_holding_it(schedule: DaySchedule, time_us: int) -> None:
    date = schedule.date_of_us(time_us)
    start, end = schedule.window(date)
    assert start <= time_us < end
    # The date is the local date of the window's wall-clock midpoint.
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    local_start = from_us(start).astimezone(zone).replace(tzinfo=None)
    hours, minutes = map(int, schedule.day_ends.split(":"))
    nominal = dt.datetime.combine(local_start.date(), dt.time(hours, minutes))
    if local_start != nominal:  # a day end inside a DST gap is read as just after it
        assert local_start - nominal in {dt.timedelta(hours=1), dt.timedelta(minutes=30)}
    assert (nominal + dt.timedelta(hours=12)).date() == date


@PROPERTY
@given(
    SCHEDULES,
    st.integers(to_us(utc(1990, 2, 1)), to_us(utc(2037, 12, 1))),
    st.floats(0, 168),
    st.integers(0, 40),
)
def test_due_dates_are_exactly_the_days_whose_time_has_come(
    schedule: DaySchedule, now_us: int, delay: float, behind: int
) -> None:
    schedule = DaySchedule(schedule.day_ends, schedule.timezone, delay)
    now = from_us(now_us)
    latest = schedule.latest_due(now)
    assert schedule.due_at(latest) <= now < schedule.due_at(latest + dt.timedelta(days=1))
    last_built = latest - dt.timedelta(days=behind)
    due = schedule.due_dates(now, last_built)
    assert len(due) == behind
    assert all(schedule.due_at(d) <= now for d in due)
    assert due == sorted(due)
    assert not due or due[0] == last_built + dt.timedelta(days=1)
