"""A local Bluesky AppView on 127.0.0.1 serving `app.bsky.feed.getPosts` from a registry.

The offline sandbox and the tests build days against it instead of public.api.bsky.app.
Posts are registered with the counts they should show; counts can change and posts can
be removed (a deleted post is simply absent from `posts`, as on Bluesky). Answers follow the
lexicons (`app.bsky.feed.getPosts`, `app.bsky.feed.defs#postView`) and carry real
`ratelimit-*` headers from a fixed window; past its limit the answer is a 429
`RateLimitExceeded` XRPC error.

Usage::

    async with LocalAppView(limit=3000, window=300) as appview:
        appview.add_post(StandInPost(uri, did, handle, "Ada", "text", created_at, likes=5))
        client = AppView(session, appview.base_url)
        counts = await client.posts([uri])
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.sandbox.service import LocalService

__all__ = [
    "AppViewRequest",
    "LocalAppView",
    "StandInPost",
]


@dataclass(slots=True)
class StandInPost:
    """A post the stand-in AppView knows, with the counts it shows now (change them freely)."""

    uri: str  # at://<did>/app.bsky.feed.post/<rkey>
    did: str
    handle: str
    display_name: str
    text: str
    created_at: dt.datetime
    langs: tuple[str, ...] = ("en",)
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    quotes: int = 0

    def view(self) -> dict[str, object]:
        """The post as an `app.bsky.feed.defs#postView`."""
        created = _iso(self.created_at)
        author: dict[str, object] = {"did": self.did, "handle": self.handle, "labels": []}
        if self.display_name:
            author["displayName"] = self.display_name
        return {
            "uri": self.uri,
            "cid": _cid(f"{self.uri}\n{self.text}"),
            "author": author,
            "record": {
                "$type": "app.bsky.feed.post",
                "createdAt": created,
                "langs": list(self.langs),
                "text": self.text,
            },
            "replyCount": self.replies,
            "repostCount": self.reposts,
            "likeCount": self.likes,
            "quoteCount": self.quotes,
            "indexedAt": created,
            "labels": [],
        }


@dataclass(frozen=True, slots=True)
class AppViewRequest:
    """One request the stand-in answered: when (its clock), which URIs, with what status."""

    at: float
    uris: tuple[str, ...]
    status: int


@dataclass(slots=True)
class _Window:
    start: float = -math.inf
    used: int = 0


class LocalAppView(LocalService):
    """The AppView stand-in: `limit` requests per fixed `window` seconds, clock in unix time.

    A `fail_next(status=429)` answers as if another client had used up the window, which
    then stays used up until it resets; other statuses answer an XRPC server error.
    """

    MAX_URIS = 25

    def __init__(
        self,
        *,
        limit: int = 3000,
        window: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.limit = limit
        self.window = window
        self.clock = clock
        self.posts: dict[str, StandInPost] = {}
        self.requests: list[AppViewRequest] = []
        self._window = _Window()

    def add_post(self, post: StandInPost) -> StandInPost:
        self.posts[post.uri] = post
        return post

    def set_counts(self, uri: str, *, likes: int | None = None, reposts: int | None = None) -> None:
        post = self.posts[uri]
        if likes is not None:
            post.likes = likes
        if reposts is not None:
            post.reposts = reposts

    def remove(self, uri: str) -> None:
        """Delete a post: getPosts no longer returns it."""
        del self.posts[uri]

    @property
    def rate_limited(self) -> int:
        """How many requests were answered 429."""
        return sum(1 for r in self.requests if r.status == 429)

    def _routes(self) -> list[web.RouteDef]:
        return [
            web.get("/xrpc/app.bsky.feed.getPosts", self._get_posts),
            web.route("*", "/{tail:.*}", self._unknown),
        ]

    async def _unknown(self, request: web.Request) -> web.Response:
        return _xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")

    def _take_request(self, now: float, *, use_up: bool) -> tuple[bool, dict[str, str]]:
        """Count a request against the window (or use the window up, as another client
        would); False when nothing was left of it. Returns the rate-limit headers too."""
        if now >= self._window.start + self.window:
            self._window = _Window(start=now)
        if use_up:
            self._window.used = self.limit
        allowed = self._window.used < self.limit
        if allowed:
            self._window.used += 1
        headers = {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(self.limit - self._window.used),
            "ratelimit-reset": str(math.ceil(self._window.start + self.window)),
            "ratelimit-policy": f"{self.limit};w={math.ceil(self.window)}",
        }
        return allowed, headers

    async def _get_posts(self, request: web.Request) -> web.Response:
        now = self.clock()
        uris = tuple(request.query.getall("uris", []))
        response = await self._answer(now, uris)
        self.requests.append(AppViewRequest(now, uris, response.status))
        return response

    async def _answer(self, now: float, uris: tuple[str, ...]) -> web.Response:
        fault = self._take_fault()
        used_up = fault is not None and fault.kind == "status" and fault.status == 429
        allowed, headers = self._take_request(now, use_up=used_up)
        if fault is not None:
            if fault.kind == "hang":
                await self._hang(fault.seconds)
            elif fault.kind == "status":
                if fault.status == 429:
                    return _rate_limited(headers)
                return _xrpc_error(fault.status, "InternalServerError", "Internal Server Error")
            elif fault.kind == "malformed":
                body = json.dumps({"posts": [p.view() for p in self._found(uris)]})
                return web.Response(
                    text=body[: len(body) // 2], content_type="application/json", headers=headers
                )
            elif fault.kind == "empty":
                return web.json_response({"posts": []}, headers=headers)
        if not allowed:
            return _rate_limited(headers)
        if not uris:
            return _xrpc_error(
                400, "InvalidRequest", 'Error: Params must have the property "uris"', headers
            )
        if len(uris) > self.MAX_URIS:
            return _xrpc_error(
                400,
                "InvalidRequest",
                f"Error: uris must not have more than {self.MAX_URIS} elements",
                headers,
            )
        for index, uri in enumerate(uris):
            if not uri.startswith("at://"):
                return _xrpc_error(
                    400, "InvalidRequest", f"Error: uris/{index} must be a valid at-uri", headers
                )
        return web.json_response({"posts": [p.view() for p in self._found(uris)]}, headers=headers)

    def _found(self, uris: tuple[str, ...]) -> list[StandInPost]:
        return [self.posts[u] for u in dict.fromkeys(uris) if u in self.posts]


def _rate_limited(headers: dict[str, str]) -> web.Response:
    return _xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)


def _xrpc_error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status, headers=headers)


def _iso(moment: dt.datetime) -> str:
    """A datetime as Bluesky writes them: UTC, milliseconds, `Z`."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _cid(seed: str) -> str:
    """A CIDv1 (dag-cbor, sha2-256) in base32, as records have: `bafyrei` + 52 characters."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]
