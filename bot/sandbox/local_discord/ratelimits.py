"""Discord's rate limits, as the local Discord enforces them when asked to.

A global limit per second and per-route buckets (one per major parameter), fixed windows that
open at their first request, the ``X-RateLimit-*`` headers on every answer and the 429 with
``retry_after`` Discord gives a request over a limit.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.sandbox.local_discord.http import Answer, Route

# Interaction callbacks and webhooks are exempt from the global limit, as on Discord.
GLOBAL_EXEMPT = ("/interactions/", "/webhooks/")


@dataclass(frozen=True)
class RateLimits:
    """Discord's rate limits, enforced when given as ``LocalDiscord(rate_limits=...)``.

    A global limit of ``global_per_second`` requests (interaction callbacks and webhooks are
    exempt, as on Discord) and per-route buckets: ``routes`` maps a route such as
    ``"POST /channels/{channel_id}/messages"`` to (requests, seconds), one bucket per major
    parameter (channel, guild or webhook); other routes share ``default``. Every answer carries
    the ``X-RateLimit-*`` headers of its bucket; a request over a limit gets a 429 with
    ``retry_after``, as Discord answers it.
    """

    global_per_second: int = 50
    routes: Mapping[str, tuple[int, float]] = field(
        default_factory=lambda: {"POST /channels/{channel_id}/messages": (5, 5.0)}
    )
    default: tuple[int, float] = (50, 1.0)


@dataclass
class RateLimitStats:
    """What the rate limiter did: requests it let through and the 429s it answered."""

    passed: int = 0
    global_429: int = 0
    route_429: dict[str, int] = field(default_factory=dict)  # bucket → 429s

    @property
    def total_429(self) -> int:
        return self.global_429 + sum(self.route_429.values())


@dataclass
class _Window:
    """A fixed window of ``limit`` requests that opens at its first request."""

    limit: int
    period: float
    remaining: int = 0
    reset_at: float = 0.0

    def take(self, now: float) -> float:
        """0 when a request may pass now (and counts it), else the seconds to wait."""
        if now >= self.reset_at:
            self.remaining, self.reset_at = self.limit, now + self.period
        if self.remaining == 0:
            return self.reset_at - now
        self.remaining -= 1
        return 0.0


class RateLimiter:
    """Counts requests against ``limits``; what it did goes into ``stats``."""

    def __init__(self, limits: RateLimits, stats: RateLimitStats) -> None:
        self.limits = limits
        self.stats = stats
        self._global = _Window(limits.global_per_second, 1.0)
        self._buckets: dict[tuple[str, str], _Window] = {}

    def check(self, route: Route, params: Mapping[str, str]) -> dict[str, str] | Answer:
        """The bucket's headers for a request that may pass, or the 429 Discord would answer."""
        now = time.time()
        if not route.path.startswith(GLOBAL_EXEMPT):
            wait = self._global.take(now)
            if wait:
                self.stats.global_429 += 1
                return rate_limited(wait, {"X-RateLimit-Global": "true"}, scope="global")
        major = params.get("channel_id") or params.get("guild_id") or params.get("token") or ""
        limit, period = self.limits.routes.get(route.name, self.limits.default)
        bucket_id = hashlib.sha1(route.name.encode()).hexdigest()[:16]
        window = self._buckets.setdefault((route.name, major), _Window(limit, period))
        wait = window.take(now)
        headers = {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": f"{window.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{window.reset_at - now:.3f}",
            "X-RateLimit-Bucket": bucket_id,
        }
        if wait:
            # The global window counted this request, as Discord does for refused ones.
            key = f"{route.name} [{major}]"
            self.stats.route_429[key] = self.stats.route_429.get(key, 0) + 1
            return rate_limited(wait, headers, scope="user")
        self.stats.passed += 1
        return headers


def rate_limited(wait: float, headers: Mapping[str, str], *, scope: str) -> Answer:
    """The 429 Discord answers a request over a limit (``scope`` "global" or "user")."""
    body = {"message": "You are being rate limited.", "retry_after": round(wait, 3)}
    body["global"] = scope == "global"
    return Answer(
        429,
        body,
        {
            **headers,
            "Retry-After": str(max(1, round(wait))),
            "X-RateLimit-Scope": scope,
            # discord.py treats a 429 without Via as a Cloudflare ban and raises at once
            "Via": "1.1 google",
        },
    )
