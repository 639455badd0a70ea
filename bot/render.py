"""Jinja2 templates → Discord message payloads that always fit Discord's limits.

Pure: takes domain objects, returns plain dicts in Discord's JSON shape. Text from posts is
escaped for Discord markdown and mentions, so no title or tweet can ping or break layout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from bot import follows, limits, taxonomy
from bot.digest import Digest, DigestEntry
from bot.markup import escape_markdown, one_line
from bot.message import EmbedBuilder, LinkButton, Message, embed_size, fit_messages
from bot.models import (
    SCORE_WORDING,
    WORDING,
    Day,
    Follow,
    FoundPaper,
    Listing,
    Paper,
    PaperHistory,
    Subscription,
)
from bot.text import author_list, plural, shorten

# In a checkout, bot/templates links to templates/ at the top of the repository; a wheel
# holds the files themselves there.
BUNDLED_TEMPLATES = Path(__file__).resolve().parent / "templates"

# Parts of a /paper card that a hostile post could blow up; real ones are far shorter.
PAPER_HEAD_LIMIT = 1024
PAPER_FOOTER_LIMIT = 256
EMBED_CACHE_SIZE = 4096
# Room a direct message keeps for its last embed when its papers do not all fit as embeds.
DIRECT_MORE_ROOM = 1500

PAGE_SIZE = 5  # papers on a page of /search, /top or /author results


@dataclass(frozen=True, slots=True)
class Choice:
    """An option of a select menu (plain text: Discord shows no markdown there)."""

    label: str
    value: str
    description: str


@dataclass(frozen=True, slots=True)
class ResultsPage:
    """A page of a list: its message, and its papers as the options of a select menu."""

    message: Message
    choices: tuple[Choice, ...]
    placeholder: str


def _link(url: str, limit: int) -> str | None:
    """`url` when Discord takes it as a link (http(s), within `limit`), else None."""
    return url if len(url) <= limit and url.startswith(("https://", "http://")) else None


def discord_time(moment: dt.datetime) -> str:
    """A moment as Discord shows it to each reader, in their own time zone: the date and
    time, then how long from now ("in 3 hours")."""
    stamp = int(moment.timestamp())
    return f"<t:{stamp}:f> (<t:{stamp}:R>)"


def counted(number: int, word: str) -> str:
    """`1 like`, `1,234 likes`: a count and its word, in the plural unless it is one."""
    return plural(number, word, f"{word}s")


def category_label(code: str) -> str:
    """A subscribed code's one-line label; one the taxonomy no longer has (an old archive)
    still gets one, so the channel can see and drop it."""
    try:
        return taxonomy.describe(code)
    except taxonomy.UnknownCategory:
        return f"{code} — no longer an arXiv category"


def pages(listing: Listing) -> int:
    """How many pages of PAGE_SIZE papers a list takes (at least one)."""
    return max(1, -(-listing.count // PAGE_SIZE))


def choice_name(text: str) -> str:
    """An autocomplete choice's label: one line, at most 100 characters."""
    return one_line(text, limits.CHOICE_NAME)


class TemplateOverrideError(ValueError):
    """A template in the configured directory cannot be used; says which file and why.

    Part of the configuration (`[templates] directory`): the entry points report it as they
    report a ConfigError."""


class TemplateBlockError(RuntimeError):
    """A template block failed to render; says which file, line and block, and why."""


def _block_error(template: jinja2.Template, block: str, exc: Exception) -> TemplateBlockError:
    line = None
    trace = exc.__traceback__
    while trace is not None:  # the innermost frame of the template's own code
        if trace.tb_frame.f_code.co_filename == template.filename:
            line = template.get_corresponding_lineno(trace.tb_lineno)
        trace = trace.tb_next
    where = template.filename if line is None else f"{template.filename}:{line}"
    what = exc.message if isinstance(exc, jinja2.TemplateError) else None
    return TemplateBlockError(
        f"{where}: block {block!r} cannot be rendered: {what or f'{type(exc).__name__}: {exc}'}"
    )


