"""The command tree: the one place where command errors become replies and log entries."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec

import discord
from discord import app_commands

from bot.client.replies import owe_note, reply
from bot.message import Message
from bot.store import StoreError

if TYPE_CHECKING:
    from bot.client.bot import HotPapersBot

log = logging.getLogger(__name__)

P = ParamSpec("P")
Choices = list[app_commands.Choice[str]]


def offer_nothing_on_store_error(
    callback: Callable[P, Coroutine[Any, Any, Choices]],
) -> Callable[P, Coroutine[Any, Any, Choices]]:
    """An autocomplete that cannot read the archive offers no choices and logs one line,
    rather than a traceback on every keystroke (discord.py handles autocomplete errors
    itself, outside the tree's `on_error`)."""

    @functools.wraps(callback)
    async def autocomplete(*args: P.args, **kwargs: P.kwargs) -> Choices:
        try:
            return await callback(*args, **kwargs)
        except StoreError as exc:
            log.warning("autocomplete offered nothing: %s", exc)
            return []

    return autocomplete


class Refusal(app_commands.AppCommandError):
    """A command declined for a reason the user should read (bad input, no permission)."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.content)
        self.message = message


class HotPapersTree(app_commands.CommandTree["HotPapersBot"]):
    async def interaction_check(self, interaction: discord.Interaction[HotPapersBot], /) -> bool:
        """Before every command: a member whose direct messages Discord refused is told so
        once, with this command's reply (see `replies.reply`)."""
        if interaction.type is not discord.InteractionType.application_command:
            return True
        follows, user_id = self.client.store.follows, interaction.user.id
        try:
            owed = await follows.owes_dm_note(user_id)
        except StoreError as exc:
            log.warning("cannot look whether member %s is owed a note: %s", user_id, exc)
            return True
        if owed:
            note = self.client.renderer.notice("dms_closed")
            owe_note(interaction, note, functools.partial(follows.dm_note_shown, user_id))
        return True

    async def on_error(
        self, interaction: discord.Interaction[HotPapersBot], error: app_commands.AppCommandError
    ) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        if isinstance(original, Refusal):
            message = original.message
        elif isinstance(original, StoreError):
            log.error("command failed, archive unavailable: %s", original, exc_info=original)
            message = self.client.renderer.notice("store_unavailable")
        else:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "command /%s failed in guild %s channel %s",
                command,
                interaction.guild_id,
                interaction.channel_id,
                exc_info=original,
            )
            message = self.client.renderer.notice("error")
        try:
            await reply(interaction, message)
        except discord.HTTPException:
            log.warning("could not tell the user about an error", exc_info=True)

    def definition_hash(self, guild: discord.abc.Snowflake | None = None) -> str:
        """A digest of the commands as Discord would receive them, to sync only on change."""
        payload = [command.to_dict(self) for command in self._get_all_commands(guild=guild)]
        encoded = json.dumps(payload, sort_keys=True, default=_json_default).encode()
        return hashlib.sha256(encoded).hexdigest()


def _json_default(value: Any) -> str:
    return str(value)
