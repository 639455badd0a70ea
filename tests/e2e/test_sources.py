"""End to end: each post source is polled on its own, so one that hangs holds up no other.

The bot runs its real scheduler with a watched directory and an HTTP source whose server
(on 127.0.0.1) never answers; a post written to the directory is stored, planned and posted
to a subscribed channel while the HTTP request is still waiting for its answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.support.delivery import CV_0315_HEADER, CV_0315_TITLES, PAPERS, WAIT, Harness, sent
from tests.support.fake_discord import FakeDiscord
from tests.support.harness import running_bot
from tests.support.posts import sample_post

HTTP_TIMEOUT = 30  # seconds: far longer than the directory's post may take to arrive


class HangingSite:
    """A post site that takes every request and answers none until released."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.release = asyncio.Event()
        self.requests = 0
        self.answered = 0
        self._changed = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        self.asked.set()
        await self.release.wait()
        self.answered += 1
        async with self._changed:
            self._changed.notify_all()
        raise web.HTTPNotFound()  # not published: the source stops asking this poll

    async def all_answered(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.answered >= self.requests)


@pytest.fixture
async def hanging_site() -> AsyncIterator[tuple[HangingSite, str]]:
    site = HangingSite()
    app = web.Application()
    app.router.add_get("/{date}.md", site.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield site, str(server.make_url("/")) + "{date}.md"
    finally:
        site.release.set()
        await server.close()


async def test_a_post_in_the_directory_is_delivered_while_the_url_source_hangs(
    fake_discord: FakeDiscord, tmp_path: Path, hanging_site: tuple[HangingSite, str]
) -> None:
    site, template = hanging_site
    watch = tmp_path / "posts"
    watch.mkdir()
    overrides = {
        "source": {
            "directory": str(watch),
            "url": template,
            "lookback_days": 0,
            "timeout_seconds": HTTP_TIMEOUT,
            "poll_seconds": 1,
            "settle_seconds": 0.5,
        },
        "digest": {"deliver_seconds": 1},
    }
    async with running_bot(
        fake_discord, tmp_path, samples=False, config_overrides=overrides, run_jobs=True
    ) as bot:
        harness = Harness(bot, fake_discord, watch)
        await harness.subscribe("cs.CV")
        await asyncio.wait_for(site.asked.wait(), WAIT)  # the URL source's poll now hangs

        harness.publish("2021-03-15", sample_post("2021-03-15").read_text("utf-8"))
        loop = asyncio.get_running_loop()
        published = loop.time()
        rows = await harness.wait_ledger(sent)  # stored, planned and posted meanwhile

        assert loop.time() - published < HTTP_TIMEOUT
        assert [(str(r.date), r.status) for r in rows] == [("2021-03-15", "sent")]
        assert [m["content"] for m in harness.messages(PAPERS)] == [CV_0315_HEADER]
        assert harness.titles(PAPERS) == [CV_0315_TITLES]
        assert (site.requests, site.answered) == (1, 0)  # still waiting for its answer

        site.release.set()  # answered at last: that poll ends, and the bot shuts down cleanly
        await asyncio.wait_for(site.all_answered(), WAIT)
