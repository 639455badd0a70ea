"""Lists of papers a member pages through: /search, /top and /author answer with five papers
a page, Previous/Next buttons and a select menu that shows a paper's card.

A list stays in memory until it has gone IDLE_MINUTES without use, as long as an
interaction's token lasts: then its message is edited through the channel (no token that
could edit it is valid any more) to disable its components and say the results expired.
Only the member who asked pages a list or opens its papers. The components' custom ids are
routed here by discord.ui.DynamicItem whatever message they are on, so a click on a list
that expired, or that a restart forgot, is answered rather than left to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self, cast

import discord

from bot.client.replies import NO_MENTIONS, reply, send_kwargs, send_owed_note
from bot.models import Listing
from bot.render import PAGE_SIZE, Renderer, ResultsPage, pages
from bot.store import StoreError

if TYPE_CHECKING:
    import re

    from bot.client.bot import HotPapersBot
    from bot.store import Archive, Finder

log = logging.getLogger(__name__)

IDLE_MINUTES = 15
MAX_LISTS = 1000  # lists kept at once; beyond, the one unused longest expires
PREFIX = "hotpapers"
_LIST = rf"{PREFIX}:(?P<kind>search|top|author):(?P<key>[0-9a-f]{{12}})"
PREVIOUS, NEXT = "◀ Previous", "Next ▶"


@dataclass(eq=False)
class PagedList:
    """A list a member asked for, and where it is shown."""

    key: str
    owner_id: int
    listing: Listing
    arxiv_ids: tuple[str, ...]
    since: dt.date | None  # the days shown for each paper: those of the period asked
    until: dt.date | None
    used_at: float
    page: int = 0
    shown: ResultsPage | None = None
    message: discord.PartialMessage | None = None
    expiry: asyncio.Task[None] | None = None


class ResultLists:
    """Sends lists, pages them, opens their papers, and expires them when idle.

    `clock` and `sleep` tell time in seconds (monotonic); a test gives its own."""

    def __init__(self, archive: Archive, finder: Finder, renderer: Renderer) -> None:
        self.archive = archive
        self.finder = finder
        self.renderer = renderer
        self.lists: dict[str, PagedList] = {}
        self.clock: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], Awaitable[object]] = asyncio.sleep

    @property
    def idle_seconds(self) -> float:
        return IDLE_MINUTES * 60.0

    async def send(
        self,
        interaction: discord.Interaction[Any],
        listing: Listing,
        arxiv_ids: Sequence[str],
        *,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> None:
        """Answer `interaction` with the first page of a new list, public, and keep it."""
        found = PagedList(
            key=secrets.token_hex(6),
            owner_id=interaction.user.id,
            listing=listing,
            arxiv_ids=tuple(arxiv_ids),
            since=since,
            until=until,
            used_at=self.clock(),
        )
        found.shown = await self._render(found, 0)
        self.lists[found.key] = found  # before anyone can see it, so the first click finds it
        try:
            response = await interaction.response.send_message(
                **send_kwargs(found.shown.message), view=self._view(found)
            )
        except BaseException:
            self._forget(found)
            raise
        if response.message_id is not None and interaction.channel_id is not None:
            channel = interaction.client.get_partial_messageable(interaction.channel_id)
            found.message = channel.get_partial_message(response.message_id)
        await send_owed_note(interaction)
        found.expiry = asyncio.create_task(
            self._expire_when_idle(found), name=f"hotpapers-results-{found.key}"
        )
        if len(self.lists) > MAX_LISTS:
            oldest = min(self.lists.values(), key=lambda kept: kept.used_at)
            self._forget(oldest)
            if oldest.expiry is not None:
                oldest.expiry.cancel()
            await self._mark_expired(oldest)

    async def turn(
        self, interaction: discord.Interaction[Any], kind: str, key: str, page: int
    ) -> None:
        """A page button: show page `page` of the list."""
        found = await self._usable(interaction, kind, key)
        if found is None:
            return
        found.page = min(max(page, 0), pages(found.listing) - 1)
        found.shown = await self._render(found, found.page)
        await interaction.response.edit_message(
            content=found.shown.message.content or None,
            embeds=send_kwargs(found.shown.message)["embeds"],
            view=self._view(found),
            allowed_mentions=NO_MENTIONS,
        )

    async def open(
        self, interaction: discord.Interaction[Any], kind: str, key: str, arxiv_id: str
    ) -> None:
        """The select menu: show the paper's card, with its related papers, to the member."""
        if await self._usable(interaction, kind, key) is None:
            return
        history = await self.archive.paper(arxiv_id)
        if history is None:  # forgotten since the list was made
            await reply(interaction, self.renderer.notice("unknown_paper", arxiv_id=arxiv_id))
            return
        related = await self.finder.related(history.paper)
        await reply(interaction, self.renderer.paper(history, related=related).as_ephemeral())

    async def _usable(
        self, interaction: discord.Interaction[Any], kind: str, key: str
    ) -> PagedList | None:
        """The list, once it is known to be live and the member's own; otherwise None, and
        the interaction answered."""
        found = self.lists.get(key)
        if found is not None and self.clock() - found.used_at >= self.idle_seconds:
            self._forget(found)
            found = None
        if found is None:
            await self._answer_expired(interaction, kind)
            return None
        if interaction.user.id != found.owner_id:
            await reply(interaction, self.renderer.notice("not_your_results", command=kind))
            return None
        found.used_at = self.clock()
        return found

    async def _answer_expired(self, interaction: discord.Interaction[Any], kind: str) -> None:
        """A click on a list no longer kept: its message says it expired, its components
        disabled (made from the message itself: after a restart nothing else is left), and
        the member is told so."""
        notice = self.renderer.notice("results_expired", minutes=IDLE_MINUTES, command=kind)
        message = interaction.message
        if message is not None:
            view = discord.ui.View.from_message(message, timeout=None)
            for item in view.children:
                if isinstance(item, discord.ui.Button | discord.ui.Select):
                    item.disabled = True
            view.stop()  # nothing on it can be used: discord.py need not keep it
            await interaction.response.edit_message(
                content=notice.content, view=view, allowed_mentions=NO_MENTIONS
            )
        await reply(interaction, notice)

    async def _render(
        self, found: PagedList, page: int, *, expired_after: int | None = None
    ) -> ResultsPage:
        chosen = found.arxiv_ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        papers = await self.archive.found(chosen, since=found.since, until=found.until)
        return self.renderer.results_page(found.listing, papers, page, expired_after=expired_after)

    def _view(self, found: PagedList, *, disabled: bool = False) -> discord.ui.View:
        assert found.shown is not None
        kind = found.listing.kind
        view = discord.ui.View(timeout=None)
        if found.shown.choices:
            view.add_item(OpenPaper(kind, found.key, found.shown, disabled=disabled).with_row(0))
        last = pages(found.listing) - 1
        if last > 0:
            # A disabled button still needs an id of its own: the page it would show, kept
            # within the list (page 0 or the last), differs from the other button's.
            for label, target, blocked in (
                (PREVIOUS, max(found.page - 1, 0), found.page == 0),
                (NEXT, min(found.page + 1, last), found.page == last),
            ):
                button = TurnPage(kind, found.key, target, label, disabled=disabled or blocked)
                view.add_item(button.with_row(1))
        return view

    async def _expire_when_idle(self, found: PagedList) -> None:
        while (remaining := found.used_at + self.idle_seconds - self.clock()) > 0:
            await self.sleep(remaining)
        self._forget(found)
        try:
            await self._mark_expired(found)
        except Exception:  # a task of its own: nobody else would hear of it
            log.exception("could not mark the /%s results as expired", found.listing.kind)

    def _forget(self, found: PagedList) -> None:
        if self.lists.get(found.key) is found:
            del self.lists[found.key]

    async def _mark_expired(self, found: PagedList) -> None:
        """Edit the list's message to say it expired, its components disabled; through the
        channel, since the interaction tokens that could edit it have expired."""
        if found.message is None:
            return
        try:
            found.shown = await self._render(found, found.page, expired_after=IDLE_MINUTES)
            await found.message.edit(
                content=found.shown.message.content,
                embeds=send_kwargs(found.shown.message)["embeds"],
                view=self._view(found, disabled=True),
                allowed_mentions=NO_MENTIONS,
            )
        except (discord.HTTPException, StoreError) as exc:
            # The bot may not see the channel (a command works where it cannot post), or the
            # archive is busy: the next click on the list answers that it expired.
            log.info(
                "could not mark the /%s results in channel %s as expired: %s",
                found.listing.kind,
                found.message.channel.id,
                exc,
            )

    def close(self) -> None:
        """Stop waiting to expire lists: the bot is closing."""
        for found in self.lists.values():
            if found.expiry is not None:
                found.expiry.cancel()
        self.lists.clear()


