"""/settings through the real discord.py client and the local Discord: values outside the
declared ranges are refused even from a forged interaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.commands import (
    command,
    field_named,
    notice,
    only_embed,
)
from tests.support.fake_discord import (
    PAPERS_CHANNEL_ID,
    FakeDiscord,
)
from tests.support.harness import running_bot

# ---------------------------------------------------------------------------------------------
# /settings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "refusal"),
    [
        ({"top": 100}, "`top` must be 1 to 25 (papers per digest), got 100."),
        ({"top": 0}, "`top` must be 1 to 25 (papers per digest), got 0."),
        ({"top": -5, "paused": True}, "`top` must be 1 to 25 (papers per digest), got -5."),
        (
            {"min_score": -1},
            "`min_score` must be 0 to 10,000,000 (likes + reposts, or retweets + favorites on "
            "Twitter-era days), got -1.",
        ),
        (
            {"min_score": 10_000_001, "time": "08:00"},
            "`min_score` must be 0 to 10,000,000 (likes + reposts, or retweets + favorites on "
            "Twitter-era days), got 10,000,001.",
        ),
    ],
)
async def test_settings_refuses_values_outside_the_declared_ranges(
    fake_discord: FakeDiscord, tmp_path: Path, options: dict[str, Any], refusal: str
) -> None:
    """Discord's client keeps to min_value/max_value; a forged interaction need not."""
    async with running_bot(fake_discord, tmp_path) as bot:
        await notice(fake_discord, "subscribe", {"category": "cs.CV"})
        before = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        text = await notice(fake_discord, "settings", options)
        after = await bot.store.subscriptions.get(PAPERS_CHANNEL_ID)
        accepted = await command(fake_discord, "settings", {"top": 25, "min_score": 10_000_000})
    assert text == f"{refusal} Nothing was changed."
    assert after == before
    assert (
        "Top papers per digest: 25\nMinimum score (likes + reposts, or retweets + favorites on "
        "Twitter-era days): 10000000" in (field_named(only_embed(accepted[1]), "Settings")["value"])
    )
