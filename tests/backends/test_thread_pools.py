"""OpenBLAS's idle threads and ours: import minitorch7 before NumPy and they sleep at once;
limit_blas_threads() when NumPy came first. (The speed this buys is measured by
benchmarks/interference.py, not here.)"""

import os
import subprocess
import sys

import pytest

from minitorch7.backends import thread_pools

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _python(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    run = subprocess.run([sys.executable, "-c", code], env={**environment, **env}, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_importing_minitorch7_first_quiets_openblas():
    assert _python("import os, minitorch7; print(os.environ['OPENBLAS_THREAD_TIMEOUT'])") == \
        [thread_pools.QUIET_BLAS["OPENBLAS_THREAD_TIMEOUT"]]


def test_a_setting_of_the_user_wins():
    code = "import os, minitorch7; print(os.environ['OPENBLAS_THREAD_TIMEOUT'])"
    assert _python(code, OPENBLAS_THREAD_TIMEOUT="20") == ["20"]


def test_numpy_first_is_left_alone():
    code = ("import os, numpy, minitorch7.backends.thread_pools as t; "
            "print(t.quiet_blas_at_start(), os.environ.get('OPENBLAS_THREAD_TIMEOUT'))")
    assert _python(code) == ["False", "None"]


@pytest.mark.skipif(thread_pools.blas_threads() is None,
                    reason="NumPy's BLAS is not OpenBLAS here: nothing to limit")
def test_limit_blas_threads_sets_openblas_threads():
    code = ("import numpy, minitorch7; from minitorch7.backends.thread_pools import blas_threads;"
            "before = blas_threads(); print(minitorch7.limit_blas_threads(1), before > 0,"
            "blas_threads(), float(numpy.ones(300) @ numpy.ones(300)))")
    assert _python(code) == ["True", "True", "1", "300.0"]
