"""The deliverer's stop: the message in flight gets Discord's answer and its ledger entry,
and nothing new starts, then or later."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.sandbox.local_discord import Answer, Handle, RecordedRequest
from tests.support.delivery import CV_0315_HEADER, GENERAL, PAPERS, WAIT, delivering
from tests.support.fake_discord import FakeDiscord
from tests.support.posts import sample_text


class HeldPost:
    """Holds the first message create until released, as a slow Discord would."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, request: RecordedRequest, handle: Handle) -> Answer:
        if request.route == "POST /channels/{channel_id}/messages" and not self.arrived.is_set():
            self.arrived.set()
            await self.release.wait()
        return await handle()


async def test_stop_lets_the_message_in_flight_be_recorded_and_starts_nothing_new(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    held = HeldPost()
    fake_discord.interceptors.insert(0, held)
    async with delivering(fake_discord, tmp_path) as d:
        await d.subscribe("cs.CV")
        await d.subscribe("cs.CV", channel=GENERAL)
        service = d.bot.service
        service.deliverer.concurrency = 1  # one channel at a time: the other waits its turn
        d.publish("2021-03-15", sample_text("2021-03-15"))
        await service.poll_sources()

        run = asyncio.create_task(service.deliver_due())
        await asyncio.wait_for(held.arrived.wait(), WAIT)
        stopping = asyncio.create_task(service.stop())
        await asyncio.sleep(0)
        assert not stopping.done()  # waits for the message in flight
        held.release.set()
        await asyncio.wait_for(stopping, WAIT)

        report = run.result()
        assert (report.sent_messages, report.completed) == (1, 1)
        rows = await d.ledger(PAPERS) + await d.ledger(GENERAL)
        assert sorted(r.status for r in rows) == ["pending", "sent"]
        [sent] = [r for r in rows if r.status == "sent"]
        [message] = d.messages(sent.channel_id)
        assert (message["content"], sent.message_ids) == (CV_0315_HEADER, (int(message["id"]),))

        # Stopped for good: a later run posts nothing.
        assert (await service.deliver_due()).sent_messages == 0
        assert len(fake_discord.find_requests("POST", "/channels/{id}/messages")) == 1
