"""The local Discord's HTTP plumbing: recorded requests, answers, errors and the route table.

Every REST request becomes a ``RecordedRequest``; the route that matches it gets a ``Call``
and returns a JSON body (or ``(status, body)``, or None for 204), or raises ``ApiError`` with
Discord's error code. The route modules (``rest``, ``messages``, ``webhooks``) each fill a
``RouteTable`` with named functions. ``Validator`` and ``Interceptor`` are the server's public
hooks, see ``LocalDiscord``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import BodyPartReader, web

if TYPE_CHECKING:
    from bot.sandbox.local_discord.server import LocalDiscord

API_VERSION = 10
JSON = Any


class RequestCheck(Protocol):
    """What a validator found in one request body."""

    @property
    def problems(self) -> list[str]:
        """Everything wrong with the body, including what Discord would accept anyway."""
        ...

    @property
    def rejected_by_discord(self) -> list[str]:
        """The problems for which Discord would answer 400."""
        ...


Validator = Callable[[str, str, Any], RequestCheck]
"""Checks one request: ``(method, API path without /api/v10, parsed JSON body)``."""


@dataclass
class RecordedRequest:
    """One HTTP request the fake received."""

    method: str
    path: str  # API path without the /api/v10 prefix, e.g. "/channels/1001/messages"
    query: dict[str, str]
    json: JSON  # parsed JSON body (or multipart payload_json), None without body
    headers: dict[str, str]
    files: list[dict[str, Any]] = field(default_factory=list)  # multipart files
    route: str | None = None  # e.g. "POST /channels/{channel_id}/messages"; None = unknown
    status: int = 0
    response: JSON = None
    problems: list[str] = field(default_factory=list)  # schema / limit / policy problems
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Answer:
    """What the local Discord answers one REST request."""

    status: int
    body: JSON = None
    headers: Mapping[str, str] = field(default_factory=dict)


Handle = Callable[[], Awaitable[Answer]]
"""Carries out the request (authorization, then its route) and gives the answer."""

Interceptor = Callable[[RecordedRequest, Handle], Awaitable[Answer]]
"""Consulted for each REST request of a known route, after validation and rate limits.

It returns the answer to send: its own (the request is not carried out), or what ``handle()``
gives, or its own after ``handle()`` (the request is carried out and its answer replaced).
Whatever it does after ``await handle()`` happens once the route stored its change and
before the answer is sent."""


class ApiError(Exception):
    """An error answer as Discord gives it: ``{"message": ..., "code": ...}``."""

    def __init__(self, status: int, code: int, message: str, errors: Any = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.payload: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.payload["errors"] = errors

    def answer(self) -> Answer:
        return Answer(self.status, self.payload)


@dataclass
class Call:
    """One request as a route sees it: the request, its record and the path parameters."""

    request: web.Request
    record: RecordedRequest
    params: dict[str, str]

    @property
    def body(self) -> Any:
        return self.record.json

    def int_param(self, name: str) -> int:
        value = self.params[name]
        if not value.isdigit():
            raise ApiError(404, 0, "404: Not Found")
        return int(value)


RouteHandler = Callable[["LocalDiscord", Call], Awaitable[Any]]
"""A route: returns the JSON body (200), ``(status, body)``, or None (204)."""


@dataclass(frozen=True)
class Route:
    method: str
    regex: re.Pattern[str]
    name: str  # "GET /users/{user_id}"
    handler: RouteHandler

    @property
    def path(self) -> str:
        return self.name.split(" ", 1)[1]

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.regex.fullmatch(path)
        return found.groupdict() if found else None


class RouteTable:
    """Routes in the order they are tried; ``{name}`` in a template matches one segment."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes)

    def route(self, method: str, template: str) -> Callable[[RouteHandler], RouteHandler]:
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[^}/]+\})", template)
            if part
        )

        def register(handler: RouteHandler) -> RouteHandler:
            self._routes.append(Route(method, re.compile(regex), f"{method} {template}", handler))
            return handler

        return register


def path_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """``{name}`` matches one path segment, ``*`` anything; a compiled regex is used as is."""
    if isinstance(pattern, re.Pattern):
        return pattern
    out = []
    for part in re.split(r"(\{[^}/]+\}|\*)", pattern):
        if part == "*":
            out.append(".*")
        elif part.startswith("{") and part.endswith("}"):
            out.append("[^/]+")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


async def read_body(request: web.Request, record: RecordedRequest) -> None:
    """The JSON body (or multipart ``payload_json`` and files) into ``record``."""
    if not request.can_read_body:
        return
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            data = await part.read()
            if part.name == "payload_json":
                record.json = json.loads(data.decode())
            else:
                record.files.append(
                    {
                        "name": part.name,
                        "filename": part.filename,
                        "size": len(data),
                        "content_type": part.headers.get("Content-Type"),
                        "data": bytes(data),
                    }
                )
        return
    raw = await request.read()
    if not raw:
        return
    try:
        record.json = json.loads(raw)
    except ValueError:
        record.json = raw.decode(errors="replace")


def json_response(answer: Answer) -> web.Response:
    if answer.body is None or answer.status == 204:
        return web.Response(status=answer.status, headers=dict(answer.headers))
    # Content-Type exactly "application/json": discord.py's json_or_text compares it verbatim,
    # and aiohttp would append "; charset=utf-8" when given text= or content_type=.
    return web.Response(
        status=answer.status,
        body=json.dumps(answer.body).encode(),
        headers={**dict(answer.headers), "Content-Type": "application/json"},
    )
