"""`hotpapers`: the admin command line. Builds config → store, then runs one subcommand."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.bluesky import cmd_collect, cmd_make_day
from bot.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    SNOWFLAKE_MAX,
    CommandError,
    date_argument,
    open_existing,
    open_store,
)
from bot.cli.output import write_day, write_digest, write_paper
from bot.limits import DIGEST_TOP, MIN_SCORE_LIMIT
from bot.models import WORDING
from bot.sandbox import DEMO_SCRIPT
from bot.text import plural

# Each command imports what it needs when it runs: `hotpapers --help` and `hotpapers ingest`
# start without discord, Jinja2 and the digest and scheduler machinery.
if TYPE_CHECKING:
    from bot.config import Config
    from bot.digest import Digest
    from bot.models import Day
    from bot.render import Renderer

log = logging.getLogger(__name__)

__all__ = ["CommandError", "build_parser", "cmd_collect", "cmd_make_day", "main"]


def _integer(text: str) -> int:
    """An integer option: ASCII digits only (int() also reads `١٢٣`, `1_000` and ` 5`)."""
    if not re.fullmatch(r"-?[0-9]+", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number in digits 0-9")
    return int(text)


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
    day.add_argument("--top", type=_integer, default=10, metavar="N", help="show the top N (10)")

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
        type=_integer,
        metavar="N",
        help=f"at most N papers, 1 to {DIGEST_TOP} (default: [digest] top)",
    )
    digest.add_argument(
        "--min-score",
        type=_integer,
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
        type=_integer,
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


async def cmd_ingest(config: Config, args: argparse.Namespace) -> int:
    from bot.ingest.files import find_posts, ingest_files

    paths = list(args.paths)
    if args.samples:
        from bot.samples import sample_posts

        paths += [str(p) for p in sample_posts()]
    if not paths:
        raise CommandError("nothing to ingest: give post files or directories, or --samples", 2)
    files, missing = find_posts(paths)
    async with await open_store(config) as store:
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
    async with await open_existing(config) as store:
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

    async with await open_existing(config) as store:
        async for history in store.archive.papers():
            sys.stdout.write(json.dumps(paper_json(history), ensure_ascii=False) + "\n")
    return EXIT_OK


async def cmd_days(config: Config, args: argparse.Namespace) -> int:
    async with await open_existing(config) as store:
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


async def cmd_day(config: Config, args: argparse.Namespace) -> int:
    if args.top < 1:
        raise CommandError(f"--top must be at least 1, got {args.top}", EXIT_USAGE)
    date = None if args.date is None else date_argument(args.date)
    async with await open_existing(config) as store:
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

    date = date_argument(args.date)
    async with await open_existing(config) as store:
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

    date = date_argument(args.date)
    async with await open_existing(config) as store:
        forgotten = await store.archive.forget_day(date)
    if forgotten is None:
        raise CommandError(f"no post for {date} in the archive; `hotpapers days` lists them")
    print(
        f"forgot {date} (from {forgotten.source}): {plural(forgotten.papers, 'paper', 'papers')}"
        f" listed, {plural(forgotten.tweets, 'tweet', 'tweets')}"
    )
    print(
        f"removed {plural(forgotten.papers_removed, 'paper', 'papers')} no other day lists;"
        f" dropped {plural(forgotten.deliveries, 'delivery', 'deliveries')} not sent"
    )
    print(
        f"{plural(forgotten.channels, 'channel', 'channels')} that subscribed while it was"
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
    from bot.digest import build_digest
    from bot.render import Renderer, TemplateBlockError, TemplateOverrideError

    date = date_argument(args.date)
    codes = _digest_categories(args.categories)
    top = config.digest.top if args.top is None else args.top
    if not 1 <= top <= DIGEST_TOP:
        raise CommandError(f"--top must be 1 to {DIGEST_TOP}, got {top}", EXIT_USAGE)
    if not 0 <= args.min_score <= MIN_SCORE_LIMIT:
        raise CommandError(
            f"--min-score must be 0 to {MIN_SCORE_LIMIT:,}, got {args.min_score}", EXIT_USAGE
        )
    if args.channel is not None and not args.json:
        raise CommandError("--channel takes a channel id and goes with --json", EXIT_USAGE)
    if args.channel is not None and not 1 <= args.channel <= SNOWFLAKE_MAX:
        raise CommandError(
            f"--channel {args.channel} is not a Discord channel id; "
            f"expected a snowflake, 1 to {SNOWFLAKE_MAX}",
            EXIT_USAGE,
        )
    async with await open_existing(config) as store:
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
    try:
        return _write_digest(args, day, digest, codes, renderer)
    except TemplateBlockError as exc:  # an override that fails on this day's data
        raise CommandError(str(exc)) from None


def _write_digest(
    args: argparse.Namespace,
    day: Day,
    digest: Digest | None,
    codes: Sequence[str],
    renderer: Renderer,
) -> int:
    from bot.delivery.nonces import delivery_nonce, with_nonce

    date = day.date
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
