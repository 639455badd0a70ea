"""What the commands share: exit codes, the error a command reports, opening the archive and
reading a date argument."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config import Config
    from bot.store import Store

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SNOWFLAKE_MAX = 2**64 - 1  # Discord ids are unsigned 64-bit integers


class CommandError(Exception):
    """A failure to report on stderr with an exit code, without a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


async def open_store(config: Config) -> Store:
    from bot.store import Store

    return await Store.open(config.database.path)


async def open_existing(config: Config) -> Store:
    """For commands that only read: a mistyped --db must not create (and migrate) a new,
    empty archive and then report every paper missing from it."""
    path = config.database.path
    location = Path(path).expanduser()  # noqa: ASYNC240 - one stat before opening
    if path != ":memory:" and not location.exists():
        raise CommandError(
            f"no archive at {path}; store posts with `hotpapers ingest PATH...` first"
        )
    return await open_store(config)


def date_argument(text: str) -> dt.date:
    from bot.dates import parse_day

    try:
        return parse_day(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date; expected YYYY-MM-DD", EXIT_USAGE) from None
