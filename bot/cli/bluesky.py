"""The Bluesky commands: `collect` (the collector alone) and `make-day` (build a day now)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import sys
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    date_argument,
    open_existing,
    open_store,
)
from bot.text import plural, shorten

if TYPE_CHECKING:
    from bot.bluesky.builder import BuiltDay
    from bot.bluesky.days import DaySchedule
    from bot.config import Config
    from bot.store import IngestOutcome


async def cmd_collect(config: Config, args: argparse.Namespace) -> int:
    """The collector alone, on the same config and database as `hotpapers run`, until
    SIGTERM or SIGINT; its periodic summary is logged on stderr."""
    import asyncio

    import aiohttp

    from bot.bluesky.collector import run_collector
    from bot.client.runner import stop_on_signals

    logging.getLogger("bot.bluesky.collector").setLevel(logging.INFO)
    stop = asyncio.Event()
    with stop_on_signals(stop):
        async with await open_store(config) as store, aiohttp.ClientSession() as session:
            collecting = asyncio.create_task(run_collector(config, store, session=session))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({collecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (stopping, collecting):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task  # the collector's own failures never end it: a bug raises here
    return EXIT_OK


async def cmd_make_day(config: Config, args: argparse.Namespace) -> int:
    import aiohttp

    from bot.bluesky.builder import DayBuildError
    from bot.bluesky.days import DaySchedule, from_us, to_us
    from bot.bluesky.source import KEEP_DAYS, day_builder, store_day, window_text
    from bot.store import IngestOutcome

    date = date_argument(args.date)
    settings = config.bluesky
    schedule = DaySchedule(settings.day_ends, settings.timezone, settings.publish_delay_hours)
    now = dt.datetime.now(dt.UTC)
    start, end = schedule.bounds(date)
    if end > now:
        raise CommandError(
            f"{date} is not over yet: its window ({window_text(schedule, date)}) ends "
            f"{_when(end - now)}; build it after that",
            EXIT_USAGE,
        )
    async with await open_existing(config) as store, aiohttp.ClientSession() as session:
        try:
            built = await day_builder(config, store, session).build(date)
        except DayBuildError as exc:
            raise CommandError(f"{exc}; nothing stored") from None
        if not built.report.posts:
            raise CommandError(
                f"no Bluesky post linking a paper was collected for {date} "
                f"({window_text(schedule, date)}); nothing stored. `hotpapers run` or "
                f"`hotpapers collect` collects them, and they are kept {KEEP_DAYS} days"
            )
        outcome = await store_day(store, built)
        if outcome is IngestOutcome.UPDATED:
            # As for a changed post: the day's digests not sent yet are planned anew, by the
            # running bot when it sees the day rebuilt, or at its next start.
            await store.deliveries.forget_unsent(date=date)
        since, cursor = await store.bluesky.since(), await store.bluesky.cursor()
    notes = []
    if since is not None and since > to_us(start):
        notes.append(
            f"partial: posts were collected from {from_us(since).isoformat(timespec='seconds')}"
            " on only"
        )
    if cursor is not None and cursor.time_us < to_us(end):
        notes.append(
            "the collector has read the stream only up to "
            f"{from_us(cursor.time_us).isoformat(timespec='seconds')}: later posts are missing"
        )
    if schedule.due_at(date) > now:
        notes.append(
            f"built before its time ({schedule.due_at(date).isoformat(timespec='minutes')}): "
            "the bot will not build it again; run make-day later for settled counts"
        )
    if args.json:
        print(json.dumps(_made_day_json(built, outcome, schedule, notes), ensure_ascii=False))
    else:
        write_made_day(built, outcome, schedule, notes, sys.stdout)
    return EXIT_OK


def _when(delta: dt.timedelta) -> str:
    """How long until then, roughly: `in 5 minutes`, `in 3 hours`, `in 12 days`."""
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 120:
        return f"in {plural(minutes, 'minute', 'minutes')}"
    if minutes < 48 * 60:
        return f"in {plural(round(minutes / 60), 'hour', 'hours')}"
    return f"in {plural(round(minutes / 1440), 'day', 'days')}"


def _ranking(built: BuiltDay) -> list[dict[str, Any]]:
    return [
        {
            "rank": p.appearance.rank,
            "score": p.appearance.score,
            "reposts": p.appearance.retweets,
            "likes": p.appearance.favorites,
            "posts": built.posts_per_paper.get(p.paper.arxiv_id, 0),
            "arxiv_id": p.paper.arxiv_id,
            "title": p.paper.title,
        }
        for p in built.day.papers
    ]


def _made_day_json(
    built: BuiltDay, outcome: IngestOutcome, schedule: DaySchedule, notes: list[str]
) -> dict[str, Any]:
    report = built.report
    start, end = schedule.bounds(built.day.date)
    return {
        "date": built.day.date.isoformat(),
        "stored": str(outcome),
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "posts": report.posts,
        "gone": report.gone,
        "old": report.old,
        "feeds": [{"did": a.did, "handle": a.handle} for a in report.feeds],
        "ignored": [{"did": a.did, "handle": a.handle} for a in report.ignored],
        "unknown": list(report.unknown),
        "withdrawn": list(report.withdrawn),
        "papers": _ranking(built),
        "notes": notes,
    }


def write_made_day(
    built: BuiltDay, outcome: IngestOutcome, schedule: DaySchedule, notes: list[str], out: TextIO
) -> None:
    """A built day for a terminal: what was stored, the build report, then the ranking."""
    from bot.bluesky.source import window_text

    day, report = built.day, built.report
    out.write(
        f"Hot Papers {day.date} from Bluesky: {plural(len(day.papers), 'paper', 'papers')}, "
        f"stored ({outcome})\n"
    )
    out.write(f"window: {window_text(schedule, day.date)}\n")
    out.write(
        f"posts: {report.posts:,} collected, {report.gone:,} deleted since, {report.old:,} old"
        " (created over 2 days before the stream brought them: not counted); "
        f"{plural(report.ranked, 'paper', 'papers')} reached min_score\n"
    )
    for label, accounts in (("feeds left out", report.feeds), ("ignored", report.ignored)):
        out.write(f"{label}: {', '.join(map(str, accounts)) or 'none'}\n")
    out.write(f"unknown to arXiv: {', '.join(report.unknown) or 'none'}\n")
    if report.withdrawn:
        out.write(f"withdrawn: {', '.join(report.withdrawn)}\n")
    for note in notes:
        out.write(f"note: {note}\n")
    rows = _ranking(built)
    if not rows:
        out.write("\nno paper to list\n")
        return
    width = max(len(r["arxiv_id"]) for r in rows)
    out.write(f"\n{'rank':>4}  {'score':>6}  {'reposts':>7}  {'likes':>6}  {'posts':>5}  ")
    out.write(f"{'id':<{width}}  title\n")
    for r in rows:
        out.write(
            f"{r['rank']:>4}  {r['score']:>6,}  {r['reposts']:>7,}  {r['likes']:>6,}  "
            f"{r['posts']:>5,}  {r['arxiv_id']:<{width}}  {shorten(r['title'], 90)}\n"
        )
