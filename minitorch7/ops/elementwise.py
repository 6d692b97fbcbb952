"""Elementwise ops with NumPy broadcasting. The gradient of a broadcast input is summed
back to its own shape (``unbroadcast``)."""

import operator

from ..autograd import Function, size_text
from ..device import array_module


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the backward of broadcasting ``shape`` up to grad's.

    Leading dims that broadcasting added are summed away, and so are dims where ``shape``
    has size 1. ``shape`` None (a Python scalar operand) gives None.
    """
    if shape is None:
        return None
    if tuple(grad.shape) == tuple(shape):
        return grad
    # BEGIN TASK 1.3
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return array_module(grad).sum(grad, axis=axes, keepdims=True).reshape(shape)
    # END TASK 1.3


def _shape(x):
    return getattr(x, "shape", None)


def _broadcasting(name, op, a, b):
    """op(a, b), or an error naming the op and both sizes when they do not broadcast."""
    try:
        return op(a, b)
    except ValueError:
        sizes = [size_text(_shape(x) or ()) for x in (a, b)]
        raise ValueError(f"{name}: sizes {sizes[0]} and {sizes[1]} do not broadcast (each "
                         "dim must match, or be 1, or be missing on the left)") from None


class Add(Function):
    """a + b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return _broadcasting("add", operator.add, a, b)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shapes[0]), unbroadcast(grad, ctx.shapes[1])


class Sub(Function):
    """a - b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = _shape(a), _shape(b)
        return _broadcasting("sub", operator.sub, a, b)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shapes[0]), unbroadcast(-grad, ctx.shapes[1])


class Mul(Function):
    """a * b; d/da = b, d/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _broadcasting("mul", operator.mul, a, b)

    @staticmethod
    def backward(ctx, grad):
        # BEGIN TASK 1.2
        a, b = ctx.saved_arrays
        return unbroadcast(grad * b, _shape(a)), unbroadcast(grad * a, _shape(b))
        # END TASK 1.2


class Div(Function):
    """a / b; d/da = 1/b, d/db = -a/b^2."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _broadcasting("div", operator.truediv, a, b)

    @staticmethod
    def backward(ctx, grad):
        # BEGIN TASK 1.2
        a, b = ctx.saved_arrays
        return unbroadcast(grad / b, _shape(a)), unbroadcast(-grad * a / (b * b), _shape(b))
        # END TASK 1.2


class Pow(Function):
    """a ** b; d/da = b a^(b-1), d/db = a^b log(a)."""

    @staticmethod
    def forward(ctx, a, b):
        out = _broadcasting("pow", operator.pow, a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_arrays
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = unbroadcast(grad * b * a ** (b - 1), _shape(a))
        if ctx.needs_input_grad[1]:
            grad_b = unbroadcast(grad * out * array_module(out).log(a), _shape(b))
        return grad_a, grad_b


class Neg(Function):
    """-a."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    """exp(a); d/da = exp(a)."""

    @staticmethod
    def forward(ctx, a):
        out = array_module(a).exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # BEGIN TASK 1.2
        (out,) = ctx.saved_arrays
        return grad * out
        # END TASK 1.2


class Log(Function):
    """log(a); d/da = 1/a."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).log(a)

    @staticmethod
    def backward(ctx, grad):
        # BEGIN TASK 1.2
        (a,) = ctx.saved_arrays
        return grad / a
        # END TASK 1.2


class Sqrt(Function):
    """sqrt(a); d/da = 1 / (2 sqrt(a))."""

    @staticmethod
    def forward(ctx, a):
        out = array_module(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_arrays
        return grad / (2 * out)


class Abs(Function):
    """|a|; d/da = sign(a)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        return grad * array_module(a).sign(a)


class Tanh(Function):
    """tanh(a); d/da = 1 - tanh(a)^2."""

    @staticmethod
    def forward(ctx, a):
        out = array_module(a).tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # BEGIN TASK 3.2
        (out,) = ctx.saved_arrays
        return grad * (1 - out * out)
        # END TASK 3.2


class Sigmoid(Function):
    """1 / (1 + exp(-a)); d/da = s (1 - s)."""

    @staticmethod
    def forward(ctx, a):
        xp = array_module(a)
        # computed from tanh: exact and free of exp overflow for large |a|
        out = 0.5 * xp.tanh(0.5 * a) + 0.5
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # BEGIN TASK 3.2
        (out,) = ctx.saved_arrays
        return grad * out * (1 - out)
        # END TASK 3.2


class ReLU(Function):
    """max(a, 0); d/da = 1 where a > 0."""

    @staticmethod
    def forward(ctx, a):
        out = array_module(a).maximum(a, 0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # BEGIN TASK 3.2
        (out,) = ctx.saved_arrays
        return grad * (out > 0)
        # END TASK 3.2


class Clamp(Function):
    """min(max(a, low), high); gradient passes where a is inside [low, high]."""

    @staticmethod
    def forward(ctx, a, low, high):
        ctx.save_for_backward(a)
        ctx.bounds = low, high
        return array_module(a).clip(a, low, high)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        low, high = ctx.bounds
        inside = 1
        if low is not None:
            inside = inside * (a >= low)
        if high is not None:
            inside = inside * (a <= high)
        return grad * inside, None, None


class Where(Function):
    """cond ? a : b, with broadcasting; the gradient goes to the side that was picked."""

    @staticmethod
    def forward(ctx, cond, a, b):
        ctx.cond = cond.astype(bool)
        ctx.shapes = _shape(a), _shape(b)
        return array_module(cond).where(ctx.cond, a, b)

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        return (None, unbroadcast(xp.where(ctx.cond, grad, 0), ctx.shapes[0]),
                unbroadcast(xp.where(ctx.cond, 0, grad), ctx.shapes[1]))
