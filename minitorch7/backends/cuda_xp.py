"""The NumPy-like namespace (``xp``) of CudaArrays: what the autograd ops call as
``xp.exp(x)``, ``xp.sum(x, axis=0)``, ``xp.zeros(shape)``... when their arrays live on the GPU
(``minitorch7.device.array_module`` returns NumPy for NumPy arrays and this module for
CudaArrays), with NumPy's names, signatures, broadcasting and result dtypes.

Creation, elementwise math (the map templates of cuda_array), reductions (cuda_array's
folds: one block per output, a shared-memory tree), shapes (views), indexing (take,
``*_along_axis``, ``add.at``, index_add) and nll_loss. Everything stays on the device; only
``to_numpy``, ``item`` and boolean-mask indexing copy to the host.

The kernel primitives of the backend interface (matmul, conv2d_*, pooling, log_softmax) are
not here: they are in ``numba_cuda`` (fast tier) and ``numba_cuda_teach`` (teaching tier),
and ``minitorch7.device.kernels_for`` picks the module. So there is no ``matmul`` here.
"""

import builtins
import math
import numbers

import numpy as np
from numba import cuda

from .cuda_array import (
    FOLDS,
    CudaArray,
    arg_extremum,
    as_operand,
    binary,
    broadcast_strides,
    empty,
    fancy_get,
    fancy_scatter,
    fold,
    from_numpy,
    grid_1d,
    is_fancy,
    reduced_axes,
    unary,
)
from .cuda_array import mean as _mean
from .cuda_array import where as _where

__all__ = ["CudaArray", "from_numpy", "empty"]  # plus the NumPy-style names below

float16, float32, float64 = np.float16, np.float32, np.float64
int32, int64, bool_ = np.int32, np.int64, np.bool_
inf, nan, pi, newaxis = np.inf, np.nan, np.pi, None


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
        raise TypeError("where: only the 3-argument form where(cond, a, b)")
    return _where(cond, a, b)


def clip(x, a_min, a_max):
    x = x if a_min is None else maximum(x, a_min)
    return x if a_max is None else minimum(x, a_max)


# ================================================================ reductions
def _fold(op):
    def fn(x, axis=None, keepdims=False, dtype=None):
        return fold(op, x, axis, keepdims, dtype)

    fn.__name__ = op
    fn.__doc__ = f"np.{op} over ``axis`` (an int, a tuple, or None for all)."
    return fn


sum, prod, max, min, all, any = (_fold(op) for op in FOLDS)  # noqa: A001
amax, amin = max, min


def vdot(a, b):
    """sum(a * b) over all elements, as a 0-d array (NumPy's vdot, for real arrays)."""
    return sum(a * b)


def mean(x, axis=None, keepdims=False, dtype=None):
    return _mean(x, axis, keepdims, dtype)


def argmax(x, axis=None, keepdims=False):
    """Index of the first maximum along ``axis`` (flat C-order index when axis is None)."""
    return arg_extremum(True, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return arg_extremum(False, x, axis, keepdims)


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
    axes = [d for d, n in enumerate(x.shape) if n == 1] if axis is None else reduced_axes(x, axis)
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
