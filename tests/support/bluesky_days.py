"""A day built from Bluesky, as `assemble_day` makes it from collected posts, AppView counts
and arXiv metadata: for the tests of everything downstream of the builder (archive, JSON,
rendering, the blog format) without running the collector.

The Perceiver (2103.03206, #3 of the bundled 2021-03-05 post) is hot again on it, so it is a
paper of both platforms; its posts hold the text a hostile post could have.
"""

from __future__ import annotations

import datetime as dt

from bot.arxiv_api import ArxivMetadata
from bot.bluesky.appview import PostCounts
from bot.bluesky.days import to_us
from bot.bluesky.posts import CollectedPost
from bot.bluesky.ranking import Candidate, CountedPost, assemble_day
from bot.models import Day

BLUESKY_DATE = dt.date(2025, 6, 15)
BUILT_AT = dt.datetime(2025, 6, 16, 6, 0, 12, 345678, tzinfo=dt.UTC)
PERCEIVER_ID = "2103.03206"
# Everything that could break a post's layout, embed or a Discord message if it were not
# escaped: markup closing the embed, a heading and a front matter line, mentions, a
# carriage return, and spaces at either end that must survive too.
HOSTILE_TEXT = (
    ' Read </p></blockquote><blockquote class="bluesky-embed"> & "this" it\'s <br> &amp;\n'
    "# 1. Not a paper\n---\n@everyone <@123> **bold**\r\nend  "
)

SCRIPT = '<script async src="https://embed.bsky.app/static/embed.js" charset="utf-8"></script>'
# `bluesky_day()` as `hotpapers post` writes it.
BLUESKY_POST = f"""\
---
title: Hot Papers 2025-06-15
date: 2025-06-16T06:00:12.345678Z
template: "post"
draft: false
slug: "hot-papers-2025-06-15"
category: "arXiv"
tags:
  - "arXiv"
  - "Bluesky"
  - "Machine Learning"
  - "Computer Science"
description: "Hot papers 2025-06-15"
socialImage: "/media/flying-marine.jpg"

---

# 1. Perceiver: General Perception with Iterative Attention

Ada Lovelace, Alan Turing

- reposts: 8, likes: 43 (06/16/2025 06:00:12)

- links: [abs](https://arxiv.org/abs/2103.03206) | [pdf](https://arxiv.org/pdf/2103.03206)
- [cs.LG](https://arxiv.org/list/cs.LG/recent) | [cs.CV](https://arxiv.org/list/cs.CV/recent)

What Perceiver: General Perception with Iterative Attention is about, & why <it> matters.

<blockquote class="bluesky-embed" data-bluesky-uri="at://did:plc:ada/app.bsky.feed.post/3lrada1" \
data-bluesky-cid="bafyreiada" data-bluesky-embed-color-mode="system"><p lang="en">Perceiver is \
hot again https://arxiv.org/abs/2103.03206</p>&mdash; Ada L. (<a href="https://bsky.app/profile/\
did:plc:ada?ref_src=embed">@ada.bsky.social</a>) <a href="https://bsky.app/profile/did:plc:ada/\
post/3lrada1?ref_src=embed">June 15, 2025 at 12:58 AM</a></blockquote>{SCRIPT}

<blockquote class="bluesky-embed" data-bluesky-uri="at://did:plc:mallory/app.bsky.feed.post/\
3lrmal2" data-bluesky-cid="bafyreimal" data-bluesky-embed-color-mode="system"><p lang="fr"> Read \
&lt;/p&gt;&lt;/blockquote&gt;&lt;blockquote class=&quot;bluesky-embed&quot;&gt; &amp; \
&quot;this&quot; it&#x27;s &lt;br&gt; &amp;amp;<br># 1. Not a paper<br>---<br>@everyone \
&lt;@123&gt; **bold**&#13;<br>end  </p>&mdash; Mal &lt;b&gt;&quot;lory&quot;&lt;/b&gt; \
&amp;amp;<br>Co (<a href="https://bsky.app/profile/did:plc:mallory?ref_src=embed">\
@handle.invalid</a>) <a href="https://bsky.app/profile/did:plc:mallory/post/3lrmal2?ref_src=\
embed">June 15, 2025 at 1:05 PM</a></blockquote>{SCRIPT}




# 2. A Paper

Ada Lovelace, Alan Turing

- reposts: 0, likes: 2 (06/16/2025 06:00:12)

- links: [abs](https://arxiv.org/abs/2506.00002)
- [cs.LG](https://arxiv.org/list/cs.LG/recent) | [cs.CV](https://arxiv.org/list/cs.CV/recent)

What A Paper is about, & why <it> matters.

<blockquote class="bluesky-embed" data-bluesky-uri="at://did:web:example.org/app.bsky.feed.post/\
3lrweb3" data-bluesky-cid="" data-bluesky-embed-color-mode="system"><p lang="">No language given\
</p>&mdash; example.org (<a href="https://bsky.app/profile/did:web:example.org?ref_src=embed">\
@example.org</a>) <a href="https://bsky.app/profile/did:web:example.org/post/3lrweb3?ref_src=\
embed">June 15, 2025 at 11:59 PM</a></blockquote>{SCRIPT}



"""


