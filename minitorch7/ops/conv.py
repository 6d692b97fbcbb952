"""2-D convolution and pooling as differentiable ops over the backend's kernels."""

from ..autograd import Function
from ..device import kernels_for


def check_float(name, x):
    """TypeError unless ``x`` (an array) holds float32 or float64: the kernels are compiled
    per dtype, and on integers they answer garbage (uint8 wraps, int64 truncates) or fail
    to compile (backward)."""
    if x.dtype.char not in "fd":
        raise TypeError(f"{name}: expected a float32 or float64 input, got {x.dtype}")


class Conv2d(Function):
    """y = conv(x, w) + b for x (B,C,H,W), w (O,C,kH,kW), b (O,) -> y (B,O,Ho,Wo).

    Ho = (H + 2 pH - kH) // sH + 1. The kernels compute dx (a full correlation of dy
    with the flipped w) and dw (a correlation of x with dy); db sums dy over B, Ho, Wo.
    """

    @staticmethod
    def check(x, weight, bias, stride, padding):
        check_float("conv2d", x)

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):
        ctx.save_for_backward(x, weight)
        ctx.geometry = stride, padding
        return kernels_for(x).conv2d_forward(x, weight, bias, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_arrays
        stride, padding = ctx.geometry
        kernels = kernels_for(grad)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = kernels.conv2d_backward_input(grad, weight, x.shape, stride, padding)
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            grad_w, grad_b = kernels.conv2d_backward_weight(grad, x, weight.shape, stride,
                                                            padding)
        return grad_x, grad_w, grad_b, None, None


class MaxPool2d(Function):
    """Max over each kH x kW window (floor mode); the gradient goes to each window's max."""

    @staticmethod
    def check(x, kernel, stride, padding):
        check_float("max_pool2d", x)

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        out, argmax = kernels_for(x).maxpool2d_forward(x, kernel, stride, padding)
        ctx.args = x.shape, argmax
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, argmax = ctx.args
        return kernels_for(grad).maxpool2d_backward(grad, argmax, shape), None, None, None


class AvgPool2d(Function):
    """Mean over each kH x kW window (padding counted, as Torch7); dx spreads dy / (kH kW)."""

    @staticmethod
    def check(x, kernel, stride, padding):
        check_float("avg_pool2d", x)

    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        ctx.args = x.shape, kernel, stride, padding
        return kernels_for(x).avgpool2d_forward(x, kernel, stride, padding)

    @staticmethod
    def backward(ctx, grad):
        shape, kernel, stride, padding = ctx.args
        return (kernels_for(grad).avgpool2d_backward(grad, shape, kernel, stride, padding),
                None, None, None)
