"""`hotpapers`: the admin command line. Builds config → store, then runs one subcommand."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.limits import DIGEST_TOP
from bot.models import WORDING
from bot.sandbox import DEMO_SCRIPT
from bot.text import author_list, shorten

# Each command imports what it needs when it runs: `hotpapers --help` and `hotpapers ingest`
# start without discord, Jinja2 and the digest and scheduler machinery.
if TYPE_CHECKING:
    from bot.bluesky.builder import BuiltDay
    from bot.bluesky.days import DaySchedule
    from bot.config import Config
    from bot.digest import Digest
    from bot.models import Appearance, Day, PaperHistory
    from bot.store import IngestOutcome, Store

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SNOWFLAKE_MAX = 2**64 - 1  # Discord ids are unsigned 64-bit integers
NO_ABSTRACT = "No abstract available"


class CommandError(Exception):
    """A failure to report on stderr with an exit code, without a traceback."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _common(
    parser: argparse.ArgumentParser, db_help: str = "SQLite archive (overrides the config)"
) -> None:
    parser.add_argument("--config", metavar="PATH", help="TOML configuration file")
    parser.add_argument("--db", metavar="PATH", help=db_help)
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress at INFO level on stderr"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hotpapers",
        description="Hot Papers archive and Discord bot.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser("ingest", help="store Hot Papers posts (files or directories)")
    _common(ingest)
    ingest.add_argument("paths", nargs="*", metavar="PATH", help="post files or directories")
    ingest.add_argument(
        "--samples", action="store_true", help="also ingest the bundled sample posts"
    )

    paper = commands.add_parser("paper", help="show one paper by arXiv id or URL")
    _common(paper)
    paper.add_argument("id", metavar="ID", help="e.g. 2103.03206, arXiv:2103.03206v2, a URL")
    paper.add_argument("--json", action="store_true", help="print one JSON object")

    export = commands.add_parser("export", help="every paper as JSON Lines")
    _common(export)

    days = commands.add_parser("days", help="the ingested days with their paper counts")
    _common(days)

    day = commands.add_parser("day", help="one day's papers in rank order (default: latest)")
    _common(day)
    day.add_argument("date", nargs="?", metavar="YYYY-MM-DD", help="the day (default: latest)")
    day.add_argument("--top", type=int, default=10, metavar="N", help="show the top N (10)")

    post = commands.add_parser(
        "post", help="a stored day as a Hot Papers post (Markdown), as the blog published them"
    )
    _common(post)
    post.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day")

    run = commands.add_parser("run", help="run the Discord bot (token from DISCORD_TOKEN)")
    _common(run)

    sandbox = commands.add_parser(
        "sandbox", help="the whole bot offline, against a local Discord stand-in"
    )
    _common(
        sandbox,
        db_help="keep the sandbox's archive in this file (default: a temporary one; "
        "[database] path and HOTPAPERS_DB are never used)",
    )
    sandbox.add_argument(
        "--publish-every",
        type=float,
        default=25.0,
        metavar="SECONDS",
        help="publish the next sample day every SECONDS (25)",
    )
    sandbox.add_argument(
        "--demo",
        action="store_true",
        help=f"run the demo commands first: {', '.join(DEMO_SCRIPT)}",
    )
    sandbox.add_argument(
        "--live",
        action="store_true",
        help="build a day from Bluesky instead: local Jetstream, AppView and arXiv stand-ins "
        "replay a made-up day of posts about the sample papers, and the day closes soon",
    )
    sandbox.add_argument(
        "--closes-in",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with --live: the day closes SECONDS from the start (30)",
    )

    forget = commands.add_parser(
        "forget-day",
        help="remove a stored day (e.g. a post with a wrong date) and its digests not sent",
    )
    _common(forget)
    forget.add_argument("date", metavar="YYYY-MM-DD", help="the day to forget")

    sync = commands.add_parser("sync-commands", help="register the slash commands with Discord now")
    _common(sync)

    collect = commands.add_parser(
        "collect",
        help="collect the Bluesky posts that link arXiv papers, until SIGTERM or Ctrl-C",
    )
    _common(collect)

    make_day = commands.add_parser(
        "make-day",
        help="build (or rebuild) a day from the collected Bluesky posts now, store it and "
        "print its ranking",
    )
    _common(make_day)
    make_day.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day")
    make_day.add_argument("--json", action="store_true", help="print one JSON object")

    digest = commands.add_parser(
        "digest", help="a day's digest for some categories, as a channel would get it"
    )
    _common(digest)
    digest.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day")
    digest.add_argument(
        "--categories",
        required=True,
        metavar="CODES",
        help="comma-separated codes or archives, e.g. cs.CV,cs.LG or cs",
    )
    digest.add_argument(
        "--top",
        type=int,
        metavar="N",
        help=f"at most N papers, 1 to {DIGEST_TOP} (default: [digest] top)",
    )
    digest.add_argument(
        "--min-score",
        type=int,
        default=0,
        metavar="S",
        help="only papers with at least S likes + reposts (retweets + favorites on a "
        "Twitter-era day) (0)",
    )
    digest.add_argument(
        "--json", action="store_true", help="print the message bodies the bot would POST"
    )
    digest.add_argument(
        "--channel",
        type=int,
        metavar="ID",
        help="with --json: the bodies for this channel, with the nonces the bot sends",
    )
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import asyncio

    from bot.client.errors import BotStartError
    from bot.config import ConfigError, load_config
    from bot.store import StoreError

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = load_config(args.config, os.environ if environ is None else environ)
        config = config.with_database(args.db)
        args.environ = os.environ if environ is None else environ
        handler = _HANDLERS[args.command]
        return asyncio.run(handler(config, args))
    except ConfigError as exc:
        print(f"hotpapers: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CommandError, StoreError, BotStartError) as exc:
        print(f"hotpapers: {exc}", file=sys.stderr)
        return exc.code if isinstance(exc, CommandError) else EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. `head`) went away: stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