class Renderer:
    """Renders messages from the Jinja2 templates in `templates/`.

    A template of the same name in the configured directory overrides them block by block:
    the blocks it defines replace the bundled ones, the others stay as bundled, so an
    override may hold just the one message it changes.
    """

    COLOR = 0xB31B1B  # arXiv red

    def __init__(self, override_directory: str | Path | None = None) -> None:
        directories = [BUNDLED_TEMPLATES]
        if override_directory:
            directories.insert(0, Path(override_directory))
        self._environments = [self._environment(d) for d in directories]
        self._embeds: dict[DigestEntry, dict[str, Any]] = {}
        self._footers: dict[tuple[Follow, ...], str] = {}
        if override_directory:
            self._check_overrides(Path(override_directory))
            self._try_overrides()

    @staticmethod
    def _environment(directory: Path) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # Read once: a day's planning renders tens of thousands of blocks, and looking at
            # each template file's time again every time is a system call each.
            auto_reload=False,
        )
        env.filters["md"] = escape_markdown
        env.filters["shorten"] = shorten
        env.filters["authors"] = author_list
        env.filters["number"] = lambda n: f"{n:,}"
        env.filters["counted"] = counted
        env.filters["follow"] = follows.label
        env.globals["describe"] = category_label
        env.globals["wording"] = WORDING
        env.globals["score_wording"] = SCORE_WORDING
        return env

    def _check_overrides(self, directory: Path) -> None:
        """Fail at start-up, not at the first message, on a missing directory, a template
        that does not compile, or a block the bundled templates do not have."""
        if not directory.is_dir():
            raise TemplateOverrideError(
                f"[templates] directory {directory} does not exist or is not a directory"
            )
        override, bundled = self._environments
        known = set(bundled.list_templates(extensions=["j2"]))
        for name in override.list_templates(extensions=["j2"]):
            where = directory / name
            if name not in known:
                raise TemplateOverrideError(
                    f"{where}: no bundled template of that name to override; "
                    f"expected one of {', '.join(sorted(known))}"
                )
            try:
                blocks = set(override.get_template(name).blocks)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateOverrideError(
                    f"{where}:{exc.lineno}: not a valid template: {exc.message}"
                ) from None
            known_blocks = set(bundled.get_template(name).blocks)
            if not blocks <= known_blocks:
                raise TemplateOverrideError(
                    f"{where}: unknown block(s) {', '.join(sorted(blocks - known_blocks))}; "
                    f"{name} has {', '.join(sorted(known_blocks))}"
                )

    def _try_overrides(self) -> None:
        """Fail at start-up, not at every digest, on a block that compiles but cannot render
        (an undefined attribute, say): every message is rendered once with sample data."""
        try:
            self.render_samples()
        except TemplateBlockError as exc:
            raise TemplateOverrideError(f"{exc} (tried with sample data at start)") from None
        finally:
            self._embeds.clear()
            self._footers.clear()

    def render_samples(self) -> None:
        """Render each message with each sample of `bot.template_samples`; raises what the
        first failing block raises."""
        # Imported here: the samples parse a bundled post, which only a start with template
        # overrides needs.
        from bot import template_samples as samples

        day = samples.sample_day()
        for history in samples.papers(day):
            self.paper(history)
            self.paper(history, related=samples.related(day))
        for listing in samples.listings():
            self.results_page(listing, samples.found(day), 0)
            self.results_page(listing, samples.found(day)[:1], 1, expired_after=15)
        for digest in samples.digests(day):
            self.digest(digest)
            self.digest_header(digest, markdown=False)
        for subscription in samples.subscriptions():
            for next_due in (None, samples.NEXT_DUE):
                self.subscriptions(
                    subscription, channel_name="papers", default_top=10, next_due=next_due
                )
        for name, contexts in samples.NOTICES.items():
            for context in contexts:
                self.notice(name, **context)
        for entries in samples.direct_messages(day):
            self.direct_message(day, entries)
        for following in samples.followings():
            self.following(**following)

    def block(self, template: str, name: str, **context: Any) -> str:
        """Render one `{% block %}` of a template with its own context (an override's first).

        Raises TemplateBlockError, naming the file, line and block, when it fails."""
        for env in self._environments:
            try:
                tpl = env.get_template(template)
            except jinja2.TemplateNotFound:
                continue
            render = tpl.blocks.get(name)
            if render is not None:
                try:
                    return "".join(render(tpl.new_context(context))).strip()
                except Exception as exc:
                    raise _block_error(tpl, name, exc) from exc
        raise jinja2.TemplateError(f"template {template} has no block {name!r}")

    def notice(self, name: str, **context: Any) -> Message:
        """A short confirmation or error, shown only to the user who asked."""
        return Message(
            content=shorten(self.block("notices.j2", name, **context), limits.CONTENT),
            ephemeral=True,
        )

    def paper(
        self, history: PaperHistory, *, max_tweets: int = 5, related: Sequence[Paper] = ()
    ) -> Message:
        """A paper's card; `related`: papers of the archive like it, linked at the end."""
        paper = history.paper
        ctx: dict[str, Any] = {"paper": paper, "history": history, "related": related}
        embed = EmbedBuilder(
            title=self.block("paper.j2", "title", **ctx),
            url=_link(paper.abs_url, limits.EMBED_URL),
            color=self.COLOR,
            footer=shorten(self.block("paper.j2", "footer", **ctx), PAPER_FOOTER_LIMIT),
        )
        head = shorten(self.block("paper.j2", "head", **ctx), PAPER_HEAD_LIMIT)
        abstract = self.block("paper.j2", "abstract", **ctx)
        embed.add_field("Hot on", self.block("paper.j2", "appearances", **ctx))
        for tweet in history.tweets[:max_tweets]:
            embed.add_field(
                self.block("paper.j2", "tweet_name", tweet=tweet, **ctx),
                self.block("paper.j2", "tweet", tweet=tweet, **ctx),
            )
        if len(history.tweets) > max_tweets:
            # "More posts" when any is a Bluesky post; the Twitter-era cards keep their words.
            post = "tweet" if all(t.platform == "twitter" for t in history.tweets) else "post"
            embed.add_field(
                f"More {post}s",
                self.block("paper.j2", "more_tweets", shown=max_tweets, post=post, **ctx),
            )
        if related:
            embed.add_field("Related in the archive", self.block("paper.j2", "related", **ctx))

        # The description gets whatever room the rest leaves under the 6000-character total;
        # tweets give way until the head and a readable part of the abstract fit.
        def room() -> int:
            return min(limits.EMBED_TOTAL - embed_size(embed.build()), limits.EMBED_DESCRIPTION)

        while room() < len(head) + 2 + 200 and len(embed.fields) > 1:
            embed.fields.pop()
        budget = room()
        embed.description = shorten(
            f"{head}\n\n{shorten(abstract, max(budget - len(head) - 2, 0))}", budget
        )
        buttons = [
            LinkButton(label, url)
            for label, url in (("arXiv abstract", paper.abs_url), ("PDF", paper.pdf_url))
            if url is not None and _link(url, limits.BUTTON_URL)
        ]
        return Message(embeds=(embed.build(),), buttons=tuple(buttons))

    def subscriptions(
        self,
        subscription: Subscription | None,
        *,
        channel_name: str,
        default_top: int,
        next_due: dt.datetime | None = None,
    ) -> Message:
        ctx: dict[str, Any] = {
            "subscription": subscription,
            "channel": channel_name,
            "default_top": default_top,
            "next_due": None if next_due is None else discord_time(next_due),
        }
        embed = EmbedBuilder(
            title=self.block("subscriptions.j2", "title", **ctx),
            description=self.block("subscriptions.j2", "description", **ctx),
            color=self.COLOR,
        )
        if subscription is not None:
            embed.add_field("Settings", self.block("subscriptions.j2", "settings", **ctx))
            if subscription.follows:
                embed.add_field("Follows", self.block("subscriptions.j2", "follows", **ctx))
        return Message(embeds=(embed.build(),))

    def digest(self, digest: Digest) -> list[Message]:
        """A channel's daily digest: the header as the first message's content, then one embed
        per paper in rank order, packed into as few messages as Discord's limits allow."""
        header = self.digest_header(digest)
        return fit_messages([self._digest_embed(digest, e) for e in digest.entries], header)

    def _digest_embed(self, digest: Digest, entry: DigestEntry) -> dict[str, Any]:
        """A paper's embed depends only on the entry (paper, rank, matching categories), so the
        many channels of one day share each rendering; what follows matched it is a footer
        rendered once for each set of follows."""
        if entry.followed:
            plain = self._digest_embed(digest, replace(entry, followed=()))
            footer = self._footers.get(entry.followed)
            if footer is None:
                text = self.block("digest.j2", "followed", followed=entry.followed)
                footer = shorten(text, limits.FOOTER_TEXT)
                if len(self._footers) >= EMBED_CACHE_SIZE:
                    self._footers.clear()
                self._footers[entry.followed] = footer
            return {**plain, "footer": {"text": footer}}
        cached = self._embeds.get(entry)
        if cached is None:
            ctx: dict[str, Any] = {"digest": digest, "entry": entry}
            cached = EmbedBuilder(
                title=self.block("digest.j2", "title", **ctx),
                url=_link(entry.ranked.paper.abs_url, limits.EMBED_URL),
                description=self.block("digest.j2", "description", **ctx),
                color=self.COLOR,
            ).build()
            if len(self._embeds) >= EMBED_CACHE_SIZE:
                self._embeds.clear()
            self._embeds[entry] = cached
        return cached

    def digest_header(self, digest: Digest, *, markdown: bool = True) -> str:
        """The digest's first line, e.g. "**Hot Papers 2021-03-05** · 4 of 13 papers match cs.CV";
        plain text for a terminal with `markdown=False`."""
        if not digest.categories:  # a channel that only follows keywords and authors
            text = self.block("digest.j2", "follows_header", digest=digest, markdown=markdown)
        else:
            text = self.block("digest.j2", "header", digest=digest, markdown=markdown)
            if digest.followed:
                more = self.block("digest.j2", "follows_header", digest=digest, markdown=markdown)
                text = f"{text} {more}"
        return shorten(text, limits.CONTENT)

    def direct_message(self, day: Day, entries: tuple[DigestEntry, ...]) -> Message:
        """A member's message of a day: the papers their follows matched, in rank order, each
        as in a digest and marked with what matched it; all in one message, so papers beyond
        what one message holds are listed as links in a last embed."""
        digest = Digest(
            date=day.date,
            entries=entries,
            matched=len(entries),
            total=len(day.papers),
            categories=(),
            followed=len(entries),
        )
        content = shorten(self.block("follows.j2", "dm_header", digest=digest), limits.CONTENT)
        embeds = [self._digest_embed(digest, entry) for entry in entries]
        if (
            len(embeds) <= limits.EMBEDS_PER_MESSAGE
            and sum(map(embed_size, embeds)) <= limits.EMBED_TOTAL
        ):
            return Message(content=content, embeds=tuple(embeds))
        shown = 0
        size = 0
        for embed in embeds:
            weight = embed_size(embed)
            if (
                shown == limits.EMBEDS_PER_MESSAGE - 1
                or size + weight > limits.EMBED_TOTAL - DIRECT_MORE_ROOM
            ):
                break
            shown += 1
            size += weight
        while True:  # give the list of the others the room it needs, embed by embed
            rest = entries[shown:]
            title = shorten(
                self.block("follows.j2", "dm_more_title", entries=rest), limits.EMBED_TITLE
            )
            listed = self.block("follows.j2", "dm_more", entries=rest)
            room = min(limits.EMBED_DESCRIPTION, limits.EMBED_TOTAL - size - len(title))
            if len(listed) <= room or not shown:
                break
            shown -= 1
            size -= embed_size(embeds[shown])
        more = EmbedBuilder(title=title, description=shorten(listed, room), color=self.COLOR)
        return Message(content=content, embeds=(*embeds[:shown], more.build()))

    def following(
        self,
        *,
        channel: str | None,
        channel_follows: tuple[Follow, ...],
        member_follows: tuple[Follow, ...] | None,
        dms_closed: bool = False,
    ) -> Message:
        """/following: a channel's follows (`channel` its name, None to leave them out) and the
        member's own (None to leave them out), only for the member who asked."""
        parts: list[tuple[str, str]] = []
        if channel is not None:
            parts.append(
                (
                    self.block("follows.j2", "channel_title", channel=channel),
                    self.block(
                        "follows.j2",
                        "channel_follows",
                        follows=channel_follows,
                        limit=limits.FOLLOWS,
                    ),
                )
            )
        if member_follows is not None:
            parts.append(
                (
                    self.block("follows.j2", "member_title"),
                    self.block(
                        "follows.j2",
                        "member_follows",
                        follows=member_follows,
                        limit=limits.FOLLOWS,
                        dms_closed=dms_closed,
                    ),
                )
            )
        # Each list gets an equal share of the message's 6000 characters.
        titles = [shorten(title, limits.EMBED_TITLE) for title, _ in parts]
        share = (limits.EMBED_TOTAL - sum(map(len, titles))) // max(len(parts), 1)
        embeds = [
            EmbedBuilder(
                title=title,
                description=shorten(description, min(share, limits.EMBED_DESCRIPTION)),
                color=self.COLOR,
            ).build()
            for title, (_, description) in zip(titles, parts, strict=True)
        ]
        return Message(embeds=tuple(embeds), ephemeral=True)

    def results_page(
        self,
        listing: Listing,
        found: Sequence[FoundPaper],
        page: int,
        *,
        expired_after: int | None = None,
    ) -> ResultsPage:
        """Page `page` (from 0) of a list: `found` are its papers. `expired_after` (minutes):
        the list can no longer be paged, and the message says so."""
        ctx: dict[str, Any] = {"listing": listing}
        numbered = [(page * PAGE_SIZE + index + 1, f) for index, f in enumerate(found)]
        entries = [self.block("results.j2", "entry", found=f, number=n, **ctx) for n, f in numbered]
        embed = EmbedBuilder(
            title=self.block("results.j2", "title", **ctx),
            description="\n\n".join([self.block("results.j2", "summary", **ctx), *entries]),
            color=self.COLOR,
            footer=self.block("results.j2", "footer", page=page + 1, pages=pages(listing), **ctx),
        )
        content = ""
        if expired_after is not None:
            expired = self.notice("results_expired", minutes=expired_after, command=listing.kind)
            content = expired.content
        choices = tuple(
            Choice(
                label=one_line(
                    self.block("results.j2", "choice_label", found=f, number=n, **ctx),
                    limits.SELECT_OPTION_LABEL,
                ),
                value=f.paper.arxiv_id,
                description=one_line(
                    self.block("results.j2", "choice_description", found=f, **ctx),
                    limits.SELECT_OPTION_DESCRIPTION,
                ),
            )
            for n, f in numbered
        )
        return ResultsPage(
            message=Message(content=content, embeds=(embed.build(),)),
            choices=choices,
            placeholder=one_line(
                self.block("results.j2", "placeholder", **ctx), limits.SELECT_PLACEHOLDER
            ),
        )
