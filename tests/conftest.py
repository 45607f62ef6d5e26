"""Shared fixtures: paths to the shipped sample rosters and the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture
def data_dir() -> Path:
    """The folder of shipped sample rosters."""
    return DATA
