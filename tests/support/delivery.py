"""The bot delivering digests in process: a harness over ``running_bot`` that watches a
directory for posts (``delivering``), and the digests expected from the bundled posts, read
with a few regexes rather than the bot's parser (``listed_papers``, ``expected_titles``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from bot.client.bot import HotPapersBot
from bot.delivery.report import DeliveryReport
from bot.store import LedgerRow
from tests.support.fake_discord import (
    GENERAL_CHANNEL_ID,
    PAPERS_CHANNEL_ID,
    FakeDiscord,
    RecordedRequest,
)
from tests.support.harness import running_bot
from tests.support.waiting import until_committed

PAPERS = PAPERS_CHANNEL_ID
GENERAL = GENERAL_CHANNEL_ID
WAIT = 10.0  # seconds any single expected event may take

# ---------------------------------------------------------------------------------------------
# Posts and the digests expected from them
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Listed:
    """A paper as a post lists it."""

    rank: int
    title: str
    categories: tuple[str, ...]
    score: int  # retweets + favorites


def listed_papers(text: str) -> list[Listed]:
    """The papers of a post in rank order, read with a few regexes (not the bot's parser)."""
    found: list[Listed] = []
    heading: tuple[int, str] | None = None
    score = 0
    for line in text.splitlines():
        if match := re.fullmatch(r"# (\d+)\.\s+(.*)", line):
            heading = (int(match[1]), " ".join(match[2].split()))
        elif heading and (match := re.match(r"- retweets: (\d+), favorites: (\d+) ", line)):
            score = int(match[1]) + int(match[2])
        elif heading and line.startswith("- [") and "arxiv.org/list/" in line:
            codes = tuple(re.findall(r"arxiv\.org/list/([^/]+)/recent", line))
            found.append(Listed(heading[0], heading[1], codes, score))
            heading = None
    return found


def discord_escaped(text: str) -> str:
    return re.sub(r"([\\*_~`|\[\]])", r"\\\1", text)


def expected_titles(
    text: str, categories: Iterable[str], *, top: int = 10, min_score: int = 0
) -> list[str]:
    """Embed titles of a digest: papers in any of `categories` (codes, or archives like
    "cs.*"), in rank order."""
    wanted = set(categories)

    def covered(code: str) -> bool:
        return code in wanted or f"{code.split('.')[0]}.*" in wanted

    return [
        f"#{p.rank} · {discord_escaped(p.title)}"
        for p in listed_papers(text)
        if any(covered(c) for c in p.categories) and p.score >= min_score
    ][:top]


# ---------------------------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Harness:
    """The running bot, the fake Discord and the watched post directory of one test."""

    bot: HotPapersBot
    fake: FakeDiscord
    watch: Path

    def publish(self, date: str, text: str, *, settled: bool = True) -> Path:
        """Write a post into the watched directory; `settled` backdates it past settle_seconds."""
        path = self.watch / f"{date}---Hot-Papers.md"
        path.write_text(text, encoding="utf-8")
        if settled:
            past = path.stat().st_mtime - 60
            os.utime(path, (past, past))
        return path

    async def command(
        self, name: str, options: Mapping[str, Any] | None = None, *, channel: int = PAPERS
    ) -> dict[str, Any]:
        handle = await self.fake.interact(name, options, channel_id=channel)
        reply: dict[str, Any] = await handle.wait_reply(WAIT)
        return reply

    async def subscribe(self, category: str, *, channel: int = PAPERS) -> None:
        reply = await self.command("subscribe", {"category": category}, channel=channel)
        assert "subscribed" in reply["content"].lower(), reply

    async def settings(self, **options: Any) -> str:
        """/settings in #papers; the reply's Settings field."""
        reply = await self.command("settings", options)
        return settings_field(reply)

    async def subscriptions(self, channel: int = PAPERS) -> dict[str, Any]:
        reply = await self.command("subscriptions", channel=channel)
        embed: dict[str, Any] = reply["embeds"][0]
        return embed

    async def run(self) -> DeliveryReport:
        """One poll of the watched directory, then one delivery run (the two scheduled jobs)."""
        await self.bot.service.poll_sources()
        return await self.bot.service.deliver_due()

    def posts(self, channel: int) -> list[RecordedRequest]:
        return self.fake.find_requests("POST", f"/channels/{channel}/messages")

    def messages(self, channel: int) -> list[dict[str, Any]]:
        return self.fake.channel_messages(channel)

    def titles(self, channel: int) -> list[list[str]]:
        return [[e["title"] for e in m["embeds"]] for m in self.messages(channel)]

    async def ledger(self, channel: int = PAPERS) -> list[LedgerRow]:
        return await self.bot.store.deliveries.ledger(channel)

    async def wait_ledger(
        self, done: Callable[[list[LedgerRow]], bool], channel: int = PAPERS
    ) -> list[LedgerRow]:
        rows: list[LedgerRow] = []

        async def check() -> bool:
            nonlocal rows
            rows = await self.ledger(channel)
            return done(rows)

        await until_committed(self.bot.store.database, check, "the ledger", WAIT)
        return rows


def settings_field(reply: Mapping[str, Any]) -> str:
    fields = reply["embeds"][0].get("fields", [])
    return next(str(f["value"]) for f in fields if f["name"] == "Settings")


@contextlib.asynccontextmanager
async def delivering(
    fake: FakeDiscord,
    tmp_path: Path,
    *,
    run_jobs: bool = False,
    settle_seconds: float = 0.5,
    digest: Mapping[str, Any] | None = None,
) -> AsyncIterator[Harness]:
    """The bot watching tmp_path/posts, polling and delivering every second when `run_jobs`."""
    watch = tmp_path / "posts"
    watch.mkdir(exist_ok=True)
    overrides = {
        "source": {"directory": str(watch), "poll_seconds": 1, "settle_seconds": settle_seconds},
        "digest": {"deliver_seconds": 1, **(digest or {})},
    }
    async with running_bot(
        fake, tmp_path, samples=False, config_overrides=overrides, run_jobs=run_jobs
    ) as bot:
        yield Harness(bot, fake, watch)


def sent(rows: list[LedgerRow]) -> bool:
    return bool(rows) and all(r.status == "sent" for r in rows)


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# What the 2021-03-15 post gives a channel following cs.CV, read from the post by hand.
CV_0315_HEADER = "**Hot Papers 2021-03-15** · 7 of 10 papers match cs.CV"
CV_0315_TITLES = [
    "#1 · HumanGAN: A Generative Model of Humans Images",
    "#2 · Probabilistic two-stage detection",
    "#4 · VDSM: Unsupervised Video Disentanglement with State-Space Modeling and Deep Mixtures"
    " of Experts",
    "#5 · Large Batch Simulation for Deep Reinforcement Learning",
    "#6 · Neural Reprojection Error: Merging Feature Learning and Camera Pose Estimation",
    "#8 · Vision Transformer for COVID-19 CXR Diagnosis using Chest X-ray Feature Corpus",
    "#9 · Searching by Generating: Flexible and Efficient One-Shot NAS with Architecture Generator",
]
