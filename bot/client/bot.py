"""The discord.py client: dependencies come in through the constructor, cogs load in setup_hook."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import discord
import yarl
from discord.ext import commands

from bot.client.cogs.digests import DigestsCog
from bot.client.cogs.papers import PapersCog
from bot.client.cogs.settings import SettingsCog
from bot.client.cogs.subscriptions import SubscriptionsCog
from bot.client.pacing import Pacer
from bot.client.tree import HotPapersTree
from bot.config import DISCORD_GATEWAY, Config, DiscordConfig
from bot.delivery.deliverer import Deliverer, DeliveryReport
from bot.ingest.sources import Source, poll_source
from bot.planning import DeliveryPlanner
from bot.render import Renderer
from bot.scheduler import POLL_JOB, Job, Jobs
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
        planner: DeliveryPlanner,
        sources: Sequence[Source] = (),
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
        self.planner = planner
        self.sources = tuple(sources)
        self.run_jobs = run_jobs
        self.force_sync = force_sync
        self.synced: bool | None = None
        self._plan_owed = False  # stored days not planned yet (the archive was unavailable)
        self._stored_dates: set[dt.date] = set()  # days stored since the last plan
        self._planning = asyncio.Lock()  # the sources' jobs plan one at a time
        self.deliverer = Deliverer(
            self.http, store, user_id=lambda: self.user.id if self.user else None
        )
        self.jobs = Jobs(
            polls=self.poll_jobs(),
            deliver=self.deliver_due,
            poll_seconds=config.source.poll_seconds,
            deliver_seconds=config.digest.deliver_seconds,
        )
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

    def cog_factories(self) -> tuple[tuple[str, Callable[[], commands.Cog]], ...]:
        store, renderer, top = self.store, self.renderer, self.config.digest.top
        return (
            ("papers", lambda: PapersCog(store.archive, renderer)),
            (
                "subscriptions",
                lambda: SubscriptionsCog(
                    store.subscriptions, renderer, top, self.channel_changed, self.next_due
                ),
            ),
            (
                "settings",
                lambda: SettingsCog(
                    store.subscriptions, renderer, top, self.channel_changed, self.next_due
                ),
            ),
            (
                "digests",
                lambda: DigestsCog(store.archive, store.subscriptions, self.planner, renderer),
            ),
        )

    async def setup_hook(self) -> None:
        for name, factory in self.cog_factories():
            try:
                await self.add_cog(factory())
            except Exception:
                log.exception("could not load the %s commands", name)
        await self.sync_commands()
        if self.run_jobs:
            # Days ingested while the bot was down are planned by the first poll, which runs
            # at once but alongside the gateway: planning 100,000 channels takes seconds, and
            # commands are answered meanwhile.
            self._plan_owed = True
            self.jobs.start()

    async def close(self) -> None:
        self.jobs.shutdown()
        await super().close()

    def poll_jobs(self) -> list[tuple[str, Job]]:
        """A job per source, so a slow or hanging source never holds up another; without
        sources, one job that still makes the plan owed from the start."""
        if not self.sources:
            return [(POLL_JOB, self.poll_sources)]
        return [
            (f"poll {source!r}", functools.partial(self.poll_source, source))
            for source in self.sources
        ]

    async def poll_sources(self) -> None:
        """Poll every source at once, each planned as soon as it has stored its posts; with
        no sources, make the plan owed."""
        if self.sources:
            await asyncio.gather(*(self.poll_source(source) for source in self.sources))
        elif self._plan_owed:
            await self.plan_owed()

    async def poll_source(self, source: Source) -> None:
        report = await poll_source(source)
        for rejection in report.rejected:
            log.warning("post rejected: %s", rejection)
        if report.stored_days:
            log.info("new posts from %r: %s", source, report.summary())
            self._stored_dates.update(day.date for day in report.stored_days)
            self._plan_owed = True
        if self._plan_owed:
            await self.plan_owed()

    async def plan_owed(self) -> None:
        """Plan the stored days; if the archive is unavailable, the plan stays owed and the
        next poll tries again, so no stored day's digest is silently dropped.

        One plan at a time: a source that stores a day while another source's plan is under
        way plans again after it, as the first may have started too early to see that day.
        """
        async with self._planning:
            if not self._plan_owed:
                return  # planned by another source's job while this one waited
            self._plan_owed = False
            try:
                # A changed post (e.g. one first read half-written) replans the deliveries of
                # its day not begun yet, so they carry the post as it is now.
                for date in sorted(self._stored_dates):
                    await self.store.deliveries.forget_unsent(date=date)
                    self._stored_dates.discard(date)
                planned = await self.planner.plan()
            except StoreError as exc:
                self._plan_owed = True
                log.error("cannot plan digests: %s; will retry at the next poll", exc)
                return
        if planned:
            self.jobs.wake_delivery()

    async def deliver_due(self) -> DeliveryReport:
        return await self.deliverer.deliver_due()

    async def channel_changed(self, channel_id: int) -> None:
        """Subscriptions or settings changed: re-plan what is not sent yet, deliver if due."""
        if await self.planner.replan([channel_id]):
            self.jobs.wake_delivery()

    async def next_due(self, channel_id: int) -> str | None:
        due = await self.store.deliveries.next_due(channel_id)
        if due is None:
            return None
        return f"<t:{int(due.timestamp())}:f> (<t:{int(due.timestamp())}:R>)"

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        if await self.store.subscriptions.remove_channels([channel.id]):
            log.info("channel %s was deleted; removed its subscriptions", channel.id)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        removed = await self.store.subscriptions.remove_guild(guild.id)
        log.info("removed from guild %s; dropped %d subscribed channels", guild.id, removed)

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
