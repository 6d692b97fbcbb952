"""What the lab scripts' tests share: sys.argv kept per test (the scripts set it), and
tests/lab/lab_runs.py importable (``from lab_runs import minitorch7``: with pytest's
importlib import mode test folders are not on sys.path)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))
