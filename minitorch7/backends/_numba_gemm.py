"""Blocked matrix product c = a @ b in Numba, the engine under matmul and conv2d.

How it is fast (the GotoBLAS recipe, reshaped for what LLVM vectorises well):
  1. Packing. a (n, k) is copied into row panels ap (nkb, n/MR, MR, kb): MR rows of a, one
     k-block of kb columns, contiguous and zero-padded. b is packed the same way from its
     transpose: bp (nkb, m/NR, NR, kb). Any strides come in; contiguous panels come out.
  2. Micro-kernel. One MR x NR tile of c is MR*NR dot products over a k-block:
     tile[i, j] = sum_kk ap[i, kk] * bp[j, kk]. The MR*NR accumulators live on the stack
     (so LLVM keeps them in registers) and the kk loop runs from 0 over contiguous rows, so
     LLVM vectorises it (fastmath lets it reorder the sums).
  3. Blocking. kb is chosen so that one A panel and one B panel (MR + NR rows of kb) stay in
     L1 while the tile is computed; parallel tasks own MC x NC blocks of c, and when c has
     too few blocks for the cores (small n and m, huge k: conv weight gradients) the k-blocks
     are split between tasks and their partial sums added at the end.
"""

import numpy as np
from numba import carray, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

MR, NR = 4, 4  # register tile: MR x NR accumulators
KB_BYTES = 2048  # bytes of one packed panel row (one k-block): 512 float32 or 256 float64
MC, NC = 128, 128  # rows and columns of c per parallel task
VEC = 16  # k-blocks are padded to a multiple of this, so vector loops need no scalar tail


@intrinsic
def _stack_tile(typingctx, like):
    """Pointer to MR*NR uninitialised stack slots of like's dtype (registers after SROA)."""
    dtype = like.dtype

    def codegen(context, builder, signature, args):
        return cgutils.alloca_once(builder, context.get_value_type(dtype), size=MR * NR)

    return types.CPointer(dtype)(like), codegen


@njit(fastmath=True, inline="always", cache=True)
def _micro_kernel(ap, bp, ct, accumulate):
    """ct (MR, NR) (+)= ap (MR, kb) @ bp (NR, kb).T, both panels contiguous."""
    # BEGIN TASK 2.1
    acc = carray(_stack_tile(ap), (MR, NR))
    for i in range(MR):
        for j in range(NR):
            acc[i, j] = 0
    for kk in range(ap.shape[1]):
        for i in range(MR):
            for j in range(NR):
                acc[i, j] += ap[i, kk] * bp[j, kk]
    for i in range(MR):
        for j in range(NR):
            ct[i, j] = ct[i, j] + acc[i, j] if accumulate else acc[i, j]
    # END TASK 2.1


@njit(parallel=True, cache=True)
def _pack(x, rows, kb):
    """x (n, k), any strides -> panels (ceil(k/kb), ceil(n/rows), rows, kb), zero-padded."""
    n, k = x.shape
    nkb = (k + kb - 1) // kb
    npan = (n + rows - 1) // rows
    p = np.zeros((nkb, npan, rows, kb), x.dtype)
    for ip in prange(npan):
        for q in range(nkb):
            dst = p[q, ip]
            for kk in range(min(kb, k - q * kb)):
                for r in range(min(rows, n - ip * rows)):
                    dst[r, kk] = x[ip * rows + r, q * kb + kk]
    return p


@njit(parallel=True, fastmath=True, cache=True)
def _gemm_packed(ap, bp, splits):
    """Panels -> parts (splits, n_pad, m_pad); part s sums the k-blocks q = s, s + splits, ...

    splits <= number of k-blocks, so every part gets at least one block.
    """
    nkb, na = ap.shape[0], ap.shape[1]
    nb = bp.shape[1]
    ti = (na * MR + MC - 1) // MC
    tj = (nb * NR + NC - 1) // NC
    parts = np.empty((splits, na * MR, nb * NR), ap.dtype)
    for t in prange(ti * tj * splits):
        s = t % splits
        ib0 = (t // splits // tj) * (MC // MR)
        jb0 = (t // splits % tj) * (NC // NR)
        c = parts[s]
        for q in range(s, nkb, splits):
            for jb in range(jb0, min(nb, jb0 + NC // NR)):
                bpj = bp[q, jb]
                for ib in range(ib0, min(na, ib0 + MC // MR)):
                    ct = c[ib * MR:(ib + 1) * MR, jb * NR:(jb + 1) * NR]
                    _micro_kernel(ap[q, ib], bpj, ct, q != s)
    return parts


@njit(parallel=True, cache=True)
def _sum_parts(parts, n, m):
    """parts (S, n_pad, m_pad) -> c (n, m) = sum over S of the top-left n x m corners."""
    c = np.empty((n, m), parts.dtype)
    for i in prange(n):
        for j in range(m):
            c[i, j] = parts[0, i, j]
        for s in range(1, parts.shape[0]):
            for j in range(m):
                c[i, j] += parts[s, i, j]
    return c


@njit(cache=True)
def gemm(a, b, threads):
    """c (n, m) = a (n, k) @ b (k, m) for float32/float64 arrays of any strides; c contiguous.

    threads: how many threads will run the parallel loops (numba.get_num_threads()).
    """
    n, k = a.shape
    m = b.shape[1]
    if n == 0 or k == 0 or m == 0:
        return np.zeros((n, m), a.dtype)
    kb = KB_BYTES // a.itemsize
    nkb = (k + kb - 1) // kb
    kb = (k + nkb - 1) // nkb  # balanced k-blocks ...
    kb = (kb + VEC - 1) // VEC * VEC  # ... padded for whole vectors
    ap = _pack(a, MR, kb)
    bp = _pack(b.T, NR, kb)
    tasks = ((n + MC - 1) // MC) * ((m + NC - 1) // NC)
    splits = min(nkb, max(1, (2 * threads + tasks - 1) // tasks))
    parts = _gemm_packed(ap, bp, splits)
    if splits == 1 and parts.shape[1] == n and parts.shape[2] == m:
        return parts[0]
    return _sum_parts(parts, n, m)
