"""What the collector keeps of a Bluesky post: enough to rank its papers and show it."""

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
