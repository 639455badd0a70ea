"""Shared fixtures: the real posts (bundled samples, the ../shared corpus), a fresh store, and
the local Discord the client and end-to-end tests talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.samples import sample_posts
from bot.store import Store
from tests.support.fake_discord import FakeDiscord, iter_problems, point_discord_at

REPO_ROOT = Path(__file__).resolve().parents[1]
# The 126-post corpus lives beside the repository, not in it: a fresh clone has no ../shared.
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus"
CORPUS_ABSENT = f"the Hot Papers corpus is not at {CORPUS_DIR}"


def corpus_posts() -> list[Path]:
    """The corpus posts, oldest first; empty when the corpus is absent."""
    return sorted(CORPUS_DIR.glob("*.md")) if CORPUS_DIR.is_dir() else []


def all_post_params() -> list[object]:
    """Every real post as a pytest param: the samples always, the corpus posts when present."""
    params: list[object] = [pytest.param(p, id=f"samples/{p.name}") for p in sample_posts()]
    corpus = corpus_posts()
    if corpus:
        params += [pytest.param(p, id=f"corpus/{p.name}") for p in corpus]
    else:
        params.append(pytest.param(None, id="corpus", marks=pytest.mark.skip(reason=CORPUS_ABSENT)))
    return params


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
