"""The Bluesky AppView, asked for the current likes and reposts of the posts we collected.

`app.bsky.feed.getPosts` takes at most 25 `uris` a call, needs no login, and answers
`{"posts": [postView, ...]}`; a post that no longer exists (deleted, or its account gone) is
simply absent. Errors are XRPC's `{"error": ..., "message": ...}` with rate-limit headers
`ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset` (unix seconds) and
`ratelimit-policy`. The client waits for the window to reset rather than spend its last
request, waits out a 429 when the reset is near, retries server errors and timeouts with
backoff, and otherwise gives up with `AppViewUnavailable` saying why.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

GET_POSTS = "/xrpc/app.bsky.feed.getPosts"
MAX_URIS = 25  # getPosts' `uris` maxLength


class AppViewUnavailable(Exception):
    """The AppView could not answer (down, refusing, or rate limited for too long); says why."""


@dataclass(frozen=True, slots=True)
class PostCounts:
    """What the AppView says of a post now: its attention and who wrote it."""

    uri: str
    likes: int
    reposts: int
    did: str
    handle: str
    display_name: str  # "" when the author has none
    cid: str = ""  # the post record's CID, for its embed; "" when the view has none


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try after `delay` seconds."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class AppView:
    """An AppView at `base_url` (e.g. https://public.api.bsky.app), read without a login.

    `clock` is wall time in unix seconds (rate-limit resets are unix times) and `sleep`
    waits; tests inject both so no test waits for real. `requests` counts HTTP requests.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retries: int = 4,
        backoff: float = 1.0,
        max_wait: float = 300.0,
    ) -> None:
        self.session = session
        self.url = base_url.rstrip("/") + GET_POSTS
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self.sleep = sleep
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_wait = max_wait  # the longest rate-limit wait before giving up
        self.requests = 0
        self._remaining: int | None = None  # from the last answer's ratelimit-remaining
        self._reset: float | None = None  # its ratelimit-reset, unix seconds

    async def posts(self, uris: Sequence[str]) -> dict[str, PostCounts]:
        """Current counts of each post in `uris` that still exists, keyed by its URI.

        Asks 25 URIs a request; raises AppViewUnavailable when the AppView cannot answer.
        """
        wanted = list(dict.fromkeys(uris))
        found: dict[str, PostCounts] = {}
        for start in range(0, len(wanted), MAX_URIS):
            batch = wanted[start : start + MAX_URIS]
            found.update(await self._batch(batch))
        return found

    async def _batch(self, uris: list[str]) -> dict[str, PostCounts]:
        attempts = self.retries + 1
        failure = ""
        for attempt in range(attempts):
            await self._before_request()
            try:
                return await self._get(uris)
            except _Retry as retry:
                failure = retry.reason
                delay = retry.delay
                if delay is None:
                    delay = self.backoff * 2**attempt
            if attempt + 1 < attempts:
                log.info(
                    "AppView getPosts: %s; retry %d of %d in %.1f s",
                    failure,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                await self.sleep(delay)
        raise AppViewUnavailable(f"{failure} after {attempts} attempt{'s' * (attempts != 1)}")

    async def _before_request(self) -> None:
        """Wait for the rate-limit window to reset instead of spending its last request."""
        if self._remaining is None or self._remaining > 0 or self._reset is None:
            return
        wait = self._reset - self.clock()
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise AppViewUnavailable(
                f"rate limit used up and it resets in {wait:.0f} s, more than the "
                f"{self.max_wait:.0f} s we wait"
            )
        log.info("AppView rate limit used up; waiting %.1f s for it to reset", wait)
        await self.sleep(wait)
        self._remaining = None

    async def _get(self, uris: list[str]) -> dict[str, PostCounts]:
        self.requests += 1
        params = [("uris", uri) for uri in uris]
        try:
            async with self.session.get(self.url, params=params, timeout=self.timeout) as resp:
                reset = self._note_limits(resp.headers)
                body = await resp.read()
                status = resp.status
        except TimeoutError:
            raise _Retry("timed out") from None
        except aiohttp.ClientError as exc:
            raise _Retry(f"connection failed ({type(exc).__name__}: {exc})") from None
        if status == 200:
            return _parse_posts(body, set(uris))
        reason = f"HTTP {status}{_xrpc_error(body)}"
        if status == 429:
            raise _Retry(reason, self._rate_limit_wait(reason, reset))
        if status >= 500:
            raise _Retry(reason)
        raise AppViewUnavailable(f"the AppView refused getPosts: {reason}")

    def _note_limits(self, headers: Mapping[str, str]) -> float | None:
        """Remember what is left of the window; returns its reset time, if the answer says."""
        remaining = _number(headers.get("ratelimit-remaining"))
        reset = _number(headers.get("ratelimit-reset"))
        self._remaining = None if remaining is None else int(remaining)
        self._reset = reset
        return reset

    def _rate_limit_wait(self, reason: str, reset: float | None) -> float | None:
        """Seconds until the window resets after a 429; None (plain backoff) if not said."""
        if reset is None:
            return None
        wait = max(0.0, reset - self.clock())
        if wait > self.max_wait:
            raise AppViewUnavailable(
                f"{reason}: rate limited until {wait:.0f} s from now, more than the "
                f"{self.max_wait:.0f} s we wait"
            )
        self._remaining = None  # the wait below is the one for this reset
        return wait


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _xrpc_error(body: bytes) -> str:
    """`: Error: message` from an XRPC error body, or "" when it is not one."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    parts = [str(data[k]) for k in ("error", "message") if isinstance(data.get(k), str)]
    return f" {': '.join(parts)}" if parts else ""


def _parse_posts(body: bytes, asked: set[str]) -> dict[str, PostCounts]:
    try:
        data = json.loads(body)
    except ValueError:
        raise _Retry("answer is not JSON") from None
    posts = data.get("posts") if isinstance(data, dict) else None
    if not isinstance(posts, list):
        raise _Retry('answer has no "posts" list')
    found: dict[str, PostCounts] = {}
    for view in posts:
        counts = _post_counts(view)
        if counts is None:
            log.warning("AppView returned a post view without uri or author: %.200r", view)
        elif counts.uri in asked:
            found[counts.uri] = counts
    return found


def _post_counts(view: Any) -> PostCounts | None:
    if not isinstance(view, dict):
        return None
    uri, author = view.get("uri"), view.get("author")
    if not isinstance(uri, str) or not isinstance(author, dict):
        return None
    did, handle = author.get("did"), author.get("handle")
    if not isinstance(did, str) or not isinstance(handle, str):
        return None
    name, cid = author.get("displayName"), view.get("cid")
    return PostCounts(
        uri=uri,
        likes=_count(view.get("likeCount")),
        reposts=_count(view.get("repostCount")),
        did=did,
        handle=handle,
        display_name=name.strip() if isinstance(name, str) else "",
        cid=cid if isinstance(cid, str) else "",
    )


def _count(value: Any) -> int:
    """A count from the view; optional in the lexicon, so absent (or nonsense) is 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(0, value)