def _lists(interaction: discord.Interaction[Any]) -> ResultLists:
    return cast("HotPapersBot", interaction.client).result_lists


async def _answer(
    interaction: discord.Interaction[Any], work: Callable[[], Awaitable[None]], kind: str
) -> None:
    """Run a component's work; a failure still answers the member, never "This interaction
    failed"."""
    try:
        await work()
    except Exception as exc:
        lists = _lists(interaction)
        if isinstance(exc, StoreError):
            log.error("/%s results: archive unavailable: %s", kind, exc)
            notice = lists.renderer.notice("store_unavailable")
        else:
            log.exception("/%s results: a button or menu failed", kind)
            notice = lists.renderer.notice("error")
        with contextlib.suppress(discord.HTTPException):
            await reply(interaction, notice)


class TurnPage(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=_LIST + r":page:(?P<page>[0-9]{1,3})",
):
    """Previous or Next: its custom id names the page it shows."""

    def __init__(
        self, kind: str, key: str, page: int, label: str, *, disabled: bool = False
    ) -> None:
        super().__init__(
            discord.ui.Button(
                label=label,
                custom_id=f"{PREFIX}:{kind}:{key}:page:{page}",
                style=discord.ButtonStyle.secondary,
                disabled=disabled,
            )
        )
        self.kind, self.key, self.page = kind, key, page

    def with_row(self, row: int) -> Self:
        self.row = row
        return self

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        label = item.label if isinstance(item, discord.ui.Button) else None
        return cls(match["kind"], match["key"], int(match["page"]), label or NEXT)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        lists = _lists(interaction)
        await _answer(
            interaction, lambda: lists.turn(interaction, self.kind, self.key, self.page), self.kind
        )


class OpenPaper(
    discord.ui.DynamicItem[discord.ui.Select[discord.ui.View]],
    template=_LIST + r":open",
):
    """The select menu of a page's papers: the one chosen is shown as its card."""

    def __init__(
        self, kind: str, key: str, page: ResultsPage | None = None, *, disabled: bool = False
    ) -> None:
        select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
            custom_id=f"{PREFIX}:{kind}:{key}:open",
            placeholder=page.placeholder if page else None,
            options=[
                discord.SelectOption(label=c.label, value=c.value, description=c.description)
                for c in (page.choices if page else ())
            ],
            min_values=1,
            max_values=1,
            disabled=disabled,
        )
        super().__init__(select)
        self.kind, self.key = kind, key

    def with_row(self, row: int) -> Self:
        self.row = row
        return self

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        return cls(match["kind"], match["key"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        lists = _lists(interaction)
        chosen = self.item.values[0] if self.item.values else ""
        await _answer(
            interaction, lambda: lists.open(interaction, self.kind, self.key, chosen), self.kind
        )
