"""The one parser of day arguments, shared by the command line and /digest."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.dates import parse_day


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2021-03-05", dt.date(2021, 3, 5)),
        (" 2021-03-05\n", dt.date(2021, 3, 5)),
        ("2020-02-29", dt.date(2020, 2, 29)),
    ],
)
def test_accepts_yyyy_mm_dd(text: str, day: dt.date) -> None:
    assert parse_day(text) == day


@pytest.mark.parametrize(
    "text",
    [
        "2021-W10-1",  # an ISO week date: 2021-03-08 to date.fromisoformat
        "2021W101",
        "20210305",  # basic format: 2021-03-05 to date.fromisoformat
        "2021-03-05T00:00",
        "2021-3-5",
        "21-03-05",
        "٢٠٢١-٠٣-٠٥",  # noqa: RUF001 - Arabic-Indic digits
        "２０２１-０３-０５",  # noqa: RUF001 - fullwidth digits
        "2021-02-30",
        "2021-13-01",
        "",
        "yesterday",
    ],
)
def test_refuses_every_other_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"YYYY-MM-DD|day is out of range|month must be"):
        parse_day(text)
