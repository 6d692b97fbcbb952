"""CudaArray: an n-d strided view of a flat numba.cuda device buffer, and the generic
elementwise, indexing and reduction kernels its operators and methods run.

The bottom of the CUDA side: it imports no other backend module. Above it, ``cuda_xp`` is
the NumPy-like namespace over CudaArrays, and ``numba_cuda`` (the fast tier) and
``numba_cuda_teach`` (the teaching tier) hold the kernel primitives (matmul, conv, pool...).

A CudaArray is ``(buffer, shape, elem_strides, offset)`` with strides counted in elements, as
in minitorch: element ``idx`` lives at ``buffer[offset + sum(idx[d] * elem_strides[d])]``
(``.strides`` gives them in bytes, as NumPy does). Transpose,
slicing, broadcasting (stride 0) and reshape of a contiguous array are views that share the
buffer; every kernel reads strided inputs, so views are never copied just to be read.

Kernels are templates: one map kernel per arity (fill, 1, 2 and 3 inputs) into which a scalar
device function from ``UNARY`` / ``BINARY`` is plugged, built once per function and cached;
a reduction is one block per output element folding with a ``BINARY`` function (``FOLDS``).
"""

import math
import numbers
from functools import cache, lru_cache

import numpy as np
from numba import cuda

from ..cuda import require, simulator_enabled
from ..strides import View, broadcast_shape, contiguous_strides, expand

SIM = simulator_enabled()
THREADS = 8 if SIM else 256  # the simulator runs one Python thread per CUDA thread
MAX_BLOCKS = 2 if SIM else 16384  # grid-stride loops cover the rest


