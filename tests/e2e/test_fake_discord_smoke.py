"""Smoke tests: the real discord.py client works against FakeDiscord, and schema.py checks.

The client here is a minimal stand-in (the project's bot is tested elsewhere): a
``discord.Client`` with an ``app_commands.CommandTree`` and intents ``none() + guilds``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.support import schema
from tests.support.fake_discord import (
    ADMIN_USER_ID,
    GENERAL_CHANNEL_ID,
    GUILD_ID,
    MEMBER_USER_ID,
    PAPERS_CHANNEL_ID,
    THREAD_ID,
    Answer,
    FakeDiscord,
    Handle,
    RecordedRequest,
    discord,
    point_discord_at,
)

app_commands = discord.app_commands
NO_PINGS = discord.AllowedMentions.none()
TOPICS = [f"topic-{i:02d}" for i in range(40)]


class SmokeClient(discord.Client):
    def __init__(self) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, guild_ready_timeout=0.1, allowed_mentions=NO_PINGS)
        self.tree = app_commands.CommandTree(self)
        self.events: list[str] = []
        self.callback_responses: list[discord.InteractionCallbackResponse[SmokeClient]] = []
        _add_commands(self)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        self.events.append(f"channel_delete:{channel.id}")

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        self.events.append(f"guild_remove:{guild.id}")

    async def on_resumed(self) -> None:
        self.events.append("resumed")


Interaction = discord.Interaction[SmokeClient]


def _add_commands(client: SmokeClient) -> None:
    tree = client.tree

    @tree.command(name="hello", description="Say hello")
    async def hello(interaction: Interaction) -> None:
        where = "DM" if interaction.guild is None else interaction.guild.name
        response = await interaction.response.send_message(
            f"Hello {interaction.user.name} from {where}!",
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
        client.callback_responses.append(response)

    @tree.command(name="slow", description="Defer, then answer with a follow-up")
    async def slow(interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("Done thinking.", ephemeral=True)

    @tree.command(name="edit", description="Defer, then edit the original response")
    async def edit(interaction: Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="Edited original.")

    @tree.command(name="topic", description="Pick a topic")
    @app_commands.describe(query="Topic to follow")
    async def topic(interaction: Interaction, query: str) -> None:
        await interaction.response.send_message(f"Following {query}.", ephemeral=True)

    @topic.autocomplete("query")
    async def topic_complete(
        interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        matches = [t for t in TOPICS if t.startswith(current)]
        return [app_commands.Choice(name=t, value=t) for t in matches[:25]]

    digest = app_commands.Group(name="digest", description="Daily digest settings")
    admin = app_commands.Group(name="admin", description="Admin tools", parent=digest)

    @digest.command(name="subscribe", description="Post the digest in a channel")
    @app_commands.describe(channel="Where to post", hour="UTC hour")
    @app_commands.checks.has_permissions(manage_channels=True)
    async def subscribe(
        interaction: Interaction, channel: discord.TextChannel, hour: int = 8
    ) -> None:
        await interaction.response.send_message(
            f"Subscribed {channel.mention} at {hour:02d}:00.", ephemeral=True
        )

    @admin.command(name="reset", description="Forget all subscriptions")
    async def reset(interaction: Interaction) -> None:
        await interaction.response.send_message("Reset.", ephemeral=True)

    tree.add_command(digest)

    @tree.command(name="local", description="Guild-only command", guild=discord.Object(GUILD_ID))
    @app_commands.default_permissions(manage_guild=True)
    async def local(interaction: Interaction) -> None:
        await interaction.response.send_message("Local command.", ephemeral=True)

    @tree.error
    async def on_error(interaction: Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            await interaction.response.send_message(
                "You need the Manage Channels permission.", ephemeral=True
            )
        else:  # pragma: no cover - would show up as a test failure
            raise error


@contextlib.asynccontextmanager
async def running_client(fake: FakeDiscord, *, sync: bool = True) -> AsyncIterator[SmokeClient]:
    client = SmokeClient()
    task: asyncio.Task[None] | None = None
    try:
        await client.login("fake-token")
        task = asyncio.create_task(client.connect())
        await asyncio.wait_for(client.wait_until_ready(), 5)
        if sync:
            await client.tree.sync()
            await client.tree.sync(guild=discord.Object(GUILD_ID))
        yield client
    finally:
        await client.close()
        if task is not None:
            await asyncio.wait_for(task, 5)


# ---------------------------------------------------------------------------------------------
# end to end
# ---------------------------------------------------------------------------------------------


async def test_login_ready_and_guild_create(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord, sync=False) as client:
        assert client.user is not None
        assert client.user.id == fake_discord.bot_user.id
        assert client.application_id == fake_discord.application_id
        guild = client.get_guild(GUILD_ID)
        assert guild is not None
        assert guild.name == "Reading Group"
        papers = guild.get_channel(PAPERS_CHANNEL_ID)
        assert isinstance(papers, discord.TextChannel)
        assert papers.name == "papers"
        assert isinstance(guild.get_channel(GENERAL_CHANNEL_ID), discord.TextChannel)
        thread = guild.get_thread(THREAD_ID)
        assert thread is not None
        assert thread.parent_id == PAPERS_CHANNEL_ID
        assert guild.me is not None
        assert guild.me.id == fake_discord.bot_user.id
        assert papers.permissions_for(guild.me).send_messages
        assert guild.member_count == 3
        # and over REST
        fetched = await client.fetch_channel(GENERAL_CHANNEL_ID)
        assert fetched.id == GENERAL_CHANNEL_ID

    assert fake_discord.intents == discord.Intents(guilds=True).value
    assert fake_discord.heartbeats >= 1  # discord.py beats right after HELLO
    paths = [(r.method, r.path) for r in fake_discord.requests]
    assert ("GET", "/users/@me") in paths
    assert ("GET", "/oauth2/applications/@me") in paths


async def test_sync_and_ephemeral_slash_command(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord) as client:
        names = {c["name"] for c in fake_discord.commands[None]}
        assert names == {"hello", "slow", "edit", "topic", "digest"}
        assert [c["name"] for c in fake_discord.commands[GUILD_ID]] == ["local"]
        synced = await client.tree.fetch_commands()
        assert {c.name for c in synced} == names

        handle = await fake_discord.interact("hello", user_id=MEMBER_USER_ID)
        reply = await handle.wait_reply()
        assert reply["content"] == "Hello bob from Reading Group!"
        assert reply["flags"] & 64
        assert handle.callback is not None
        assert handle.callback["type"] == 4
        assert handle.callback["data"]["flags"] == 64
        assert handle.callback["data"]["allowed_mentions"] == {"parse": []}
        assert client.callback_responses[-1].message_id == int(reply["id"])
        callback_request = fake_discord.find_requests("POST", "/interactions/{id}/{token}/callback")
        assert callback_request[-1].query == {"with_response": "1"}

        local = await fake_discord.interact("local", user_id=ADMIN_USER_ID)
        assert (await local.wait_reply())["content"] == "Local command."
        assert local.payload["data"]["guild_id"] == str(GUILD_ID)
        synced_local = fake_discord.command("local", GUILD_ID)
        assert synced_local is not None
        assert synced_local["default_member_permissions"] == "32"
        with pytest.raises(PermissionError):  # Discord hides it from members without Manage Guild
            await fake_discord.interact("local", user_id=MEMBER_USER_ID)


async def test_deferred_then_followup_and_edit(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord):
        slow = await fake_discord.interact("slow")
        followup = await slow.wait_reply()
        assert followup["content"] == "Done thinking."
        assert followup["flags"] & 64
        assert slow.callback == {"type": 5, "data": {"flags": 64}}
        assert slow.original is not None
        assert slow.original["flags"] & 128  # still "thinking": only a follow-up was sent

        edit = await fake_discord.interact("edit")
        edited = await edit.wait_reply()
        assert edited["content"] == "Edited original."
        assert not edited["flags"] & 128
        assert len(edit.original_edits) == 1
        assert edit.original_edits[0]["content"] == "Edited original."
        assert edit.original_edits[0]["allowed_mentions"] == {"parse": []}


async def test_subcommands_options_and_permission_check(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord):
        ok = await fake_discord.interact(
            "digest subscribe",
            {"channel": PAPERS_CHANNEL_ID, "hour": 7},
            user_id=ADMIN_USER_ID,
        )
        assert (await ok.wait_reply())["content"] == f"Subscribed <#{PAPERS_CHANNEL_ID}> at 07:00."
        option = ok.payload["data"]["options"][0]
        assert option["type"] == 1
        assert option["name"] == "subscribe"

        denied = await fake_discord.interact(
            "digest subscribe", {"channel": PAPERS_CHANNEL_ID}, user_id=MEMBER_USER_ID
        )
        reply = await denied.wait_reply()
        assert reply["content"] == "You need the Manage Channels permission."

        reset = await fake_discord.interact("digest admin reset")
        assert (await reset.wait_reply())["content"] == "Reset."
        group = reset.payload["data"]["options"][0]
        assert (group["type"], group["options"][0]["name"]) == (2, "reset")

        with pytest.raises(LookupError):
            await fake_discord.interact("nope")
        with pytest.raises(ValueError, match="requires the options"):
            await fake_discord.interact("digest subscribe", {"hour": 3})


async def test_autocomplete_choices(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord):
        handle = await fake_discord.autocomplete("topic", {"query": "topic-"}, focused="query")
        choices = await handle.wait_choices()
        assert len(choices) == 25
        assert choices[0] == {"name": "topic-00", "value": "topic-00"}
        narrow = await fake_discord.autocomplete("topic", {"query": "topic-3"}, focused="query")
        assert [c["value"] for c in await narrow.wait_choices()] == [
            f"topic-3{i}" for i in range(10)
        ]


async def test_channel_send_nonce_deduplicates(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord, sync=False) as client:
        channel = client.get_channel(PAPERS_CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        first = await channel.send("Today's hot papers", nonce="digest-2021-03-05")
        second = await channel.send("Today's hot papers", nonce="digest-2021-03-05")
        assert first.id == second.id
        stored = fake_discord.channel_messages(PAPERS_CHANNEL_ID)
        assert [m["content"] for m in stored] == ["Today's hot papers"]
        assert fake_discord.nonce_hits == 1
        body = fake_discord.find_requests("POST", "/channels/{id}/messages")[0].json
        assert body["enforce_nonce"] is True
        assert body["allowed_mentions"] == {"parse": []}

        # Discord stores the message but the answer is lost (500): discord.py retries with the
        # same nonce, and the nonce makes the retry return the stored message.
        fake_discord.fail_next("POST", f"/channels/{PAPERS_CHANNEL_ID}/messages", 500, commit=True)
        retried = await channel.send("Tomorrow's hot papers", nonce="digest-2021-03-06")
        stored = await fake_discord.wait_for_messages(PAPERS_CHANNEL_ID, 2)
        assert [m["id"] for m in stored] == [str(first.id), str(retried.id)]
        assert fake_discord.nonce_hits == 2


async def test_server_error_then_success_is_retried(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord, sync=False) as client:
        channel = client.get_channel(GENERAL_CHANNEL_ID)
        assert isinstance(channel, discord.TextChannel)
        fake_discord.fail_next("POST", f"/channels/{GENERAL_CHANNEL_ID}/messages", 500)
        fake_discord.fail_next("POST", "/channels/{channel_id}/messages", 429, retry_after=0.01)
        message = await channel.send("after a 500 and a 429")
        attempts = fake_discord.find_requests("POST", f"/channels/{GENERAL_CHANNEL_ID}/messages")
        assert [r.status for r in attempts] == [500, 429, 200]
        assert [m["id"] for m in fake_discord.channel_messages(GENERAL_CHANNEL_ID)] == [
            str(message.id)
        ]

        fake_discord.fail_next("POST", "/channels/*", 403)
        with pytest.raises(discord.Forbidden):
            await channel.send("forbidden")


async def test_interceptors_answer_instead_or_act_before_the_answer(
    fake_discord: FakeDiscord,
) -> None:
    seen: list[tuple[str | None, int, int]] = []

    async def refuse_general(request: RecordedRequest, handle: Handle) -> Answer:
        if request.path == f"/channels/{GENERAL_CHANNEL_ID}/messages":
            return Answer(403, {"message": "Missing Permissions", "code": 50013})
        return await handle()

    async def after_storing(request: RecordedRequest, handle: Handle) -> Answer:
        answer = await handle()
        stored = len(fake_discord.channel_messages(PAPERS_CHANNEL_ID))
        seen.append((request.route, request.status, stored))
        return answer

    async with running_client(fake_discord, sync=False) as client:
        papers = client.get_channel(PAPERS_CHANNEL_ID)
        general = client.get_channel(GENERAL_CHANNEL_ID)
        assert isinstance(papers, discord.TextChannel)
        assert isinstance(general, discord.TextChannel)
        fake_discord.interceptors += [refuse_general, after_storing]
        sent = await papers.send("stored, then answered")
        with pytest.raises(discord.Forbidden):
            await general.send("refused")

    # The message was stored when the second interceptor ran, and not yet answered (status 0).
    assert seen == [("POST /channels/{channel_id}/messages", 0, 1)]
    assert [m["id"] for m in fake_discord.channel_messages(PAPERS_CHANNEL_ID)] == [str(sent.id)]
    assert fake_discord.channel_messages(GENERAL_CHANNEL_ID) == []
    refused = fake_discord.find_requests("POST", f"/channels/{GENERAL_CHANNEL_ID}/messages")
    assert [r.status for r in refused] == [403]


async def test_dm_interaction(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord):
        handle = await fake_discord.interact("hello", dm=True, user_id=MEMBER_USER_ID)
        reply = await handle.wait_reply()
        assert reply["content"] == "Hello bob from DM!"
        assert "guild_id" not in handle.payload
        assert handle.payload["context"] == 1
        assert handle.payload["channel"]["type"] == 1


async def test_gateway_events_and_resume(fake_discord: FakeDiscord) -> None:
    async with running_client(fake_discord) as client:
        resumed = await _waiter(client, "resumed")
        await fake_discord.delete_channel(GENERAL_CHANNEL_ID)
        await fake_discord.close_gateway(4000)  # resumable: discord.py RESUMEs
        await resumed
        assert "channel_delete:1002" in client.events  # delivered before the close
        assert client.get_channel(GENERAL_CHANNEL_ID) is None
        with pytest.raises(discord.NotFound):
            await client.http.send_message(GENERAL_CHANNEL_ID, params=_params("gone"))
        assert len(fake_discord.resumes) == 1
        assert len(fake_discord.identifies) == 1

        handle = await fake_discord.interact("hello")  # still works on the resumed session
        assert (await handle.wait_reply())["content"].startswith("Hello alice")

        removed = await _waiter(client, "guild_remove")
        await fake_discord.remove_guild(GUILD_ID)
        await removed
        assert client.get_guild(GUILD_ID) is None


def _params(content: str) -> discord.http.MultipartParameters:
    return discord.http.handle_message_parameters(content=content, allowed_mentions=NO_PINGS)


async def _waiter(client: SmokeClient, event: str) -> asyncio.Task[object]:
    """Start waiting for a discord.py event now (before triggering it)."""
    task: asyncio.Task[object] = asyncio.create_task(client.wait_for(event, timeout=5))
    await asyncio.sleep(0)  # let wait_for register its listener
    return task


async def test_invalid_body_is_rejected_and_collected() -> None:
    async with FakeDiscord() as fake:
        undo = point_discord_at(fake)
        try:
            async with running_client(fake, sync=False) as client:
                channel = client.get_channel(PAPERS_CHANNEL_ID)
                assert isinstance(channel, discord.TextChannel)
                with pytest.raises(discord.HTTPException) as info:
                    await channel.send("x" * 2001)
                assert info.value.status == 400
                assert info.value.code == 50035
        finally:
            undo()
    assert any("2001 characters" in p for p in fake.schema_problems)
    assert fake.channel_messages(PAPERS_CHANNEL_ID) == []


# ---------------------------------------------------------------------------------------------
# schema.py
# ---------------------------------------------------------------------------------------------

needs_spec = pytest.mark.skipif(not schema.SPEC_AVAILABLE, reason="Discord OpenAPI spec absent")

GOOD_MESSAGE = {
    "content": "Hot papers for 2021-03-05",
    "embeds": [
        {
            "type": "rich",
            "title": "A paper",
            "url": "https://arxiv.org/abs/2103.00001",
            "description": "An abstract.",
            "fields": [{"name": "Score", "value": "42", "inline": True}],
            "footer": {"text": "arXiv"},
            "author": {"name": "Someone"},
        }
    ],
    "allowed_mentions": {"parse": []},
    "tts": False,
}


def test_valid_message_passes() -> None:
    assert schema.validate_request("POST", "/channels/1001/messages", GOOD_MESSAGE) == []


def test_content_over_2000_fails_without_spec() -> None:
    body = {**GOOD_MESSAGE, "content": "x" * 2001}
    problems = schema.check_request("POST", "/channels/1001/messages", body).limits
    assert problems == ["body.content: 2001 characters (max 2000)"]


def test_embed_total_over_6000_fails_without_spec() -> None:
    embeds = [{"title": "t" * 200, "description": "d" * 3800}, {"description": "e" * 2001}]
    assert sum(len(v) for e in embeds for v in e.values()) == 6001
    body = {**GOOD_MESSAGE, "embeds": embeds}
    problems = schema.check_request("POST", "/channels/1001/messages", body).limits
    assert problems == ["body.embeds: 6001 characters across all embeds of the message (max 6000)"]


def test_embed_field_limits_without_spec() -> None:
    embed = {
        "title": "t" * 257,
        "fields": [{"name": "n", "value": "v" * 1025}] * 26,
        "footer": {"text": "f" * 2049},
        "author": {"name": "a" * 257},
    }
    problems = schema.check_request(
        "POST", "/webhooks/1/tok", {**GOOD_MESSAGE, "embeds": [embed] * 11}
    ).limits
    text = "\n".join(problems)
    for fragment in ("11 embeds", "title: 257", "26 fields", "value: 1025", "text: 2049"):
        assert fragment in text
    assert "author.name: 257" in text


def test_bad_command_names_fail_without_spec() -> None:
    commands = [
        {"name": "Digest", "description": "Upper case", "type": 1},
        {"name": "two words", "description": "Space", "type": 1},
        {
            "name": "ok",
            "description": "Bad option",
            "type": 1,
            "options": [{"name": "Opt", "description": "d", "type": 3}],
        },
        {"name": "Context Menu Name", "type": 3},  # message commands may use spaces / caps
        {"name": "überblick-2", "description": "Unicode letters and digits are fine", "type": 1},
    ]
    problems = schema.check_request("PUT", "/applications/1/commands", commands).limits
    assert len(problems) == 3
    assert problems[0].startswith("commands[0].name 'Digest'")
    assert problems[1].startswith("commands[1].name 'two words'")
    assert problems[2].startswith("commands[2].options[0].name 'Opt'")
    guild_path = "/applications/1/guilds/1000/commands"
    assert schema.check_request("PUT", guild_path, commands[:1]).limits


def test_missing_allowed_mentions_fails_without_spec() -> None:
    body = {k: v for k, v in GOOD_MESSAGE.items() if k != "allowed_mentions"}
    assert schema.check_request("POST", "/channels/1001/messages", body).policy
    pinging = {**GOOD_MESSAGE, "allowed_mentions": {"parse": ["users"]}}
    assert schema.check_request("POST", "/channels/1001/messages", pinging).policy
    callback = {"type": 4, "data": {"content": "hi"}}
    assert schema.check_request("POST", "/interactions/1/tok/callback", callback).policy
    assert schema.check_request("POST", "/webhooks/1/tok", {"content": "hi"}).policy


def test_autocomplete_limits_without_spec() -> None:
    choices = [{"name": f"c{i}", "value": f"c{i}"} for i in range(26)] + [
        {"name": "n" * 101, "value": "v"}
    ]
    body = {"type": 8, "data": {"choices": choices}}
    problems = schema.check_request("POST", "/interactions/1/tok/callback", body).limits
    assert any("27 choices" in p for p in problems)
    assert any("101 characters" in p for p in problems)


@needs_spec
def test_spec_catches_schema_errors() -> None:
    body = {**GOOD_MESSAGE, "embeds": [{"color": "red"}], "nonce": "n" * 26}
    problems = schema.check_request("POST", "/channels/1001/messages", body).schema
    assert any("embeds/0/color" in p for p in problems)
    assert any("nonce" in p for p in problems)
    callback = {"type": 4, "data": {"content": "x" * 2001, "allowed_mentions": {"parse": []}}}
    assert schema.check_request("POST", "/interactions/1/tok/callback", callback).schema
    assert schema.check_request("PUT", "/applications/1/commands", [{"name": 5}]).schema


@needs_spec
def test_spec_accepts_what_discord_py_sends() -> None:
    defer = {"type": 5, "data": {"flags": 64}}
    assert schema.validate_request("POST", "/interactions/1/tok/callback", defer) == []
    autocomplete = {"type": 8, "data": {"choices": [{"name": "a", "value": "a"}]}}
    assert schema.validate_request("POST", "/interactions/1/tok/callback", autocomplete) == []
    # snowflakes as integers are accepted by Discord although the spec types them as strings
    mentions = {**GOOD_MESSAGE, "message_reference": {"message_id": 123}}
    assert schema.validate_request("POST", "/channels/1001/messages", mentions) == []
