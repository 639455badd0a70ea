"""Days as people type them: exactly YYYY-MM-DD, the one form the help and /digest promise."""

from __future__ import annotations

import datetime as dt
import re

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_day(text: str) -> dt.date:
    """The day `text` names as YYYY-MM-DD (spaces around it aside); ValueError otherwise.

    Python 3.11's `date.fromisoformat` alone also takes 2021-W10-1, 20210305 and digits of
    other scripts, which would give a day nobody meant.
    """
    candidate = text.strip()
    if not _DAY.fullmatch(candidate):
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD")
    return dt.date.fromisoformat(candidate)  # refuses 2021-02-30 and month 13
