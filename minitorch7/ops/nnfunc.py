"""Neural-network functions with hand-written, numerically careful backwards:
softmax, log-softmax, the negative log-likelihood and binary cross-entropy."""

from ..autograd import Function
from ..device import array_module, kernels_for
from .conv import check_float


class LogSoftmax(Function):
    """log softmax over ``dim``: y = x - max - log(sum(exp(x - max))).

    dx = dy - exp(y) * sum(dy) over dim. The backend's kernels work over the last axis, so
    ``dim`` is swapped with it and back (views); numpy_ref's kernels are the readable
    formulas, numba_cpu fuses the passes of each row.
    Float input only: the Numba kernels do not compile for integers.
    """

    @staticmethod
    def check(x, dim):
        check_float("log_softmax", x)

    @staticmethod
    def forward(ctx, x, dim):
        out = kernels_for(x).log_softmax(x.swapaxes(dim, -1)).swapaxes(dim, -1)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        dim = ctx.dim
        grad_x = kernels_for(out).log_softmax_backward(out.swapaxes(dim, -1),
                                                       grad.swapaxes(dim, -1))
        return grad_x.swapaxes(dim, -1), None


class Softmax(Function):
    """softmax over ``dim``: y = exp(x - max) / sum(exp(x - max)); dx = y (dy - sum(dy y))."""

    @staticmethod
    def forward(ctx, x, dim):
        xp = array_module(x)
        e = xp.exp(x - xp.max(x, axis=dim, keepdims=True))
        out = e / xp.sum(e, axis=dim, keepdims=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        xp = array_module(out)
        return out * (grad - xp.sum(grad * out, axis=ctx.dim, keepdims=True)), None


class NLLLoss(Function):
    """Negative log-likelihood of class targets (Torch7's ClassNLLCriterion).

    logp (B, C) and target (B,) of 0-based class ids: loss = -(1/B) sum_i logp[i, t_i]
    (sum without the 1/B when not size_average); logp (C,) and a one-element target:
    loss = -logp[t].
    """

    @staticmethod
    def forward(ctx, logp, target, size_average):
        """logp (B, C) or (C,) log-probabilities, target (B,) or (1,) integer class ids,
        size_average a bool -> the loss, a 0-d array. Keeps in ``ctx.args`` the tuple
        (logp.shape, logp.dtype, target, scale) that backward reads."""
        # BEGIN TASK 4.3
        xp = array_module(logp)
        picked = xp.take_along_axis(logp.reshape(-1, logp.shape[-1]),
                                    target.reshape(-1, 1), axis=1)
        scale = 1.0 / target.size if size_average else 1.0
        ctx.args = logp.shape, logp.dtype, target, scale
        return -xp.sum(picked) * scale
        # END TASK 4.3

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/dloss (0-d) -> (dL/dlogp of logp's shape and dtype, None, None)."""
        # BEGIN TASK 4.3
        shape, dtype, target, scale = ctx.args
        xp = array_module(grad)
        out = xp.zeros((target.size, shape[-1]), dtype)
        xp.put_along_axis(out, target.reshape(-1, 1), -scale * grad, axis=1)
        return out.reshape(shape), None, None
        # END TASK 4.3


class BCELoss(Function):
    """Binary cross-entropy (Torch7's BCECriterion, eps = 1e-12):

    loss = -sum[t log(x + eps) + (1 - t) log(1 - x + eps)], divided by the number of
    elements when ``size_average``.
    """

    eps = 1e-12

    @staticmethod
    def forward(ctx, x, target, size_average):
        """x probabilities and target (0 or 1, or in between) of one shape, size_average a
        bool -> the loss, a 0-d array; saves what backward needs (``ctx.save_for_backward``
        for arrays, attributes of ctx for numbers)."""
        # BEGIN TASK 3.3
        xp = array_module(x)
        eps = BCELoss.eps
        scale = 1.0 / x.size if size_average else 1.0
        loss = -xp.sum(target * xp.log(x + eps) + (1 - target) * xp.log(1 - x + eps))
        ctx.save_for_backward(x, target)
        ctx.scale = scale
        return loss * scale
        # END TASK 3.3

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/dloss (0-d) -> (dL/dx of x's shape, None, None)."""
        # BEGIN TASK 3.3
        x, target = ctx.saved_arrays
        eps = BCELoss.eps
        dx = -(target / (x + eps) - (1 - target) / (1 - x + eps)) * (ctx.scale * grad)
        return dx, None, None
        # END TASK 3.3
