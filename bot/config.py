"""Configuration: a TOML file plus the environment → frozen dataclasses, read once in main()."""

from __future__ import annotations

import math
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bot.limits import DIGEST_TOP


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or holds a bad value; says which and why."""


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    path: str = "hotpapers.sqlite3"


DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY = "wss://gateway.discord.gg/"


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    """Where the bot talks to Discord; the tests and the sandbox point it at a local server."""

    api_base: str = DISCORD_API_BASE
    gateway_url: str = DISCORD_GATEWAY
    dev_guild: int = 0  # 0: sync commands globally; otherwise to this guild only, instantly
    requests_per_second: float = 48.0  # REST requests are paced under Discord's global 50/s


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """Where new posts come from; either or both may be set."""

    directory: str = ""  # a folder of post files, watched recursively for *.md
    url: str = ""  # an HTTP URL template with {date}, e.g. .../{date}---Hot-Papers.md
    poll_seconds: int = 600
    lookback_days: int = 3  # how many days back the HTTP source asks for missing posts
    timeout_seconds: int = 30
    settle_seconds: float = 2.0  # a file modified more recently than this waits a poll
    max_post_bytes: int = 2_000_000  # a bigger post file or response is refused unread


@dataclass(frozen=True, slots=True)
class DigestConfig:
    top: int = 10  # papers per digest unless a channel sets its own (1 to DIGEST_TOP)
    catch_up_days: int = 3  # after downtime, at most this many missed days per channel
    deliver_seconds: int = 30  # how often due deliveries are looked for


BLUESKY_JETSTREAM = "wss://jetstream2.us-east.bsky.network/subscribe"
BLUESKY_APPVIEW = "https://public.api.bsky.app"
ARXIV_API = "https://export.arxiv.org/api/query"


@dataclass(frozen=True, slots=True)
class BlueskyConfig:
    """Building each new day from the Bluesky posts that link arXiv papers."""

    # None: on when neither [source] directory nor url is set, so a bare install works.
    enabled: bool | None = field(default=None, metadata={"type": bool})
    jetstream_url: str = BLUESKY_JETSTREAM  # a Jetstream `/subscribe` WebSocket
    appview_url: str = BLUESKY_APPVIEW  # serves app.bsky.feed.getPosts without a login
    day_ends: str = "00:00"  # HH:MM in `timezone`: a day is the posts between two of these
    timezone: str = "UTC"
    publish_delay_hours: float = 12.0  # a day is built this long after it ends
    feed_threshold: int = 20  # an account linking more distinct papers a day is a feed
    ignore: tuple[str, ...] = ()  # DIDs or handles whose posts never count
    papers_per_day: int = 30
    min_score: int = 10  # likes + reposts a paper needs to be listed


@dataclass(frozen=True, slots=True)
class ArxivConfig:
    """Where paper metadata comes from."""

    api_url: str = ARXIV_API


@dataclass(frozen=True, slots=True)
class TemplatesConfig:
    directory: str = ""  # templates here override the bundled ones of the same name


@dataclass(frozen=True, slots=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    discord: DiscordConfig = field(default_factory=DiscordConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    bluesky: BlueskyConfig = field(default_factory=BlueskyConfig)
    arxiv: ArxivConfig = field(default_factory=ArxivConfig)

    @property
    def bluesky_enabled(self) -> bool:
        """`[bluesky] enabled`, or when unset: on unless a post source is configured."""
        if self.bluesky.enabled is not None:
            return self.bluesky.enabled
        return not (self.source.directory or self.source.url)

    def with_database(self, path: str | None) -> Config:
        """The `--db` override of the command line."""
        return self if path is None else replace(self, database=DatabaseConfig(path=path))


def _section(raw: Mapping[str, Any], name: str, cls: type[Any], origin: str) -> Any:
    values = raw.get(name, {})
    if not isinstance(values, dict):
        raise ConfigError(f"{origin}: [{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"{origin}: unknown key(s) in [{name}]: {', '.join(unknown)}; "
            f"known keys: {', '.join(known)}"
        )
    values = dict(values)
    for key, value in values.items():
        default = known[key].default
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(
                    f"{origin}: [{name}] {key} must be a list of strings, got {value!r}"
                )
            values[key] = tuple(value)
            continue
        expected = known[key].metadata.get("type") or (
            type(default) if default is not None else str
        )
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            values[key] = value = float(value)
        if not isinstance(value, expected) or isinstance(value, bool) != (expected is bool):
            raise ConfigError(
                f"{origin}: [{name}] {key} must be a {expected.__name__}, got {value!r}"
            )
    return cls(**values)


_SECTIONS: dict[str, type[Any]] = {
    "database": DatabaseConfig,
    "discord": DiscordConfig,
    "templates": TemplatesConfig,
    "source": SourceConfig,
    "digest": DigestConfig,
    "bluesky": BlueskyConfig,
    "arxiv": ArxivConfig,
}


def load_config(path: str | Path | None, environ: Mapping[str, str]) -> Config:
    """Read `path` (or only defaults when None); `HOTPAPERS_DB` in `environ` overrides the DB."""
    raw: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        origin = str(path)
        try:
            with open(path, "rb") as handle:
                raw = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: not UTF-8 ({exc.reason})") from None
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise ConfigError(
            f"{origin}: unknown section(s) {', '.join(unknown)}; known: {', '.join(_SECTIONS)}"
        )
    config = Config(**{name: _section(raw, name, cls, origin) for name, cls in _SECTIONS.items()})
    _check(config, origin)
    return config.with_database(environ.get("HOTPAPERS_DB") or None)


# Upper bounds: far larger intervals overflow timedelta and APScheduler, and a digest set
# for a local time waits up to deliver_seconds past it.
WEEK_SECONDS = 7 * 24 * 3600
DAY_SECONDS = 24 * 3600
MAX_DELIVER_SECONDS = 3600
MAX_LOOKBACK_DAYS = 365
# A year of missed days is more than any downtime; far more overflows the dates it spans.
MAX_CATCH_UP_DAYS = 365


def _check(config: Config, origin: str) -> None:
    """Values of the right type can still be wrong: say which and what is expected."""
    problems = []
    if not config.database.path.strip():
        problems.append("[database] path must not be empty")
    if not config.discord.api_base.startswith(("http://", "https://")):
        problems.append(
            f"[discord] api_base must be an http(s) URL, got {config.discord.api_base!r}"
        )
    if not config.discord.gateway_url.startswith(("ws://", "wss://")):
        problems.append(
            f"[discord] gateway_url must be a ws(s) URL, got {config.discord.gateway_url!r}"
        )
    if config.source.url:
        problems += _source_url_problems(config.source.url)
    source, digest = config.source, config.digest
    if not 1 <= source.poll_seconds <= WEEK_SECONDS:
        problems.append(
            f"[source] poll_seconds must be 1 to {WEEK_SECONDS} (one week), "
            f"got {source.poll_seconds}"
        )
    if not 0 <= source.lookback_days <= MAX_LOOKBACK_DAYS:
        problems.append(
            f"[source] lookback_days must be 0 to {MAX_LOOKBACK_DAYS}, got {source.lookback_days}"
        )
    if source.timeout_seconds < 1:
        problems.append(
            f"[source] timeout_seconds must be at least 1, got {source.timeout_seconds}"
        )
    if not 0 <= source.settle_seconds <= DAY_SECONDS:  # NaN fails every comparison
        problems.append(
            f"[source] settle_seconds must be 0 to {DAY_SECONDS} (one day), "
            f"got {source.settle_seconds}"
        )
    if not 1 <= digest.deliver_seconds <= MAX_DELIVER_SECONDS:
        problems.append(
            f"[digest] deliver_seconds must be 1 to {MAX_DELIVER_SECONDS} (one hour), "
            f"got {digest.deliver_seconds}"
        )
    if source.max_post_bytes < 1:
        problems.append(f"[source] max_post_bytes must be at least 1, got {source.max_post_bytes}")
    if not 1 <= config.digest.top <= DIGEST_TOP:
        problems.append(f"[digest] top must be 1 to {DIGEST_TOP}, got {config.digest.top}")
    if not 1 <= config.digest.catch_up_days <= MAX_CATCH_UP_DAYS:
        problems.append(
            f"[digest] catch_up_days must be 1 to {MAX_CATCH_UP_DAYS}, "
            f"got {config.digest.catch_up_days}"
        )
    if not 0 < config.discord.requests_per_second <= 50:  # NaN fails every comparison
        problems.append(
            "[discord] requests_per_second must be more than 0 and at most 50 (Discord's "
            f"global limit), got {config.discord.requests_per_second}"
        )
    if not 0 <= config.discord.dev_guild < 2**64:
        problems.append(
            "[discord] dev_guild must be a guild id (a snowflake, below 2**64), or 0 for "
            f"global commands, got {config.discord.dev_guild}"
        )
    problems += _bluesky_problems(config.bluesky, config.arxiv)
    if problems:
        raise ConfigError(f"{origin}: " + "; ".join(problems))


_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _source_url_problems(url: str) -> list[str]:
    """What is wrong with `[source] url`: an http(s) URL that `{date}` alone fills in."""
    problems = []
    if not url.startswith(("http://", "https://")):
        problems.append(f"[source] url must be an http(s) URL, got {url!r}")
    try:
        filled = url.format(date="2021-03-05")
    except (IndexError, KeyError, ValueError) as exc:
        return [
            *problems,
            f"[source] url may hold {{date}} and no other {{...}}: {url!r} ({exc}); "
            "write a literal brace as {{ or }}",
        ]
    if filled == url.format(date=""):
        problems.append("[source] url must contain {date}, e.g. https://host/{date}.md")
    return problems


def _bluesky_problems(bluesky: BlueskyConfig, arxiv: ArxivConfig) -> list[str]:
    problems = []
    if not bluesky.jetstream_url.startswith(("ws://", "wss://")):
        problems.append(
            f"[bluesky] jetstream_url must be a ws(s) URL, got {bluesky.jetstream_url!r}"
        )
    if not bluesky.appview_url.startswith(("http://", "https://")):
        problems.append(
            f"[bluesky] appview_url must be an http(s) URL, got {bluesky.appview_url!r}"
        )
    if not arxiv.api_url.startswith(("http://", "https://")):
        problems.append(f"[arxiv] api_url must be an http(s) URL, got {arxiv.api_url!r}")
    if not _HHMM.fullmatch(bluesky.day_ends):
        problems.append(
            f"[bluesky] day_ends must be a 24-hour time HH:MM like 00:00, got {bluesky.day_ends!r}"
        )
    try:
        zoneinfo.ZoneInfo(bluesky.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"[bluesky] timezone must be an IANA time zone like UTC or Europe/Paris, "
            f"got {bluesky.timezone!r}"
        )
    delay = bluesky.publish_delay_hours
    if not (math.isfinite(delay) and 0 <= delay <= 7 * 24):
        problems.append(f"[bluesky] publish_delay_hours must be 0 to 168 (a week), got {delay}")
    if bluesky.feed_threshold < 1:
        problems.append(
            f"[bluesky] feed_threshold must be at least 1, got {bluesky.feed_threshold}"
        )
    if not 1 <= bluesky.papers_per_day <= 200:
        problems.append(f"[bluesky] papers_per_day must be 1 to 200, got {bluesky.papers_per_day}")
    if bluesky.min_score < 0:
        problems.append(f"[bluesky] min_score must be at least 0, got {bluesky.min_score}")
    blank = [entry for entry in bluesky.ignore if not entry.strip()]
    if blank:
        problems.append("[bluesky] ignore must list DIDs or handles, not empty strings")
    return problems
