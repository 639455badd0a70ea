"""`hotpapers sandbox`: the real bot, offline, against a local Discord.

The bot is built by `build_bot` exactly as for Discord; only the endpoints differ (the local
Discord on 127.0.0.1), the posts come from a temporary directory the sandbox "publishes" the
bundled sample days into one after another, and the timers are short so digests arrive
within seconds. The archive is a temporary one unless `--db` names a file: never the
config's, which may be production's. `--live` builds a day from Bluesky stand-ins instead
(`bot.sandbox.live`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.client.bot import HotPapersBot
from bot.client.runner import build_bot, finish_posting, stop_on_signals
from bot.config import Config
from bot.samples import sample_posts
from bot.sandbox import DEMO_SCRIPT
from bot.sandbox.console import Console, LineReader, stdin_is_terminal, terminal_style
from bot.sandbox.local_discord import LocalDiscord

EXIT_OK, EXIT_FAILED = 0, 1
SANDBOX_TOKEN = "sandbox-token"
START_TIMEOUT = 20.0
# Runs without a terminal wait at most this long after the last publication for its digests.
SETTLE_TIMEOUT = 30.0
# Loggers that report normal operation at WARNING and would clutter the console.
_QUIET_LOGGERS = ("discord", "apscheduler")
# With -v: APScheduler logs every run of the 1-second jobs at INFO.
_CHATTY_LOGGERS = ("apscheduler.executors",)


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    publish_every: float = 25.0  # seconds between two sample days
    database: str | None = None  # None: a temporary database, gone at exit
    verbose: bool = False
    demo: bool = False  # run DEMO_SCRIPT before anything typed or piped
    closes_in: float = 30.0  # live mode (bot.sandbox.live): seconds until the day closes
    posts: Sequence[Path] = field(default_factory=sample_posts)


def sandbox_config(config: Config, local: LocalDiscord, database: str, posts: Path) -> Config:
    """`config` pointed at the local Discord, the published-posts directory and `database`,
    with timers short enough to watch, and Bluesky off: offline, nothing is collected (the
    live mode turns it on against its stand-ins)."""
    return dataclasses.replace(
        config,
        database=dataclasses.replace(config.database, path=database),
        discord=dataclasses.replace(
            config.discord,
            api_base=local.api_base,
            gateway_url=local.gateway_url,
            dev_guild=0,
        ),
        source=dataclasses.replace(
            config.source, directory=str(posts), url="", poll_seconds=1, settle_seconds=0.2
        ),
        digest=dataclasses.replace(config.digest, deliver_seconds=1),
        bluesky=dataclasses.replace(config.bluesky, enabled=False),
    )


def post_date(path: Path) -> dt.date:
    """The day of a post file named like `2021-03-05---Hot-Papers.md`."""
    return dt.date.fromisoformat(path.name[:10])


class Publisher:
    """Copies the sample posts into the watched directory: the first at once, then one by one."""

    def __init__(self, posts: Sequence[Path], directory: Path) -> None:
        self.pending = list(posts)
        self.published: list[Path] = []
        self.directory = directory

    @property
    def done(self) -> bool:
        return not self.pending

    def publish_next(self) -> Path | None:
        if not self.pending:
            return None
        post = self.pending.pop(0)
        staging = self.directory / f".{post.name}.part"
        shutil.copyfile(post, staging)
        staging.rename(self.directory / post.name)  # .part is not *.md: never read half-written
        self.published.append(post)
        return post

    def announce(self, post: Path | None) -> str:
        if post is None:
            return "every sample day is already published"
        left = f"; next: {post_date(self.pending[0])}" if self.pending else "; that was the last"
        return f"published Hot Papers {post_date(post)}{left}"


async def run_sandbox(
    config: Config,
    options: SandboxOptions,
    *,
    stdin_fd: int = 0,
    out: TextIO | None = None,
    interactive: bool | None = None,
) -> int:
    """Run the sandbox until `quit`, Ctrl-C or, at a terminal, the end of input; without
    one, until stdin's commands have run and every sample day's digests are delivered."""
    out = sys.stdout if out is None else out
    if interactive is None:
        interactive = stdin_is_terminal()
    quiet_logs(options.verbose)
    with tempfile.TemporaryDirectory(prefix="hotpapers-sandbox-") as scratch:
        published = Path(scratch, "published")
        await asyncio.to_thread(published.mkdir)
        database = options.database or str(Path(scratch, "sandbox.sqlite3"))
        async with LocalDiscord() as local:
            sandbox = Sandbox(
                local,
                sandbox_config(config, local, database, published),
                options,
                Publisher(options.posts, published),
                out=out,
                interactive=interactive,
                stdin_fd=stdin_fd,
            )
            return await sandbox.run()


def quiet_logs(verbose: bool) -> None:
    """Keep the loggers that report normal operation loudly off the console."""
    for name in _CHATTY_LOGGERS if verbose else _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if verbose else logging.ERROR)


class SandboxError(Exception):
    """Ends the sandbox with this message and exit code 1."""


class Sandbox:
    """One run: the bot, the publisher and the console, stopped together."""

    demo_script: tuple[str, ...] = DEMO_SCRIPT  # what --demo types first

    def __init__(
        self,
        local: LocalDiscord,
        config: Config,
        options: SandboxOptions,
        publisher: Publisher,
        *,
        out: TextIO,
        interactive: bool,
        stdin_fd: int,
    ) -> None:
        self.local = local
        self.config = config
        self.options = options
        self.publisher = publisher
        self.interactive = interactive
        self.stdin_fd = stdin_fd
        width = shutil.get_terminal_size().columns if out.isatty() else None
        self.console = Console(
            local,
            out,
            interactive=interactive,
            width=None if width is None else min(width, 110),
            style=terminal_style(out),
            publish=self.publish_now,
        )
        self.clock_started = asyncio.Event()
        self.all_published = asyncio.Event()
        self.stop = asyncio.Event()

    async def run(self) -> int:
        """0 after `quit`, end of input, Ctrl-C or (piped) the last digest; 1 on failure."""
        await self.prepare()
        try:
            with stop_on_signals(self.stop):
                async with build_bot(self.config, force_sync=True, **self.bot_options()) as bot:
                    main = asyncio.create_task(self._main(bot), name="sandbox")
                    stop = asyncio.create_task(self.stop.wait(), name="sandbox-stop")
                    try:
                        await asyncio.wait({main, stop}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for task in (stop, main):
                            if not task.done():
                                task.cancel()
                                with contextlib.suppress(asyncio.CancelledError):
                                    await task
                    if main.cancelled():
                        self.console.end_prompt()
                        self.console.note("stopped")
                        return EXIT_OK
                    return main.result()
        except SandboxError as exc:
            self.console.error(str(exc))
            return EXIT_FAILED

    async def _main(self, bot: HotPapersBot) -> int:
        gateway: asyncio.Task[None] | None = None
        # Listening from the start: catch-up digests of a kept --db are posted during login.
        self.local.message_listeners.append(self.console.on_channel_message)
        try:
            await bot.login(SANDBOX_TOKEN)
            gateway = asyncio.create_task(bot.connect(), name="hotpapers-gateway")
            await _race(bot.wait_until_ready(), gateway, START_TIMEOUT, "the bot did not connect")
            await self.started(bot, gateway)
            self.console.release()
            background = asyncio.create_task(self.background(bot), name="sandbox-background")
            try:
                session = self._interactive() if self.interactive else self._piped(bot)
                return await _race(session, gateway, None, "the bot stopped")
            finally:
                background.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await background
        finally:
            await finish_posting(bot)  # a kept --db keeps a ledger true to what was posted
            await bot.close()
            if gateway is not None:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(gateway, 10)

    async def prepare(self) -> None:
        """Before the bot starts: the first day is published."""
        self.publisher.publish_next()

    def bot_options(self) -> dict[str, Any]:
        """What `build_bot` gets besides the config."""
        return {}

    async def started(self, bot: HotPapersBot, gateway: asyncio.Task[None]) -> None:
        """Once the bot is ready: wait for the first day to be stored, then say hello."""
        first = post_date(self.publisher.published[0])
        await _race(ingested(bot, [first]), gateway, START_TIMEOUT, f"{first} was not ingested")
        self.banner(first)

    async def background(self, bot: HotPapersBot) -> None:
        """What goes on beside the console: the next days published on schedule."""
        await self._publish_on_schedule()

    def banner(self, first: dt.date) -> None:
        style = self.console.style
        later = " and ".join(str(post_date(p)) for p in self.publisher.pending)
        database = (
            f"{self.options.database} (kept)"
            if self.options.database
            else "temporary (give --db PATH to keep one)"
        )
        lines = [
            f"{style.bold('hotpapers sandbox')}: the real bot, offline, with a local Discord"
            f" at {self.local.base_url}",
            '  You are alice, an admin of the server "Reading Group", typing in #papers.',
            f"  Hot Papers {first} is published.",
        ]
        if later:
            every = f"{self.options.publish_every:g} s"
            lines += [
                f"  {later} follow, one every {every}: subscribe, and their digests arrive here.",
            ]
        lines += [
            f"  Database: {database}",
            f"  Posts folder: {self.publisher.directory} (add your own *.md posts there too)",
        ]
        if self.interactive:
            tries = " · ".join(style.bold(c) for c in (*self.demo_script, "help", "quit"))
            lines.append(f"  Try: {tries}")
        else:
            demo = "the demo, then " if self.options.demo else ""
            lines.append(
                f"  No terminal: running {demo}the commands on stdin, then publishing the"
                " other days and waiting for their digests."
            )
        self.console.write([*lines, ""])

    async def publish_now(self) -> str:
        """The console's `publish`: the next day now (the schedule carries on after it)."""
        message = self.publisher.announce(self.publisher.publish_next())
        if self.publisher.done:
            self.all_published.set()
        return message

    async def _publish_on_schedule(self) -> None:
        await self.clock_started.wait()
        while not self.publisher.done:
            await asyncio.sleep(self.options.publish_every)
            if not self.publisher.done:
                self.console.note(self.publisher.announce(self.publisher.publish_next()))
        self.all_published.set()

    async def _demo(self) -> None:
        """With --demo: the demo's commands, shown as if typed, before anything else."""
        if not self.options.demo:
            return
        self.console.note("the demo:")
        for line in self.demo_script:
            await self.console.execute(line, echo=True)

    async def _interactive(self) -> int:
        reader = LineReader(self.stdin_fd)
        await self._demo()
        self.clock_started.set()
        await self.console.loop(reader)
        return EXIT_OK

    async def _piped(self, bot: HotPapersBot) -> int:
        """The demo if asked, stdin's commands (if any), then the remaining days' digests."""
        reader = LineReader(self.stdin_fd)
        await self._demo()
        while (line := await reader.readline()) is not None:
            if not await self.console.execute(line):
                return EXIT_OK
        return await self.finish(bot)

    async def finish(self, bot: HotPapersBot) -> int:
        """Piped, once stdin is done: publish the remaining days and wait for their digests."""
        self.clock_started.set()
        await self.all_published.wait()
        dates = [post_date(p) for p in self.publisher.published]
        try:
            await asyncio.wait_for(settled(bot, dates), SETTLE_TIMEOUT)
        except TimeoutError:
            raise SandboxError(
                f"the digests of {dates[-1]} were not delivered within {SETTLE_TIMEOUT:g} s"
            ) from None
        self.console.note("every sample day is published and its digests delivered; bye")
        return EXIT_OK