async def _open(config: Config) -> Store:
    from bot.store import Store

    return await Store.open(config.database.path)


async def _open_existing(config: Config) -> Store:
    """For commands that only read: a mistyped --db must not create (and migrate) a new,
    empty archive and then report every paper missing from it."""
    path = config.database.path
    location = Path(path).expanduser()  # noqa: ASYNC240 - one stat before opening
    if path != ":memory:" and not location.exists():
        raise CommandError(
            f"no archive at {path}; store posts with `hotpapers ingest PATH...` first"
        )
    return await _open(config)


async def cmd_ingest(config: Config, args: argparse.Namespace) -> int:
    from bot.ingest.files import find_posts, ingest_files

    paths = list(args.paths)
    if args.samples:
        from bot.samples import sample_posts

        paths += [str(p) for p in sample_posts()]
    if not paths:
        raise CommandError("nothing to ingest: give post files or directories, or --samples", 2)
    files, missing = find_posts(paths)
    async with await _open(config) as store:
        with _progress(len(files)) as advance:
            report = await ingest_files(
                store.archive,
                files,
                on_file=advance,
                max_post_bytes=config.source.max_post_bytes,
            )
        report.rejected[:0] = missing
        days, papers, tweets = await store.archive.counts()
    for rejection in report.rejected:
        print(rejection, file=sys.stderr)
    print(report.summary())
    print(f"archive: {days} days, {papers} papers, {tweets} tweets in {config.database.path}")
    return EXIT_FAILED if report.rejected else EXIT_OK


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Path], None]]:
    """A progress bar on stderr when it is a terminal (tqdm is loaded only then): yields
    what to call after each file."""
    if not sys.stderr.isatty():
        yield _no_progress
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="post", file=sys.stderr) as bar:

        def advance(path: Path) -> None:
            bar.update()

        yield advance


def _no_progress(path: Path) -> None:
    """Nothing to show: stderr is not a terminal."""


async def cmd_paper(config: Config, args: argparse.Namespace) -> int:
    from bot.arxiv import InvalidArxivId, parse_arxiv_id
    from bot.models_json import paper_json

    try:
        arxiv_id = parse_arxiv_id(args.id)
    except InvalidArxivId as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    async with await _open_existing(config) as store:
        history = await store.archive.paper(arxiv_id)
    if history is None:
        raise CommandError(
            f"paper {arxiv_id} is not in the archive ({config.database.path}); "
            f"see https://arxiv.org/abs/{arxiv_id}"
        )
    if args.json:
        print(json.dumps(paper_json(history), ensure_ascii=False))
    else:
        write_paper(history, sys.stdout)
    return EXIT_OK


async def cmd_export(config: Config, args: argparse.Namespace) -> int:
    from bot.models_json import paper_json

    async with await _open_existing(config) as store:
        async for history in store.archive.papers():
            sys.stdout.write(json.dumps(paper_json(history), ensure_ascii=False) + "\n")
    return EXIT_OK


