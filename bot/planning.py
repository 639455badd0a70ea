"""Deciding which channel gets which day's digest, and when: the ledger's pending rows.

Planning builds and renders each distinct digest once (`DayMessages`) and records every
channel's delivery in the ledger before anything is sent, so a restart resumes instead of
starting over. The same step matches the day against members' personal follows and records
each member's direct message (or that none is due) in the direct-message ledger.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable, Iterable

from bot.digest import DayDigests, DigestKey, Followed
from bot.message import Message
from bot.models import Day, Follow, Subscription
from bot.render import Renderer, TemplateBlockError
from bot.store import EncodedDigest, PlannedDelivery, PlannedDirect, Store, encode_digest

log = logging.getLogger(__name__)

BATCH = 5000


def due_time(ready: dt.datetime, deliver_at: dt.time | None, timezone: str) -> dt.datetime:
    """When a digest ready at `ready` goes out: at once, or at the next local `deliver_at`.

    Compared in UTC, so daylight-saving days work: a local time that does not exist (the
    spring gap) means the moment it would have been, an hour on (02:30 → 03:30); one that
    happens twice (the autumn fold) means its first occurrence still ahead.
    """
    if deliver_at is None:
        return ready
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    local_day = ready.astimezone(zone).date()
    for day in (local_day - dt.timedelta(days=1), local_day, local_day + dt.timedelta(days=1)):
        for fold in (0, 1):
            wall = dt.datetime.combine(day, deliver_at, tzinfo=zone).replace(fold=fold)
            moment = wall.astimezone(dt.UTC)
            exists = moment.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None)
            if (exists or fold == 0) and moment >= ready:
                return moment
    raise AssertionError("a local time recurs within two days")  # pragma: no cover


class DayMessages:
    """A day's digests rendered for every channel, each distinct digest rendered once: the
    channels that get the same digest get the very same tuple of messages. Likewise each
    distinct direct message, for the members whose follows match the same papers."""

    def __init__(self, day: Day, renderer: Renderer) -> None:
        self.digests = DayDigests(day)
        self._renderer = renderer
        self._messages: dict[DigestKey, tuple[Message, ...]] = {}
        self._direct: dict[Followed, Message] = {}

    def messages(
        self,
        categories: Iterable[str],
        *,
        top: int,
        min_score: int = 0,
        follows: Iterable[Follow] = (),
    ) -> tuple[Message, ...]:
        """The rendered digest (Renderer.digest), cached; empty when no paper matches."""
        key = self.digests.key(categories, top=top, min_score=min_score, follows=follows)
        cached = self._messages.get(key)
        if cached is None:
            digest = self.digests.built(key)
            cached = () if digest is None else tuple(self._renderer.digest(digest))
            self._messages[key] = cached
        return cached

    def direct(self, follows: Iterable[Follow]) -> Message | None:
        """The direct message for a member with these follows (Renderer.direct_message),
        cached; None when none of them matches a paper of the day."""
        followed = self.digests.followed(follows)
        if not followed:
            return None
        cached = self._direct.get(followed)
        if cached is None:
            entries = self.digests.followed_entries(followed)
            cached = self._renderer.direct_message(self.digests.day, entries)
            self._direct[followed] = cached
        return cached

    def __len__(self) -> int:
        """How many distinct digests have been built."""
        return len(self.digests)


class DeliveryPlanner:
    """Writes the ledger's pending rows: which channel gets which day's digest, and when."""

    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        *,
        default_top: int,
        catch_up_days: int,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.store = store
        self.renderer = renderer
        self.default_top = default_top
        self.catch_up_days = catch_up_days
        self.clock = clock
        # (channel, problem) already logged: a channel that cannot be planned is skipped
        # at every plan, but said so once.
        self._reported: set[tuple[int, str]] = set()

    def messages(
        self, day: Day, subscription: Subscription, rendered: DayMessages | None = None
    ) -> tuple[Message, ...]:
        """The digest a channel gets for a day; empty when none of its categories is there.

        Raises ValueError (or TypeError) for a subscription the archive should not hold:
        settings out of range, a category arXiv no longer has.
        """
        if subscription.problem:
            raise ValueError(subscription.problem)
        if rendered is None:
            rendered = DayMessages(day, self.renderer)
        return rendered.messages(
            subscription.categories,
            top=self.default_top if subscription.top is None else subscription.top,
            min_score=subscription.min_score,
            follows=subscription.follows,
        )

    async def plan(self) -> int:
        """Plan the newest `catch_up_days` days for every channel that has not had them.

        Older days are never planned, and older ones still pending (waiting for a channel's
        time, a pause or a retry) are skipped: after downtime a channel catches up on at most
        that many days, oldest first (the due query orders by day).
        """
        dates = [d.date for d in (await self.store.archive.days())[-self.catch_up_days :]]
        if dates:
            reason = f"not sent: older than the newest {self.catch_up_days} days"
            skipped = await self.store.deliveries.skip_before(dates[0], reason)
            if skipped:
                log.info("skipped %d deliveries of days before %s", skipped, dates[0])
            skipped = await self.store.direct.skip_before(dates[0], reason)
            if skipped:
                log.info("skipped %d direct messages of days before %s", skipped, dates[0])
        planned = 0
        for date in dates:
            day = await self.store.archive.day(date)
            if day is not None:
                planned += await self.plan_day(day)
        return planned

    async def plan_day(self, day: Day) -> int:
        """Record every concerned channel's delivery of `day`, a page of channels at a time."""
        now = self.clock()
        rendered = DayMessages(day, self.renderer)
        # The same digest comes as the same tuple: encode each one once.
        encoded: dict[int, EncodedDigest | None] = {}
        recorded, after = 0, 0
        while channels := await self.store.deliveries.unplanned(day.date, after=after, limit=BATCH):
            batch: list[PlannedDelivery] = []
            for subscription in channels:
                try:
                    messages = self.messages(day, subscription, rendered)
                except (ValueError, TypeError) as exc:
                    self._skip(subscription.channel_id, exc)
                    continue
                except TemplateBlockError as exc:
                    self._cannot_render(day, exc)
                    continue
                key = id(messages)
                if key not in encoded:
                    encoded[key] = encode_digest([m.body() for m in messages])
                batch.append(
                    PlannedDelivery(
                        channel_id=subscription.channel_id,
                        date=day.date,
                        due_at=due_time(now, subscription.deliver_at, subscription.timezone),
                        digest=encoded[key],
                    )
                )
            recorded += await self.store.deliveries.record_plan(batch)
            # Written now: keep only the hashes, not every distinct digest's JSON.
            encoded = {k: v and v.written() for k, v in encoded.items()}
            after = channels[-1].channel_id
        if recorded:
            log.info(
                "planned %s for %d channels (%d distinct digests)",
                day.date,
                recorded,
                len(rendered),
            )
        return recorded + await self.plan_direct(day, rendered, now)

    async def plan_direct(self, day: Day, rendered: DayMessages, now: dt.datetime) -> int:
        """Record every member's direct message of `day`: the papers their follows match, or
        none (an `empty` row, so the member is not planned again), a page at a time."""
        encoded: dict[int, EncodedDigest] = {}
        recorded, after, sending = 0, 0, 0
        while members := await self.store.direct.unplanned(day.date, after=after, limit=BATCH):
            batch: list[PlannedDirect] = []
            for member in members:
                try:
                    message = rendered.direct(member.follows)
                except TemplateBlockError as exc:
                    self._cannot_render(day, exc)
                    continue
                body: EncodedDigest | None = None
                if message is not None:
                    key = id(message)
                    if key not in encoded:
                        found = encode_digest([message.body()])
                        assert found is not None  # one message is never an empty digest
                        encoded[key] = found
                    body = encoded[key]
                    sending += 1
                batch.append(PlannedDirect(member.user_id, day.date, now, body))
            recorded += await self.store.direct.record_plan(batch)
            encoded = {k: v.written() for k, v in encoded.items()}
            after = members[-1].user_id
        if recorded:
            log.info(
                "planned %s for %d members with follows (%d direct messages to send)",
                day.date,
                recorded,
                sending,
            )
        return recorded

    def _cannot_render(self, day: Day, problem: TemplateBlockError) -> None:
        """A template override that fails on this day's data costs only the messages that
        need that block: they stay unplanned (planned once the template is fixed and the bot
        restarted), and the rest of this day and the other days go out. Logged once."""
        if self._first_report(0, f"{day.date}: {problem}"):
            log.error("cannot render messages of %s: %s", day.date, problem)

    def _skip(self, channel_id: int, problem: Exception) -> None:
        """One channel's bad subscription (an old or forged archive) costs only its digests."""
        if self._first_report(channel_id, str(problem)):
            log.warning(
                "channel %s gets no digests until its subscription is fixed: %s",
                channel_id,
                problem,
            )

    def _first_report(self, channel_id: int, problem: str) -> bool:
        """Whether this problem (of this channel; 0: of no one channel) is new: logged once."""
        if (channel_id, problem) in self._reported:
            return False
        self._reported.add((channel_id, problem))
        return True

    async def replan(self, channel_ids: Iterable[int]) -> int:
        """After a settings change: drop the channel's unsent deliveries and plan them anew."""
        ids = set(channel_ids)
        await self.store.deliveries.forget_unsent(ids)
        self._reported = {r for r in self._reported if r[0] not in ids}
        return await self.plan()

    async def replan_members(self, user_ids: Iterable[int]) -> int:
        """After a member's follows changed: plan their direct messages not tried yet anew."""
        await self.store.direct.forget_unsent(user_ids)
        return await self.plan()
