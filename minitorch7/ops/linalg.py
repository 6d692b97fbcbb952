"""Matrix products: batched ``matmul`` and the fused ``linear`` (x W^T + b)."""

from ..autograd import Function
from ..device import array_module, kernels_for
from .elementwise import unbroadcast


def _check_matmul(name, a, b):
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"{name}: A is {'x'.join(map(str, a.shape))} but B is "
                         f"{'x'.join(map(str, b.shape))}; A's last size must equal "
                         "B's second-to-last")


class MatMul(Function):
    """a @ b for a (..., n, k), b (..., k, m), batch dims broadcast: the product runs in
    the backend's ``matmul`` kernel (``kernels_for(array)``)."""

    @staticmethod
    def forward(ctx, a, b):
        _check_matmul("matmul", a, b)
        ctx.save_for_backward(a, b)
        return kernels_for(a).matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/d(a @ b) (..., n, m) -> (dL/da, dL/db) of a's and b's shapes; None for
        an input that needs no gradient (``ctx.needs_input_grad``). Saved: a, b. Every
        product goes through ``kernels_for(grad).matmul``."""
        # BEGIN TASK 2.6
        a, b = ctx.saved_arrays
        kernels = kernels_for(grad)
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = unbroadcast(kernels.matmul(grad, b.swapaxes(-1, -2)), a.shape)
        if ctx.needs_input_grad[1]:
            grad_b = unbroadcast(kernels.matmul(a.swapaxes(-1, -2), grad), b.shape)
        return grad_a, grad_b
        # END TASK 2.6


class Linear(Function):
    """y = x W^T + b for x (..., in), W (out, in), b (out,) or None -> y (..., out):
    nn.Linear's op, its products in the backend's ``matmul`` kernel."""

    @staticmethod
    def check(x, weight, bias):
        if x.shape[-1] != weight.shape[1]:
            raise ValueError(f"linear: input has {x.shape[-1]} features (input size "
                             f"{'x'.join(map(str, x.shape))}) but the weight expects "
                             f"{weight.shape[1]}")

    @staticmethod
    def forward(ctx, x, weight, bias):
        """x (..., in), weight (out, in), bias (out,) or None -> y (..., out), every
        product through ``kernels_for(x).matmul`` on 2-D operands (the leading dims of x
        flattened into rows); saves x and weight."""
        # BEGIN TASK 3.1
        ctx.save_for_backward(x, weight)
        x2 = x.reshape(-1, x.shape[-1])
        out = kernels_for(x).matmul(x2, weight.T)
        if bias is not None:
            out += bias
        return out.reshape(*x.shape[:-1], weight.shape[0])
        # END TASK 3.1

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/dy (..., out) -> (dL/dx, dL/dweight, dL/dbias) of their inputs'
        shapes; None for an input that needs no gradient (``ctx.needs_input_grad``; bias
        None never needs one)."""
        # BEGIN TASK 3.1
        x, weight = ctx.saved_arrays
        kernels = kernels_for(grad)
        grad2 = grad.reshape(-1, grad.shape[-1])
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = kernels.matmul(grad2, weight).reshape(x.shape)
        if ctx.needs_input_grad[1]:
            grad_w = kernels.matmul(grad2.T, x.reshape(-1, x.shape[-1]))
        if ctx.needs_input_grad[2]:
            grad_b = array_module(grad).sum(grad2, axis=0)
        return grad_x, grad_w, grad_b
        # END TASK 3.1
