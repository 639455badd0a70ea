"""Hot Papers posts for tests and benches: the bundled samples, days made from them, and
the ways a post arrives broken (cut short, junk, Latin-1, a line missing).

``as_archived`` says how the archive gives parsed days back, to compare with what it stores.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
from collections.abc import Iterable
from pathlib import Path

from bot.models import Day, Paper, Tweet
from bot.samples import sample_posts

# The three bundled posts, oldest first.
SAMPLE_POSTS: tuple[Path, ...] = tuple(sample_posts())


def sample_post(date: str) -> Path:
    """The bundled post of ``date`` (YYYY-MM-DD)."""
    for path in SAMPLE_POSTS:
        if path.name.startswith(date):
            return path
    raise LookupError(f"no bundled post for {date}: {[p.name for p in SAMPLE_POSTS]}")


def sample_text(date: str) -> str:
    return sample_post(date).read_text(encoding="utf-8")


def retitled(text: str, date: str) -> str:
    """The same post published as the Hot Papers of another day."""
    old = re.search(r"^title: Hot Papers (\d{4}-\d{2}-\d{2})$", text, re.MULTILINE)
    assert old is not None
    return text.replace(old[1], date)


def merged_post(date: str, texts: Iterable[str]) -> str:
    """One post listing the papers of several posts, renumbered in order: a big day."""
    parts = list(texts)
    front, _, _ = parts[0].partition("\n# 1. ")
    sections: list[str] = []
    for text in parts:
        body = "# 1. " + text.partition("\n# 1. ")[2]
        sections += [s for s in re.split(r"(?m)^(?=# \d+\. )", body) if s.strip()]
    renumbered = [
        re.sub(r"^# \d+\. ", f"# {rank}. ", section.rstrip("\n") + "\n\n\n", count=1)
        for rank, section in enumerate(sections, start=1)
    ]
    return retitled(front + "\n" + "".join(renumbered), date)


# ---------------------------------------------------------------------------------------------
# The Perceiver, #3 of the 2021-03-05 post, as the parser must read it (written out by hand)
# ---------------------------------------------------------------------------------------------

PERCEIVER_ABSTRACT = (
    "Biological systems understand the world by simultaneously processing high-dimensional "
    "inputs from modalities as diverse as vision, audition, touch, proprioception, etc. The "
    "perception models used in deep learning on the other hand are designed for individual "
    "modalities, often relying on domain-specific assumptions such as the local grid structures "
    "exploited by virtually all existing vision models. These priors introduce helpful inductive "
    "biases, but also lock models to individual modalities. In this paper we introduce the "
    "Perceiver - a model that builds upon Transformers and hence makes few architectural "
    "assumptions about the relationship between its inputs, but that also scales to hundreds of "
    "thousands of inputs, like ConvNets. The model leverages an asymmetric attention mechanism to "
    "iteratively distill inputs into a tight latent bottleneck, allowing it to scale to handle "
    "very large inputs. We show that this architecture performs competitively or beyond strong, "
    "specialized models on classification tasks across various modalities: images, point clouds, "
    "audio, video and video+audio. The Perceiver obtains performance comparable to ResNet-50 on "
    "ImageNet without convolutions and by directly attending to 50,000 pixels. It also surpasses "
    "state-of-the-art results for all modalities in AudioSet."
)
PERCEIVER_AUTHORS_LINE = (
    "Andrew Jaegle, Felix Gimeno, Andrew Brock, Andrew Zisserman, Oriol Vinyals, Joao Carreira\n"
)
PERCEIVER_LINKS = (
    "- links: [abs](https://arxiv.org/abs/2103.03206) | [pdf](https://arxiv.org/pdf/2103.03206)"
)
PERCEIVER_CATEGORIES = next(
    line
    for line in sample_text("2021-03-05").split("\n")
    if line.startswith("- [cs.CV](") and "eess.AS" in line
)
PERCEIVER = Paper(
    arxiv_id="2103.03206",
    title="Perceiver: General Perception with Iterative Attention",
    authors=(
        "Andrew Jaegle",
        "Felix Gimeno",
        "Andrew Brock",
        "Andrew Zisserman",
        "Oriol Vinyals",
        "Joao Carreira",
    ),
    categories=("cs.CV", "cs.AI", "cs.LG", "cs.SD", "eess.AS"),
    abstract=PERCEIVER_ABSTRACT,
    abs_url="https://arxiv.org/abs/2103.03206",
    pdf_url="https://arxiv.org/pdf/2103.03206",
)
PERCEIVER_TWEETS = (
    Tweet(
        url="https://twitter.com/arankomatsuzaki/status/1367657530143383561",
        author="Aran Komatsuzaki",
        handle="arankomatsuzaki",
        posted=dt.date(2021, 3, 5),
        lang="en",
        text=(
            "Perceiver: General Perception with Iterative Attention\n\n"
            "- Competitive perf on classification tasks across various modalities: images, "
            "audio and video. \n\n"
            "- Obtains perf comparable to ResNet on ImageNet w/o convs and by directly attending "
            "to 50,000 pixels. https://t.co/I8qpvFH2Z8 pic.twitter.com/Lgf7Khfr08"
        ),
    ),
    Tweet(
        url="https://twitter.com/mosko_mule/status/1367673823739351048",
        author="ワクワクさん（ミジンコ）",  # noqa: RUF001 - the real name, fullwidth brackets
        handle="mosko_mule",
        posted=dt.date(2021, 3, 5),
        lang="ja",
        text=(
            "Perceiver: General Perception with Iterative Attention\u3000"
            "https://t.co/OHfgdlA0CD\n"
            "隠れベクトルと生の信号をcross attentionすることで高次元データをそのまま扱える"
            "Transformer派生。画像、ビデオ、音声、ポイントクラウドなどを同じ構造で扱うことができる。"
            "ImageNetでResNet50並 pic.twitter.com/KuHcr8cKjw"
        ),
    ),
    Tweet(
        url="https://twitter.com/ak92501/status/1367657218942894081",
        author="AK",
        handle="ak92501",
        posted=dt.date(2021, 3, 5),
        lang="en",
        text=(
            "Perceiver: General Perception with Iterative Attention\n"
            "pdf: https://t.co/1EACnTm1Sj\n"
            "abs: https://t.co/JWverNYmDR pic.twitter.com/cQRsBIcNWm"
        ),
    ),
)


# ---------------------------------------------------------------------------------------------
# Broken posts
# ---------------------------------------------------------------------------------------------

STRUCTURAL = re.compile(r"- (links|retweets): ")


def mid_line_cut(data: bytes, fraction: float) -> bytes:
    """The first ``fraction`` of ``data``, ending inside a line (as a writer leaves it).

    A post cut right after a blank line can be a valid shorter post: nothing in the format
    tells, so this never cuts there.
    """
    cut = max(1, int(len(data) * fraction))
    while cut > 1 and data[cut - 1 : cut] in (b"\n", b"\r"):
        cut -= 1
    return data[:cut]


def binary_junk(rng: random.Random, size: int = 4096) -> bytes:
    """Random bytes with NULs in them, as a failed download or a stray binary leaves."""
    data = bytearray(rng.randbytes(size))
    data[rng.randrange(size)] = 0
    return bytes(data)


def as_latin1(data: bytes) -> bytes:
    """The post saved in Latin-1 (characters outside it as '?'): not UTF-8 when it has any
    of U+0080..U+00FF."""
    return data.decode("utf-8").encode("latin-1", errors="replace")


def without_line(data: bytes, rng: random.Random) -> bytes:
    """The post minus one of its papers' links or counts lines (picked by ``rng``)."""
    lines = data.decode("utf-8").split("\n")
    candidates = [i for i, line in enumerate(lines) if STRUCTURAL.match(line)]
    del lines[rng.choice(candidates)]
    return "\n".join(lines).encode("utf-8")


def as_archived(days: list[Day]) -> dict[dt.date, Day]:
    """The days as the archive gives them back: each as ``parse_post`` read it, except that
    a paper listed on several days carries the metadata of the newest of them (the archive
    keeps one record per paper)."""
    newest: dict[str, Paper] = {}
    for day in sorted(days, key=lambda d: d.date):
        for ranked in day.papers:
            newest[ranked.paper.arxiv_id] = ranked.paper
    return {
        day.date: dataclasses.replace(
            day,
            papers=tuple(
                dataclasses.replace(p, paper=newest[p.paper.arxiv_id]) for p in day.papers
            ),
        )
        for day in days
    }