def _post(did: str, rkey: str, text: str, langs: tuple[str, ...], at: dt.datetime) -> CollectedPost:
    return CollectedPost(
        uri=f"at://{did}/app.bsky.feed.post/{rkey}",
        did=did,
        rkey=rkey,
        text=text,
        langs=langs,
        created_at=at,
        time_us=to_us(at),
        arxiv_ids=(),
    )


def _counted(
    post: CollectedPost, likes: int, reposts: int, handle: str, name: str, cid: str
) -> CountedPost:
    return CountedPost(post, PostCounts(post.uri, likes, reposts, post.did, handle, name, cid))


def _metadata(arxiv_id: str, title: str, *, pdf: bool = True) -> ArxivMetadata:
    return ArxivMetadata(
        arxiv_id=arxiv_id,
        title=title,
        abstract=f"What {title} is about, & why <it> matters.",
        authors=("Ada Lovelace", "Alan Turing"),
        categories=("cs.LG", "cs.CV"),
        pdf_url=f"https://arxiv.org/pdf/{arxiv_id}v1" if pdf else None,
        withdrawn=False,
    )


def bluesky_day() -> Day:
    """Two papers: the Perceiver with a plain post and a hostile one by an account whose
    handle failed to verify, then a paper without a PDF whose post has no language or CID."""
    ada = _counted(
        _post(
            "did:plc:ada",
            "3lrada1",
            "Perceiver is hot again https://arxiv.org/abs/2103.03206",
            ("en",),
            dt.datetime(2025, 6, 15, 0, 58, 31, tzinfo=dt.UTC),
        ),
        likes=40,
        reposts=7,
        handle="ada.bsky.social",
        name="Ada L.",
        cid="bafyreiada",
    )
    hostile = _counted(
        _post(
            "did:plc:mallory",
            "3lrmal2",
            HOSTILE_TEXT,
            ("fr", "en"),
            dt.datetime(2025, 6, 15, 13, 5, tzinfo=dt.UTC),
        ),
        likes=3,
        reposts=1,
        handle="handle.invalid",
        name='Mal <b>"lory"</b> &amp;\nCo',
        cid="bafyreimal",
    )
    plain = _counted(
        _post(
            "did:web:example.org",
            "3lrweb3",
            "No language given",
            (),
            dt.datetime(2025, 6, 15, 23, 59, 59, tzinfo=dt.UTC),
        ),
        likes=2,
        reposts=0,
        handle="example.org",
        name="",
        cid="",
    )
    return assemble_day(
        BLUESKY_DATE,
        BUILT_AT,
        [
            (
                Candidate(PERCEIVER_ID, (ada, hostile)),
                _metadata(PERCEIVER_ID, "Perceiver: General Perception with Iterative Attention"),
            ),
            (Candidate("2506.00002", (plain,)), _metadata("2506.00002", "A Paper", pdf=False)),
        ],
    )
