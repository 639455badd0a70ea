"""The local Discord's message components, driven by the real discord.py client: buttons and
select menus used as a member uses them (INTERACTION_CREATE type 3), answered by updating
their message at once (7) or later (6), and what Discord's client would never send refused;
plus the hand-checked component limits of the request validator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox.local_discord import components
from tests.support import schema
from tests.support.fake_discord import (
    ADMIN_USER_ID,
    MEMBER_USER_ID,
    PAPERS_CHANNEL_ID,
    FakeDiscord,
    discord,
)

NO_PINGS = discord.AllowedMentions.none()


class Counter(discord.ui.View):
    """A message with a count: + updates it at once, ++ defers then edits, the menu answers
    with a new message only its user sees."""

    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.count = 0

    @discord.ui.button(label="+", custom_id="plus")
    async def plus(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]) -> None:
        self.count += 1
        await interaction.response.edit_message(content=f"count {self.count}", view=self)

    @discord.ui.button(label="++", custom_id="twice")
    async def twice(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()
        self.count += 2
        await interaction.edit_original_response(content=f"count {self.count}", view=self)

    @discord.ui.button(label="off", custom_id="off", disabled=True)
    async def off(self, interaction: discord.Interaction[Any], _: discord.ui.Button[Any]) -> None:
        raise AssertionError("a disabled button is never clicked")

    @discord.ui.select(
        custom_id="pick",
        options=[discord.SelectOption(label=x, value=x) for x in ("a", "b", "c")],
        max_values=2,
    )
    async def pick(
        self, interaction: discord.Interaction[Any], select: discord.ui.Select[Any]
    ) -> None:
        await interaction.response.send_message(
            f"picked {', '.join(select.values)}", ephemeral=True, allowed_mentions=NO_PINGS
        )


@contextlib.asynccontextmanager
async def counter_message(fake: FakeDiscord) -> AsyncIterator[dict[str, Any]]:
    """A client that posted a Counter to #papers; the message as the local Discord holds it."""
    intents = discord.Intents.none()
    intents.guilds = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.1, allowed_mentions=NO_PINGS)
    task = None
    try:
        await client.login("fake-token")
        task = asyncio.create_task(client.connect())
        await asyncio.wait_for(client.wait_until_ready(), 5)
        view = Counter()
        view.add_item(discord.ui.Button(label="docs", url="https://example.com/docs"))
        channel = client.get_partial_messageable(PAPERS_CHANNEL_ID)
        sent = await channel.send("count 0", view=view, allowed_mentions=NO_PINGS)
        yield fake.messages[sent.id]
    finally:
        await client.close()
        if task is not None:
            await asyncio.wait_for(task, 5)


async def test_a_click_updates_the_message_at_once_or_after_a_deferral(
    fake_discord: FakeDiscord,
) -> None:
    async with counter_message(fake_discord) as message:
        handle = await fake_discord.click(int(message["id"]), "plus")
        updated = await handle.wait_reply()
        assert handle.type == 3
        assert handle.payload["data"] == {"custom_id": "plus", "component_type": 2}
        assert handle.payload["message"]["id"] == message["id"]
        assert handle.payload["member"]["user"]["id"] == str(ADMIN_USER_ID)
        assert handle.callback_type == 7
        assert updated is message
        assert message["content"] == "count 1"

        later = await fake_discord.click(int(message["id"]), "twice", user_id=MEMBER_USER_ID)
        edited = await later.wait_reply()
        assert later.callback_type == 6
        assert later.user["id"] == str(MEMBER_USER_ID)
        assert edited is message
        assert message["content"] == "count 3"
        assert len(later.original_edits) == 1


