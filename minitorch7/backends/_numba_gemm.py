"""Blocked matrix product c = a @ b in Numba, the engine under matmul and conv2d.

How it is fast (the GotoBLAS/BLIS recipe):
  1. Packing. b (k, m) is copied into panels bp (nkb, m/NR, kb, NR): one k-block of kb rows
     and NR columns each, contiguous and zero-padded; a is packed the same way from its
     transpose, ap (nkb, n/MR, kb, MR). Any strides come in; contiguous panels come out.
  2. Micro-kernel (_tile_product). One MR x NR tile of c is kb rank-1 updates:
     tile += outer(ap[kk], bp[kk]) for kk < kb. The tile lives in MR * NV vector registers
     (NR = NV vectors per row); each step loads NV vectors of bp[kk], broadcasts each of the
     MR numbers of ap[kk] and does MR * NV fused multiply-adds, with no horizontal sums.
     The finished tile goes from the registers straight into c (tile_into).
  3. Blocking. A task owns a block of about MC x nc of c; one A panel (kb x MR) stays in
     L1 while the block's B panels (kb x nc) stream through it from L2. kb and nc follow the
     sizes of this CPU's caches (cpu_target.blocking: on an AMD Zen 4, L1 32 KB and L2
     1 MB, kb = 512 and nc = 256 float32 columns; on an Intel core with 512 KB of L2, half
     that nc). When c has too few blocks for the threads
     (small n and m, huge k: conv weight gradients) the k-blocks are split between tasks
     and their partial sums added at the end. A b used for many products (an LSTM's
     recurrent weight) can be packed once: pack_right, then gemm_panels.

The tile is written as LLVM vector code (an @intrinsic), not as Python loops: LLVM does not
keep a two-dimensional tile of accumulators in registers when it is written as loops over a
stack array (it spills them to memory every step, 40x slower). The vectors are 64 bytes on
CPUs with AVX-512 and 32 bytes otherwise; MR is as large as the registers allow.

The compile cache: a parallel kernel is called from Python only. _pack, _gemm_packed and
numba_cpu's kernels are @njit(parallel=True, cache=True); the glue that packs and multiplies
(pack_right, gemm_panels, gemm) is Python, and code shared by kernels is inlined
(inline="always": _panels' parallel loop becomes the caller's own). No cached jitted
function calls a parallel one (tests/backends/test_kernel_cache.py checks this), because
such a caller's cache entry can be incomplete. Machine code with a parallel loop calls
Numba's threading layer (numba_parallel_for, get_num_threads, ...), whose addresses the JIT
learns when the layer is launched; the cache entry of a parallel function asks for that
launch before its code is loaded ("reload_init"), since its own compile added the request.
A serial caller links a copy of the callee's code, and in numba 0.68 inherits the request
only from a callee compiled in the same process: a callee loaded from the cache brings
none, so the caller is cached without it. A later process whose first kernel is that caller
loads it with the layer never launched and calls address 0: SIGSEGV. It was pack_right (then
jitted) compiled in a process that had loaded _pack from the cache, then loaded by a small
language model's LSTM (right_multiplier) with no parallel kernel run before it (its products
were all small enough to run serially): `minitorch7 sample` exiting with code 139.
"""

from functools import cache

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from .cpu_target import blocking, tile_geometry

# The register tile, fixed at compile time for the CPU Numba compiles for (cpu_target):
# VEC_BYTES-wide vectors, MR rows of NV vectors each (NR = NV * VEC_BYTES / itemsize columns:
# 32 float32 with AVX-512). The cache blocking (kb, nc) is chosen at run time (`blocking`).
VEC_BYTES, MR, NV = tile_geometry()
KB = 512  # rows of a packed panel at most (one k-block)
MC = 128  # rows of c per parallel task, about
CHUNK = 1 << 20  # numbers of a or of b packed at once, at most about