def grid_1d(n):
    """(blocks, threads) for a grid-stride loop over ``n`` items."""
    return max(1, min(MAX_BLOCKS, -(-n // THREADS))), THREADS


@cuda.jit(device=True)
def flat_pos(i, shape, strides, offset):
    """Buffer position of the ``i``-th element (C order) of a strided view of ``shape``."""
    p = offset
    for d in range(len(shape) - 1, -1, -1):
        p += (i % shape[d]) * strides[d]
        i //= shape[d]
    return p


# ---------------------------------------------------------------- scalar device functions
def _sign(x):
    if x > 0:
        return 1
    if x < 0:
        return -1
    return x


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def _maximum(x, y):
    return x if x >= y else y


def _minimum(x, y):
    return x if x <= y else y


def _where(c, x, y):
    return x if c else y


_dev = cuda.jit(device=True)  # the simulator needs Python functions: wrap math's builtins
UNARY = {
    "identity": _dev(lambda x: x), "negative": _dev(lambda x: -x),
    "abs": _dev(lambda x: abs(x)), "sign": _dev(_sign), "exp": _dev(lambda x: math.exp(x)),
    "log": _dev(lambda x: math.log(x)), "sqrt": _dev(lambda x: math.sqrt(x)),
    "tanh": _dev(lambda x: math.tanh(x)), "sigmoid": _dev(_sigmoid),
    "logical_not": _dev(lambda x: not x),
}
FLOAT_UNARY = {"exp", "log", "sqrt", "tanh", "sigmoid"}  # int input -> float64 output, as NumPy
BINARY = {
    "add": _dev(lambda x, y: x + y), "subtract": _dev(lambda x, y: x - y),
    "multiply": _dev(lambda x, y: x * y), "divide": _dev(lambda x, y: x / y),
    "power": _dev(lambda x, y: x ** y), "maximum": _dev(_maximum),
    "minimum": _dev(_minimum), "greater": _dev(lambda x, y: x > y),
    "greater_equal": _dev(lambda x, y: x >= y), "less": _dev(lambda x, y: x < y),
    "less_equal": _dev(lambda x, y: x <= y), "equal": _dev(lambda x, y: x == y),
    "not_equal": _dev(lambda x, y: x != y), "logical_and": _dev(lambda x, y: x and y),
    "logical_or": _dev(lambda x, y: x or y),
}
COMPARISONS = {"greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
               "logical_and", "logical_or"}
TERNARY = {"where": _dev(_where)}


# ---------------------------------------------------------------- kernel templates
@cuda.jit
def _fill_kernel(n, shape, out, ost, ooff, value):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[flat_pos(i, shape, ost, ooff)] = value


@cache
def _map1_kernel(name):
    f = UNARY[name]

    @cuda.jit
    def kernel(n, shape, out, ost, ooff, a, ast, aoff):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            out[flat_pos(i, shape, ost, ooff)] = f(a[flat_pos(i, shape, ast, aoff)])

    return kernel


@cache
def _map2_kernel(name):
    f = BINARY[name]

    @cuda.jit
    def kernel(n, shape, out, ost, ooff, a, ast, aoff, b, bst, boff):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            out[flat_pos(i, shape, ost, ooff)] = f(a[flat_pos(i, shape, ast, aoff)],
                                                   b[flat_pos(i, shape, bst, boff)])

    return kernel


@cache
def _map3_kernel(name):
    f = TERNARY[name]

    @cuda.jit
    def kernel(n, shape, out, ost, ooff, a, ast, aoff, b, bst, boff, c, cst, coff):
        for i in range(cuda.grid(1), n, cuda.gridsize(1)):
            out[flat_pos(i, shape, ost, ooff)] = f(a[flat_pos(i, shape, ast, aoff)],
                                                   b[flat_pos(i, shape, bst, boff)],
                                                   c[flat_pos(i, shape, cst, coff)])

    return kernel


@cuda.jit(device=True)
def _fancy_pos(i, shape, sst, soff, idx, ist, ioff, nb, ast, asize):
    """Source position of output element ``i`` of an advanced-indexing gather: the basic
    dims contribute through ``sst``, index array ``k`` (row k of ``idx``) through ``ast[k]``."""
    p = flat_pos(i, shape, sst, soff)
    q = flat_pos(i, shape, ist, ioff)
    for k in range(len(ast)):
        j = idx[k * nb + q]
        if j < 0:
            j += asize[k]
        p += j * ast[k]
    return p


@cuda.jit
def _gather_kernel(n, shape, out, src, sst, soff, idx, ist, ioff, nb, ast, asize):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        out[i] = src[_fancy_pos(i, shape, sst, soff, idx, ist, ioff, nb, ast, asize)]


@cuda.jit
def _scatter_set_kernel(n, shape, vals, vst, voff, dst, sst, soff, idx, ist, ioff, nb, ast,
                        asize):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        dst[_fancy_pos(i, shape, sst, soff, idx, ist, ioff, nb, ast, asize)] = \
            vals[flat_pos(i, shape, vst, voff)]


@cuda.jit
def _scatter_add_kernel(n, shape, vals, vst, voff, dst, sst, soff, idx, ist, ioff, nb, ast,
                        asize):
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
        cuda.atomic.add(dst, _fancy_pos(i, shape, sst, soff, idx, ist, ioff, nb, ast, asize),
                        vals[flat_pos(i, shape, vst, voff)])


# ---------------------------------------------------------------- helpers
def broadcast_strides(x, shape):
    """Strides that view ``x`` broadcast to ``shape`` (0 on broadcast dims): the index
    arithmetic of ``strides.expand``, after ``strides.broadcast_shape`` checked the shapes."""
    shape = tuple(shape)
    if len(shape) < x.ndim or broadcast_shape(x.shape, shape) != shape:
        raise ValueError(f"cannot broadcast shape {x.shape} to {shape}")
    return expand(View(0, x.shape, x.elem_strides), shape).strides


def _kshape(shape):
    """Kernels see at least one dim: a 0-d array is launched as shape (1,)."""
    return tuple(shape) or (1,)


def _operand(x, shape):
    """(buffer, strides, offset) of ``x`` viewed with ``shape``, as the templates take them."""
    st = broadcast_strides(x, shape) if shape else ()
    return x.buf, st or (0,), x.offset


def coalesce(shape, *strides):
    """Drop size-1 dims and merge neighbours that every operand steps through contiguously,
    so the kernels' index math (a div and a mod per dim) runs over as few dims as possible:
    one for contiguous arrays. Returns (shape, strides per operand)."""
    dims = []
    for d, n in enumerate(shape):
        sts = [st[d] for st in strides]
        if n == 1:
            continue
        if dims and all(prev == s * n for prev, s in zip(dims[-1][1], sts)):
            dims[-1] = (dims[-1][0] * n, sts)
        else:
            dims.append((n, sts))
    if not dims:
        return (1,), [(0,)] * len(strides)
    return tuple(n for n, _ in dims), [tuple(sts[k] for _, sts in dims)
                                       for k in range(len(strides))]


def launch_map(kernel, out, *operands, extra=()):
    """Launch a map template writing ``out`` (any view) from ``operands`` broadcast to its
    shape: kernel(n, shape, out, out_strides, out_offset, [x, x_strides, x_offset]..., *extra).
    """
    n = out.size
    if not n:
        return
    shape, strides = coalesce(out.shape, out.elem_strides,
                              *[broadcast_strides(x, out.shape) for x in operands])
    args = [n, shape, out.buf, strides[0], out.offset]
    for x, st in zip(operands, strides[1:]):
        args += [x.buf, st, x.offset]
    kernel[grid_1d(n)](*args, *extra)


def is_scalar(v):
    return isinstance(v, (numbers.Number, np.generic, bool))


@lru_cache(maxsize=1024)
def _scalar_array(value, dtype):
    """A cached 0-d device array holding ``value`` (read-only by convention)."""
    out = empty((), dtype)
    out.fill(value)
    return out


def as_operand(v, dtype):
    """``v`` as a CudaArray: arrays pass through, Python/NumPy scalars become a cached 0-d
    device constant of ``dtype`` (so ``x * 2`` launches no copy)."""
    if isinstance(v, CudaArray):
        return v
    if is_scalar(v):
        return _scalar_array(np.dtype(dtype).type(v).item(), np.dtype(dtype).str)
    raise TypeError(f"CudaArray: expected a CudaArray or a scalar, got {type(v).__name__}"
                    " (mixing devices: move NumPy arrays to the GPU with from_numpy first)")


def result_dtype(*vals):
    """NumPy's promotion (NEP 50: Python scalars are weak) of arrays and scalars."""
    return np.result_type(*[v.dtype if isinstance(v, CudaArray) else v for v in vals])


def broadcast_shapes(*vals):
    return np.broadcast_shapes(*[v.shape for v in vals if isinstance(v, CudaArray)])


# ---------------------------------------------------------------- elementwise entry points
def unary(name, x, dtype=None):
    """Elementwise ``UNARY[name]`` of a CudaArray into a new contiguous array."""
    if dtype is None:
        dtype = x.dtype if name not in FLOAT_UNARY or x.dtype.kind in "fc" else np.float64
        dtype = np.bool_ if name == "logical_not" else dtype
    out = empty(x.shape, dtype)
    map_into(out, name, x)
    return out


def map_into(out, name, x):
    """out[...] = UNARY[name](x) with ``x`` broadcast to ``out.shape``; ``out`` may be a view."""
    launch_map(_map1_kernel(name), out, x)


def binary(name, a, b):
    """Elementwise ``BINARY[name]`` of two CudaArrays / scalars, NumPy broadcasting."""
    dtype = result_dtype(a, b)
    a, b = as_operand(a, dtype), as_operand(b, dtype)
    if name in COMPARISONS:
        out_dtype = np.bool_
    elif name == "divide" and dtype.kind not in "fc":
        out_dtype = np.float64
    else:
        out_dtype = dtype
    shape = broadcast_shapes(a, b)
    out = empty(shape, out_dtype)
    launch_map(_map2_kernel(name), out, a, b)
    return out


def where(cond, a, b):
    """``a`` where ``cond`` else ``b`` (NumPy broadcasting; a, b may be scalars)."""
    dtype = result_dtype(a, b)
    cond = as_operand(cond, np.bool_)
    a, b = as_operand(a, dtype), as_operand(b, dtype)
    shape = broadcast_shapes(cond, a, b)
    out = empty(shape, dtype)
    launch_map(_map3_kernel("where"), out, cond, a, b)
    return out


def empty(shape, dtype=np.float32):
    """An uninitialised contiguous CudaArray."""
    require("a CudaArray")
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(int(n) for n in shape)
    size = math.prod(shape)
    buf = cuda.device_array(max(size, 1), np.dtype(dtype))
    return CudaArray(buf, shape, contiguous_strides(shape), 0)


def from_numpy(array):
    """Copy a NumPy array (or anything np.asarray takes) to the GPU."""
    require("from_numpy")
    host = np.array(array, order="C", copy=True)
    buf = cuda.to_device(host.reshape(-1) if host.size else np.zeros(1, host.dtype))
    return CudaArray(buf, host.shape, contiguous_strides(host.shape), 0)


# ---------------------------------------------------------------- indexing plans
def _consumes(e):
    """How many dims of the indexed array an index entry uses up."""
    if e is None or e is Ellipsis:
        return 0
    if getattr(e, "dtype", None) is not None and np.dtype(e.dtype) == np.bool_:
        return max(1, e.ndim)
    return 1


def _normalize_index(x, index):
    """Split a NumPy-style index into a basic view plus advanced (array) indices.

    Returns (view_offset, out_dims, adv, adv_at): out_dims lists (size, stride) of the basic
    output dims; adv lists (int CudaArray, dim size, dim stride) per advanced index; their
    broadcast shape goes into the output before basic dim ``adv_at`` (NumPy's rule: where
    the advanced indices stand when they are adjacent, else first). With array indices
    present, integers count as advanced indices too, as in NumPy.
    """
    index = index if isinstance(index, tuple) else (index,)
    used = sum(_consumes(e) for e in index)
    if used > x.ndim:
        raise IndexError(f"too many indices: array is {x.ndim}-d, got {used}")
    at = next((i for i, e in enumerate(index) if e is Ellipsis), len(index))
    index = index[:at] + (slice(None),) * (x.ndim - used) + index[at + 1:]
    has_adv = is_fancy(index)
    offset, dims, adv, adv_entries, adv_at, d = x.offset, [], [], [], 0, 0
    for k, e in enumerate(index):
        if e is None:
            dims.append((1, 0))
        elif isinstance(e, slice):
            start, stop, step = e.indices(x.shape[d])
            dims.append((len(range(start, stop, step)), step * x.elem_strides[d]))
            offset += start * x.elem_strides[d]
            d += 1
        elif isinstance(e, numbers.Integral) and not has_adv:
            i = int(e) + (x.shape[d] if e < 0 else 0)
            if not 0 <= i < x.shape[d]:
                raise IndexError(f"index {e} is out of bounds for dim {d} of size {x.shape[d]}")
            offset += i * x.elem_strides[d]
            d += 1
        else:
            adv_at = len(dims) if not adv_entries else adv_at
            adv_entries.append(k)
            for arr in _index_arrays(e):
                adv.append((arr, x.shape[d], x.elem_strides[d]))
                d += 1
    if adv_entries and adv_entries != list(range(adv_entries[0], adv_entries[-1] + 1)):
        adv_at = 0
    return offset, dims, adv, adv_at


def _index_arrays(e):
    """An advanced index entry as int64 CudaArrays (a bool mask gives one per dim, on host)."""
    if isinstance(e, numbers.Integral):
        return [as_operand(int(e), np.int64)]
    if isinstance(e, CudaArray):
        if e.dtype == np.bool_:
            return [from_numpy(i) for i in np.nonzero(e.to_numpy())]
        if e.dtype.kind not in "iu":
            raise IndexError(f"arrays used as indices must be integer or bool, got {e.dtype}")
        return [e]
    host = np.asarray(e)
    if host.dtype == np.bool_:
        return [from_numpy(i) for i in np.nonzero(host)]
    if host.dtype.kind not in "iu":
        raise IndexError(f"arrays used as indices must be integer or bool, got {host.dtype}")
    return [from_numpy(host.astype(np.int64))]


def _fancy_args(x, index):
    """Output shape and the trailing kernel arguments of the gather / scatter kernels."""
    offset, dims, adv, adv_at = _normalize_index(x, index)
    bshape = np.broadcast_shapes(*[a.shape for a, _, _ in adv])
    nb = math.prod(bshape)
    out_shape = tuple(n for n, _ in dims[:adv_at]) + bshape + tuple(n for n, _ in dims[adv_at:])
    sst = tuple(s for _, s in dims[:adv_at]) + (0,) * len(bshape) + \
        tuple(s for _, s in dims[adv_at:])
    bst = contiguous_strides(bshape)
    ist = (0,) * adv_at + bst + (0,) * (len(dims) - adv_at)
    first = adv[0][0]
    if len(adv) == 1 and first.shape == bshape and first.is_contiguous():
        stacked, ioff = first, first.offset
    else:
        stacked, ioff = empty((len(adv),) + bshape, np.int64), 0
        for k, (a, _, _) in enumerate(adv):
            map_into(stacked[k], "identity", a)
    kshape = _kshape(out_shape)
    tail = (x.buf, sst or (0,), offset, stacked.buf, ist or (0,), ioff, nb,
            tuple(s for _, _, s in adv), tuple(n for _, n, _ in adv))
    return out_shape, kshape, tail


def fancy_get(x, index):
    """x[index] for an index with integer / bool arrays (a copy, like NumPy)."""
    out_shape, kshape, tail = _fancy_args(x, index)
    out = empty(out_shape, x.dtype)
    if out.size:
        _gather_kernel[grid_1d(out.size)](out.size, kshape, out.buf, *tail)
    return out


def fancy_scatter(x, index, values, accumulate):
    """x[index] = values, or with ``accumulate`` NumPy's ``add.at`` (repeats add up)."""
    out_shape, kshape, tail = _fancy_args(x, index)
    n = math.prod(out_shape)
    if n:
        vals = as_operand(values, x.dtype)
        kernel = _scatter_add_kernel if accumulate else _scatter_set_kernel
        kernel[grid_1d(n)](n, kshape, *_operand(vals, out_shape), *tail)


def is_fancy(index):
    index = index if isinstance(index, tuple) else (index,)
    return not all(isinstance(e, (slice, type(None), type(Ellipsis), numbers.Integral))
                   for e in index)


# ---------------------------------------------------------------- reductions
FOLDS = {"sum": ("add", 0), "prod": ("multiply", 1), "max": ("maximum", -np.inf),
         "min": ("minimum", np.inf), "all": ("logical_and", True),
         "any": ("logical_or", False)}
RED_THREADS = 4 if SIM else 128  # threads per reduction block (a power of two)
RED_BLOCKS = 2 if SIM else 65535


@cache
def _fold_kernel(op, dtype):
    """One block per output element: threads stride over the reduced elements, then a
    shared-memory tree combines their partial results."""
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


def reduced_axes(x, axis):
    """``axis`` (an int, a tuple, or None for all) as a sorted tuple of dims of ``x``."""
    if axis is None:
        return tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for a {x.ndim}-d "
                                          "CudaArray")
    return tuple(sorted(a % x.ndim for a in axes))


def _reduce(kernel, x, axis, keepdims, dtype, name):
    """Launch a fold / arg kernel reducing ``axis`` of ``x`` into a new array of ``dtype``."""
    axes = reduced_axes(x, axis)
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
        blocks = min(nout, RED_BLOCKS)
        kernel[blocks, RED_THREADS](nout, kshape, kst, x.offset, rshape, rst, nred, x.buf,
                                    out.buf)
    return out


def fold(op, x, axis=None, keepdims=False, dtype=None):
    """np.<op> of ``x`` over ``axis`` for op in FOLDS (sum, prod, max, min, all, any), with
    NumPy's result dtypes (integer and bool sums are int64, all / any are bool)."""
    if dtype is None:
        dtype = x.dtype
        if op in ("sum", "prod") and x.dtype.kind in "bui":
            dtype = np.int64
        dtype = np.bool_ if op in ("all", "any") else dtype
    dtype = np.dtype(dtype)
    return _reduce(_fold_kernel(op, dtype.str), x.astype(dtype, copy=False), axis, keepdims,
                   dtype, op)


def mean(x, axis=None, keepdims=False, dtype=None):
    """np.mean: the sum over ``axis`` divided by the count (float64 for integer input)."""
    dtype = dtype or (x.dtype if x.dtype.kind == "f" else np.float64)
    count = math.prod(x.shape[d] for d in reduced_axes(x, axis))
    return binary("divide", fold("sum", x, axis, keepdims, dtype), count)


def arg_extremum(is_max, x, axis=None, keepdims=False):
    """np.argmax (``is_max``) or np.argmin: the index of the first extremum along ``axis``
    (the flat C-order index when axis is None), as int64."""
    return _reduce(_arg_kernel(is_max, x.dtype), x, axis, keepdims and axis is not None,
                   np.int64, "argmax" if is_max else "argmin")


# ---------------------------------------------------------------- the array type
class _Flags:
    def __init__(self, c_contiguous):
        self.c_contiguous = c_contiguous


class CudaArray:
    """An n-d array in GPU memory with NumPy's interface for what minitorch7 needs.

    Operators (+ - * / **, comparisons) broadcast like NumPy and accept Python scalars.
    ``reshape`` / ``transpose`` / ``.T`` / basic slicing return views; integer-array indexing
    returns a copy. ``to_numpy()`` copies to the host. There is no ``@``: products are kernel
    primitives, run by ``minitorch7.device.kernels_for(a).matmul(a, b)``.
    """

    device = "cuda"
    __array_ufunc__ = None  # ndarray + CudaArray defers to us, and fails clearly
    __hash__ = None

    def __init__(self, buf, shape, strides, offset):
        self.buf, self.shape, self.offset = buf, tuple(shape), offset
        self.elem_strides = tuple(strides)

    # ------------------------------------------------------------ metadata
    @property
    def dtype(self):
        return self.buf.dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def itemsize(self):
        return self.dtype.itemsize

    @property
    def nbytes(self):
        return self.size * self.itemsize

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d CudaArray")
        return self.shape[0]

    @property
    def strides(self):
        """Strides in bytes, as NumPy reports them."""
        return tuple(st * self.itemsize for st in self.elem_strides)

    @property
    def flags(self):
        """NumPy-style flags; only ``c_contiguous`` is provided."""
        return _Flags(self.is_contiguous())

    def is_contiguous(self):
        return all(st == c for n, st, c in zip(self.shape, self.elem_strides,
                                              contiguous_strides(self.shape)) if n != 1)

    # ------------------------------------------------------------ host transfer
    def to_numpy(self):
        """A NumPy copy (synchronises with the GPU)."""
        x = self if self.is_contiguous() else self.copy()
        if not x.size:
            return np.empty(x.shape, x.dtype)
        return x.buf[x.offset:x.offset + x.size].copy_to_host().reshape(x.shape)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item: only size-1 arrays convert to a scalar, got {self.shape}")
        return self.to_numpy().reshape(()).item()

    __float__ = lambda self: float(self.item())  # noqa: E731
    __int__ = lambda self: int(self.item())  # noqa: E731
    __bool__ = lambda self: bool(self.item())  # noqa: E731

    def __repr__(self):
        return f"CudaArray({np.array2string(self.to_numpy(), separator=', ')}, " \
               f"dtype={self.dtype})"

    # ------------------------------------------------------------ views and copies
    def _view(self, shape, strides, offset=None):
        return CudaArray(self.buf, shape, strides, self.offset if offset is None else offset)

    def reshape(self, *shape):
        """A view when contiguous, else a copy; one dim may be -1."""
        shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(
            shape[0], numbers.Integral) else tuple(int(n) for n in shape)
        if shape.count(-1) == 1:
            known = math.prod(n for n in shape if n != -1)
            shape = tuple(self.size // known if known and n == -1 else n for n in shape)
        if math.prod(shape) != self.size:
            raise ValueError(f"reshape: cannot reshape array of shape {self.shape} "
                             f"(size {self.size}) into {shape}")
        x = self if self.is_contiguous() else self.copy()
        return x._view(shape, contiguous_strides(shape))

    def ravel(self):
        """The flattened array: a view when contiguous, else a copy."""
        return self.reshape(-1)

    def flatten(self):
        """A flattened copy."""
        return self.copy().reshape(-1)

    def tolist(self):
        return self.to_numpy().tolist()

    def transpose(self, *axes):
        """A view with dims permuted (reversed when no axes are given)."""
        if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
            axes = axes[0]
        axes = tuple(range(self.ndim))[::-1] if not axes else tuple(
            a % self.ndim for a in axes)
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"transpose: axes {axes} don't match a {self.ndim}-d array")
        return self._view(tuple(self.shape[a] for a in axes),
                          tuple(self.elem_strides[a] for a in axes))

    @property
    def T(self):
        return self.transpose()

    def swapaxes(self, a, b):
        """A view with dims ``a`` and ``b`` swapped (NumPy's swapaxes; matmul's backward)."""
        axes = list(range(self.ndim))
        axes[a % self.ndim], axes[b % self.ndim] = axes[b % self.ndim], axes[a % self.ndim]
        return self.transpose(axes)

    def copy(self):
        return unary("identity", self)

    def astype(self, dtype, copy=True):
        dtype = np.dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        return unary("identity", self, dtype)

    def fill(self, value):
        """Set every element to the scalar ``value`` in place."""
        launch_map(_fill_kernel, self, extra=(self.dtype.type(value),))

    def __getitem__(self, index):
        if is_fancy(index):
            return fancy_get(self, index)
        offset, dims, _, _ = _normalize_index(self, index)
        return self._view(tuple(n for n, _ in dims), tuple(s for _, s in dims), offset)

    def __setitem__(self, index, value):
        """Basic or integer-array indexing; ``value`` is a scalar, a CudaArray, or a NumPy
        array (copied to the GPU: an explicit assignment is a transfer)."""
        if isinstance(value, np.ndarray):
            value = from_numpy(value)
        if is_fancy(index):
            fancy_scatter(self, index, value, accumulate=False)
            return
        view = self[index]
        if is_scalar(value):
            view.fill(value)
        else:
            map_into(view, "identity", as_operand(value, self.dtype))

    # ------------------------------------------------------------ reductions (methods)
    def sum(self, axis=None, keepdims=False, dtype=None):
        return fold("sum", self, axis, keepdims, dtype)

    def mean(self, axis=None, keepdims=False):
        return mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return fold("max", self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return fold("min", self, axis, keepdims)

    def argmax(self, axis=None, keepdims=False):
        return arg_extremum(True, self, axis, keepdims)

    def argmin(self, axis=None, keepdims=False):
        return arg_extremum(False, self, axis, keepdims)

    def __matmul__(self, other):
        raise TypeError("CudaArray has no @: a product runs the backend's kernel, "
                        "minitorch7.device.kernels_for(a).matmul(a, b) (the teaching or "
                        "the fast tier), or multiply Tensors")

    __rmatmul__ = __matmul__

    # ------------------------------------------------------------ operators
    def __neg__(self):
        return unary("negative", self)

    def __abs__(self):
        return unary("abs", self)

    def __invert__(self):
        return unary("logical_not", self)


def _operator(name, reflected=False):
    if reflected:
        return lambda self, other: binary(name, other, self)
    return lambda self, other: binary(name, self, other)


def _inplace_operator(name):
    def apply(self, other):  # a += b writes into a's memory, as NumPy does
        self[...] = binary(name, self, other)
        return self

    return apply


for _dunder, _name in [("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                       ("truediv", "divide"), ("pow", "power"), ("and", "logical_and"),
                       ("or", "logical_or")]:
    setattr(CudaArray, f"__{_dunder}__", _operator(_name))
    setattr(CudaArray, f"__r{_dunder}__", _operator(_name, reflected=True))
    setattr(CudaArray, f"__i{_dunder}__", _inplace_operator(_name))
for _dunder, _name in [("gt", "greater"), ("ge", "greater_equal"), ("lt", "less"),
                       ("le", "less_equal"), ("eq", "equal"), ("ne", "not_equal")]:
    setattr(CudaArray, f"__{_dunder}__", _operator(_name))
