"""Entry points that build the bot from its dependencies: config → store → renderer → bot."""

from __future__ import annotations

import logging

import discord

from bot.client.bot import HotPapersBot, configure_endpoints
from bot.client.errors import BotStartError
from bot.config import Config
from bot.render import Renderer
from bot.store import Store

log = logging.getLogger(__name__)


async def run_bot(config: Config, token: str) -> None:
    configure_endpoints(config.discord)
    renderer = Renderer(config.templates.directory or None)
    async with await Store.open(config.database.path) as store:
        bot = HotPapersBot(config=config, store=store, renderer=renderer)
        async with bot:
            try:
                await bot.start(token)
            except discord.LoginFailure:
                raise BotStartError("Discord refused the token in DISCORD_TOKEN") from None
            except discord.PrivilegedIntentsRequired as exc:
                raise BotStartError(f"Discord refused the intents: {exc}") from None


async def sync_commands(config: Config, token: str) -> int:
    """Log in, force a sync of the slash commands, log out."""
    configure_endpoints(config.discord)
    renderer = Renderer(config.templates.directory or None)
    async with await Store.open(config.database.path) as store:
        bot = HotPapersBot(config=config, store=store, renderer=renderer, force_sync=True)
        async with bot:
            try:
                await bot.login(token)
            except discord.LoginFailure:
                raise BotStartError("Discord refused the token in DISCORD_TOKEN") from None
        return len(bot.tree.get_commands())
