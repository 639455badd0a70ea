"""`hotpapers sandbox --live`: a day built from Bluesky, offline.

Local stand-ins for Jetstream, the AppView and arXiv serve a made-up day of posts about the
bundled sample papers: a paper's posts draw likes and reposts in proportion to the attention
it had on Twitter, a feed account links most of the papers (and is left out), a post with a
great many likes is deleted (and never counts), and chatter that links nothing goes on all
along. The bot is configured to build the day as soon as it closes (`publish_delay_hours`
0), and the day closes `--closes-in` seconds after the start: the sandbox's clock (the stream
stand-in's and the bot's) runs that far ahead of real time so that a day boundary, a whole
minute, falls right then. Everything here is generated; nothing comes from Bluesky or arXiv.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import math
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.bluesky.days import DaySchedule, to_us
from bot.bluesky.links import link_id
from bot.bluesky.posts import Cursor
from bot.client.bot import HotPapersBot
from bot.config import Config
from bot.ingest.parser import parse_post
from bot.samples import sample_posts
from bot.sandbox.appview import LocalAppView, StandInPost
from bot.sandbox.arxiv_api import LocalArxiv, StandInPaper, sample_papers
from bot.sandbox.bluesky_synthetic import LINK_FORMS, POST
from bot.sandbox.console import stdin_is_terminal
from bot.sandbox.jetstream import LocalJetstream
from bot.sandbox.local_discord import LocalDiscord
from bot.sandbox.run import (
    EXIT_FAILED,
    EXIT_OK,
    SETTLE_TIMEOUT,
    Publisher,
    Sandbox,
    SandboxError,
    SandboxOptions,
    ingested,
    quiet_logs,
    sandbox_config,
    settled,
)
from bot.store import Store
from bot.store.bluesky import BlueskyBatch

# What `--demo` types in live mode: before the day closes, and once its digest is in.
LIVE_DEMO_BEFORE = ("/subscribe cs.CV", "/settings top:5")
LIVE_DEMO_AFTER = ("/digest", "/paper 2103.03206")
CHATTER_SECONDS = 1.0  # the stream goes on: a post linking nothing every second
_USERS = (
    ("ada", "Ada Lovelace"),
    ("alan", "Alan T."),
    ("grace", "Grace H."),
    ("kurt", ""),
    ("emmy", "Emmy Noether"),
    ("john", "John v. N."),
    ("sofia", "Sofia K."),
    ("claude", "Claude"),
    ("barbara", "Barbara L."),
    ("edsger", "E. W. D."),
    ("hedy", "Hedy"),
    ("katherine", "Katherine J."),
    ("donald", "Don"),
    ("frances", "Frances A."),
    ("yann", ""),
    ("fei", "Fei"),
    ("geoff", "Geoff"),
    ("yoshua", ""),
    ("daphne", "Daphne K."),
    ("judea", "Judea"),
)
_INTROS = (
    "New paper:",
    "Worth a read:",
    "This is a fun one",
    "Our latest work!",
    "Reading group pick for Friday:",
    "Neat result",
    "Lesenswert:",
    "À lire :",
    "面白い論文",
)
_AFTER = ("🔥", "thread below", "", "great figures", "code is out too", "👀", "")
_CHATTER = (
    "Coffee first, then reviews.",
    "Anyone at the workshop this week?",
    "Rebuttal season again 😅",
    "The cluster is down, so: a walk.",
    "Slides done. Mostly.",
    "Reviewer 2 strikes again",
)


@dataclass(frozen=True, slots=True)
class LivePost:
    """A made-up post of the day: who, when, what it links and the attention it gets."""

    did: str
    handle: str
    name: str
    rkey: str
    time_us: int
    text: str
    facets: tuple[dict[str, Any], ...]
    arxiv_ids: tuple[str, ...]
    likes: int = 0
    reposts: int = 0

    @property
    def uri(self) -> str:
        return f"at://{self.did}/{POST}/{self.rkey}"

    def created(self) -> dict[str, Any]:
        """Its Jetstream `create` commit event."""
        record: dict[str, Any] = {
            "$type": POST,
            "text": self.text,
            "createdAt": _stamp(self.time_us),
            "langs": ["en"],
        }
        if self.facets:
            record["facets"] = list(self.facets)
        commit = {
            "rev": self.rkey,
            "operation": "create",
            "collection": POST,
            "rkey": self.rkey,
            "record": record,
            "cid": "bafyrei" + self.rkey.rjust(52, "a")[:52],
        }
        return {"did": self.did, "commit": commit}

    def deleted(self) -> dict[str, Any]:
        """Its Jetstream `delete` commit event."""
        commit = {"rev": self.rkey + "d", "operation": "delete", "collection": POST}
        return {"did": self.did, "commit": {**commit, "rkey": self.rkey}}

    def view(self) -> StandInPost:
        """The post as the AppView shows it, with its counts."""
        created = dt.datetime.fromtimestamp(self.time_us / 1e6, dt.UTC)
        return StandInPost(
            self.uri,
            self.did,
            self.handle,
            self.name,
            self.text,
            created,
            likes=self.likes,
            reposts=self.reposts,
        )


def linking(
    author: tuple[str, str, str], rkey: str, time_us: int, link: str, words: tuple[str, str]
) -> LivePost:
    """A post by `author` (did, handle, name) whose text holds `link` between `words`, with a
    link facet over it, as Bluesky clients write."""
    did, handle, name = author
    before, after = words
    full = link if "://" in link else f"https://{link}"
    head = f"{before} " if before else ""
    start = len(head.encode())
    text = f"{head}{link}{f' {after}' if after else ''}"
    facet = {
        "index": {"byteStart": start, "byteEnd": start + len(link.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": full}],
    }
    found = link_id(full)
    return LivePost(did, handle, name, rkey, time_us, text, (facet,), (found,) if found else ())


@dataclass(frozen=True, slots=True)
class LiveDay:
    """A made-up day: the events the stream replays, and the posts the AppView knows."""

    events: list[tuple[int, dict[str, Any]]]  # (time_us, event), in time order
    posts: list[LivePost]  # linking posts that stay (the AppView's), feed's included
    feed: str  # the feed account's handle
    deleted: LivePost  # the post deleted during the day


def twitter_scores() -> dict[str, int]:
    """Each sample paper's retweets + favorites in the bundled posts (its best day)."""
    scores: dict[str, int] = {}
    for path in sample_posts():
        for ranked in parse_post(path.read_bytes(), str(path)).papers:
            arxiv_id = ranked.paper.arxiv_id
            scores[arxiv_id] = max(scores.get(arxiv_id, 0), ranked.appearance.score)
    return scores