@njit(inline="always")
def tile_width(dtype_like):
    """NR: columns of a tile (and of a B panel) for this dtype."""
    return NV * (VEC_BYTES // dtype_like.itemsize)


def _tile_product_of(vectors):
    """_tile_product for tiles of `vectors` vectors per row (NV, or 1 for a narrow tile)."""
    def tile_product(typingctx, kb, a, a_rows, a_step, b, b_rows, b_step, c, i0, j0, accumulate):
        return _tile_typing(vectors, kb, a, a_rows, a_step, b, b_rows, b_step, c, i0, j0,
                            accumulate)
    tile_product.__name__ = tile_product.__qualname__ = f"tile_product_{vectors}"
    return intrinsic(tile_product)


def _tile_typing(vectors, kb, a, a_rows, a_step, b, b_rows, b_step, c, i0, j0, accumulate):
    """_tile_product(kb, a, a_rows, a_step, b, b_rows, b_step, c, i0, j0, accumulate):
    c[i0:i0+MR, j0:j0+NR] (+)= sum over kk < kb of outer(A[kk], B[kk]), one tile, where
    A[kk, i] = a[a_rows[i] + kk * a_step] (i < MR) and B[kk, j] = b[b_rows[kk] + j] (j < NR);
    `accumulate` adds to c instead of overwriting it. No bounds are checked: the caller
    keeps the tile inside c. (A narrow tile does the same for j < NR / NV.)

    a and b are 1-D and contiguous, c is 2-D and C-contiguous. a_rows = None means rows
    0..MR-1, b_rows = None means b_rows[kk] = kk * b_step: packed panels (the gemm) pass
    None, MR, None, NR. conv2d passes offsets into an image instead, so that its windows
    need no copying. (The tables cost registers: with both None, every address is one base
    plus a constant, and nothing spills.) The tile goes from the registers straight into c:
    through a buffer, each tile's extra store and reload cost a tenth of a product with a
    short k.
    """
    if c.layout != "C":
        return None  # rows of c must be contiguous
    rows_given, offsets_given = (isinstance(t, types.Array) for t in (a_rows, b_rows))

    def codegen(context, builder, signature, args):
        kb, a, a_rows, a_step, b, b_rows, b_step, c, i0, j0, accumulate = (
            context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
            for t, v in zip(signature.args, args))
        real = context.get_value_type(signature.args[1].dtype)
        width = VEC_BYTES // context.get_abi_sizeof(real)
        vector = ir.VectorType(real, width)
        i64 = ir.IntType(64)
        acc = [cgutils.alloca_once_value(builder, ir.Constant(vector, [0.0] * width))
               for _ in range(MR * vectors)]  # promoted to registers by LLVM (mem2reg)
        a_starts = [builder.gep(a.data, [builder.load(builder.gep(a_rows.data, [i64(i)]))
                                         if rows_given else i64(i)]) for i in range(MR)]
        splat = ir.Constant(ir.VectorType(ir.IntType(32), width), [0] * width)

        def vector_at(base, offset):
            return builder.bitcast(builder.gep(base, [offset]), vector.as_pointer())

        pitch = builder.sdiv(cgutils.unpack_tuple(builder, c.strides, 2)[0],
                             i64(context.get_abi_sizeof(real)))
        corner = builder.gep(c.data, [builder.add(builder.mul(i0, pitch), j0)])
        c_vectors = [vector_at(corner, builder.add(builder.mul(i64(i), pitch), i64(v * width)))
                     for i in range(MR) for v in range(vectors)]
        with cgutils.for_range(builder, kb) as loop:
            kk = loop.index
            b_offset = (builder.load(builder.gep(b_rows.data, [kk])) if offsets_given
                        else builder.mul(kk, b_step))
            b_row = builder.gep(b.data, [b_offset])
            b_vectors = [builder.load(vector_at(b_row, i64(v * width)), align=1)
                         for v in range(vectors)]
            a_offset = builder.mul(kk, a_step)
            for i in range(MR):
                a_number = builder.load(builder.gep(a_starts[i], [a_offset]))
                a_vector = builder.shuffle_vector(
                    builder.insert_element(ir.Constant(vector, ir.Undefined), a_number, i64(0)),
                    ir.Constant(vector, ir.Undefined), splat)
                for v in range(vectors):
                    product = builder.fmul(a_vector, b_vectors[v], flags=("fast",))
                    total = builder.fadd(builder.load(acc[i * vectors + v]), product,
                                         flags=("fast",))
                    builder.store(total, acc[i * vectors + v])
        with builder.if_then(builder.icmp_unsigned("!=", accumulate, accumulate.type(0))):
            for total, address in zip(acc, c_vectors):
                builder.store(builder.fadd(builder.load(total), builder.load(address, align=1),
                                           flags=("fast",)), total)
        for total, address in zip(acc, c_vectors):
            builder.store(builder.load(total), address, align=1)
        return context.get_dummy_value()

    signature = types.none(kb, a, a_rows, a_step, b, b_rows, b_step, c, types.int64, types.int64,
                           accumulate)
    return signature, codegen


_tile_product, _narrow_tile_product = _tile_product_of(NV), _tile_product_of(1)


@njit(parallel=True, cache=True)
def _pack(x, width, kb):
    """_panels(x, width, kb), in parallel (pack_right, and conv2d's weights)."""
    return _panels(x, width, kb)


@njit(inline="always")
def _panels(x, width, kb):
    """x (k, n), any strides -> panels (ceil(k/kb), ceil(n/width), kb, width), zero-padded:
    panel [q, j] holds x[q*kb:(q+1)*kb, j*width:(j+1)*width].

    The loop order follows x's strides so that reads run along memory: row by row when x's
    rows are contiguous (a task then fills `group` neighbouring panels from each row, about
    64 numbers), column by column when its columns are.
    """
    k, n = x.shape
    nkb, npan = (k + kb - 1) // kb, (n + width - 1) // width
    p = np.empty((nkb, npan, kb, width), x.dtype)
    along_rows = x.strides[1] <= x.strides[0]
    group = max(1, 64 // width) if along_rows else 1
    ngroups = (npan + group - 1) // group
    for t in prange(nkb * ngroups):
        q, g = t // ngroups, t % ngroups
        k0, rows = q * kb, min(kb, k - q * kb)
        last = min(npan, (g + 1) * group)
        for jp in range(g * group, last):  # the zero padding: past k, past n
            p[q, jp, rows:] = 0
            p[q, jp, :, min(width, n - jp * width):] = 0
        if along_rows:
            for kk in range(rows):
                for jp in range(g * group, last):
                    j0 = jp * width
                    src, dst = x[k0 + kk, j0:min(n, j0 + width)], p[q, jp, kk]
                    for j in range(src.shape[0]):
                        dst[j] = src[j]
        else:
            for jp in range(g * group, last):
                for j in range(min(width, n - jp * width)):
                    src, dst = x[k0:k0 + rows, jp * width + j], p[q, jp, :, j]
                    for kk in range(rows):
                        dst[kk] = src[kk]
    return p


@njit(inline="always")
def tile_into(kb, a, a_rows, a_step, b, b_rows, b_step, c, i0, j0, i1, j1, accumulate, ct):
    """c[i0:i0+MR, j0:j0+NR] (+)= _tile_product's tile, clipped to rows < i1 and columns <
    j1 (a panel's zero padding is dropped): a whole tile goes straight into c, a clipped one
    through the buffer ct (MR, NR); when one vector covers the columns left, only that is
    computed (m = 200 in float32: 6 tiles of 32 columns and a narrow one of 16, not 7 x 32).
    c is C-contiguous."""
    nr = ct.shape[1]
    if i0 + MR <= i1 and j0 + nr <= j1:
        _tile_product(kb, a, a_rows, a_step, b, b_rows, b_step, c, i0, j0, accumulate)
    elif j1 - j0 <= nr // NV:
        _narrow_tile_product(kb, a, a_rows, a_step, b, b_rows, b_step, ct, 0, 0, False)
    else:
        _tile_product(kb, a, a_rows, a_step, b, b_rows, b_step, ct, 0, 0, False)
    if i0 + MR > i1 or j0 + nr > j1:
        for i in range(min(MR, i1 - i0)):
            row = c[i0 + i]
            for j in range(min(nr, j1 - j0)):
                row[j0 + j] = row[j0 + j] + ct[i, j] if accumulate else ct[i, j]


@njit(inline="always")
def _balanced(panels, per_block):
    """Split `panels` into equal blocks of at most `per_block`: (blocks, panels per block)."""
    blocks = (panels + per_block - 1) // per_block
    return blocks, (panels + blocks - 1) // blocks


@njit(inline="always")
def _block_product(ap, bp, c, ci, cj, n, m, ib0, ib1, jb0, jb1, q0, splits, accumulate):
    """c[ci:ci+n, cj:cj+m] (+)= the tiles of rows ib0..ib1 and columns jb0..jb1 of the
    panels' product, summed over the k-blocks q0, q0 + splits, ... (the first one adds to c
    only if `accumulate`)."""
    nr = bp.shape[3]
    ct = np.empty((MR, nr), ap.dtype)
    for q in range(q0, ap.shape[0], splits):
        for ib in range(ib0, ib1):
            for jb in range(jb0, jb1):
                tile_into(ap.shape[2], ap[q, ib].ravel(), None, MR, bp[q, jb].ravel(), None, nr,
                          c, ci + ib * MR, cj + jb * nr, ci + n, cj + m, accumulate or q != q0, ct)


@njit(parallel=True, cache=True)
def _gemm_packed(a, bp, c, ci, cj, m, nc, threads, accumulate):
    """c[ci:ci+n, cj:cj+m] (+)= a (n, k) @ b, b given as its panels bp (pack_right); c
    C-contiguous. a is packed here (its panels ap), then multiplied.

    A task owns a block of about MC rows by nc columns (blocks of equal size, so the
    threads get equal work) and one of `splits` interleaved sets of k-blocks (about two
    tasks a thread, no more sets than k-blocks): set 0 goes into c, the others into parts
    added to c at the end.
    """
    ap = _panels(a.T, MR, bp.shape[2])
    n, na, nb = a.shape[0], ap.shape[1], bp.shape[1]
    ti, pi = _balanced(na, MC // MR)
    tj, pj = _balanced(nb, max(1, nc // bp.shape[3]))
    splits = min(ap.shape[0], max(1, (2 * threads + ti * tj - 1) // (ti * tj)))
    parts = np.empty((splits - 1, n, m), ap.dtype)
    for t in prange(ti * tj * splits):
        s = t % splits
        ib0, jb0 = (t // splits // tj) * pi, (t // splits % tj) * pj
        ib1, jb1 = min(na, ib0 + pi), min(nb, jb0 + pj)
        if s == 0:
            _block_product(ap, bp, c, ci, cj, n, m, ib0, ib1, jb0, jb1, s, splits, accumulate)
        else:
            _block_product(ap, bp, parts[s - 1], 0, 0, n, m, ib0, ib1, jb0, jb1, s, splits,
                           False)
    if splits > 1:
        for i in prange(n):
            for s in range(splits - 1):
                for j in range(m):
                    c[ci + i, cj + j] += parts[s, i, j]


@cache
def _blocking(dtype):
    """(kb, nc) of cpu_target.blocking for this dtype and tile."""
    itemsize = np.dtype(dtype).itemsize
    return blocking(itemsize, MR, NV * VEC_BYTES // itemsize, KB)


def k_block(k, dtype):
    """Rows of a k-block: k split into equal blocks of at most kb (_blocking)."""
    kb = _blocking(dtype)[0]
    return (k + (k + kb - 1) // kb - 1) // ((k + kb - 1) // kb)


def pack_right(b):
    """The B panels of b (k, m), one k-block each of at most kb rows (see _panels), for
    gemm_panels: pack once, multiply many times."""
    return _pack(b, NV * (VEC_BYTES // b.itemsize), k_block(b.shape[0], b.dtype))


def gemm_panels(a, bp, m, threads, c=None, ci=0, cj=0, accumulate=False):
    """c (n, m) = a (n, k) @ b for b (k, m) packed by pack_right (a fresh c, or the block
    c[ci:ci+n, cj:cj+m] of a given one, added to it if `accumulate`)."""
    if c is None:
        c = np.empty((a.shape[0], m), a.dtype)
    _gemm_packed(a, bp, c, ci, cj, m, _blocking(a.dtype)[1], threads, accumulate)
    return c


@njit(cache=True)
def _gemm_serial_packed(a, b, c, kb):
    """c (n, m) = a (n, k) @ b (k, m) on the calling thread: both operands packed (the
    panels' loops run serially here), then every tile in turn. For small products, where
    starting the threads costs more than the product (a 32 x 200 x 10 product: 4 us here
    against 15 us in parallel)."""
    bp = _panels(b, tile_width(b), kb)
    ap = _panels(a.T, MR, kb)
    _block_product(ap, bp, c, 0, 0, a.shape[0], b.shape[1], 0, ap.shape[1], 0, bp.shape[1], 0,
                   1, False)


def gemm_serial(a, b):
    """c (n, m) = a (n, k) @ b (k, m), one thread (see _gemm_serial_packed)."""
    c = np.empty((a.shape[0], b.shape[1]), a.dtype)
    if c.size:
        if a.shape[1] == 0:
            c[:] = 0
        else:
            _gemm_serial_packed(a, b, c, k_block(a.shape[1], a.dtype))
    return c


def _chunk(size, budget, least):
    """How much of a dimension of `size` one chunk takes: budget, at least `least`."""
    return min(size, max(least, budget))


def gemm(a, b, threads):
    """c (n, m) = a (n, k) @ b (k, m) for float32/float64 arrays of any strides; c contiguous.

    threads: how many threads will run the parallel loops (numba.get_num_threads()).
    Large operands go through in chunks of about CHUNK numbers each (c's rows, c's columns,
    and k when it is long), so the packed copies stay small: a 400 x 10000 operand is not
    copied whole.
    """
    n, k = a.shape
    m = b.shape[1]
    if n == 0 or k == 0 or m == 0:
        return np.zeros((n, m), a.dtype)
    c = np.empty((n, m), a.dtype)  # the first k-chunk writes every element
    kc = k if k <= 8 * KB else _chunk(k, CHUNK // max(n, m) // KB * KB, KB)
    nc, mc = _chunk(n, CHUNK // kc, MC), _chunk(m, CHUNK // kc, _blocking(a.dtype)[1])
    for k0 in range(0, k, kc):
        for i0 in range(0, n, nc):
            for j0 in range(0, m, mc):
                gemm_panels(a[i0:i0 + nc, k0:k0 + kc], pack_right(b[k0:k0 + kc, j0:j0 + mc]),
                            min(mc, m - j0), threads, c, i0, j0, k0 > 0)
    return c