async def test_a_select_menu_sends_the_values_picked(fake_discord: FakeDiscord) -> None:
    async with counter_message(fake_discord) as message:
        handle = await fake_discord.choose(int(message["id"]), "pick", ["c", "a"])
        answer = await handle.wait_reply()
    assert handle.payload["data"] == {
        "custom_id": "pick",
        "component_type": 3,
        "values": ["c", "a"],
    }
    assert handle.callback_type == 4
    assert answer["content"] == "picked c, a"
    assert answer["flags"] == 64
    assert message["content"] == "count 0"


@pytest.mark.parametrize(
    ("custom_id", "values", "error", "match"),
    [
        ("off", None, PermissionError, "disabled"),
        ("nope", None, LookupError, "no component 'nope'"),
        ("plus", ["a"], ValueError, "a button has no values"),
        ("pick", None, ValueError, "needs the values"),
        ("pick", ["d"], ValueError, r"\['d'\] are not options"),
        ("pick", ["a", "b", "c"], ValueError, "pick 1 to 2 different options"),
        ("pick", ["a", "a"], ValueError, "pick 1 to 2 different options"),
    ],
)
async def test_what_discords_client_would_not_send_is_refused(
    fake_discord: FakeDiscord,
    custom_id: str,
    values: list[str] | None,
    error: type[Exception],
    match: str,
) -> None:
    async with counter_message(fake_discord) as message:
        with pytest.raises(error, match=match):
            await use(fake_discord, int(message["id"]), custom_id, values)
    assert fake_discord.interactions == []


async def use(fake: FakeDiscord, message_id: int, custom_id: str, values: list[str] | None) -> None:
    """A click on a button, or a choice in a menu (values None: none given at all)."""
    if custom_id == "pick":
        await components.use_component(
            fake, message_id, custom_id, values, user_id=None, locale="en-US", timeout=5
        )
    elif values is None:
        await fake.click(message_id, custom_id)
    else:
        await fake.choose(message_id, custom_id, values)


async def test_an_ephemeral_message_is_used_only_by_its_member(fake_discord: FakeDiscord) -> None:
    async with counter_message(fake_discord) as message:
        picked = await (await fake_discord.choose(int(message["id"]), "pick", ["b"])).wait_reply()
        picked["components"] = message["components"]  # as if the answer carried the menu
        with pytest.raises(PermissionError, match="ephemeral"):
            await fake_discord.choose(int(picked["id"]), "pick", ["a"], user_id=MEMBER_USER_ID)
        own = await fake_discord.choose(int(picked["id"]), "pick", ["a"])
    assert own.user["id"] == str(ADMIN_USER_ID)  # the member it was shown to


def test_component_limits_are_checked_without_the_spec() -> None:
    too_many = [
        {"type": 1, "components": [{"type": 2, "style": 2, "custom_id": f"b{r}{i}", "label": "x"}]}
        for r in range(6)
        for i in range(1)
    ]
    body = {
        "allowed_mentions": {"parse": []},
        "components": [
            *too_many[:4],
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 2, "custom_id": "b00", "label": "L" * 81},
                    {
                        "type": 3,
                        "custom_id": "s" * 101,
                        "placeholder": "p" * 151,
                        "options": [{"label": "", "value": "v" * 101, "description": "d" * 101}],
                    },
                ],
            },
            too_many[5],
        ],
    }
    assert schema.check_request("POST", "/channels/1/messages", body).limits == [
        "body.components: 6 items (0-5)",
        "body.components[4].components[0].label: 81 characters (0-80)",
        "body.components[4].components[1].custom_id: 101 characters (1-100)",
        "body.components[4].components[1].placeholder: 151 characters (0-150)",
        "body.components[4].components[1].options[0].label: 0 characters (1-100)",
        "body.components[4].components[1].options[0].value: 101 characters (1-100)",
        "body.components[4].components[1].options[0].description: 101 characters (0-100)",
        "body.components: custom_id used more than once: ['b00']",
    ]
    update = {
        "type": 7,
        "data": {"allowed_mentions": {"parse": []}, "components": body["components"]},
    }
    assert len(schema.check_request("POST", "/interactions/1/tok/callback", update).limits) == 8
