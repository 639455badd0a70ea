"""/digest through the real discord.py client and the local Discord: a day taken exactly as
YYYY-MM-DD, like `hotpapers digest --date`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.commands import EPHEMERAL, command, notice
from tests.support.fake_discord import PAPERS_CHANNEL_ID, FakeDiscord
from tests.support.harness import running_bot


async def test_digest_of_a_day(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    async with running_bot(fake_discord, tmp_path):
        await notice(fake_discord, "subscribe", {"category": "cs.CV"}, channel_id=PAPERS_CHANNEL_ID)
        handle, reply = await command(
            fake_discord, "digest", {"date": " 2021-03-15 "}, channel_id=PAPERS_CHANNEL_ID
        )
    assert handle.ephemeral
    assert int(reply["flags"]) & EPHEMERAL
    assert reply["content"].startswith("**Hot Papers 2021-03-15**")
    assert reply["embeds"][0]["title"] == "#1 · HumanGAN: A Generative Model of Humans Images"


@pytest.mark.parametrize("typed", ["20210305", "2021-W10-1", "٢٠٢١-٠٣-٠٥"])  # noqa: RUF001
async def test_digest_refuses_other_date_forms(
    fake_discord: FakeDiscord, tmp_path: Path, typed: str
) -> None:
    async with running_bot(fake_discord, tmp_path):
        await notice(fake_discord, "subscribe", {"category": "cs.CV"}, channel_id=PAPERS_CHANNEL_ID)
        text = await notice(fake_discord, "digest", {"date": typed}, channel_id=PAPERS_CHANNEL_ID)
    assert text == f"`{typed}` is not a date. Use YYYY-MM-DD, like 2021-03-05."
