"""The local Discord's direct messages and members leaving, through the real discord.py client:
DM channels opened and written to, a member's closed DMs refused with 50007, a member who left
answered 404 with 10007 (and told only to sessions with the members intent)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.support.fake_discord import GUILD_ID, MEMBER_USER_ID, FakeDiscord, discord
from tests.support.waiting import eventually

NO_PINGS = {"parse": []}


class Client(discord.Client):
    def __init__(self, intents: discord.Intents) -> None:
        super().__init__(intents=intents, guild_ready_timeout=0.1)
        self.removed: list[tuple[int, int]] = []

    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        self.removed.append((payload.guild_id, payload.user.id))


@contextlib.asynccontextmanager
async def running(intents: discord.Intents) -> AsyncIterator[Client]:
    client = Client(intents)
    await client.login("fake-token")
    task = asyncio.create_task(client.connect())
    try:
        await asyncio.wait_for(client.wait_until_ready(), 5)
        yield client
    finally:
        await client.close()
        await asyncio.wait_for(task, 5)


def guilds_only() -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    return intents


async def send(client: Client, channel_id: int, content: str) -> dict[str, object]:
    route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    body = {"content": content, "allowed_mentions": NO_PINGS}
    message: dict[str, object] = await client.http.request(route, json=body)
    return message


async def test_a_dm_channel_is_opened_once_and_written_to(fake_discord: FakeDiscord) -> None:
    async with running(guilds_only()) as client:
        route = discord.http.Route("POST", "/users/@me/channels")
        opened = await client.http.request(route, json={"recipient_id": str(MEMBER_USER_ID)})
        again = await client.http.request(route, json={"recipient_id": str(MEMBER_USER_ID)})
        assert opened["id"] == again["id"]
        assert (opened["type"], opened["recipients"][0]["id"]) == (1, str(MEMBER_USER_ID))
        message = await send(client, int(opened["id"]), "hello")
    assert "guild_id" not in message
    assert [m["content"] for m in fake_discord.dm_messages(MEMBER_USER_ID)] == ["hello"]
    assert fake_discord.schema_problems == []


async def test_closed_dms_are_refused_with_50007(fake_discord: FakeDiscord) -> None:
    fake_discord.close_dms(MEMBER_USER_ID)
    async with running(guilds_only()) as client:
        route = discord.http.Route("POST", "/users/@me/channels")
        opened = await client.http.request(route, json={"recipient_id": str(MEMBER_USER_ID)})
        with pytest.raises(discord.Forbidden) as info:
            await send(client, int(opened["id"]), "hello")
        assert (info.value.status, info.value.code) == (403, 50007)
        assert info.value.text == "Cannot send messages to this user"

        fake_discord.close_dms(MEMBER_USER_ID, closed=False)
        await send(client, int(opened["id"]), "hello again")
    assert [m["content"] for m in fake_discord.dm_messages(MEMBER_USER_ID)] == ["hello again"]


async def test_a_member_who_left_is_unknown_and_only_the_members_intent_hears_it(
    fake_discord: FakeDiscord,
) -> None:
    members = guilds_only()
    members.members = True
    async with running(guilds_only()) as plain, running(members) as listening:
        member = await plain.http.get_member(GUILD_ID, MEMBER_USER_ID)
        assert member["user"]["id"] == str(MEMBER_USER_ID)
        await fake_discord.remove_member(GUILD_ID, MEMBER_USER_ID)
        with pytest.raises(discord.NotFound) as info:
            await plain.http.get_member(GUILD_ID, MEMBER_USER_ID)
        assert (info.value.code, info.value.text) == (10007, "Unknown Member")
        await eventually(lambda: listening.removed, "GUILD_MEMBER_REMOVE over the gateway")
        assert listening.removed == [(GUILD_ID, MEMBER_USER_ID)]
        assert plain.removed == []
