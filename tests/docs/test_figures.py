"""docs/figures.py draws the diagrams (SVG, no matplotlib) and every figure from models
trained on the tiny fixtures."""

import runpy
import sys
import xml.etree.ElementTree as ET
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


DIAGRAMS = {"autograd-graph.svg", "logistic-regression-graph.svg", "strides.svg", "im2col.svg",
            "rnn-unrolled.svg"}
SVG = "{http://www.w3.org/2000/svg}"


def test_diagrams_are_valid_svg_and_match_the_committed_ones(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # the diagrams need no matplotlib
    runpy.run_path(str(FIGURES))["main"](["--out", str(tmp_path)])
    assert {p.name for p in tmp_path.iterdir()} == DIAGRAMS
    for name in DIAGRAMS:
        text = (tmp_path / name).read_text()
        root = ET.fromstring(text)
        assert root.tag == f"{SVG}svg" and float(root.get("width")) > 100
        committed = FIGURES.parent / "figures" / name
        assert committed.exists() and committed.read_text() == text, (
            f"docs/figures/{name} is out of date: run python docs/figures.py")
    graph = ET.fromstring((tmp_path / "autograd-graph.svg").read_text())
    ops = [g.find(f".//{SVG}tspan").text for g in graph.iter(f"{SVG}g")
           if g.get("class") == "node op"]
    assert {"MatMul", "Add", "Sigmoid", "Log", "Mean"} <= set(ops)
    strides = ET.fromstring((tmp_path / "strides.svg").read_text())
    titles = [t.text for t in strides.iter(f"{SVG}tspan") if t.text.startswith("x")]
    assert "x.narrow(1, 1, 2): size 3x2, stride (4, 1), offset 1" in titles
    assert "x.t(): size 4x3, stride (1, 4), offset 0" in titles
    rnn = ET.fromstring((tmp_path / "rnn-unrolled.svg").read_text())
    kinds = [e.get("class") for e in rnn.iter() if e.get("class")]
    assert kinds.count("step") == 4 and kinds.count("backward") == 4 + 3
    assert f"wrote {tmp_path / 'im2col.svg'}" in capsys.readouterr().out
