"""Which array library and which kernels serve an array: NumPy and the CPU backend for
``numpy.ndarray``; for CUDA arrays the namespace ``backends.cuda_xp`` and the kernel module
of ``backends.cuda_backend()`` (``numba_cuda``, or ``numba_cuda_teach`` in a learner copy)."""

import numpy as np

from .backends import cuda_backend, cuda_namespace, get_cpu_backend


def array_module(array):
    """The NumPy-like namespace (``xp``) that operates on ``array``."""
    return np if isinstance(array, np.ndarray | np.generic) else cuda_namespace()


def kernels_for(array):
    """The backend module whose matmul / conv / pool kernels run on ``array``."""
    return get_cpu_backend() if isinstance(array, np.ndarray | np.generic) else cuda_backend()
