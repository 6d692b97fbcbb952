"""The numba.cuda kernel primitives, teaching tier: the textbook shared-memory tiled matmul
(task 1.4), and the fast tier's other primitives.

In a learner copy (``minitorch7.backends.is_learner_copy()``), ``backends.cuda_backend()``
and so ``minitorch7.device.kernels_for(cuda_array)`` return this module instead of
``numba_cuda``: every product of CUDA tensors (``Tensor.mm``, ``@``, Linear, the LSTM's
steps, and their backward) then runs the kernel the learner writes here. This module is a
complete kernel module, so the ops never ask which tier they got: ``matmul`` and
``right_multiplier`` are its own; ``conv2d_*``, ``maxpool2d_*``, ``avgpool2d_*``,
``log_softmax`` and ``log_softmax_backward`` are numba_cuda's, imported unchanged (the
convolutions multiply with the fast matmul). ``TIER = "teaching"`` tells the ops to run the
LSTM step by step, as on the teaching CPU backend.

The kernel reads 3-d contiguous arrays ``a[z, i, kk]``, so that it can be written with
plain indices: the host side (``matmul``) broadcasts the batch dims and copies strided
views first, which costs a copy the fast kernel avoids by reading views in place.
"""

import math
from functools import cache

import numpy as np
from numba import cuda

from . import cuda_xp as xp
from .cuda_array import SIM
from .numba_cuda import (  # noqa: F401 (re-exported: this module is a whole kernel module)
    avgpool2d_backward,
    avgpool2d_forward,
    conv2d_backward_input,
    conv2d_backward_weight,
    conv2d_forward,
    log_softmax,
    log_softmax_backward,
    matmul_operands,
    maxpool2d_backward,
    maxpool2d_forward,
)

TIER = "teaching"
TPB = 4 if SIM else 16  # threads per block along each side (the simulator: one Python thread each)
MAX_GRID_Z = 65535  # CUDA's limit on gridDim.z: longer batches launch in chunks


@cache
def matmul_kernel(dtype, tpb=TPB):
    """The tiled matmul kernel for one dtype and tile side ``tpb`` (compiled on first launch;
    a shared array's shape and dtype must be constants of the compiled code)."""
    zero = np.dtype(dtype).type(0)

    @cuda.jit
    def kernel(a, b, c):
        """c[z] = a[z] @ b[z] for the batch index z = cuda.blockIdx.z: a (nbatch, n, k),
        b (nbatch, k, m) and c (nbatch, n, m) are contiguous device arrays of ``dtype``.

        Launched on a grid of (ceil(m / tpb), ceil(n / tpb), nbatch) blocks of (tpb, tpb)
        threads: block (bx, by, z) computes the tpb x tpb tile of c[z] whose first row is
        by*tpb and first column bx*tpb, and thread (tx, ty) of it the one element
        c[z, by*tpb + ty, bx*tpb + tx]. ``zero`` is 0 of ``dtype`` (start sums with it, so
        float32 stays float32); ``cuda.shared.array((tpb, tpb), dtype)`` makes a tile that
        all threads of the block share.

        The idea: the element's dot product runs over k in chunks of tpb. For each chunk the
        block first copies the tpb x tpb piece of a (its rows, the chunk's columns) and the
        piece of b (the chunk's rows, its columns) into shared memory, each thread one
        element of each (0 where the piece sticks out of the matrix, so the edge tiles need
        no special case). Every element of a piece is then read by tpb threads from fast
        shared memory instead of tpb times from global memory. Two barriers per chunk
        (``cuda.syncthreads()``): after the loads, so that no thread reads a tile before
        every thread has written its element; and after the products, so that no thread
        overwrites a tile with the next chunk while others still read this one. A barrier
        must be reached by every thread of the block: threads whose element lies outside c
        still load and wait, and only the final store is guarded.
        """
        # BEGIN TASK 1.4
        a_tile = cuda.shared.array((tpb, tpb), dtype)
        b_tile = cuda.shared.array((tpb, tpb), dtype)
        tx, ty, z = cuda.threadIdx.x, cuda.threadIdx.y, cuda.blockIdx.z
        row = cuda.blockIdx.y * tpb + ty
        col = cuda.blockIdx.x * tpb + tx
        n, k, m = a.shape[1], a.shape[2], b.shape[2]
        acc = zero
        for k0 in range(0, k, tpb):
            a_tile[ty, tx] = a[z, row, k0 + tx] if row < n and k0 + tx < k else zero
            b_tile[ty, tx] = b[z, k0 + ty, col] if k0 + ty < k and col < m else zero
            cuda.syncthreads()
            for kk in range(tpb):
                acc += a_tile[ty, kk] * b_tile[kk, tx]
            cuda.syncthreads()
        if row < n and col < m:
            c[z, row, col] = acc
        # END TASK 1.4

    return kernel


def _batched(x, batch):
    """The device array (nbatch, rows, cols) of ``x`` broadcast to ``batch`` + its last two
    dims: contiguous, a copy unless ``x`` already is."""
    x = xp.ascontiguousarray(xp.broadcast_to(x, batch + x.shape[-2:]))
    return x.buf[x.offset:x.offset + x.size].reshape((math.prod(batch),) + x.shape[-2:])


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m) by the tiled kernel with tiles of
    TPB x TPB; leading dims broadcast like np.matmul; the result's dtype is the operands'
    common dtype."""
    a, b, c, batch = matmul_operands(a, b)  # checks, dtype, c; the fast matmul's own
    if a is None:
        return c
    (n, m), nbatch = c.shape[-2:], math.prod(batch)
    a3, b3, c3 = _batched(a, batch), _batched(b, batch), _batched(c, batch)
    tpb = TPB
    kernel = matmul_kernel(c.dtype, tpb)
    for z0 in range(0, nbatch, MAX_GRID_Z):
        part = slice(z0, z0 + MAX_GRID_Z)
        grid = (-(-m // tpb), -(-n // tpb), min(MAX_GRID_Z, nbatch - z0))
        kernel[grid, (tpb, tpb)](a3[part], b3[part], c3[part])
    return c


def right_multiplier(b):
    """f with f(a) = matmul(a, b) (numba_cpu's packs b once; here nothing is prepared)."""
    return lambda a: matmul(a, b)
