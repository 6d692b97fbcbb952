"""The numba.cuda backend: the kernel primitives of numpy_ref, plus the NumPy-like
namespace (``xp``) the autograd ops use on CudaArrays.

Primitives: ``matmul`` (shared-memory tiled, register-blocked), ``conv2d_*`` (im2col /
col2im kernels around that matmul), ``maxpool2d_*`` and ``avgpool2d_*`` (one thread per
output, or per input pixel for the backward gathers: deterministic, no atomics).
Namespace: creation, elementwise math (templates in cuda_array), reductions (one block per
output, shared-memory tree), shapes (views), indexing (take, *_along_axis, ``add.at``),
log_softmax and nll_loss. Everything stays on the device; only ``to_numpy``, ``item`` and
boolean-mask indexing copy to the host.
"""

import builtins
import math
import numbers
from functools import cache

import numpy as np
from numba import cuda

from ._shapes import _dims, conv2d_shape, matmul_shapes, pairs, pool2d_shape
from .cuda_array import (
    SIM,
    CudaArray,
    as_operand,
    binary,
    broadcast_strides,
    coalesce,
    empty,
    fancy_get,
    fancy_scatter,
    flat_pos,
    from_numpy,
    grid_1d,
    is_fancy,
    unary,
)
from .cuda_array import where as _where

__all__ = ["CudaArray", "from_numpy"]  # plus the NumPy-style names below

float16, float32, float64 = np.float16, np.float32, np.float64
int32, int64, bool_ = np.int32, np.int64, np.bool_
inf, nan, pi, newaxis = np.inf, np.nan, np.pi, None

RED_THREADS = 4 if SIM else 128  # threads per reduction block (a power of two)
RED_BLOCKS = 2 if SIM else 65535


# ================================================================ creation
def zeros(shape, dtype=np.float64):
    return full(shape, 0, dtype)


def ones(shape, dtype=np.float64):
    return full(shape, 1, dtype)


def full(shape, fill_value, dtype=None):
    out = empty(shape, np.result_type(fill_value) if dtype is None else dtype)
    out.fill(fill_value)
    return out


def zeros_like(x, dtype=None):
    return zeros(x.shape, x.dtype if dtype is None else dtype)


def ones_like(x, dtype=None):
    return ones(x.shape, x.dtype if dtype is None else dtype)


def empty_like(x, dtype=None):
    return empty(x.shape, x.dtype if dtype is None else dtype)


def full_like(x, fill_value, dtype=None):
    return full(x.shape, fill_value, x.dtype if dtype is None else dtype)


def asarray(x, dtype=None):
    """A CudaArray of ``x`` (a CudaArray, or host data copied to the GPU)."""
    x = x if isinstance(x, CudaArray) else from_numpy(np.asarray(x))
    return x if dtype is None else x.astype(dtype, copy=False)


@cuda.jit
def _arange_kernel(n, out, start, step):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = start + i * step


def arange(start, stop=None, step=1, dtype=None):
    start, stop = (0, start) if stop is None else (start, stop)
    dtype = np.result_type(start, stop, step) if dtype is None else np.dtype(dtype)
    n = builtins.max(0, math.ceil((stop - start) / step))
    out = empty(n, dtype)
    if n:
        _arange_kernel[grid_1d(n)](n, out.buf, dtype.type(start), dtype.type(step))
    return out


def indices(dimensions, dtype=np.int64, sparse=False):
    """np.indices: a grid of coordinates; sparse gives broadcastable aranges."""
    nd = len(dimensions)
    grids = tuple(arange(n, dtype=dtype).reshape((1,) * d + (n,) + (1,) * (nd - d - 1))
                  for d, n in enumerate(dimensions))
    if sparse:
        return grids
    return stack([ascontiguousarray(broadcast_to(g, tuple(dimensions))) for g in grids])


