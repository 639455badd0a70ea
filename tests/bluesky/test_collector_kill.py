"""kill -9 of a collector process at random moments of a 50,000-event replay, then restart:
every linking post of the replay not deleted is stored, once, and nothing else."""

from __future__ import annotations

from pathlib import Path

from tests.support.bluesky import replay_with_kills

EVENTS = 50_000
KILLS = 3


async def test_kill_9_at_random_moments_loses_no_post_and_counts_none_twice(
    tmp_path: Path,
) -> None:
    await replay_with_kills(tmp_path, EVENTS, KILLS, seed=11)
