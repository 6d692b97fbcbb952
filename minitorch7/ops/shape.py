"""Views and reshapes. Each output shares its input's memory where NumPy allows, so
writing through a view changes the original; the backward routes the gradient back
into the input's shape."""

import numpy as np

from .. import strides
from ..autograd import Function
from ..backends import cuda_namespace
from ..device import array_module
from .elementwise import unbroadcast


class Reshape(Function):
    """The same elements in a new shape (``view`` when contiguous, else a copy)."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return a.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Permute(Function):
    """Reorder dims: output dim i is input dim ``dims[i]``. Also transpose and t()."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return grad.transpose(inverse), None


class View(Function):
    """The view that ``how(view, *args)`` describes, with ``how`` one of the index-arithmetic
    functions of ``minitorch7.strides`` (narrow, select, transpose): the output shares the
    input's memory. The backward puts the gradient where the view reads: into the same
    view of zeros of the input's shape."""

    is_view = True

    @staticmethod
    def forward(ctx, a, how, *args):
        ctx.shape, ctx.dtype, ctx.how, ctx.args = a.shape, a.dtype, how, args
        return strides.realize(a, how(strides.view_of(a), *args))

    @staticmethod
    def backward(ctx, grad):
        out = array_module(grad).zeros(ctx.shape, ctx.dtype)
        strides.realize(out, ctx.how(strides.view_of(out), *ctx.args))[...] = grad
        return (out, None) + (None,) * len(ctx.args)


class Expand(Function):
    """Repeat size-1 and new leading dims to ``shape`` without copying (stride 0:
    ``strides.expand``); the backward sums the gradient back (``unbroadcast``)."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return strides.realize(a, strides.expand(strides.view_of(a), shape))

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape), None


class Index(Function):
    """a[index]: basic indexing (ints, slices) gives a view; integer arrays give a copy.

    The backward scatters the gradient into zeros of a's shape, adding where an
    integer-array index repeats an element.
    """

    is_view = True

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.dtype, ctx.index = a.shape, a.dtype, index
        return a[index]

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        out = xp.zeros(ctx.shape, ctx.dtype)
        if _is_basic(ctx.index):
            out[ctx.index] = grad
        else:
            xp.add.at(out, ctx.index, grad)
        return out, None


def _is_basic(index):
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, int | slice) or p is None or p is Ellipsis for p in parts)


class Contiguous(Function):
    """A C-contiguous copy (or the input itself when it already is)."""

    @staticmethod
    def forward(ctx, a):
        return array_module(a).ascontiguousarray(a)

    @staticmethod
    def backward(ctx, grad):
        return grad


class Clone(Function):
    """A copy with its own memory."""

    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class Cast(Function):
    """Convert to another dtype; the gradient comes back in the input's dtype."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.dtype), None


class Cat(Function):
    """Join tensors along ``dim``; each input gets its slice of the gradient back."""

    @staticmethod
    def forward(ctx, dim, *arrays):
        ctx.dim, ctx.sizes = dim, [a.shape[dim] for a in arrays]
        return array_module(arrays[0]).concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        grads, start = [], 0
        for size in ctx.sizes:
            index = [slice(None)] * grad.ndim
            index[ctx.dim] = slice(start, start + size)
            grads.append(grad[tuple(index)])
            start += size
        return (None, *grads)


class ToDevice(Function):
    """Copy to ``device`` ("cpu" or "cuda"); the gradient is copied back."""

    @staticmethod
    def forward(ctx, a, device):
        ctx.device = "cpu" if isinstance(a, np.ndarray) else "cuda"
        return to_device(a, device)

    @staticmethod
    def backward(ctx, grad):
        return to_device(grad, ctx.device), None


def to_device(array, device):
    """``array`` copied to ``device`` ("cpu" or "cuda"), or itself if already there."""
    on_cpu = isinstance(array, np.ndarray)
    if device == "cpu":
        return array if on_cpu else array.to_numpy()
    if device == "cuda":
        return cuda_namespace().from_numpy(array) if on_cpu else array
    raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
