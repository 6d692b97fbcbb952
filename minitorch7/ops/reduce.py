"""Reductions over one dimension or all: sum, mean, max/min. ``dim`` None reduces all."""

from ..autograd import Function
from ..device import array_module


def _restore(grad, shape, dim, keepdim):
    """Put back the reduced dim (size 1) so grad broadcasts against the input."""
    if dim is None:
        return grad.reshape((1,) * len(shape))
    return grad if keepdim else array_module(grad).expand_dims(grad, dim)


class Sum(Function):
    """sum over ``dim``; every input element gets the gradient of its sum."""

    @staticmethod
    def forward(ctx, a, dim, keepdim):
        ctx.args = a.shape, dim, keepdim
        return array_module(a).sum(a, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, keepdim = ctx.args
        xp = array_module(grad)
        return xp.broadcast_to(_restore(grad, shape, dim, keepdim), shape), None, None


class Mean(Function):
    """mean over ``dim``; each element gets grad / n."""

    @staticmethod
    def forward(ctx, a, dim, keepdim):
        ctx.args = a.shape, dim, keepdim
        ctx.count = a.size if dim is None else a.shape[dim]
        return array_module(a).mean(a, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, keepdim = ctx.args
        xp = array_module(grad)
        return xp.broadcast_to(_restore(grad, shape, dim, keepdim) / ctx.count, shape), None, None


class Max(Function):
    """Largest value over ``dim``; the gradient goes to the (first) arg-max."""

    reduce_name, arg_name = "max", "argmax"

    @classmethod
    def forward(cls, ctx, a, dim, keepdim):
        xp = array_module(a)
        flat = a.reshape(-1) if dim is None else a
        index = getattr(xp, cls.arg_name)(flat, axis=0 if dim is None else dim)
        ctx.args = a.shape, dim, keepdim, index
        return getattr(xp, cls.reduce_name)(a, axis=dim, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        shape, dim, keepdim, index = ctx.args
        xp = array_module(grad)
        out = xp.zeros(shape, grad.dtype)
        if dim is None:
            out.reshape(-1)[index] = grad.reshape(())
        else:
            g = grad if keepdim else xp.expand_dims(grad, dim)
            xp.put_along_axis(out, xp.expand_dims(index, dim), g, axis=dim)
        return out, None, None


class Min(Max):
    """Smallest value over ``dim``; the gradient goes to the (first) arg-min."""

    reduce_name, arg_name = "min", "argmin"
