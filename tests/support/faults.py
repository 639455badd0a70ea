"""Failures injected into the local Discord: Discord down, refusing, rate limiting, or storing
a message and losing the answer.

``Faults`` is an interceptor (``LocalDiscord.interceptors``): ``fail_next`` answers the next
matching requests with a status, ``fail_randomly`` a share of them at random (seeded).
"""

from __future__ import annotations

import copy
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.local_discord import Answer, Handle, RecordedRequest, path_pattern


@dataclass
class FailureRule:
    """An injected failure, see ``Faults.fail_next``."""

    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]
    remaining: int
    commit: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and self.method in ("*", method)
            and self.pattern.fullmatch(path) is not None
        )


@dataclass
class RandomFailures:
    """Failures at random, see ``Faults.fail_randomly``."""

    method: str
    pattern: re.Pattern[str]
    server_errors: float
    rate_limits: float
    commit_share: float
    retry_after: float
    rng: random.Random
    counts: dict[str, int] = field(
        default_factory=lambda: {"500": 0, "500 after storing": 0, "429": 0}
    )

    def draw(self, method: str, path: str) -> str | None:
        """'500', '500 after storing', '429' or None for a matching request."""
        if self.method not in ("*", method) or self.pattern.fullmatch(path) is None:
            return None
        roll = self.rng.random()
        if roll < self.server_errors:
            kind = "500 after storing" if self.rng.random() < self.commit_share else "500"
        elif roll < self.server_errors + self.rate_limits:
            kind = "429"
        else:
            return None
        self.counts[kind] += 1
        return kind


class Faults:
    """The failures to inject; install it as an interceptor of a ``LocalDiscord``.

    ``rules`` are consulted first, in order, then ``random``; a request neither fails goes
    through untouched.
    """

    def __init__(self) -> None:
        self.rules: list[FailureRule] = []
        self.random: RandomFailures | None = None

    async def __call__(self, request: RecordedRequest, handle: Handle) -> Answer:
        rule = next((r for r in self.rules if r.matches(request.method, request.path)), None)
        if rule is not None:
            rule.remaining -= 1
            rule.hits += 1
            if rule.commit:
                await handle()
            return Answer(rule.status, copy.deepcopy(rule.body), dict(rule.headers))
        chaos = self.random
        kind = chaos.draw(request.method, request.path) if chaos is not None else None
        if chaos is None or kind is None:
            return await handle()
        if kind == "500 after storing":
            await handle()
        status = 429 if kind == "429" else 500
        body, headers = default_failure(status, chaos.retry_after)
        return Answer(status, body, headers)

    def fail_next(
        self,
        method: str,
        path: str | re.Pattern[str],
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        count: int = 1,
        *,
        retry_after: float = 0.05,
        commit: bool = False,
    ) -> FailureRule:
        """Answer the next ``count`` matching requests with ``status``.

        ``path`` is matched against the API path (no /api/v10 prefix): ``{name}`` matches one
        segment, ``*`` anything, or pass a compiled regex. ``method`` may be "*". Default
        bodies: 403 Missing Permissions (50013), 404 Unknown Channel (10003), 429 with
        ``retry_after`` (plus X-RateLimit-* headers and the ``Via`` header discord.py needs to
        treat a 429 as a rate limit and not a Cloudflare ban), 5xx a server error. With
        ``commit=True`` the request is carried out first and then answered with the failure
        (as when Discord times out after storing a message).
        """
        status_body, status_headers = default_failure(status, retry_after)
        rule = FailureRule(
            method=method.upper(),
            pattern=path_pattern(path),
            status=status,
            body=status_body if body is None else body,
            headers={**status_headers, **dict(headers or {})},
            remaining=count,
            commit=commit,
        )
        self.rules.append(rule)
        return rule

    def fail_randomly(
        self,
        method: str,
        path: str | re.Pattern[str],
        *,
        server_errors: float,
        rate_limits: float,
        commit_share: float = 0.5,
        retry_after: float = 0.05,
        seed: int = 0,
    ) -> RandomFailures:
        """From now on answer a share of matching requests with a 500 or a 429, at random.

        ``server_errors`` and ``rate_limits`` are the shares (0.1 = 10 %); ``commit_share`` of
        the 500s come after the request was carried out, as when Discord stores a message and
        the answer is lost. Seeded, so a run can be repeated; counts in ``.counts``.
        """
        self.random = RandomFailures(
            method=method.upper(),
            pattern=path_pattern(path),
            server_errors=server_errors,
            rate_limits=rate_limits,
            commit_share=commit_share,
            retry_after=retry_after,
            rng=random.Random(seed),
        )
        return self.random

    def clear(self) -> None:
        self.rules.clear()
        self.random = None


def default_failure(status: int, retry_after: float) -> tuple[Any, dict[str, str]]:
    """The body and headers Discord answers with ``status``."""
    if status == 429:
        return (
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
            {
                "Retry-After": str(max(1, round(retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": "fakebucket",
                "X-RateLimit-Scope": "user",
                # discord.py treats a 429 without Via as a Cloudflare ban and raises at once
                "Via": "1.1 google",
            },
        )
    known: dict[int, tuple[int, str]] = {
        400: (50035, "Invalid Form Body"),
        401: (0, "401: Unauthorized"),
        403: (50013, "Missing Permissions"),
        404: (10003, "Unknown Channel"),
    }
    code, message = known.get(status, (0, f"{status}: Server Error"))
    return {"message": message, "code": code}, {}
