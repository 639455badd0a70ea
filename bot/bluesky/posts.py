"""What the collector keeps of a Bluesky post (enough to rank its papers and show it), and the
changes the stream makes to the kept posts: plain data, shared by the decoder and the store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CollectedPost:
    """A Bluesky post that links at least one arXiv paper, as the stream delivered it."""

    uri: str  # at://<did>/app.bsky.feed.post/<rkey>
    did: str  # the author
    rkey: str
    text: str
    langs: tuple[str, ...]
    created_at: dt.datetime | None  # the record's createdAt; None when missing or invalid
    time_us: int  # the stream's own time for the post (Jetstream `time_us`), microseconds
    arxiv_ids: tuple[str, ...]  # version-less ids it links, distinct, in order of appearance


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in the stream: Jetstream's `time_us`, and its sequence number when the
    server sends one (Jetstream v2's `cursor`; instance-local, so kept only for reference)."""

    time_us: int
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class PostLinked:
    """A post created, or updated (`update`), that links at least one paper."""

    post: CollectedPost
    update: bool = False


@dataclass(frozen=True, slots=True)
class PostRemoved:
    """A post deleted, or updated to link no paper any more: if kept, it goes."""

    uri: str


@dataclass(frozen=True, slots=True)
class AccountRemoved:
    """An account deleted (`#account` with `active: false, status: "deleted"`): its posts go."""

    did: str


Change = PostLinked | PostRemoved | AccountRemoved