def live_day(start_us: int, until_us: int, *, seed: int = 2021, chatter: int = 120) -> LiveDay:
    """The posts of a day between start_us and until_us (stream time), the same for a seed.

    A paper gets one to five posts whose likes add up to about a tenth of its Twitter
    attention; the feed links 24 papers (more than the default feed_threshold of 20) with 40
    likes each; the deleted post links the least noticed cs.CV paper with 5,000 likes.
    """
    rng = random.Random(seed)
    span = max(1, until_us - start_us)

    def moment() -> int:
        return start_us + rng.randrange(span)

    serial = 0

    def rkey() -> str:
        nonlocal serial
        serial += 1
        return f"3lsbx{serial:06d}"

    users = [
        (f"did:plc:sandbox{n:03d}", f"{h}.bsky.social", name) for n, (h, name) in enumerate(_USERS)
    ]
    posts: list[LivePost] = []
    scores = twitter_scores()
    for arxiv_id, score in scores.items():
        count = 1 + min(4, score // 400)
        total = max(1, score // 10)
        shares = [rng.random() + 0.2 for _ in range(count)]
        for author, share in zip(rng.sample(users, count), shares, strict=True):
            likes = round(total * share / sum(shares))
            form = rng.choice(LINK_FORMS).format(id=arxiv_id, v=rng.randint(1, 3))
            words = (rng.choice(_INTROS), rng.choice(_AFTER))
            post = linking(author, rkey(), moment(), form, words)
            posts.append(dataclasses.replace(post, likes=likes, reposts=likes // rng.randint(3, 6)))
    feed = ("did:plc:sandboxfeed", "arxiv-firehose.bsky.social", "arXiv firehose")
    for arxiv_id in rng.sample(sorted(scores), 24):
        link = f"https://arxiv.org/abs/{arxiv_id}"
        post = linking(feed, rkey(), moment(), link, ("New:", ""))
        posts.append(dataclasses.replace(post, likes=40, reposts=5))
    quiet = min(
        (p for p in sample_papers() if "cs.CV" in p.categories),
        key=lambda p: scores[p.arxiv_id],
    )
    deleted = linking(
        users[-1],
        rkey(),
        start_us + span // 4,
        f"https://arxiv.org/abs/{quiet.arxiv_id}",
        ("Best paper ever, no question", ""),
    )
    deleted = dataclasses.replace(deleted, likes=5000, reposts=900)
    events = [(p.time_us, p.created()) for p in [*posts, deleted]]
    events.append((start_us + span // 2, deleted.deleted()))
    for _ in range(chatter):
        did, handle, name = rng.choice(users)
        when = moment()
        events.append(
            (
                when,
                LivePost(did, handle, name, rkey(), when, rng.choice(_CHATTER), (), ()).created(),
            )
        )
    events.sort(key=lambda pair: pair[0])
    return LiveDay(events, posts, feed[1], deleted)


def _stamp(time_us: int) -> str:
    """A record's createdAt: UTC, milliseconds, `Z`."""
    moment = dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ShiftedClock:
    """Real time moved ahead by `offset` seconds: the live sandbox's clock."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def __call__(self) -> float:
        """Unix seconds, as the stream stand-in's clock."""
        return time.time() + self.offset

    def utc(self) -> dt.datetime:
        """An aware datetime, as the bot's clock."""
        return dt.datetime.fromtimestamp(self(), dt.UTC)


def closing_clock(closes_in: float, now: float) -> tuple[ShiftedClock, dt.datetime]:
    """A clock on which a whole minute (a day boundary) comes `closes_in` seconds after
    `now` (unix seconds, real time), and that minute."""
    target = now + closes_in
    boundary = math.ceil(target / 60) * 60
    return ShiftedClock(boundary - target), dt.datetime.fromtimestamp(boundary, dt.UTC)


@dataclass
class LiveWorld:
    """The stand-ins of one live sandbox, serving its day."""

    jetstream: LocalJetstream
    appview: LocalAppView
    arxiv: LocalArxiv
    day: LiveDay


@contextlib.asynccontextmanager
async def live_world(
    clock: ShiftedClock, start_us: int, papers: Sequence[StandInPaper] = ()
) -> AsyncIterator[LiveWorld]:
    """The stand-ins, started and fed with the day so far; chatter goes on while inside."""
    now_us = round(clock() * 1_000_000)
    day = live_day(start_us, now_us)
    async with (
        LocalJetstream(clock=clock) as jetstream,
        LocalAppView() as appview,
        LocalArxiv(papers or sample_papers()) as arxiv,
    ):
        for time_us, event in day.events:
            jetstream.publish(event, time_us=time_us)
        for post in day.posts:
            appview.add_post(post.view())
        chatter = asyncio.create_task(_chatter(jetstream), name="sandbox-chatter")
        try:
            yield LiveWorld(jetstream, appview, arxiv, day)
        finally:
            chatter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chatter


async def _chatter(jetstream: LocalJetstream) -> None:
    rng = random.Random(7)
    serial = 0
    while True:
        await asyncio.sleep(CHATTER_SECONDS)
        serial += 1
        did, now_us = f"did:plc:chatter{rng.randrange(50):03d}", round(jetstream.clock() * 1e6)
        text = rng.choice(_CHATTER)
        jetstream.publish(
            LivePost(did, "", "", f"3lsch{serial:07d}", now_us, text, (), ()).created()
        )


def live_config(
    config: Config, local: LocalDiscord, database: str, world: LiveWorld, closes: dt.datetime
) -> Config:
    """The sandbox's config with Bluesky on: the stand-ins' endpoints, the day closing at
    `closes` (UTC) and built at once. Only the sandbox's own config is changed."""
    base = sandbox_config(config, local, database, Path())
    return dataclasses.replace(
        base,
        source=dataclasses.replace(base.source, directory="", url=""),
        bluesky=dataclasses.replace(
            config.bluesky,
            enabled=True,
            jetstream_url=world.jetstream.url,
            appview_url=world.appview.base_url,
            day_ends=closes.strftime("%H:%M"),
            timezone="UTC",
            publish_delay_hours=0.0,
        ),
        arxiv=dataclasses.replace(config.arxiv, api_url=world.arxiv.api_url),
    )


async def run_live_sandbox(
    config: Config,
    options: SandboxOptions,
    *,
    stdin_fd: int = 0,
    out: TextIO | None = None,
    interactive: bool | None = None,
) -> int:
    """`hotpapers sandbox --live`: as `run_sandbox`, with a day built from the stand-ins
    instead of the sample posts; without a terminal it ends once that day's digests are
    delivered."""
    out = sys.stdout if out is None else out
    if interactive is None:
        interactive = stdin_is_terminal()
    quiet_logs(options.verbose)
    clock, closes = closing_clock(options.closes_in, time.time())
    schedule = DaySchedule(closes.strftime("%H:%M"), "UTC", 0.0)
    date = schedule.date_of(closes - dt.timedelta(microseconds=1))  # the day ending then
    start, _ = schedule.bounds(date)
    with tempfile.TemporaryDirectory(prefix="hotpapers-sandbox-") as scratch:
        database = options.database or str(Path(scratch, "sandbox.sqlite3"))
        try:
            await _collecting_since(database, date, start)
        except SandboxError as exc:
            print(f"error: {exc}", file=out)
            return EXIT_FAILED
        async with LocalDiscord() as local, live_world(clock, to_us(start)) as world:
            sandbox = LiveSandbox(
                local,
                live_config(config, local, database, world, closes),
                options,
                Publisher((), Path(scratch)),
                out=out,
                interactive=interactive,
                stdin_fd=stdin_fd,
                world=world,
                clock=clock,
                date=date,
                closes=closes,
            )
            return await sandbox.run()


async def _collecting_since(database: str, date: dt.date, start: dt.datetime) -> None:
    """As if the collector had run since the day began: it reads the replay from there."""
    async with await Store.open(database) as store:
        if await store.archive.day(date) is not None:
            raise SandboxError(
                f"the archive {database} already holds Hot Papers {date}, the day this run "
                "would build; give another --db, or none for a temporary one"
            )
        if await store.bluesky.cursor() is None:
            await store.bluesky.record(BlueskyBatch((), Cursor(to_us(start))))


class LiveSandbox(Sandbox):
    """The sandbox building one day from the Bluesky stand-ins, closing soon after start."""

    demo_script = LIVE_DEMO_BEFORE

    def __init__(
        self,
        *args: Any,
        world: LiveWorld,
        clock: ShiftedClock,
        date: dt.date,
        closes: dt.datetime,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.world = world
        self.clock = clock
        self.date = date
        # When the day closes in real time (unix seconds): the sandbox's clock runs ahead.
        self.closes_at = closes.timestamp() - clock.offset
        self.built = asyncio.Event()

    async def prepare(self) -> None:
        """Nothing to publish: the stand-in stream replays the day."""

    def bot_options(self) -> dict[str, Any]:
        return {"clock": self.clock.utc}

    async def started(self, bot: HotPapersBot, gateway: asyncio.Task[None]) -> None:
        self.live_banner()

    def live_banner(self) -> None:
        style, world, day = self.console.style, self.world, self.world.day
        closes_in = self.options.closes_in
        settings = self.config.bluesky
        people = len(
            {p.did for p in day.posts} - {p.did for p in day.posts if p.handle == day.feed}
        )
        lines = [
            f"{style.bold('hotpapers sandbox --live')}: the real bot, offline, building a day"
            f" from Bluesky stand-ins; local Discord at {self.local.base_url}",
            '  You are alice, an admin of the server "Reading Group", typing in #papers.',
            f"  Jetstream {world.jetstream.url}, AppView {world.appview.base_url}, arXiv"
            f" {world.arxiv.api_url} (the sample papers)",
            f"  Replaying Hot Papers {self.date} so far: {len(day.posts) + 1} posts linking the"
            f" sample papers by {people} people, a feed (@{day.feed}, left out) and a"
            " deleted post; chatter goes on.",
            f"  The day closes in {closes_in:g} s (at {settings.day_ends} UTC on the sandbox's"
            " clock): it is built then, and its digest posted to the subscribed channels.",
            f"  Database: {self.options.database or 'temporary (give --db PATH to keep one)'}",
        ]
        if self.interactive:
            tries = " · ".join(style.bold(c) for c in (*self.demo_script, "help", "quit"))
            lines.append(f"  Subscribe before it closes: {tries}")
        else:
            demo = "the demo, then " if self.options.demo else ""
            lines.append(
                f"  No terminal: running {demo}the commands on stdin, then waiting for the"
                " day's digests."
            )
        self.console.write([*lines, ""])

    async def background(self, bot: HotPapersBot) -> None:
        """Say when the day closes and when it is built."""
        await asyncio.sleep(max(0.0, self.closes_at - time.time()))  # a timer, on real time
        self.console.note(f"Hot Papers {self.date} has closed: the bot builds it now")
        await ingested(bot, [self.date])
        day = await bot.store.archive.day(self.date)
        papers = len(day.papers) if day is not None else 0
        after = f" (then try {' · '.join(LIVE_DEMO_AFTER)})" if self.interactive else ""
        self.console.note(
            f"Hot Papers {self.date} is built from Bluesky: {papers} papers; its digests go"
            f" out to the subscribed channels{after}"
        )
        self.built.set()

    async def publish_now(self) -> str:
        return f"live mode: nothing to publish; Hot Papers {self.date} is built when it closes"

    async def finish(self, bot: HotPapersBot) -> int:
        """Piped, once stdin is done: wait for the day to be built and its digests sent."""
        limit = self.options.closes_in + SETTLE_TIMEOUT
        try:
            await asyncio.wait_for(self.built.wait(), limit)
            await asyncio.wait_for(settled(bot, [self.date]), SETTLE_TIMEOUT)
        except TimeoutError:
            raise SandboxError(
                f"the digests of Hot Papers {self.date} were not delivered within {limit:g} s"
            ) from None
        if self.options.demo:
            for line in LIVE_DEMO_AFTER:
                await self.console.execute(line, echo=True)
        self.console.note(f"Hot Papers {self.date} is built and its digests delivered; bye")
        return EXIT_OK
