"""Configuration: a TOML file plus the environment → frozen dataclasses, read once in main()."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


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
    top: int = 10  # papers per digest unless a channel sets its own (1 to 25)
    catch_up_days: int = 3  # after downtime, at most this many missed days per channel
    deliver_seconds: int = 30  # how often due deliveries are looked for


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
        expected = type(default) if default is not None else str
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
    if config.source.url and "{date}" not in config.source.url:
        problems.append("[source] url must contain {date}, e.g. https://host/{date}.md")
    if config.source.poll_seconds < 1:
        problems.append("[source] poll_seconds must be at least 1")
    if config.source.max_post_bytes < 1:
        problems.append(
            f"[source] max_post_bytes must be at least 1, got {config.source.max_post_bytes}"
        )
    if not 1 <= config.digest.top <= 25:
        problems.append(f"[digest] top must be 1 to 25, got {config.digest.top}")
    if config.digest.catch_up_days < 1:
        problems.append("[digest] catch_up_days must be at least 1")
    if not 0 < config.discord.requests_per_second <= 50:
        problems.append(
            "[discord] requests_per_second must be more than 0 and at most 50 (Discord's "
            f"global limit), got {config.discord.requests_per_second}"
        )
    if config.discord.dev_guild < 0:
        problems.append("[discord] dev_guild must be a guild id, or 0 for global commands")
    if problems:
        raise ConfigError(f"{origin}: " + "; ".join(problems))
