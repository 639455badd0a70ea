"""A shared harness for end-to-end tests: the project's real bot, started against FakeDiscord.

``running_bot(fake, tmp_path)`` builds the bot exactly as ``hotpapers run`` does
(``bot.client.runner.build_bot``), with the database in ``tmp_path`` and Discord pointed at the
fake, logs in, connects the gateway, waits for READY and yields the bot; on exit it closes the
bot, awaits the gateway task and closes the store and HTTP sessions, so nothing leaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yarl

from bot.client.bot import HotPapersBot
from bot.client.runner import build_bot
from bot.config import Config, load_config
from bot.ingest.files import IngestReport, ingest_files
from bot.store import Store
from tests.support.fake_discord import FakeDiscord, discord
from tests.support.posts import SAMPLE_POSTS

DATABASE_NAME = "hotpapers.sqlite3"
# Where discord.py points before `build_bot` reads the config: nothing listens there.
UNCONFIGURED_API = "http://127.0.0.1:9/unconfigured/api/v10"
UNCONFIGURED_GATEWAY = "ws://127.0.0.1:9/unconfigured-gateway"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def database_path(tmp_path: Path) -> Path:
    return tmp_path / DATABASE_NAME


def make_config(
    fake: FakeDiscord,
    tmp_path: Path,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Defaults, the database in ``tmp_path``, Discord at ``fake``; ``overrides`` maps a
    section name to field values, e.g. ``{"discord": {"dev_guild": 1000}}``."""
    config = load_config(None, {})
    config = dataclasses.replace(
        config,
        database=dataclasses.replace(config.database, path=str(database_path(tmp_path))),
        discord=dataclasses.replace(
            config.discord, api_base=fake.api_base, gateway_url=fake.gateway_url
        ),
    )
    for section, values in (overrides or {}).items():
        current = getattr(config, section)
        config = dataclasses.replace(config, **{section: dataclasses.replace(current, **values)})
    return config


async def ingest(path: Path, files: Sequence[Path]) -> IngestReport:
    """Store posts in the database at ``path`` as ``hotpapers ingest`` would; all must parse."""
    async with await Store.open(path) as store:
        report = await ingest_files(store.archive, list(files))
    assert not report.rejected, [str(r) for r in report.rejected]
    return report


@contextlib.asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    tmp_path: Path,
    *,
    samples: bool = True,
    posts: Sequence[Path] = (),
    config_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> AsyncIterator[HotPapersBot]:
    """The project's bot, logged in to ``fake`` and ready.

    ``samples`` ingests the bundled posts first and ``posts`` further post files (after the
    samples); ``options`` go to ``build_bot`` (e.g. ``force_sync=True``). The scheduler never
    runs (``run_jobs=False``). The database survives in ``tmp_path`` for a restart.
    """
    config = make_config(fake, tmp_path, config_overrides)
    files = [*(SAMPLE_POSTS if samples else ()), *posts]
    if files:
        await ingest(Path(config.database.path), files)
    options = {"run_jobs": False, "guild_ready_timeout": 0.1, **options}
    # Only the config's [discord] api_base and gateway_url may lead the bot to the fake.
    discord.http.Route.BASE = UNCONFIGURED_API
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(UNCONFIGURED_GATEWAY)
    async with build_bot(config, **options) as bot:
        task: asyncio.Task[None] | None = None
        try:
            await bot.login("test-token")
            task = asyncio.create_task(bot.connect(), name="hotpapers-gateway")
            await _wait_ready(bot, task)
            yield bot
        finally:
            await bot.close()
            if task is not None:
                await asyncio.wait_for(task, STOP_TIMEOUT)


async def _wait_ready(bot: HotPapersBot, task: asyncio.Task[None]) -> None:
    """Wait for READY, failing at once (with the cause) if the gateway task ends first."""
    ready = asyncio.ensure_future(bot.wait_until_ready())
    try:
        done, _ = await asyncio.wait(
            {ready, task}, timeout=START_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if not ready.done():
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
    if ready in done:
        return
    if task in done:
        task.result()  # raises what stopped the gateway
        raise AssertionError("the gateway task ended before READY")
    raise AssertionError(f"the bot was not ready after {START_TIMEOUT}s")


@contextlib.contextmanager
def past_discord_gates(fake: FakeDiscord) -> Iterator[None]:
    """Let the fake deliver interactions Discord's client would not send by default.

    Discord hides a command from members lacking its ``default_member_permissions`` and from
    contexts it is not enabled in, but a server's Integrations settings can override the
    former (and the bot must not rely on either): inside this block the fake skips that
    check (``enforce_command_gates``), so a test can reach the bot's own runtime checks.
    Everything else is unchanged.
    """
    before, fake.enforce_command_gates = fake.enforce_command_gates, False
    try:
        yield
    finally:
        fake.enforce_command_gates = before


def request_paths(fake: FakeDiscord, method: str, pattern: str) -> list[str]:
    return [r.path for r in fake.find_requests(method, pattern)]
