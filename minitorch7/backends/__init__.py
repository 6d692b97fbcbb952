"""Array kernels behind one small interface (see the module docstrings for the primitives).

Three modules implement the same functions on plain arrays, knowing nothing of autograd:

    numpy_ref   plain NumPy: the readable reference and the test oracle
    numba_cpu   @njit(parallel=True, cache=True) kernels: the CPU default
    numba_cuda  numba.cuda kernels, for CUDA tensors

The CPU backend is chosen by `set_cpu_backend(name)`, or at start-up by the environment
variable MINITORCH7_BACKEND=numpy_ref|numba_cpu (numba_cpu when unset).
"""

import importlib
import os

CPU_BACKENDS = ("numba_cpu", "numpy_ref")
_cpu = None


def set_cpu_backend(name):
    """Select the CPU backend by name ("numba_cpu" or "numpy_ref"); returns the module."""
    global _cpu
    if name not in CPU_BACKENDS:
        raise ValueError(f"set_cpu_backend: expected one of {CPU_BACKENDS}, got {name!r}")
    _cpu = importlib.import_module(f"{__name__}.{name}")
    return _cpu


def get_cpu_backend():
    """The CPU backend module in use (imported on first use, from MINITORCH7_BACKEND)."""
    if _cpu is None:
        name = os.environ.get("MINITORCH7_BACKEND") or "numba_cpu"
        if name not in CPU_BACKENDS:
            raise ValueError(f"MINITORCH7_BACKEND: expected one of {CPU_BACKENDS}, got {name!r}")
        return set_cpu_backend(name)
    return _cpu


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
    """True in a learner copy: the file minitorch7/LEARNER_COPY exists (`learn make` writes
    it)."""
    return os.path.exists(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                       "LEARNER_COPY"))
