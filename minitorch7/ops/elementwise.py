"""Elementwise ops with NumPy broadcasting. The gradient of a broadcast input is summed
back to its own shape (``unbroadcast``)."""

import operator

from ..autograd import Function, size_text
from ..device import array_module
from ..strides import broadcast_shape


def unbroadcast(grad, shape):
    """The backward of broadcasting an input of ``shape`` up to ``grad``'s shape.

    grad: dL/d(the broadcast result), an array (NumPy or CUDA; ``array_module(grad)`` is
    its NumPy-like namespace). shape: the input's shape (a tuple), or None for a Python
    scalar operand. Returns dL/d(input), an array of exactly ``shape`` (``grad`` itself
    when nothing was broadcast), or None when ``shape`` is None.
    """
    # BEGIN TASK 2.2
    if shape is None:
        return None
    if tuple(grad.shape) == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    return array_module(grad).sum(grad, axis=axes, keepdims=True).reshape(shape)
    # END TASK 2.2


def _shape(x):
    return getattr(x, "shape", None)


def _broadcasting(name, op, a, b):
    """op(a, b), or an error naming the op and both sizes when they do not broadcast."""
    shapes = [_shape(x) or () for x in (a, b)]
    try:
        broadcast_shape(*shapes)
    except ValueError:
        raise ValueError(f"{name}: sizes {size_text(shapes[0])} and {size_text(shapes[1])} do "
                         "not broadcast (each dim must match, or be 1, or be missing on the "
                         "left)") from None
    return op(a, b)


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
    """a * b, with broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _broadcasting("mul", operator.mul, a, b)

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d(a * b) -> (dL/da, dL/db), each of its input's shape (None for a
        Python scalar). Saved: a, b."""
        # BEGIN TASK 2.5
        a, b = ctx.saved_arrays
        return unbroadcast(grad * b, _shape(a)), unbroadcast(grad * a, _shape(b))
        # END TASK 2.5


class Div(Function):
    """a / b, with broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _broadcasting("div", operator.truediv, a, b)

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d(a / b) -> (dL/da, dL/db), each of its input's shape (None for a
        Python scalar). Saved: a, b."""
        # BEGIN TASK 2.5
        a, b = ctx.saved_arrays
        return unbroadcast(grad / b, _shape(a)), unbroadcast(-grad * a / (b * b), _shape(b))
        # END TASK 2.5


class Pow(Function):
    """a ** b, with broadcasting."""

    @staticmethod
    def forward(ctx, a, b):
        out = _broadcasting("pow", operator.pow, a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d(a ** b) -> (dL/da, dL/db), each of its input's shape; None for an
        input that needs no gradient (``ctx.needs_input_grad``: the exponent often does
        not, and log(a) is undefined for a <= 0). Saved: a, b, out = a ** b."""
        # BEGIN TASK 2.5
        a, b, out = ctx.saved_arrays
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = unbroadcast(grad * b * a ** (b - 1), _shape(a))
        if ctx.needs_input_grad[1]:
            grad_b = unbroadcast(grad * out * array_module(out).log(a), _shape(b))
        return grad_a, grad_b
        # END TASK 2.5


class Neg(Function):
    """-a."""

    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Exp(Function):
    """exp(a), elementwise."""

    @staticmethod
    def forward(ctx, a):
        out = array_module(a).exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d exp(a) -> dL/da. Saved: out = exp(a)."""
        # BEGIN TASK 2.5
        (out,) = ctx.saved_arrays
        return grad * out
        # END TASK 2.5


class Log(Function):
    """log(a), elementwise."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).log(a)

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d log(a) -> dL/da. Saved: a."""
        # BEGIN TASK 2.5
        (a,) = ctx.saved_arrays
        return grad / a
        # END TASK 2.5


class Sqrt(Function):
    """sqrt(a), elementwise."""

    @staticmethod
    def forward(ctx, a):
        out = array_module(a).sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d sqrt(a) -> dL/da. Saved: out = sqrt(a)."""
        # BEGIN TASK 2.5
        (out,) = ctx.saved_arrays
        return grad / (2 * out)
        # END TASK 2.5


class Abs(Function):
    """|a|, elementwise (Torch7 and PyTorch take the gradient at 0 to be 0)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return array_module(a).abs(a)

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d|a| -> dL/da. Saved: a."""
        # BEGIN TASK 2.5
        (a,) = ctx.saved_arrays
        return grad * array_module(a).sign(a)
        # END TASK 2.5


class Tanh(Function):
    """tanh(a), elementwise: nn.Tanh's transfer function."""

    @staticmethod
    def forward(ctx, a):
        """a (any shape) -> tanh(a); saves what the backward needs."""
        # BEGIN TASK 4.1
        out = array_module(a).tanh(a)
        ctx.save_for_backward(out)
        return out
        # END TASK 4.1

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d tanh(a) -> dL/da, from what forward saved."""
        # BEGIN TASK 4.1
        (out,) = ctx.saved_arrays
        return grad * (1 - out * out)
        # END TASK 4.1


class Sigmoid(Function):
    """sigmoid(a) = 1 / (1 + exp(-a)), elementwise: nn.Sigmoid's transfer function."""

    @staticmethod
    def forward(ctx, a):
        """a (any shape) -> sigmoid(a), without overflow for large |a|; saves what the
        backward needs."""
        # BEGIN TASK 3.2
        xp = array_module(a)
        # computed from tanh: exact and free of exp overflow for large |a|
        out = 0.5 * xp.tanh(0.5 * a) + 0.5
        ctx.save_for_backward(out)
        return out
        # END TASK 3.2

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d sigmoid(a) -> dL/da, from what forward saved."""
        # BEGIN TASK 3.2
        (out,) = ctx.saved_arrays
        return grad * out * (1 - out)
        # END TASK 3.2


class ReLU(Function):
    """max(a, 0), elementwise: nn.ReLU's transfer function."""

    @staticmethod
    def forward(ctx, a):
        """a (any shape) -> max(a, 0); saves what the backward needs."""
        # BEGIN TASK 4.1
        out = array_module(a).maximum(a, 0)
        ctx.save_for_backward(out)
        return out
        # END TASK 4.1

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d max(a, 0) -> dL/da (0 where a <= 0), from what forward saved."""
        # BEGIN TASK 4.1
        (out,) = ctx.saved_arrays
        return grad * (out > 0)
        # END TASK 4.1


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
