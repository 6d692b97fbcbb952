"""Which array library and which kernels serve an array: NumPy + the CPU backend for
``numpy.ndarray``, the numba.cuda backend for CUDA arrays."""

import numpy as np

from .backends import cuda_backend, get_cpu_backend


def array_module(array):
    """The NumPy-like namespace (``xp``) that operates on ``array``."""
    return np if isinstance(array, np.ndarray | np.generic) else cuda_backend()


def kernels_for(array):
    """The backend module whose matmul / conv / pool kernels run on ``array``."""
    return get_cpu_backend() if isinstance(array, np.ndarray | np.generic) else cuda_backend()
