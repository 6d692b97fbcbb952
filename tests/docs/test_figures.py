"""docs/figures.py draws every figure from models trained on the tiny fixtures."""

import runpy
from pathlib import Path

import pytest

from minitorch7 import cli

FIGURES = Path(__file__).resolve().parents[2] / "docs" / "figures.py"


def test_figures_from_fixture_trained_models(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed: "
                                             "pip install -e '.[figures]'")
    cli.main(["lab", "cnn", "--datapath", "fixtures", "--savepath", str(tmp_path),
              "--maxepoch", "2", "--batchsize", "5", "--channelsize", "6,4",
              "--hiddensize", "8"])
    cli.main(["lab", "rnnlm", "--datapath", "fixtures", "--savepath", str(tmp_path),
              "--maxepoch", "2", "--batchsize", "4", "--hiddensize", "8"])
    out = tmp_path / "figures"
    runpy.run_path(str(FIGURES))["main"]([str(tmp_path / "cnn.t7"), str(tmp_path / "rnnlm.t7"),
                                          "--datapath", "fixtures", "--out", str(out)])
    expected = {"cnn-curves.png", "cnn-confusion.png", "cnn-filters.png", "rnnlm-curves.png",
                "digits.png"}
    assert {p.name for p in out.iterdir()} == expected
    assert all((out / name).read_bytes().startswith(b"\x89PNG") for name in expected)
    assert f"wrote {out / 'cnn-filters.png'}" in capsys.readouterr().out
