"""Sharing the cores with NumPy's BLAS: two thread pools in one process.

minitorch7's kernels run on Numba's pool; NumPy's matrix products on OpenBLAS's. After each
call OpenBLAS keeps its threads spinning, awake, for about 2^28 cycles (0.1 s) in case
another call comes. A kernel of ours that starts in that window shares its cores with
spinning threads: measured on 2 cores, a 1024 x 1024 product right after a NumPy product
took 2.5x its time alone (benchmarks/interference.py).

OPENBLAS_THREAD_TIMEOUT=4 (2^4 cycles, OpenBLAS's least) makes OpenBLAS's threads sleep at
once instead; OpenBLAS reads it when it loads, with NumPy. So `import minitorch7` sets it
(unless it is set already) when NumPy is not loaded yet: its command line, its tests and any
program that imports minitorch7 before NumPy are immune (the product after NumPy's: 1.05x
its time alone). A program that imported NumPy first can call `limit_blas_threads()`:
OpenBLAS then runs on one thread, which has nothing to spin with.
"""

import glob
import os
import sys

QUIET_BLAS = {"OPENBLAS_THREAD_TIMEOUT": "4"}


def quiet_blas_at_start():
    """Before NumPy loads: let OpenBLAS's threads sleep right after each call (QUIET_BLAS),
    unless the environment says otherwise. Returns False when NumPy was loaded already."""
    if "numpy" in sys.modules:
        return False
    for name, value in QUIET_BLAS.items():
        os.environ.setdefault(name, value)
    return True


def _openblas(function):
    """OpenBLAS's `function` ("set_num_threads", "get_num_threads") in the library NumPy
    loaded (its wheel's numpy.libs on Linux, .dylibs on macOS; the wheels name it
    scipy_openblas_..._64_), or None: another BLAS (Accelerate, MKL)."""
    import ctypes

    import numpy as np

    root = os.path.dirname(np.__file__)
    libraries = glob.glob(os.path.join(os.path.dirname(root), "numpy.libs", "*openblas*")) + \
        glob.glob(os.path.join(root, ".dylibs", "*openblas*"))
    for path in libraries:
        library = ctypes.CDLL(path)
        for name in (f"scipy_openblas_{function}64_", f"scipy_openblas_{function}",
                     f"openblas_{function}64_", f"openblas_{function}"):
            if hasattr(library, name):
                return getattr(library, name)
    return None


def blas_threads():
    """How many threads NumPy's OpenBLAS runs on (None: not OpenBLAS)."""
    getter = _openblas("get_num_threads")
    return None if getter is None else getter()


def limit_blas_threads(threads=1):
    """Run NumPy's OpenBLAS on `threads` threads (1: none left to spin beside our kernels).
    The one call for a program that loaded NumPy before minitorch7. Returns True if NumPy's
    BLAS is OpenBLAS and took it, False otherwise (no change)."""
    setter = _openblas("set_num_threads")
    if setter is None:
        return False
    setter(int(threads))
    return True
