"""CI proves that a learner copy runs the lab on its own code and its own teaching kernels:

(a) a copy with only task 1.3 (the teaching CPU matmul) cut: ``python -m minitorch7 lab mlp
    --quick``, run from the copy's root, stops on that hole: exit status 1, the hole's
    message and where it was raised on stderr, no traceback (MINITORCH7_DEBUG=1 shows it);
(b) a copy with nothing cut: the same command trains the MLP on the copy's teaching kernels
    (the run prints ``kernels: numba_teach (teaching tier)``) to a validation accuracy above
    0.9 on the real MNIST (fetched into ~/.cache/minitorch7 on first use, see docs/data.md);
(c) run from the copy's root, Python imports the copy's package and ``lab`` runs the
    copy's lab scripts (minitorch7/lab/, inside the package); run from inside the copy,
    another package says so on stderr.

Each runs a fresh interpreter in a fresh copy, with MINITORCH7_BACKEND unset (the suite's
conftest sets it to numpy_ref) and no PYTHONPATH, so the copy picks its own default.
Marked ``learn_holes``, with the other proofs on learner copies of the real package.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from minitorch7.learn.check import find_task
from minitorch7.learn.make import make_copy, package_root, scan

pytestmark = pytest.mark.learn_holes
MATMUL = "1.3"
TEACHING = "kernels: numba_teach (teaching tier)"
LAB_TIMEOUT = 600


@pytest.fixture(scope="module")
def source():
    """The regions of the real package."""
    return scan()


def _run(cwd, *argv, timeout=120, **env):
    """``python -m minitorch7 *argv`` in ``cwd``, in the environment a learner would have."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MINITORCH7_BACKEND", "PYTHONPATH", "MINITORCH7_DEBUG")
             and not k.startswith(("PYTEST_", "COV_"))}
    return subprocess.run([sys.executable, "-m", "minitorch7", *map(str, argv)], cwd=cwd,
                          env={**clean, **env}, capture_output=True, text=True,
                          timeout=timeout)


def test_a_copy_without_the_matmul_stops_the_lab_on_that_hole(source, tmp_path):
    task = find_task(MATMUL)
    assert task.id in source.task_ids(), f"task {task.id} has no region"
    root = tmp_path / "copy"
    make_copy(root, {task.id}, source, check_import=False)
    lab = ("lab", "mlp", "--quick", "--datapath", "fixtures", "--savepath", tmp_path / "save")
    done = _run(root, *lab)
    assert done.returncode == 1, done.stdout + done.stderr
    assert TEACHING in done.stdout.splitlines()
    assert f"minitorch7: Task {task.id}: {task.title}. Hint: " in done.stderr
    assert re.search(r"^  raised at minitorch7/\S+\.py:\d+ in \S+$", done.stderr, re.M), (
        done.stderr)
    assert "Traceback" not in done.stderr
    debug = _run(root, *lab, MINITORCH7_DEBUG="1")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert f"NotImplementedError: Task {task.id}: " in debug.stderr


def test_a_complete_copy_trains_the_mlp_on_its_teaching_kernels(source, tmp_path):
    root = tmp_path / "copy"
    make_copy(root, set(), source, check_import=False)
    begin = time.perf_counter()
    done = _run(root, "lab", "mlp", "--quick", "--savepath", tmp_path / "save",
                timeout=LAB_TIMEOUT)
    seconds = time.perf_counter() - begin
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    assert TEACHING in lines, done.stdout[:2000]
    accuracies = [float(a) for a in re.findall(r"validation accuracy = ([0-9.]+)", done.stdout)]
    assert len(accuracies) == 3 and max(accuracies) > 0.9, (
        f"{seconds:.0f} s on the teaching kernels:\n{done.stdout}")
    assert (tmp_path / "save/mlp.t7").is_file()


def test_the_copy_runs_its_own_package_and_lab_and_another_says_so(source, tmp_path):
    root = tmp_path / "copy"
    make_copy(root, set(), source, check_import=False)
    code = ("import minitorch7, minitorch7.lab.train_mlp as lab, minitorch7.backends as b; "
            "print(minitorch7.__file__); print(lab.__file__); "
            "print(b.get_cpu_backend().__name__)")
    here = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True, timeout=120,
                          env={k: v for k, v in os.environ.items()
                               if k not in ("MINITORCH7_BACKEND", "PYTHONPATH")})
    assert here.returncode == 0, here.stderr
    package, lab, backend = here.stdout.split()
    assert Path(package).resolve() == (root / "minitorch7/__init__.py").resolve()
    assert Path(lab).resolve() == (root / "minitorch7/lab/train_mlp.py").resolve()
    assert backend == "minitorch7.backends.numba_teach"
    inside = _run(root, "learn", "list")
    assert inside.returncode == 0 and inside.stderr == "", inside.stderr
    running = package_root() / "minitorch7"
    elsewhere = _run(root / "tests", "learn", "list")  # Python imports the installed package
    assert elsewhere.returncode == 0, elsewhere.stderr
    warning = elsewhere.stderr.strip()
    assert warning.count("\n") == 0 and str(running) in warning and str(root) in warning
    assert "python -m minitorch7" in warning
