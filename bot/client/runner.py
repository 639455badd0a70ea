"""Entry points that build the bot from its dependencies:
config → store → renderer → planner → sources → bot."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import discord

from bot.client.bot import HotPapersBot, configure_endpoints
from bot.client.errors import BotStartError
from bot.config import Config
from bot.ingest.sources import DirectorySource, HttpSource, Source
from bot.planning import Planner
from bot.render import Renderer
from bot.store import Store

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def build_bot(config: Config, **options: Any) -> AsyncIterator[HotPapersBot]:
    """Everything the bot needs, opened in order and closed in reverse."""
    configure_endpoints(config.discord)
    renderer = Renderer(config.templates.directory or None)
    async with await Store.open(config.database.path) as store, aiohttp.ClientSession() as session:
        planner = Planner(
            store,
            renderer,
            default_top=config.digest.top,
            catch_up_days=config.digest.catch_up_days,
        )
        sources: list[Source] = []
        if config.source.directory:
            sources.append(
                DirectorySource(
                    store.archive,
                    Path(config.source.directory),
                    settle_seconds=config.source.settle_seconds,
                    max_post_bytes=config.source.max_post_bytes,
                )
            )
        if config.source.url:
            sources.append(
                HttpSource(
                    store.archive,
                    store.state,
                    config.source.url,
                    session=session,
                    lookback_days=config.source.lookback_days,
                    timeout_seconds=config.source.timeout_seconds,
                    max_bytes=config.source.max_post_bytes,
                )
            )
        if not sources:
            log.warning("no [source] directory or url configured: no new posts will arrive")
        bot = HotPapersBot(
            config=config,
            store=store,
            renderer=renderer,
            planner=planner,
            sources=sources,
            **options,
        )
        async with bot:
            yield bot


async def run_bot(config: Config, token: str) -> None:
    async with build_bot(config) as bot:
        try:
            await bot.start(token)
        except discord.LoginFailure:
            raise BotStartError("Discord refused the token in DISCORD_TOKEN") from None
        except discord.PrivilegedIntentsRequired as exc:
            raise BotStartError(f"Discord refused the intents: {exc}") from None


async def sync_commands(config: Config, token: str) -> int:
    """Log in, force a sync of the slash commands, log out."""
    async with build_bot(config, force_sync=True, run_jobs=False) as bot:
        try:
            await bot.login(token)
        except discord.LoginFailure:
            raise BotStartError("Discord refused the token in DISCORD_TOKEN") from None
        return len(bot.tree.get_commands())
