"""The bot talks to the Discord its config names, and nowhere else: REST calls, the first
gateway connection and every resume (which Discord would send to READY's address)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.fake_discord import FakeDiscord, discord
from tests.support.harness import UNCONFIGURED_API, running_bot


async def test_rest_and_gateway_follow_the_config(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    async with running_bot(fake_discord, tmp_path) as bot:
        # running_bot pointed discord.py elsewhere first: only the config led it here.
        assert discord.http.Route.BASE == fake_discord.api_base != UNCONFIGURED_API
        assert bot.is_ready()
        assert len(fake_discord.identifies) == 1
        assert fake_discord.find_requests("GET", "/users/@me")


async def test_resume_goes_to_the_configured_gateway(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    # A Discord-compatible server passing READY through would name Discord's own gateway.
    fake_discord.resume_gateway_url = "wss://gateway.discord.gg"
    async with running_bot(fake_discord, tmp_path) as bot:
        resumed = asyncio.Event()

        async def on_resumed() -> None:
            resumed.set()

        bot.add_listener(on_resumed)
        await fake_discord.close_gateway(4000)  # resumable: discord.py RESUMEs
        await asyncio.wait_for(resumed.wait(), 10)
        assert len(fake_discord.resumes) == 1
        assert len(fake_discord.identifies) == 1
        reply = await (await fake_discord.interact("paper", {"id": "2103.03206"})).wait_reply(10)
        assert reply["embeds"][0]["title"].startswith("Perceiver")
