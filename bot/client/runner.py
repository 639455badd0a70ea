"""Entry points that build the bot from its dependencies:
config → renderer → store → planner → deliverers (channels, direct messages) → sources
(Bluesky's too) → service → bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import discord

from bot.bluesky.collector import run_collector
from bot.bluesky.source import BlueskySource, day_builder
from bot.client.bot import HotPapersBot, configure_endpoints
from bot.client.errors import BotStartError
from bot.config import Config, ConfigError
from bot.delivery.deliverer import Deliverer
from bot.delivery.direct import DirectDeliverer
from bot.ingest.sources import DirectorySource, HttpSource, Source
from bot.planning import DeliveryPlanner
from bot.render import Renderer, TemplateOverrideError
from bot.service import DigestService
from bot.store import Store

log = logging.getLogger(__name__)

# On SIGTERM or SIGINT, how long the messages being posted may take to be answered and
# recorded before the bot closes anyway (under the 10 s a container manager usually allows).
STOP_GRACE = 8.0


def _sources(config: Config, store: Store, session: aiohttp.ClientSession) -> list[Source]:
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
    if not sources and not config.bluesky_enabled:
        log.warning(
            "no [source] directory or url configured and [bluesky] enabled is false: "
            "no new days will arrive"
        )
    return sources


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _bluesky(
    config: Config,
    store: Store,
    session: aiohttp.ClientSession,
    clock: Callable[[], dt.datetime],
    sleep: Callable[[float], Awaitable[None]],
) -> BlueskySource | None:
    """With `[bluesky]` on: the collector and the builder of each due day."""
    if not config.bluesky_enabled:
        return None
    log.info(
        "building each day from Bluesky: posts from %s, counts from %s, papers from %s",
        config.bluesky.jetstream_url,
        config.bluesky.appview_url,
        config.arxiv.api_url,
    )
    return BlueskySource(
        store,
        day_builder(config, store, session, clock=clock, sleep=sleep),
        catch_up_days=config.digest.catch_up_days,
        collector=functools.partial(run_collector, config, store, session=session),
        clock=clock,
    )


@contextlib.asynccontextmanager
async def build_bot(
    config: Config,
    *,
    clock: Callable[[], dt.datetime] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    **options: Any,
) -> AsyncIterator[HotPapersBot]:
    """Everything the bot needs, opened in order and closed in reverse. `clock` (an aware
    datetime) says when Bluesky's days are due and `sleep` waits out the AppView's and
    arXiv's retries; tests inject both."""
    configure_endpoints(config.discord)
    try:
        renderer = Renderer(config.templates.directory or None)
    except TemplateOverrideError as exc:
        raise ConfigError(str(exc)) from None  # reported as any bad configuration is
    async with await Store.open(config.database.path) as store, aiohttp.ClientSession() as session:
        planner = DeliveryPlanner(
            store,
            renderer,
            default_top=config.digest.top,
            catch_up_days=config.digest.catch_up_days,
        )
        deliverer = Deliverer(store)
        direct = DirectDeliverer(store)
        service = DigestService(
            store=store,
            planner=planner,
            deliverer=deliverer,
            sources=_sources(config, store, session),
            bluesky=_bluesky(config, store, session, clock or _utcnow, sleep),
            poll_seconds=config.source.poll_seconds,
            deliver_seconds=config.digest.deliver_seconds,
            direct=direct,
        )
        bot = HotPapersBot(
            config=config, store=store, renderer=renderer, service=service, **options
        )
        # The deliverer posts through the client's HTTP connection, which exists only now.
        deliverer.attach(bot.http, user_id=bot.own_id)
        direct.attach(bot.http, user_id=bot.own_id)
        async with bot:
            try:
                yield bot
            finally:
                await service.stop_collecting()  # before the store closes


async def run_bot(config: Config, token: str) -> None:
    """Run until Discord refuses the bot, or SIGTERM or SIGINT asks it to stop: then the
    messages being posted are answered and recorded, nothing new starts, and it closes."""
    stop = asyncio.Event()
    with stop_on_signals(stop):
        async with build_bot(config) as bot:
            running = asyncio.create_task(_start(bot, token), name="hotpapers-bot")
            stopping = asyncio.create_task(stop.wait(), name="hotpapers-stop")
            try:
                await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
            if running.done():
                running.result()  # Discord refused the bot: BotStartError
                return
            # The gateway connection (or a login still under way) posts no digest: it ends
            # at once, and so no job can start after the close below.
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await finish_posting(bot)
            await bot.close()
            log.info("stopped")


async def _start(bot: HotPapersBot, token: str) -> None:
    try:
        await bot.start(token)
    except discord.LoginFailure:
        raise BotStartError("Discord refused the token in DISCORD_TOKEN") from None
    except discord.PrivilegedIntentsRequired as exc:
        raise BotStartError(f"Discord refused the intents: {exc}") from None
    except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
        # Once connected, discord.py reconnects by itself: this is a failed login.
        api = bot.config.discord.api_base
        raise BotStartError(f"cannot log in to Discord at {api}: {exc}") from None


async def finish_posting(bot: HotPapersBot) -> None:
    """Before closing: start no new job, and let the messages being posted get Discord's
    answer and their ledger entry, so none is left posted but unrecorded."""
    try:
        await asyncio.wait_for(bot.service.stop(), STOP_GRACE)
    except TimeoutError:
        log.warning(
            "messages still being posted after %g s; stopping anyway (their nonces keep a "
            "restart from posting them twice)",
            STOP_GRACE,
        )


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Inside: SIGTERM and SIGINT set `stop` (a clean shutdown) instead of ending the
    process at once or raising KeyboardInterrupt. Where the loop cannot handle signals
    (not the main thread, Windows), they keep their usual effect."""
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for number in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(number, _stop_requested, number, stop)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        handled.append(number)
    try:
        yield
    finally:
        for number in handled:
            loop.remove_signal_handler(number)


def _stop_requested(number: signal.Signals, stop: asyncio.Event) -> None:
    if not stop.is_set():
        log.info("%s: stopping once the messages being posted are recorded", number.name)
    stop.set()


async def sync_commands(config: Config, token: str) -> int:
    """Log in, force a sync of the slash commands, log out."""
    async with build_bot(config, force_sync=True, run_jobs=False) as bot:
        try:
            await bot.login(token)
        except discord.LoginFailure:
            raise BotStartError("Discord refused the token in DISCORD_TOKEN") from None
        return len(bot.tree.get_commands())