async def cmd_days(config: Config, args: argparse.Namespace) -> int:
    async with await _open_existing(config) as store:
        days = await store.archive.days()
    if not days:
        print(f"no days in the archive ({config.database.path}); run `hotpapers ingest` first")
        return EXIT_OK
    print(f"{'day':<10}  {'papers':>6}  {'posts':>6}  {'platform':<8}  published (UTC)")
    for day in days:
        published = day.published_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
        site = WORDING[day.platform].site
        print(f"{day.date}  {day.paper_count:>6}  {day.tweet_count:>6}  {site:<8}  {published}")
    total = sum(d.paper_count for d in days)
    print(f"{len(days)} days, {total} papers listed")
    return EXIT_OK


def _date_argument(text: str) -> dt.date:
    from bot.dates import parse_day

    try:
        return parse_day(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date; expected YYYY-MM-DD", EXIT_USAGE) from None


async def cmd_day(config: Config, args: argparse.Namespace) -> int:
    if args.top < 1:
        raise CommandError(f"--top must be at least 1, got {args.top}", EXIT_USAGE)
    date = None if args.date is None else _date_argument(args.date)
    async with await _open_existing(config) as store:
        if date is None:
            date = await store.archive.latest_date()
            if date is None:
                raise CommandError("the archive has no days yet; run `hotpapers ingest` first")
        day = await store.archive.day(date)
    if day is None:
        raise CommandError(f"no post for {date} in the archive; `hotpapers days` lists them")
    write_day(day, args.top, sys.stdout)
    return EXIT_OK


async def cmd_post(config: Config, args: argparse.Namespace) -> int:
    """The day in the blog's layout on stdout (UTF-8, as posts are read): `hotpapers ingest`
    reads it back to the same day."""
    from bot.ingest.post_format import EmbedError, write_post

    date = _date_argument(args.date)
    async with await _open_existing(config) as store:
        day = await store.archive.day(date)
    if day is None:
        raise CommandError(f"no post for {date} in the archive; `hotpapers days` lists them")
    try:
        text = write_post(day)
    except EmbedError as exc:
        raise CommandError(f"cannot write the post of {date}: {exc}") from None
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()
    return EXIT_OK


async def cmd_forget_day(config: Config, args: argparse.Namespace) -> int:
    import asyncio

    date = _date_argument(args.date)
    async with await _open_existing(config) as store:
        forgotten = await store.archive.forget_day(date)
    if forgotten is None:
        raise CommandError(f"no post for {date} in the archive; `hotpapers days` lists them")
    print(
        f"forgot {date} (from {forgotten.source}): {_many(forgotten.papers, 'paper', 'papers')}"
        f" listed, {_many(forgotten.tweets, 'tweet', 'tweets')}"
    )
    print(
        f"removed {_many(forgotten.papers_removed, 'paper', 'papers')} no other day lists;"
        f" dropped {_many(forgotten.deliveries, 'delivery', 'deliveries')} not sent"
    )
    print(
        f"{_many(forgotten.channels, 'channel', 'channels')} that subscribed while it was"
        " stored now start as if it never was"
    )
    if await asyncio.to_thread(_still_watched, forgotten.source, config.source.directory):
        print(
            f"note: {forgotten.source} is still in the watched directory: delete it, or the"
            " bot stores the day again when it next starts"
        )
    return EXIT_OK


def _still_watched(post: str, directory: str) -> bool:
    """True when `post` is a file in the bot's [source] directory (which it reads again)."""
    if not directory:
        return False
    path = Path(post).expanduser().resolve()
    return path.is_file() and path.is_relative_to(Path(directory).expanduser().resolve())


def _many(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def _token(args: argparse.Namespace, hint: str = "") -> str:
    token = str(args.environ.get("DISCORD_TOKEN", "")).strip()
    if not token:
        raise CommandError(
            "DISCORD_TOKEN is not set: export the bot token from the Discord developer portal"
            + hint,
            EXIT_USAGE,
        )
    return token


async def cmd_run(config: Config, args: argparse.Namespace) -> int:
    token = _token(args, "; to try the bot offline without one, run `hotpapers sandbox`")
    from bot.client.runner import run_bot

    await run_bot(config, token)
    return EXIT_OK


async def cmd_sandbox(config: Config, args: argparse.Namespace) -> int:
    """The bot against the built-in local Discord, on a temporary archive unless --db names
    one. Never the archive of --config or HOTPAPERS_DB: the sandbox's Discord knows none of
    the real channels, so the bot would drop their subscriptions as deleted."""
    from bot.sandbox.run import SandboxOptions, run_sandbox

    if not args.publish_every > 0:
        raise CommandError(f"--publish-every must be positive, got {args.publish_every}", 2)
    if not 5 <= args.closes_in <= 3600:
        raise CommandError(f"--closes-in must be 5 to 3600 seconds, got {args.closes_in}", 2)
    options = SandboxOptions(
        publish_every=args.publish_every,
        database=args.db,
        verbose=args.verbose,
        demo=args.demo,
        closes_in=args.closes_in,
    )
    if args.live:
        from bot.sandbox.live import run_live_sandbox

        return await run_live_sandbox(config, options)
    return await run_sandbox(config, options)


async def cmd_sync_commands(config: Config, args: argparse.Namespace) -> int:
    from bot.client.runner import sync_commands

    count = await sync_commands(config, _token(args))
    print(f"synced {count} slash commands")
    return EXIT_OK


def _digest_categories(text: str) -> tuple[str, ...]:
    from bot.digest import subscription_codes
    from bot.taxonomy import UnknownCategory

    codes = [c for c in (part.strip() for part in text.split(",")) if c]
    if not codes:
        raise CommandError(
            f"no categories in {text!r}; expected codes like cs.CV,cs.LG or an archive like cs",
            EXIT_USAGE,
        )
    try:
        return subscription_codes(codes)
    except UnknownCategory as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None


async def cmd_digest(config: Config, args: argparse.Namespace) -> int:
    from bot.config import ConfigError
    from bot.delivery.nonces import delivery_nonce, with_nonce
    from bot.digest import build_digest
    from bot.render import Renderer, TemplateOverrideError

    date = _date_argument(args.date)
    codes = _digest_categories(args.categories)
    top = config.digest.top if args.top is None else args.top
    if not 1 <= top <= DIGEST_TOP:
        raise CommandError(f"--top must be 1 to {DIGEST_TOP}, got {top}", EXIT_USAGE)
    if args.min_score < 0:
        raise CommandError(f"--min-score must be at least 0, got {args.min_score}", EXIT_USAGE)
    if args.channel is not None and not args.json:
        raise CommandError("--channel takes a channel id and goes with --json", EXIT_USAGE)
    if args.channel is not None and not 1 <= args.channel <= SNOWFLAKE_MAX:
        raise CommandError(
            f"--channel {args.channel} is not a Discord channel id; "
            f"expected a snowflake, 1 to {SNOWFLAKE_MAX}",
            EXIT_USAGE,
        )
    async with await _open_existing(config) as store:
        day = await store.archive.day(date)
    if day is None:
        raise CommandError(
            f"no post for {date} in the archive ({config.database.path}); "
            "`hotpapers days` lists them"
        )
    digest = build_digest(day, codes, top=top, min_score=args.min_score)
    try:
        renderer = Renderer(config.templates.directory or None)
    except TemplateOverrideError as exc:
        raise ConfigError(str(exc)) from None
    if args.json:
        messages = [] if digest is None else renderer.digest(digest)
        bodies = [m.body() for m in messages]
        if args.channel is not None:
            bodies = [
                with_nonce(body, delivery_nonce(args.channel, date, part))
                for part, body in enumerate(bodies)
            ]
        print(json.dumps(bodies, ensure_ascii=False))
    elif digest is None:
        score = WORDING[day.platform].score
        wanted = f" with at least {args.min_score:,} {score}" if args.min_score else ""
        print(f"no paper on {date} matches {', '.join(codes)}{wanted}")
    else:
        write_digest(digest, renderer.digest_header(digest, markdown=False), sys.stdout)
    return EXIT_OK


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
        async with await _open(config) as store, aiohttp.ClientSession() as session:
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

    date = _date_argument(args.date)
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
    async with await _open_existing(config) as store, aiohttp.ClientSession() as session:
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
        return f"in {_many(minutes, 'minute', 'minutes')}"
    if minutes < 48 * 60:
        return f"in {_many(round(minutes / 60), 'hour', 'hours')}"
    return f"in {_many(round(minutes / 1440), 'day', 'days')}"


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
        f"Hot Papers {day.date} from Bluesky: {_many(len(day.papers), 'paper', 'papers')}, "
        f"stored ({outcome})\n"
    )
    out.write(f"window: {window_text(schedule, day.date)}\n")
    out.write(
        f"posts: {report.posts:,} collected, {report.gone:,} deleted since, {report.old:,} old"
        " (created over 2 days before the stream brought them: not counted); "
        f"{_many(report.ranked, 'paper', 'papers')} reached min_score\n"
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


_HANDLERS: dict[str, Callable[[Config, argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "ingest": cmd_ingest,
    "paper": cmd_paper,
    "export": cmd_export,
    "days": cmd_days,
    "day": cmd_day,
    "post": cmd_post,
    "run": cmd_run,
    "sandbox": cmd_sandbox,
    "sync-commands": cmd_sync_commands,
    "forget-day": cmd_forget_day,
    "digest": cmd_digest,
    "collect": cmd_collect,
    "make-day": cmd_make_day,
}


def _counts(seen: Appearance, thousands: bool = False) -> tuple[str, str]:
    """An appearance's two counts with their words: ("857 retweets", "251 favorites"), or
    reposts and likes on a Bluesky day."""
    words = WORDING[seen.platform]
    shown = [f"{n:,}" if thousands else str(n) for n in (seen.retweets, seen.favorites)]
    return f"{shown[0]} {words.shared}s", f"{shown[1]} {words.liked}s"


def write_day(day: Day, top: int, out: TextIO) -> None:
    shown = day.papers[:top]
    on = "" if day.platform == "twitter" else f" on {WORDING[day.platform].site}"
    out.write(f"Hot Papers {day.date}{on}: top {len(shown)} of {len(day.papers)}\n\n")
    for ranked in shown:
        paper, seen = ranked.paper, ranked.appearance
        shared, liked = _counts(seen)
        out.write(f"{seen.rank:>2}. {paper.title}\n")
        out.write(f"    {author_list(paper.authors, 3)}\n")
        out.write(f"    {', '.join(paper.categories)} · {shared}, {liked} · {paper.abs_url}\n\n")


def write_digest(digest: Digest, header: str, out: TextIO) -> None:
    """A digest for a terminal: the header, then each paper with its matching codes in [ ]."""
    wrap = textwrap.TextWrapper(width=100, initial_indent="    ", subsequent_indent="    ")
    out.write(f"{header}\n")
    for entry in digest.entries:
        paper, seen = entry.ranked.paper, entry.ranked.appearance
        codes = " · ".join(f"[{c}]" if c in entry.matching else c for c in paper.categories)
        out.write(f"\n#{seen.rank} · {paper.title}\n")
        out.write(f"    {author_list(paper.authors, 3)}\n")
        out.write(f"    {codes}\n")
        out.write("    {} · {}\n".format(*_counts(seen, thousands=True)))
        abstract = " ".join(paper.abstract.split())
        out.write(wrap.fill(shorten(abstract, 280) if abstract else NO_ABSTRACT) + "\n")
        if entry.ranked.tweets:
            top = entry.ranked.tweets[0]
            out.write(f"    Top {WORDING[top.platform].post}: {top.url}\n")
        out.write(f"    {paper.abs_url}\n")


def write_paper(history: PaperHistory, out: TextIO) -> None:
    paper = history.paper
    wrap = textwrap.TextWrapper(width=100, initial_indent="  ", subsequent_indent="  ")
    out.write(f"{paper.title}\n")
    out.write(f"arXiv:{paper.arxiv_id} · {', '.join(paper.categories)}\n")
    out.write(f"{author_list(paper.authors, 6)}\n")
    out.write(f"abs: {paper.abs_url}\n")
    out.write(f"pdf: {paper.pdf_url or '(none)'}\n\n")
    paragraphs = paper.abstract.split("\n\n") if paper.abstract.strip() else [NO_ABSTRACT]
    for paragraph in paragraphs:
        out.write(wrap.fill(paragraph) + "\n")
    out.write("\nHot on:\n")
    for a in history.appearances:
        on = "" if a.platform == "twitter" else f" on {WORDING[a.platform].site}"
        out.write("  {}  #{:<3} {}, {}{}\n".format(a.date, a.rank, *_counts(a), on))
    # "Posts" once any is a Bluesky post; a Twitter-era paper keeps its words.
    posts = "Tweets" if all(t.platform == "twitter" for t in history.tweets) else "Posts"
    out.write(f"\n{posts} ({len(history.tweets)}):\n")
    for tweet in history.tweets:
        author = " ".join(tweet.author.split())
        site = "" if tweet.platform == "twitter" else f" · {WORDING[tweet.platform].site}"
        out.write(f"  {author} (@{tweet.handle}) · {tweet.posted}{site} · {tweet.url}\n")
        for line in tweet.text.splitlines() or [""]:
            out.write(f"    {line}\n" if line.strip() else "\n")
