"""Views and reshapes. Each output shares its input's memory where NumPy allows, so
writing through a view changes the original; the backward routes the gradient back
into the input's shape."""

import numpy as np

from ..autograd import Function
from ..backends import cuda_backend
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


class Expand(Function):
    """Broadcast size-1 dims to ``shape`` without copying (stride 0)."""

    is_view = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a.shape
        return array_module(a).broadcast_to(a, shape)

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
        return cuda_backend().from_numpy(array) if on_cpu else array
    raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
