"""The notebooks (notebooks/*.py, jupytext percent scripts) run as plain scripts on the
tiny fixtures, each in a fresh folder, and write their pictures."""

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
# what each notebook must write (besides its learning curve, <prefix>-curve.png)
PICTURES = {
    "01_logistic_regression.py": ("logreg", ["logreg-decision.png"]),
    "02_multilayer_perceptron.py": ("mlp", ["mlp-digits.png", "mlp-confusion.png"]),
    "03_convolutional_network.py": ("cnn", ["cnn-filters.png"]),
    "04_recurrent_language_model.py": ("rnnlm", ["rnnlm-sample.txt"]),
}


def png_size(path):
    """(width, height) of a PNG file; AssertionError when it is not one."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    return struct.unpack(">II", data[16:24])


def test_the_four_exercises_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == sorted(PICTURES)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_a_percent_script_with_a_parameter_cell(notebook):
    text = notebook.read_text()
    assert text.startswith("# ---\n# jupyter:\n#   jupytext:\n#     formats: py:percent")
    cells = re.findall(r"^# %%.*$", text, re.M)
    assert cells.count("# %% [markdown]") >= 2 and len(cells) >= 5
    parameters = text.split('# %% tags=["parameters"]\n', 1)[1].split("\n# %%", 1)[0]
    assert "maxepoch" in parameters or "nsample" in parameters
    if "datapath" in text:
        assert 'datapath = "fixtures"' in parameters


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_draws(notebook, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, str(notebook)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    prefix, pictures = PICTURES[notebook.name]
    width, height = png_size(tmp_path / f"{prefix}-curve.png")
    assert width >= 100 and height >= 100
    for name in pictures:
        if name.endswith(".png"):
            assert min(png_size(tmp_path / name)) >= 8
        else:
            assert len((tmp_path / name).read_text().split()) >= 10
