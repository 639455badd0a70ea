"""The discord.py client: gateway events, cog loading and command sync. Everything it needs,
the application service included, comes in through the constructor."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands

from bot.client.cogs.digests import DigestsCog
from bot.client.cogs.find import FindCog
from bot.client.cogs.follows import FollowsCog
from bot.client.cogs.papers import PapersCog
from bot.client.cogs.settings import SettingsCog
from bot.client.cogs.subscriptions import SubscriptionsCog
from bot.client.pacing import Pacer
from bot.client.results import OpenPaper, ResultLists, TurnPage
from bot.client.tree import HotPapersTree
from bot.config import DISCORD_GATEWAY, Config, DiscordConfig
from bot.render import Renderer
from bot.service import DigestService
from bot.store import Store, StoreError

log = logging.getLogger(__name__)


def configure_endpoints(settings: DiscordConfig) -> None:
    """Send every REST call and the gateway to the configured Discord (or a local stand-in)."""
    discord.http.Route.BASE = settings.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)


class HotPapersBot(commands.AutoShardedBot):
    """Needs only the `guilds` intent; sharded so it grows past 2,500 guilds unchanged."""

    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        renderer: Renderer,
        service: DigestService,
        run_jobs: bool = True,
        force_sync: bool = False,
        **options: Any,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        options.setdefault("guild_ready_timeout", 2.0)
        options.setdefault("http_trace", Pacer(config.discord.requests_per_second).trace_config())
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=HotPapersTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            chunk_guilds_at_startup=False,
            **options,
        )
        self.config = config
        self.store = store
        self.renderer = renderer
        self.service = service
        self.run_jobs = run_jobs
        self.force_sync = force_sync
        self.synced: bool | None = None
        # /search, /top and /author lists being paged; their buttons find them here.
        self.result_lists = ResultLists(store.archive, store.finder, renderer)
        self._use_configured_gateway()

    def _use_configured_gateway(self) -> None:
        """Discord names its gateway in GET /gateway/bot and a resume address in READY; a
        configured gateway replaces both, so every connection goes where the config says."""
        configured = self.config.discord.gateway_url
        if configured == DISCORD_GATEWAY:
            return
        target = yarl.URL(configured)
        connect = self.http.ws_connect

        async def ws_connect(url: str, *, compress: int = 0) -> aiohttp.ClientWebSocketResponse:
            return await connect(str(target.with_query(yarl.URL(url).query)), compress=compress)

        self.http.ws_connect = ws_connect  # type: ignore[method-assign]

    def own_id(self) -> int | None:
        """The bot's user id, once logged in."""
        return self.user.id if self.user else None

    def cog_factories(self) -> tuple[tuple[str, Callable[[], commands.Cog]], ...]:
        store, renderer, top = self.store, self.renderer, self.config.digest.top
        service = self.service
        return (
            ("papers", lambda: PapersCog(store.archive, store.finder, renderer)),
            (
                "subscriptions",
                lambda: SubscriptionsCog(
                    store.subscriptions, renderer, top, service.channel_changed, service.next_due
                ),
            ),
            (
                "settings",
                lambda: SettingsCog(
                    store.subscriptions, renderer, top, service.channel_changed, service.next_due
                ),
            ),
            (
                "digests",
                lambda: DigestsCog(store.archive, store.subscriptions, service.planner, renderer),
            ),
            (
                "follows",
                lambda: FollowsCog(
                    store.follows, renderer, service.channel_changed, service.member_changed
                ),
            ),
            (
                "find",
                lambda: FindCog(store.archive, store.finder, renderer, self.result_lists),
            ),
        )

    async def setup_hook(self) -> None:
        self.add_dynamic_items(TurnPage, OpenPaper)
        for name, factory in self.cog_factories():
            try:
                await self.add_cog(factory())
            except Exception:
                log.exception("could not load the %s commands", name)
        await self.sync_commands()
        if self.run_jobs:
            self.service.start()

    async def close(self) -> None:
        self.service.close()
        self.result_lists.close()
        await super().close()

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        if await self.store.subscriptions.remove_channels([channel.id]):
            log.info("channel %s was deleted; removed its subscriptions", channel.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        removed = await self.store.subscriptions.remove_guild(guild.id)
        log.info("removed from guild %s; dropped %d subscribed channels", guild.id, removed)
        # Members who followed papers only there share no server the bot knows of any more
        # (those who followed elsewhere too are checked before their next direct message).
        forgotten = await self.store.follows.forget_guild(guild.id)
        if forgotten:
            log.info(
                "removed from guild %s; deleted the personal follows of %d members who made "
                "them only there",
                guild.id,
                len(forgotten),
            )

    @property
    def hot_tree(self) -> HotPapersTree:
        assert isinstance(self.tree, HotPapersTree)
        return self.tree

    async def sync_commands(self) -> bool:
        """Sync the slash commands when their definition changed since the last sync."""
        dev_guild = self.config.discord.dev_guild
        guild = discord.Object(id=dev_guild) if dev_guild else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        scope = f"guild:{dev_guild}" if dev_guild else "global"
        digest = self.hot_tree.definition_hash(guild)
        key = f"commands_hash:{self.application_id}:{scope}"
        if not self.force_sync and await self.store.state.get(key) == digest:
            log.info("slash commands unchanged (%s); not syncing", scope)
            self.synced = False
            return False
        synced = await self.tree.sync(guild=guild)
        try:
            await self.store.state.set(key, digest)
        except StoreError as exc:
            # The commands are registered; only the note is lost: the next start syncs again.
            log.warning("could not record the synced commands (%s); will sync again", exc)
        log.info("synced %d slash commands (%s)", len(synced), scope)
        self.synced = True
        return True

    async def on_ready(self) -> None:
        user = self.user
        log.info(
            "connected as %s (id %s) to %d guilds", user, user.id if user else "?", len(self.guilds)
        )
