"""Fixtures for end-to-end tests against the fake Discord (see tests/support/fake_discord.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.fake_discord import FakeDiscord, iter_problems, point_discord_at


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with discord.py pointed at it.

    At teardown the fake is stopped and the test fails if the bot used a route the fake does
    not know (``unknown_requests``) or sent a body that breaks Discord's schema, limits or our
    no-ping policy (``schema_problems``). Close your discord.py client inside the test.
    """
    fake = FakeDiscord()
    await fake.start()
    undo = point_discord_at(fake)
    try:
        yield fake
    finally:
        undo()
        await fake.stop()
    problems = list(iter_problems(fake))
    assert fake.unknown_requests == [], "\n".join(problems)
    assert fake.schema_problems == [], "\n".join(problems)
