"""Shared fixtures: the real posts (bundled samples, the ../shared corpus) and a fresh store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.samples import sample_posts
from bot.store import Store

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
