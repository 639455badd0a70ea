"""Message components as a member uses them, and the answers that update their message.

``use_component`` dispatches the INTERACTION_CREATE (type 3) Discord sends when a member
clicks a button or picks options of a select menu on a message: ``data`` holds the
component's ``custom_id``, ``component_type`` and, for a select menu, the ``values`` chosen;
``message`` is the message as stored. What Discord's client would not send is refused: a
component the message does not have (or no longer has), a disabled one, a link button, values
that are not the menu's options, another member's ephemeral message.

``update_message`` carries out the answers only a component interaction may give: UPDATE_MESSAGE
(7) edits the component's message at once, DEFERRED_UPDATE_MESSAGE (6) acknowledges it, and a
later edit of ``@original`` then edits that message.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.sandbox.local_discord.http import ApiError
from bot.sandbox.local_discord.interactions import (
    DM_BOT_PERMISSIONS,
    EPHEMERAL,
    InteractionHandle,
)
from bot.sandbox.local_discord.messages import apply_edit
from bot.sandbox.local_discord.payloads import channel_payload, dm_payload, member_payload
from bot.sandbox.local_discord.world import ADMIN_USER_ID, channel_permissions

if TYPE_CHECKING:
    from bot.sandbox.local_discord.server import LocalDiscord

BUTTON, STRING_SELECT = 2, 3
LINK_STYLE = 5


def components_of(message: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The interactive components of a message, row by row."""
    for row in message.get("components") or []:
        yield from row.get("components") or []


async def use_component(
    local: LocalDiscord,
    message_id: int,
    custom_id: str,
    values: Sequence[str] | None,
    *,
    user_id: int | None,
    locale: str,
    timeout: float,  # noqa: ASYNC109
) -> InteractionHandle:
    """Dispatch the INTERACTION_CREATE of a member using the component ``custom_id`` of the
    message ``message_id`` (``values``: the options picked in a select menu)."""
    await local.wait_until_connected(timeout)
    message = local.messages.get(message_id)
    if message is None:
        raise KeyError(f"message {message_id} does not exist (or was deleted)")
    component = next((c for c in components_of(message) if c.get("custom_id") == custom_id), None)
    if component is None:
        ids = [c.get("custom_id") or c.get("url") for c in components_of(message)]
        raise LookupError(f"message {message_id} has no component {custom_id!r} (it has {ids})")
    if component.get("disabled"):
        raise PermissionError(f"component {custom_id!r} is disabled: Discord sends no click")
    kind = int(component["type"])
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind}
    if kind == BUTTON:
        if values is not None:
            raise ValueError("a button has no values; pick options of a select menu instead")
        if component.get("style") == LINK_STYLE:
            raise ValueError("a link button opens its URL: Discord sends no interaction")
    elif kind == STRING_SELECT:
        data["values"] = _checked_values(component, values)
    else:
        raise NotImplementedError(f"component type {kind} is not supported by the fake")

    world = local.world
    channel_id = int(message["channel_id"])
    channel, guild = world.channel(channel_id)
    flags = int(message.get("flags") or 0)
    if flags & EPHEMERAL:
        shown_to = int((message.get("interaction_metadata") or {}).get("user", {}).get("id", 0))
        if user_id is not None and user_id != shown_to:
            raise PermissionError(f"message {message_id} is ephemeral: only {shown_to} sees it")
        user_id = shown_to
    payload: dict[str, Any] = {
        "id": str(local.ids.next()),
        "application_id": str(local.application_id),
        "type": 3,
        "token": "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        "version": 1,
        "data": data,
        "message": copy.deepcopy(message),
        "channel_id": str(channel_id),
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": 10 * 1024 * 1024,
    }
    if guild is None:
        user = world.user(user_id if user_id is not None else channel.recipient_id or ADMIN_USER_ID)
        payload.update(
            {
                "channel": {
                    **dm_payload(channel, world.user(channel.recipient_id or 0)),
                    "permissions": "0",
                },
                "app_permissions": str(DM_BOT_PERMISSIONS),
                "user": user.to_payload(),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
        )
    else:
        member = (
            next(m for m in guild.members if m.id != world.bot_user.id)
            if user_id is None
            else guild.member(user_id)
        )
        if member is None:
            raise KeyError(f"user {user_id} is not a member of guild {guild.id}")
        permissions = channel_permissions(guild, member.id, channel)
        payload.update(
            {
                "channel": {**channel_payload(channel, guild), "permissions": str(permissions)},
                "app_permissions": str(world.bot_permissions(guild, channel)),
                "guild_id": str(guild.id),
                "guild": {
                    "id": str(guild.id),
                    "locale": guild.preferred_locale,
                    "features": list(guild.features),
                },
                "guild_locale": guild.preferred_locale,
                "member": {**member_payload(member), "permissions": str(permissions)},
                "authorizing_integration_owners": {"0": str(guild.id)},
                "context": 0,
            }
        )
    handle = InteractionHandle(payload, local.notifier, local.requests)
    local.interactions.append(handle)
    local.interaction_tokens[handle.token] = handle
    reached = await local.dispatch(
        "INTERACTION_CREATE", payload, guild_id=guild.id if guild else None
    )
    if not reached:
        raise RuntimeError("no live gateway session to deliver the interaction to")
    return handle


def _checked_values(component: Mapping[str, Any], values: Sequence[str] | None) -> list[str]:
    """The values picked, as Discord's client allows them: the menu's options, as many as its
    min_values and max_values (1 and 1 by default) allow, each once."""
    if values is None:
        raise ValueError("a select menu needs the values picked")
    options = [o["value"] for o in component.get("options") or []]
    unknown = [v for v in values if v not in options]
    if unknown:
        raise ValueError(f"{unknown} are not options of the menu (it has {options})")
    low, high = int(component.get("min_values", 1)), int(component.get("max_values", 1))
    if not low <= len(values) <= high or len(set(values)) != len(values):
        raise ValueError(f"pick {low} to {high} different options, not {list(values)}")
    return list(values)


def update_message(
    local: LocalDiscord, handle: InteractionHandle, kind: int, data: Mapping[str, Any]
) -> dict[str, Any]:
    """UPDATE_MESSAGE (7) or DEFERRED_UPDATE_MESSAGE (6) for a component interaction: the
    component's message becomes the interaction's original response (7 edits it now);
    its current form is returned."""
    found = handle.payload.get("message")
    message = local.messages.get(int(found["id"])) if found else None
    if message is None:
        raise ApiError(404, 10008, "Unknown Message")
    if kind == 7:
        apply_edit(message, data)
        handle.original_edits.append(dict(data))
    handle.original = message
    if kind == 7:
        handle.replies.append(message)
    local.notifier.notify()
    return message
