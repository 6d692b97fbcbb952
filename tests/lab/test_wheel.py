"""A non-editable install runs the lab: the package is built into a wheel, the wheel is
installed into a folder of its own (``pip install --no-deps --target``, faster than a
virtual environment; the dependencies are this interpreter's), and, from a folder outside
the checkout with only that install on PYTHONPATH, ``python -m minitorch7 lab mlp`` trains
and saves a model and the installed ``minitorch7`` command evaluates it. The lab's scripts
and the fixtures must therefore ship inside the package.

The wheel is built from a copy of the package's files (pyproject.toml, README.md,
minitorch7/), so the build leaves nothing in the checkout. pip builds it in an isolated
environment, fetching setuptools from the package index as any ``pip install .`` does.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT = 300
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc", "LEARNER_COPY")


def _pip(*argv, cwd):
    done = subprocess.run([sys.executable, "-m", "pip", *argv], cwd=cwd, capture_output=True,
                          text=True, timeout=PIP_TIMEOUT)
    assert done.returncode == 0, f"pip {' '.join(argv)}:\n{done.stdout[-3000:]}\n" + (
        done.stderr[-3000:])
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The folder the built wheel was installed into."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "minitorch7", source / "minitorch7", ignore=IGNORED)
    _pip("wheel", ".", "--no-deps", "--quiet", "-w", str(base / "dist"), cwd=source)
    wheels = list((base / "dist").glob("minitorch7-*.whl"))
    assert len(wheels) == 1, wheels
    target = base / "site"
    _pip("install", "--no-deps", "--quiet", "--no-compile", "--target", str(target),
         str(wheels[0]), cwd=base)
    return target


def _run(argv, target, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = str(target)
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_installed_wheel_runs_the_lab(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run([sys.executable, "-c", "import minitorch7.lab.train_mlp as m; print(m.__file__)"],
                 installed, elsewhere)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).resolve().is_relative_to(installed.resolve()), where.stdout

    save = tmp_path / "save"
    lab = _run([sys.executable, "-m", "minitorch7", "lab", "mlp", "--quick", "--datapath",
                "fixtures", "--maxepoch", "1", "--savepath", str(save)], installed, elsewhere)
    assert lab.returncode == 0, lab.stdout[-2000:] + lab.stderr[-3000:]
    assert re.search(r"^Epoch 1 : mean loss = [\d.]+", lab.stdout, re.M), lab.stdout
    assert (save / "mlp.t7").is_file() and (save / "mlp.checkpoint.t7").is_file()

    command = installed / "bin" / ("minitorch7.exe" if os.name == "nt" else "minitorch7")
    argv = [str(command)] if command.is_file() else [sys.executable, "-m", "minitorch7"]
    evaluated = _run([*argv, "evaluate", str(save / "mlp.t7"), "--datapath", "fixtures"],
                     installed, elsewhere)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert re.search(r"^Test accuracy=[\d.]+$", evaluated.stdout, re.M), evaluated.stdout
