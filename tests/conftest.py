"""Shared fixtures: the real posts (bundled samples, the ../shared corpus), a fresh store, and
the local Discord the client and end-to-end tests talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.samples import sample_posts
from bot.store import Store
from tests.support.fake_discord import FakeDiscord, iter_problems, point_discord_at
from tests.support.real_posts import CORPUS_ABSENT, CORPUS_DIR, corpus_posts


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """../shared/corpus, or a skip when this checkout has none."""
    if not corpus_posts():
        pytest.skip(CORPUS_ABSENT)
    return CORPUS_DIR


@pytest.fixture
def samples() -> list[Path]:
    """The three bundled posts, oldest first."""
    return sample_posts()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store on its own temporary SQLite file, closed after the test."""
    opened = await Store.open(tmp_path / "archive.sqlite3")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with discord.py pointed at it.

    At teardown the fake is stopped and the test fails if the bot used a route the fake does
    not know (``unknown_requests``) or sent a body that breaks Discord's schema, limits or our
    no-ping policy (``schema_problems``). Close your discord.py client inside the test.
    """
    fake = FakeDiscord()
    await fake.start()
    undo = point_discord_at(fake)
    try:
        yield fake
    finally:
        undo()
        await fake.stop()
    problems = list(iter_problems(fake))
    assert fake.unknown_requests == [], "\n".join(problems)
    assert fake.schema_problems == [], "\n".join(problems)