T = TypeVar("T")


async def _race(
    work: Awaitable[T],
    gateway: asyncio.Task[None],
    timeout: float | None,  # noqa: ASYNC109
    what: str,
) -> T:
    """`work`'s result; SandboxError(`what`) when the gateway task ends or time runs out first."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait(
            {task, gateway}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task in done:
        return task.result()
    if gateway in done:
        error = None if gateway.cancelled() else gateway.exception()
        raise SandboxError(f"{what}: {error}" if error else what)
    raise SandboxError(f"{what} within {timeout:g} s")


async def ingested(bot: HotPapersBot, dates: Sequence[dt.date]) -> None:
    """Return once every day of `dates` is in the archive: looked at again after each commit."""
    database = bot.store.database
    seen = database.commits
    while not set(dates) <= {d.date for d in await bot.store.archive.days()}:
        seen = await database.committed_after(seen)


async def settled(bot: HotPapersBot, dates: Sequence[dt.date]) -> None:
    """Return once `dates` are ingested and planned, and no delivery or direct message is due
    any more.

    Deliveries due later (a channel's /settings time) are not waited for; days the planner
    never plans (older than its catch-up window) neither.
    """
    store = bot.store
    seen = store.database.commits
    while True:
        days = await store.archive.days()
        if set(dates) <= {d.date for d in days}:
            window = {d.date for d in days[-bot.config.digest.catch_up_days :]}
            planned = True
            for date in sorted(set(dates) & window):
                if await store.deliveries.unplanned(date) or await store.direct.unplanned(date):
                    planned = False
                    break
            now = dt.datetime.now(dt.UTC)
            if planned and not await store.deliveries.due(now) and not await store.direct.due(now):
                return
        # Ingesting, planning and sending each commit: look again after the next commit.
        seen = await store.database.committed_after(seen)
