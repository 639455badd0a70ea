"""/paper: a paper's card from the archive, with the archive's papers related to it."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits
from bot.arxiv import InvalidArxivId, parse_arxiv_id
from bot.client.replies import reply
from bot.client.tree import Refusal, offer_nothing_on_store_error
from bot.render import Renderer, choice_name

if TYPE_CHECKING:
    from bot.client.bot import HotPapersBot
    from bot.store import Archive, Finder


class PapersCog(commands.Cog):
    def __init__(self, archive: Archive, finder: Finder, renderer: Renderer) -> None:
        self.archive = archive
        self.finder = finder
        self.renderer = renderer

    @app_commands.command(name="paper", description="Show a Hot Paper: abstract, hot days, tweets")
    @app_commands.describe(
        id="arXiv id or URL, e.g. 2103.03206 or https://arxiv.org/abs/2103.03206"
    )
    async def paper(self, interaction: discord.Interaction[HotPapersBot], id: str) -> None:
        try:
            arxiv_id = parse_arxiv_id(id)
        except InvalidArxivId as exc:
            notice = self.renderer.notice("invalid_paper_id", text=id, reason=exc.reason)
            raise Refusal(notice) from None
        history = await self.archive.paper(arxiv_id)
        if history is None:
            raise Refusal(self.renderer.notice("unknown_paper", arxiv_id=arxiv_id))
        related = await self.finder.related(history.paper)
        await reply(interaction, self.renderer.paper(history, related=related))

    @paper.autocomplete("id")
    @offer_nothing_on_store_error
    async def paper_autocomplete(
        self, interaction: discord.Interaction[HotPapersBot], current: str
    ) -> list[app_commands.Choice[str]]:
        text = current.strip()
        with contextlib.suppress(InvalidArxivId):
            text = parse_arxiv_id(text)
        matches = await self.archive.search(text[:100], limit=limits.CHOICES)
        return [
            app_commands.Choice(name=choice_name(f"{m.arxiv_id} — {m.title}"), value=m.arxiv_id)
            for m in matches
        ]
