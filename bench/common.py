"""Shared by the benchmarks: the cached synthetic archive, percentiles and tables."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.synthetic import build
from bot.store.database import migrations

CACHE = Path(
    os.environ.get("HOTPAPERS_BENCH_CACHE", Path(tempfile.gettempdir()) / "hotpapers-bench")
)


def schema_tag() -> str:
    """A digest of the migrations: a cached archive is used only by the schema that built it
    (an older one would be migrated on every copy's first open, inside the timings)."""
    text = "".join(f"{name}\n{sql}" for _, name, sql in migrations())
    return hashlib.sha256(text.encode()).hexdigest()[:12]


async def archive_copy(papers: int, target: Path, channels: int = 0) -> Path:
    """A copy of the synthetic archive with `papers` papers (built once per schema), plus
    `channels` subscribed channels added by another process, so this one's memory stays its
    own."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cached = CACHE / f"archive-{papers}-{schema_tag()}.sqlite3"
    if not cached.exists():
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        await build(partial, papers, 0)
        partial.rename(cached)
    shutil.copyfile(cached, target)
    if channels:
        subprocess.run(  # noqa: ASYNC221 - setup, not measured
            [sys.executable, "-m", "bench.synthetic", "--add-channels", str(target), str(channels)],
            check=True,
        )
    return target


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [list(map(str, header))] + [list(map(str, r)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