# ================================================================ elementwise
def _unary(name):
    def fn(x):
        return unary(name, as_operand(x, np.result_type(x)))

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` (NumPy semantics), one map kernel launch."
    return fn


def _binary(name):
    def fn(a, b):
        return binary(name, a, b)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise ``{name}`` with NumPy broadcasting, one zip kernel launch."
    return fn


exp, log, sqrt, tanh, abs, sign, negative, sigmoid, logical_not = (  # noqa: A001
    _unary(n) for n in ("exp", "log", "sqrt", "tanh", "abs", "sign", "negative", "sigmoid",
                        "logical_not"))
absolute = abs
subtract, multiply, divide, true_divide, power, maximum, minimum = (
    _binary(n) for n in ("subtract", "multiply", "divide", "divide", "power", "maximum",
                         "minimum"))
greater, greater_equal, less, less_equal, equal, not_equal, logical_and, logical_or = (
    _binary(n) for n in ("greater", "greater_equal", "less", "less_equal", "equal",
                         "not_equal", "logical_and", "logical_or"))


class _Add:
    """np.add: ``add(a, b)`` elementwise, and ``add.at(a, index, b)``: unbuffered in-place
    scatter-add (repeated indices add up; atomics on the GPU)."""

    def __call__(self, a, b):
        return binary("add", a, b)

    @staticmethod
    def at(a, index, b):
        if is_fancy(index):
            fancy_scatter(a, index, b, accumulate=True)
        else:  # a basic index has no repeats: a plain in-place add on the view
            view = a[index]
            view[...] = binary("add", view, b)


add = _Add()


def where(cond, a=None, b=None):
    if a is None or b is None:
        raise TypeError("numba_cuda.where: only the 3-argument form where(cond, a, b)")
    return _where(cond, a, b)


def clip(x, a_min, a_max):
    x = x if a_min is None else maximum(x, a_min)
    return x if a_max is None else minimum(x, a_max)


# ================================================================ reductions
FOLDS = {"sum": ("add", 0), "prod": ("multiply", 1), "max": ("maximum", -np.inf),
         "min": ("minimum", np.inf), "all": ("logical_and", True),
         "any": ("logical_or", False)}


@cache
def _fold_kernel(op, dtype):
    """One block per output element: threads stride over the reduced elements, then a
    shared-memory tree combines their partial results."""
    from .cuda_array import BINARY

    f = BINARY[FOLDS[op][0]]
    dtype = np.dtype(dtype)
    init = dtype.type(FOLDS[op][1] if dtype.kind in "fb" or op not in ("max", "min")
                      else (np.iinfo(dtype).min if op == "max" else np.iinfo(dtype).max))
    nt = RED_THREADS

    @cuda.jit
    def kernel(nout, kshape, kst, koff, rshape, rst, nred, a, out):
        part = cuda.shared.array(nt, dtype)
        t = cuda.threadIdx.x
        for o in range(cuda.blockIdx.x, nout, cuda.gridDim.x):
            base = flat_pos(o, kshape, kst, koff)
            acc = init
            for r in range(t, nred, nt):
                acc = f(acc, a[flat_pos(r, rshape, rst, base)])
            part[t] = acc
            cuda.syncthreads()
            s = nt // 2
            while s > 0:
                if t < s:
                    part[t] = f(part[t], part[t + s])
                cuda.syncthreads()
                s //= 2
            if t == 0:
                out[o] = part[0]
            cuda.syncthreads()

    return kernel


@cache
def _arg_kernel(is_max, dtype):
    """argmax / argmin: like the fold, carrying (value, index); the first extremum wins."""
    nt = RED_THREADS

    @cuda.jit(device=True)
    def better(v, i, bv, bi):
        if bi < 0:
            return i >= 0
        if i < 0:
            return False
        if v == bv:
            return i < bi
        return v > bv if is_max else v < bv

    @cuda.jit
    def kernel(nout, kshape, kst, koff, rshape, rst, nred, a, out):
        vals = cuda.shared.array(nt, dtype)
        idxs = cuda.shared.array(nt, np.int64)
        t = cuda.threadIdx.x
        for o in range(cuda.blockIdx.x, nout, cuda.gridDim.x):
            base = flat_pos(o, kshape, kst, koff)
            bv, bi = a[base], -1
            for r in range(t, nred, nt):
                v = a[flat_pos(r, rshape, rst, base)]
                if better(v, r, bv, bi):
                    bv, bi = v, r
            vals[t], idxs[t] = bv, bi
            cuda.syncthreads()
            s = nt // 2
            while s > 0:
                if t < s and better(vals[t + s], idxs[t + s], vals[t], idxs[t]):
                    vals[t], idxs[t] = vals[t + s], idxs[t + s]
                cuda.syncthreads()
                s //= 2
            if t == 0:
                out[o] = idxs[0]
            cuda.syncthreads()

    return kernel


def _axes(x, axis):
    if axis is None:
        return tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = tuple(sorted(a % x.ndim if -x.ndim <= a < x.ndim else _bad_axis(a, x) for a in axes))
    return out


def _bad_axis(a, x):
    raise np.exceptions.AxisError(f"axis {a} is out of bounds for a {x.ndim}-d CudaArray")


def _reduce(kernel, x, axis, keepdims, dtype, name):
    """Launch a fold / arg kernel reducing ``axis`` of ``x`` into a new array of ``dtype``."""
    axes = _axes(x, axis)
    kept = [d for d in range(x.ndim) if d not in axes]
    nred = math.prod(x.shape[d] for d in axes)
    if nred == 0 and name in ("max", "min", "argmax", "argmin"):
        raise ValueError(f"{name}: zero-size reduction has no identity (shape {x.shape})")
    out_shape = tuple(1 if d in axes else n for d, n in enumerate(x.shape)) if keepdims \
        else tuple(x.shape[d] for d in kept)
    out = empty(out_shape, dtype)
    nout = out.size
    if nout:
        kshape, (kst,) = coalesce([x.shape[d] for d in kept],
                                  [x.elem_strides[d] for d in kept])
        rshape, (rst,) = coalesce([x.shape[d] for d in axes],
                                  [x.elem_strides[d] for d in axes])
        blocks = builtins.min(nout, RED_BLOCKS)
        kernel[blocks, RED_THREADS](nout, kshape, kst, x.offset, rshape, rst, nred, x.buf,
                                    out.buf)
    return out


def _fold(op):
    def fn(x, axis=None, keepdims=False, dtype=None):
        if dtype is None:
            dtype = x.dtype
            if op in ("sum", "prod") and x.dtype.kind in "bui":
                dtype = np.int64
            dtype = np.bool_ if op in ("all", "any") else dtype
        dtype = np.dtype(dtype)
        return _reduce(_fold_kernel(op, dtype.str), x.astype(dtype, copy=False), axis,
                       keepdims, dtype, op)

    fn.__name__ = op
    fn.__doc__ = f"np.{op} over ``axis`` (an int, a tuple, or None for all)."
    return fn


sum, prod, max, min, all, any = (_fold(op) for op in FOLDS)  # noqa: A001
amax, amin = max, min


def vdot(a, b):
    """sum(a * b) over all elements, as a 0-d array (NumPy's vdot, for real arrays)."""
    return sum(a * b)


def mean(x, axis=None, keepdims=False, dtype=None):
    dtype = dtype or (x.dtype if x.dtype.kind == "f" else np.float64)
    count = math.prod(x.shape[d] for d in _axes(x, axis))
    return sum(x, axis, keepdims, dtype) / count


def argmax(x, axis=None, keepdims=False):
    """Index of the first maximum along ``axis`` (flat C-order index when axis is None)."""
    return _reduce(_arg_kernel(True, x.dtype), x, axis, keepdims and axis is not None,
                   np.int64, "argmax")


def argmin(x, axis=None, keepdims=False):
    return _reduce(_arg_kernel(False, x.dtype), x, axis, keepdims and axis is not None,
                   np.int64, "argmin")


# ================================================================ shapes (views)
def reshape(x, shape):
    return x.reshape(shape)


def transpose(x, axes=None):
    return x.transpose(axes or ())


def moveaxis(x, source, destination):
    src = [source] if isinstance(source, numbers.Integral) else list(source)
    dst = [destination] if isinstance(destination, numbers.Integral) else list(destination)
    src, dst = [s % x.ndim for s in src], [d % x.ndim for d in dst]
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return x.transpose(order)


def swapaxes(x, a, b):
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    return x.transpose(order)


def broadcast_to(x, shape):
    """A read-only broadcast view (stride 0 on the broadcast dims)."""
    x = as_operand(x, np.result_type(x))
    shape = tuple(shape)
    return CudaArray(x.buf, shape, broadcast_strides(x, shape), x.offset)


def expand_dims(x, axis):
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    nd = x.ndim + len(axes)
    axes = sorted(a % nd for a in axes)
    shape, strides = list(x.shape), list(x.elem_strides)
    for a in axes:
        shape.insert(a, 1)
        strides.insert(a, 0)
    return CudaArray(x.buf, shape, strides, x.offset)


def squeeze(x, axis=None):
    axes = [d for d, n in enumerate(x.shape) if n == 1] if axis is None else _axes(x, axis)
    if builtins.any(x.shape[d] != 1 for d in axes):
        raise ValueError(f"squeeze: cannot squeeze a dim of size != 1 in {x.shape}")
    keep = [d for d in range(x.ndim) if d not in axes]
    return CudaArray(x.buf, [x.shape[d] for d in keep], [x.elem_strides[d] for d in keep],
                     x.offset)


def ascontiguousarray(x):
    return x if x.is_contiguous() else x.copy()


def copy(x):
    return x.copy()


def concatenate(arrays, axis=0):
    arrays = list(arrays)
    axis = axis % arrays[0].ndim
    shape = list(arrays[0].shape)
    shape[axis] = builtins.sum(a.shape[axis] for a in arrays)
    out = empty(tuple(shape), np.result_type(*[a.dtype for a in arrays]))
    start = 0
    for a in arrays:
        index = (slice(None),) * axis + (slice(start, start + a.shape[axis]),)
        out[index] = a
        start += a.shape[axis]
    return out


def stack(arrays, axis=0):
    arrays = list(arrays)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis % (arrays[0].ndim + 1))


# ================================================================ indexing
def take(x, idx, axis=None):
    """np.take: entries ``idx`` along ``axis`` (of the flattened array when None)."""
    if axis is None:
        return x.reshape(-1)[idx]
    return x[(slice(None),) * (axis % x.ndim) + (idx,)]


def _along_axis(x, idx, axis):
    axis = axis % x.ndim
    grids = indices(idx.shape, sparse=True)
    return tuple(idx if d == axis else g for d, g in enumerate(grids))


def take_along_axis(x, idx, axis):
    """out[..., j, ...] = x[..., idx[..., j, ...], ...] along ``axis`` (np.take_along_axis)."""
    return fancy_get(x, _along_axis(x, idx, axis))


def put_along_axis(x, idx, values, axis):
    """x[..., idx[..., j, ...], ...] = values in place (np.put_along_axis)."""
    fancy_scatter(x, _along_axis(x, idx, axis), values, accumulate=False)


def index_add(shape, idx, values, axis=0, dtype=None):
    """zeros(shape) with ``values`` added at ``idx`` along ``axis`` (embedding backward):
    out[..., idx[j], ...] += values[..., j, ...]."""
    out = zeros(shape, values.dtype if dtype is None else dtype)
    add.at(out, (slice(None),) * (axis % len(shape)) + (idx,), values)
    return out


# ================================================================ nn functions
def log_softmax(x, axis=-1):
    """x - logsumexp(x), computed stably: shift by the max first."""
    shifted = x - max(x, axis=axis, keepdims=True)
    return shifted - log(sum(exp(shifted), axis=axis, keepdims=True))


def log_softmax_backward(y, gy):
    """y = log_softmax(x), gy = dL/dy -> dL/dx = gy - exp(y) * sum(gy), over the last axis."""
    return gy - exp(y) * sum(gy, axis=-1, keepdims=True)


def nll_loss(logp, target, size_average=True):
    """Torch7 ClassNLLCriterion: -sum_i logp[i, target[i]] (/ N when size_average).
    logp (N, C), target (N,) integer -> 0-d array."""
    picked = take_along_axis(logp, target.reshape(-1, 1), axis=1)
    total = -sum(picked)
    return total / logp.shape[0] if size_average else total


def nll_loss_backward(grad, target, shape, size_average=True):
    """Gradient of nll_loss w.r.t. logp (shape (N, C)): -grad (/ N) at (i, target[i])."""
    out = zeros(shape, grad.dtype)
    scale = -1.0 / shape[0] if size_average else -1.0
    values = broadcast_to(grad * scale, (shape[0], 1))
    put_along_axis(out, target.reshape(-1, 1), values, axis=1)
    return out


# ================================================================ matmul
# Tile shape: a block computes a BM x BN tile of c with (BN/TN) x (BM/TM) threads, each
# thread TM x TN outputs held in registers; k is walked in BK-wide slabs through shared
# memory. The simulator (one Python thread per CUDA thread) uses a tiny tile.
MATMUL_TILE = dict(bm=8, bn=8, bk=4, tm=2, tn=2) if SIM else dict(bm=128, bn=128, bk=8, tm=8,
                                                                   tn=8)


@cache
def matmul_kernel(dtype, bm, bn, bk, tm, tn):
    """The tiled matmul kernel for one dtype and tile shape (compiled on first launch)."""
    tx_n, ty_n = bn // tn, bm // tm
    nt = tx_n * ty_n
    a_loads, b_loads = bm * bk // nt, bk * bn // nt
    assert a_loads * nt == bm * bk and b_loads * nt == bk * bn, "tile must split evenly"
    a_width = bm + 4  # padded rows: the transposed stores into a_tile hit distinct banks

    @cuda.jit
    def kernel(c, a, a_off, a_bst, a_rs, a_cs, b, b_off, b_bst, b_rs, b_cs, bshape, nbatch,
               n, k, m):
        """c[z] (n, m, contiguous) = a[z] (n, k) @ b[z] (k, m) for each batch index z;
        a and b are strided views: element (r, s) of a[z] is a[a_off_z + r*a_rs + s*a_cs]."""
        # BEGIN TASK 2.2
        a_tile = cuda.shared.array((bk, a_width), dtype)  # transposed: a_tile[kk, row]
        b_tile = cuda.shared.array((bk, bn), dtype)
        acc = cuda.local.array((tm, tn), dtype)
        a_reg = cuda.local.array(tm, dtype)
        b_reg = cuda.local.array(tn, dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        tid = ty * tx_n + tx
        row0, col0 = cuda.blockIdx.y * bm, cuda.blockIdx.x * bn
        for z in range(cuda.blockIdx.z, nbatch, cuda.gridDim.z):
            pa = flat_pos(z, bshape, a_bst, a_off)
            pb = flat_pos(z, bshape, b_bst, b_off)
            for i in range(tm):
                for j in range(tn):
                    acc[i, j] = 0
            for k0 in range(0, k, bk):
                for slot in range(a_loads):  # consecutive threads read along a row of a
                    e = tid + slot * nt
                    r, kk = row0 + e // bk, k0 + e % bk
                    a_tile[e % bk, e // bk] = a[pa + r * a_rs + kk * a_cs] \
                        if r < n and kk < k else 0
                for slot in range(b_loads):  # ... and along a row of b
                    e = tid + slot * nt
                    kk, col = k0 + e // bn, col0 + e % bn
                    b_tile[e // bn, e % bn] = b[pb + kk * b_rs + col * b_cs] \
                        if kk < k and col < m else 0
                cuda.syncthreads()
                for kk in range(bk):
                    for i in range(tm):  # thread rows ty + i*ty_n: a warp reads 2 addresses
                        a_reg[i] = a_tile[kk, ty + i * ty_n]
                    for j in range(tn):  # columns tx + j*tx_n: conflict-free, coalesced
                        b_reg[j] = b_tile[kk, tx + j * tx_n]
                    for i in range(tm):
                        for j in range(tn):
                            acc[i, j] += a_reg[i] * b_reg[j]
                cuda.syncthreads()
            pc = z * n * m
            for i in range(tm):
                r = row0 + ty + i * ty_n
                for j in range(tn):
                    col = col0 + tx + j * tx_n
                    if r < n and col < m:
                        c[pc + r * m + col] = acc[i, j]
        # END TASK 2.2

    return kernel


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m); leading dims broadcast like np.matmul."""
    if not isinstance(a, CudaArray) or not isinstance(b, CudaArray):
        raise TypeError(f"matmul: expected two CudaArrays, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    batch, n, k, m = matmul_shapes(a.shape, b.shape)
    dtype = np.result_type(a.dtype, b.dtype)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    c = empty(batch + (n, m), dtype)
    nbatch = math.prod(batch)
    if c.size == 0:
        return c
    if k == 0:
        c.fill(0)
        return c

    def batch_strides(x):
        head = CudaArray(x.buf, x.shape[:-2], x.elem_strides[:-2], x.offset)
        return broadcast_strides(head, batch) if batch else (0,)

    t = MATMUL_TILE
    kernel = matmul_kernel(dtype, t["bm"], t["bn"], t["bk"], t["tm"], t["tn"])
    grid = (-(-m // t["bn"]), -(-n // t["bm"]), nbatch if nbatch < 65535 else 65535)
    kernel[grid, (t["bn"] // t["tn"], t["bm"] // t["tm"])](
        c.buf, a.buf, a.offset, batch_strides(a), a.elem_strides[-2], a.elem_strides[-1],
        b.buf, b.offset, batch_strides(b), b.elem_strides[-2], b.elem_strides[-1],
        batch or (1,), nbatch, n, k, m)
    return c


def right_multiplier(b):
    """f with f(a) = matmul(a, b) (numba_cpu's packs b once; here nothing is prepared)."""
    return lambda a: matmul(a, b)


# ================================================================ conv2d (im2col + matmul)
@cuda.jit
def _im2col_kernel(total, cols, x, x_off, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo):
    """cols[b, (c*kh + i)*kw + j, ho*Wo + wo] = x[b, c, ho*sh - ph + i, wo*sw - pw + j]
    (0 outside x); x is contiguous (B, C, H, W)."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        wo = e % Wo
        t = e // Wo
        ho = t % Ho
        t //= Ho
        j = t % kw
        t //= kw
        i = t % kh
        t //= kh
        h, w = ho * sh - ph + i, wo * sw - pw + j
        if 0 <= h < H and 0 <= w < W:
            cols[e] = x[x_off + (t * H + h) * W + w]  # t is now b*C + c
        else:
            cols[e] = 0


@cuda.jit
def _col2im_kernel(total, gx, cols, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, zero):
    """The adjoint of im2col: gx[b, c, h, w] sums every cols entry that copied x[b, c, h, w]
    (one thread per input pixel: a gather, so no atomics)."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        w = e % W
        h = (e // W) % H
        bc = e // (W * H)  # b*C + c: rows of cols start at bc*kh*kw
        acc = zero
        for i in range(kh):
            hh = h + ph - i
            if hh >= 0 and hh % sh == 0 and hh // sh < Ho:
                for j in range(kw):
                    ww = w + pw - j
                    if ww >= 0 and ww % sw == 0 and ww // sw < Wo:
                        acc += cols[((bc * kh + i) * kw + j) * Ho * Wo + (hh // sh) * Wo
                                    + ww // sw]
        gx[e] = acc


def _im2col(x, kh, kw, stride, padding, Ho, Wo):
    x = ascontiguousarray(x)
    B, C, H, W = x.shape
    cols = empty((B, C * kh * kw, Ho * Wo), x.dtype)
    _im2col_kernel[grid_1d(cols.size)](cols.size, cols.buf, x.buf, x.offset, C, H, W, kh, kw,
                                       *stride, *padding, Ho, Wo)
    return cols


def conv2d_forward(x, w, b, stride, padding):
    """y (B,O,Ho,Wo) = w (O,C,kH,kW) * x (B,C,H,W) + b (O,): matmul(w as O x CkHkW,
    im2col(x) as B x CkHkW x HoWo)."""
    stride, padding = pairs("conv2d_forward", stride, padding)
    B, O, Ho, Wo = conv2d_shape(x.shape, w.shape, stride, padding)
    kh, kw = w.shape[2:]
    cols = _im2col(x, kh, kw, stride, padding, Ho, Wo)
    y = matmul(w.reshape(O, -1), cols)
    if b is not None:
        y = y + b.reshape(1, O, 1)
    return y.reshape(B, O, Ho, Wo)


def conv2d_backward_input(gy, w, input_shape, stride, padding):
    """gx = col2im(w^T @ gy): each input pixel gathers the gradient of every window it fed."""
    stride, padding = pairs("conv2d_backward_input", stride, padding)
    B, O, Ho, Wo = conv2d_shape(input_shape, w.shape, stride, padding,
                                "conv2d_backward_input")
    _, C, H, W = input_shape
    kh, kw = w.shape[2:]
    dcols = matmul(w.reshape(O, -1).T, gy.reshape(B, O, Ho * Wo))
    gx = empty(input_shape, gy.dtype)
    _col2im_kernel[grid_1d(gx.size)](gx.size, gx.buf, dcols.buf, C, H, W, kh, kw, *stride,
                                     *padding, Ho, Wo, gy.dtype.type(0))
    return gx


def conv2d_backward_weight(gy, x, weight_shape, stride, padding):
    """gw = sum_b gy[b] (O, HoWo) @ im2col(x)[b]^T (HoWo, CkHkW); gb = gy summed over
    (B, Ho, Wo)."""
    stride, padding = pairs("conv2d_backward_weight", stride, padding)
    B, O, Ho, Wo = conv2d_shape(x.shape, weight_shape, stride, padding,
                                "conv2d_backward_weight")
    kh, kw = weight_shape[2:]
    cols = _im2col(x, kh, kw, stride, padding, Ho, Wo)
    per_batch = matmul(gy.reshape(B, O, Ho * Wo), cols.transpose(0, 2, 1))
    return sum(per_batch, axis=0).reshape(weight_shape), sum(gy, axis=(0, 2, 3))


# ================================================================ pooling
@cuda.jit
def _maxpool_kernel(total, y, arg, x, x_off, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo):
    """One thread per output: the max of its window (padding never wins) and its flat
    index h*W + w in the input plane; the first max wins."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        wo = e % Wo
        ho = (e // Wo) % Ho
        base = x_off + (e // (Wo * Ho)) * H * W
        best, bi = x[base], -1
        for i in range(kh):
            h = ho * sh - ph + i
            if 0 <= h < H:
                for j in range(kw):
                    w = wo * sw - pw + j
                    if 0 <= w < W:
                        v = x[base + h * W + w]
                        if bi < 0 or v > best:
                            best, bi = v, h * W + w
        y[e], arg[e] = best, bi


@cuda.jit
def _avgpool_kernel(total, y, x, x_off, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, zero):
    """One thread per output: the window sum over kH*kW (padding counts as zeros)."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        wo = e % Wo
        ho = (e // Wo) % Ho
        base = x_off + (e // (Wo * Ho)) * H * W
        acc = zero
        for i in range(kh):
            h = ho * sh - ph + i
            if 0 <= h < H:
                for j in range(kw):
                    w = wo * sw - pw + j
                    if 0 <= w < W:
                        acc += x[base + h * W + w]
        y[e] = acc / (kh * kw)


@cuda.jit
def _maxpool_backward_kernel(total, gx, gy, gy_off, arg, arg_off, HW, HoWo):
    """One thread per output: gx[plane, argmax] += gy (atomically: windows may overlap)."""
    for o in range(cuda.grid(1), total, cuda.gridsize(1)):
        cuda.atomic.add(gx, (o // HoWo) * HW + arg[arg_off + o], gy[gy_off + o])


@cuda.jit
def _avgpool_backward_kernel(total, gx, gy, gy_off, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo,
                             zero):
    """One thread per input pixel gathers gy / (kH*kW) from every window covering it."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        w = e % W
        h = (e // W) % H
        plane = e // (W * H)
        acc = zero
        for i in range(kh):
            hh = h + ph - i
            if hh >= 0 and hh % sh == 0 and hh // sh < Ho:
                for j in range(kw):
                    ww = w + pw - j
                    if ww >= 0 and ww % sw == 0 and ww // sw < Wo:
                        acc += gy[gy_off + (plane * Ho + hh // sh) * Wo + ww // sw]
        gx[e] = acc / (kh * kw)


def _pool_setup(name, x_shape, kernel, stride, padding):
    """(geometry args of the pool kernels, output shape)."""
    kernel, stride, padding = pairs(name, kernel, stride, padding)
    out_shape = pool2d_shape(x_shape, kernel, stride, padding, name)
    return (*x_shape[2:], *kernel, *stride, *padding, *out_shape[2:]), out_shape


def maxpool2d_forward(x, kernel, stride, padding):
    """y, argmax (B,C,Ho,Wo): window maxima and their flat h*W + w input indices."""
    geometry, out_shape = _pool_setup("maxpool2d_forward", x.shape, kernel, stride, padding)
    x = ascontiguousarray(x)
    y, arg = empty(out_shape, x.dtype), empty(out_shape, np.int64)
    if y.size:
        _maxpool_kernel[grid_1d(y.size)](y.size, y.buf, arg.buf, x.buf, x.offset, *geometry)
    return y, arg


def maxpool2d_backward(gy, argmax, input_shape):
    """gx (input_shape): gy scatter-added at the argmax positions of its plane."""
    if len(input_shape) != 4 or gy.shape != argmax.shape or gy.shape[:2] != input_shape[:2]:
        raise ValueError(f"maxpool2d_backward: gy {_dims(gy.shape)} and argmax "
                         f"{_dims(argmax.shape)} don't fit input {_dims(input_shape)}")
    gy, argmax = ascontiguousarray(gy), ascontiguousarray(argmax)
    gx = zeros(input_shape, gy.dtype)
    if gy.size:
        _maxpool_backward_kernel[grid_1d(gy.size)](
            gy.size, gx.buf, gy.buf, gy.offset, argmax.buf, argmax.offset,
            input_shape[2] * input_shape[3], gy.shape[2] * gy.shape[3])
    return gx


def avgpool2d_forward(x, kernel, stride, padding):
    """y (B,C,Ho,Wo): window means with divisor kH*kW (padding counted, Torch7's default)."""
    geometry, out_shape = _pool_setup("avgpool2d_forward", x.shape, kernel, stride, padding)
    x = ascontiguousarray(x)
    y = empty(out_shape, x.dtype)
    if y.size:
        _avgpool_kernel[grid_1d(y.size)](y.size, y.buf, x.buf, x.offset, *geometry,
                                         x.dtype.type(0))
    return y


def avgpool2d_backward(gy, input_shape, kernel, stride, padding):
    """gx: each input pixel gets gy / (kH*kW) from every window covering it."""
    geometry, out_shape = _pool_setup("avgpool2d_backward", input_shape, kernel, stride,
                                      padding)
    if gy.shape != out_shape:
        raise ValueError(f"avgpool2d_backward: gy is {_dims(gy.shape)}, expected "
                         f"{_dims(out_shape)}")
    gy = ascontiguousarray(gy)
    gx = empty(input_shape, gy.dtype)
    if gx.size:
        _avgpool_backward_kernel[grid_1d(gx.size)](gx.size, gx.buf, gy.buf, gy.offset,
                                                   *geometry, gy.dtype.type(0))
    return gx
