"""Three real Hot Papers posts bundled as sample data for the offline sandbox and the tests."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_posts() -> list[Path]:
    """The bundled posts, oldest day first."""
    folder = resources.files(__name__)
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".md"))
