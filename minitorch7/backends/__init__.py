"""Array kernels behind one small interface (written down in `interface.py`).

Every backend module implements the same primitives on plain arrays, knowing nothing of
autograd (matmul, right_multiplier, conv2d_*, maxpool2d_*, avgpool2d_*, log_softmax*), and
says which tier it belongs to in `TIER`:

    numpy_ref    "reference"  plain NumPy: the readable reference and the test oracle
    numba_teach  "teaching"   plain @njit(parallel=True) loops: the kernels a learner writes
                              (the task regions live here); the CPU default in a learner copy
    numba_cpu    "fast"       packed, register-tiled @njit kernels: the CPU default otherwise
    numba_cuda   "fast"       numba.cuda kernels, for CUDA tensors (`cuda_backend()` names
                              the module that serves them)

The CPU backend is chosen by `set_cpu_backend(name)`, or at start-up by the environment
variable MINITORCH7_BACKEND=numba_cpu|numba_teach|numpy_ref. When it is unset: numba_teach
in a learner copy (`is_learner_copy()`: the file minitorch7/LEARNER_COPY exists; `learn
make` writes it), numba_cpu otherwise.

Importing this package, before NumPy, lets OpenBLAS's idle threads sleep at once so that
they do not spin beside our kernels (`thread_pools`; `limit_blas_threads()` when NumPy came
first).
"""

import importlib
import os

from .thread_pools import limit_blas_threads as limit_blas_threads
from .thread_pools import quiet_blas_at_start

quiet_blas_at_start()  # OpenBLAS's idle threads sleep at once (thread_pools), if not loaded yet
CPU_BACKENDS = ("numba_cpu", "numba_teach", "numpy_ref")
LEARNER_COPY_MARK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                 "LEARNER_COPY")
_cpu = None


def set_cpu_backend(name):
    """Select the CPU backend by name (one of CPU_BACKENDS); returns the module."""
    global _cpu
    if name not in CPU_BACKENDS:
        raise ValueError(f"set_cpu_backend: expected one of {CPU_BACKENDS}, got {name!r}")
    _cpu = importlib.import_module(f"{__name__}.{name}")
    return _cpu


def get_cpu_backend():
    """The CPU backend module in use (imported on first use: MINITORCH7_BACKEND, else
    `default_cpu_backend()`)."""
    if _cpu is None:
        name = os.environ.get("MINITORCH7_BACKEND") or default_cpu_backend()
        if name not in CPU_BACKENDS:
            raise ValueError(f"MINITORCH7_BACKEND: expected one of {CPU_BACKENDS}, got {name!r}")
        return set_cpu_backend(name)
    return _cpu


def default_cpu_backend():
    """The CPU backend's name when MINITORCH7_BACKEND is unset: "numba_teach" in a learner
    copy (the kernels the learner writes run the lab), "numba_cpu" otherwise."""
    return "numba_teach" if is_learner_copy() else "numba_cpu"


def cuda_backend():
    """The kernel module for CUDA arrays (matmul, right_multiplier, conv2d_*, pooling,
    log_softmax on CudaArrays): ``numba_cuda_teach`` in a learner copy (the teaching tier:
    its matmul is the tiled kernel of task 1.4), else ``numba_cuda`` (the fast tier).
    Imported lazily: importing numba.cuda costs time."""
    name = "numba_cuda_teach" if is_learner_copy() else "numba_cuda"
    return importlib.import_module(f"{__name__}.{name}")


def cuda_namespace():
    """``cuda_xp``, the NumPy-like namespace (``xp``) of CudaArrays (imported lazily)."""
    return importlib.import_module(f"{__name__}.cuda_xp")


def is_learner_copy():
    """True in a learner copy: the file LEARNER_COPY_MARK (minitorch7/LEARNER_COPY) exists;
    `learn make` writes it."""
    return os.path.exists(LEARNER_COPY_MARK)
