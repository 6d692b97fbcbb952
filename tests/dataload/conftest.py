"""Shared fixtures for the dataload tests (tests/conftest.py skips the real-data ones
unless opted in)."""

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "minitorch7" / "dataload" / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    """The directory of tiny MNIST IDX and PTB text fixtures shipped with the package."""
    return FIXTURES


@pytest.fixture
def cache_home(tmp_path, monkeypatch) -> Path:
    """An empty user cache (XDG_CACHE_HOME) and no MINITORCH7_DATA."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("MINITORCH7_DATA", raising=False)
    return tmp_path / "xdg" / "minitorch7"
