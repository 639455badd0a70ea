"""Where the real posts are: the repository's root, the bundled samples and the 126-post
corpus beside the repository (absent from a fresh clone), and every real post as a pytest
parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.samples import sample_posts

REPO_ROOT = Path(__file__).resolve().parents[2]
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
