"""/search, /top, /author: lists of the archive's papers, five a page (bot.client.results)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import limits, taxonomy
from bot.client.context import categories, day_option
from bot.client.results import ResultLists
from bot.client.tree import Refusal, offer_nothing_on_store_error
from bot.models import Listing
from bot.render import Renderer, choice_name
from bot.store.query import InvalidSearch, SearchQuery

if TYPE_CHECKING:
    from bot.client.bot import HotPapersBot
    from bot.store import Archive, Finder

# A period of /top: how many days up to the latest stored day it covers (None: all).
PERIODS: dict[str, int | None] = {"day": 1, "week": 7, "month": 30, "year": 365, "all": None}
QUERY_LENGTH = 200
AMBIGUOUS_NAMES = 10  # names a reply lists when several authors fit what was typed


class FindCog(commands.Cog):
    def __init__(
        self, archive: Archive, finder: Finder, renderer: Renderer, lists: ResultLists
    ) -> None:
        self.archive = archive
        self.finder = finder
        self.renderer = renderer
        self.lists = lists

    @app_commands.command(
        name="search", description="Search the archive's papers by title, abstract and authors"
    )
    @app_commands.describe(
        query='words that must all be there; "a phrase", -word to leave out, word* for longer',
        category="only papers in this arXiv category (cs.CV) or archive (cs)",
        since="only papers hot on or after this day, YYYY-MM-DD",
        until="only papers hot on or before this day, YYYY-MM-DD",
    )
    async def search(
        self,
        interaction: discord.Interaction[HotPapersBot],
        query: app_commands.Range[str, 1, QUERY_LENGTH],
        category: str | None = None,
        since: str | None = None,
        until: str | None = None,
    ) -> None:
        try:
            wanted = SearchQuery.parse(query)
        except InvalidSearch as exc:
            notice = self.renderer.notice("invalid_search", text=query, reason=exc.reason)
            raise Refusal(notice) from None
        codes = categories(self.renderer, category or "")
        first, last = self._day(since), self._day(until)
        if first is not None and last is not None and first > last:
            raise Refusal(self.renderer.notice("since_after_until", since=first, until=last))
        found = await self.finder.search(wanted, categories=codes, since=first, until=last)
        if not found.arxiv_ids:
            raise Refusal(
                self.renderer.notice(
                    "no_results",
                    query=str(wanted),
                    categories=codes,
                    since=first,
                    until=last,
                    complete=found.complete,
                )
            )
        listing = Listing(
            "search",
            str(wanted),
            count=len(found.arxiv_ids),
            matched=found.matched,
            categories=codes,
            since=first,
            until=last,
            complete=found.complete,
        )
        await self.lists.send(interaction, listing, found.arxiv_ids, since=first, until=last)

    def _day(self, text: str | None) -> dt.date | None:
        if text is None or not text.strip():
            return None
        return day_option(self.renderer, text)

    @app_commands.command(
        name="top", description="The papers with the most retweets + favorites over a period"
    )
    @app_commands.describe(
        period="up to the archive's latest day (default: the week)",
        category="only papers in this arXiv category (cs.CV) or archive (cs)",
    )
    @app_commands.choices(
        period=[
            app_commands.Choice(name="day: the latest in the archive", value="day"),
            app_commands.Choice(name="week: its last 7 days", value="week"),
            app_commands.Choice(name="month: its last 30 days", value="month"),
            app_commands.Choice(name="year: its last 365 days", value="year"),
            app_commands.Choice(name="all: every day in the archive", value="all"),
        ]
    )
    async def top(
        self,
        interaction: discord.Interaction[HotPapersBot],
        period: str = "week",
        category: str | None = None,
    ) -> None:
        codes = categories(self.renderer, category or "")
        latest = await self.archive.latest_date()
        if latest is None:
            raise Refusal(self.renderer.notice("empty_archive"))
        days = PERIODS[period]
        # No earlier than the first date there is (an old archive may hold 0001-01-01).
        first = None if days is None else dt.date.fromordinal(max(1, latest.toordinal() - days + 1))
        last = None if days is None else latest
        found = await self.finder.top(since=first, until=last, categories=codes)
        if not found.arxiv_ids:
            raise Refusal(
                self.renderer.notice(
                    "no_top", categories=codes, since=first, until=last, period=period
                )
            )
        listing = Listing(
            "top",
            period,
            count=len(found.arxiv_ids),
            matched=found.hot,
            categories=codes,
            since=first,
            until=last,
        )
        await self.lists.send(interaction, listing, found.arxiv_ids, since=first, until=last)

    @app_commands.command(name="author", description="An author's papers in the archive")
    @app_commands.describe(name="the author's name; suggestions come from the archive")
    async def author(
        self,
        interaction: discord.Interaction[HotPapersBot],
        name: app_commands.Range[str, 1, QUERY_LENGTH],
    ) -> None:
        match = await self.finder.author(name)
        if match is None:
            fitting = await self.finder.authors(name, limit=AMBIGUOUS_NAMES + 1)
            if not fitting:
                raise Refusal(self.renderer.notice("unknown_author", author=name))
            if len(fitting) > 1:
                names = [m.name for m in fitting[:AMBIGUOUS_NAMES]]
                if len(fitting) > AMBIGUOUS_NAMES:
                    names.append("…")
                raise Refusal(self.renderer.notice("ambiguous_author", author=name, names=names))
            match = fitting[0]
        papers = await self.finder.author_papers(match.key)
        listing = Listing("author", match.name, count=len(papers.arxiv_ids), matched=papers.papers)
        await self.lists.send(interaction, listing, papers.arxiv_ids)

    @author.autocomplete("name")
    @offer_nothing_on_store_error
    async def author_autocomplete(
        self, interaction: discord.Interaction[HotPapersBot], current: str
    ) -> list[app_commands.Choice[str]]:
        found = await self.finder.authors(current[:QUERY_LENGTH], limit=limits.CHOICES)
        return [
            app_commands.Choice(
                name=choice_name(f"{m.name} · {m.papers} {'paper' if m.papers == 1 else 'papers'}"),
                value=m.name[: limits.CHOICE_VALUE],
            )
            for m in found
        ]

    @search.autocomplete("category")
    @top.autocomplete("category")
    async def category_autocomplete(
        self, interaction: discord.Interaction[HotPapersBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=choice_name(name), value=value)
            for name, value in taxonomy.autocomplete(current[:100], limit=limits.CHOICES)
        ]
