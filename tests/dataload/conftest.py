"""Shared fixtures for the dataload tests; real-data tests are opt-in."""

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "minitorch7" / "dataload" / "fixtures"


def pytest_collection_modifyitems(config, items):
    """Skip ``@pytest.mark.data`` tests unless ``-m data`` or MINITORCH7_DATA_TESTS=1."""
    if "data" in (config.option.markexpr or "") or os.environ.get("MINITORCH7_DATA_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs the real MNIST / PTB files (may download them): "
                                   "opt in with -m data or MINITORCH7_DATA_TESTS=1")
    for item in items:
        if item.get_closest_marker("data") is not None:
            item.add_marker(skip)


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
