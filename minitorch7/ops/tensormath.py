"""Torch7 tensor math that needs its own backward: ``unfold`` (a strided view), ``cumsum``
and ``sort``'s permutation. Each Function's forward and backward side by side; the rest
of the tensor-math methods (``norm``, ``topk``, ``repeatTensor``, the BLAS forms) are
built from differentiable ops in ``minitorch7.blas``."""

import numpy as np

from .. import strides
from ..autograd import Function
from ..device import array_module


def unfold_view(view, dim, size, step):
    """The View of every window of ``size`` elements, ``step`` apart, along ``dim``: ``dim``
    keeps its stride times ``step`` and counts the windows, a new last dim of stride
    strides[dim] walks inside one window. No element moves (windows may overlap)."""
    sizes, steps = list(view.sizes), list(view.strides)
    count = (sizes[dim] - size) // step + 1
    inner = steps[dim]
    sizes[dim], steps[dim] = count, inner * step
    return strides.View(view.offset, (*sizes, size), (*steps, inner))


class Unfold(Function):
    """Torch7's unfold(dim, size, step): a view sharing memory. Windows may overlap, so
    the backward adds each window's gradient into its place."""

    is_view = True

    @staticmethod
    def forward(ctx, a, dim, size, step):
        ctx.args = a.shape, a.dtype, dim, size, step
        return strides.realize(a, unfold_view(strides.view_of(a), dim, size, step))

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, dim, size, step = ctx.args
        xp = array_module(grad)
        out = xp.zeros(shape, dtype)
        moved = xp.moveaxis(out, dim, -1)           # (..., n)
        windows = xp.moveaxis(grad, dim, -2)        # (..., count, size)
        for i in range(windows.shape[-2]):
            moved[..., i * step:i * step + size] += windows[..., i, :]
        return out, None, None, None


class Cumsum(Function):
    """Running sums along ``dim``; the gradient is the running sum from the other end."""

    @staticmethod
    def forward(ctx, a, dim):
        ctx.dim = dim
        return np.cumsum(a, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        flipped = np.flip(grad, axis=ctx.dim)
        return np.flip(np.cumsum(flipped, axis=ctx.dim), axis=ctx.dim), None
