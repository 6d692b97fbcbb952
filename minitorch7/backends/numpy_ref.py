"""Plain NumPy backend: the readable reference every other backend is tested against.

Arrays are (B, C, H, W) for images, (O, C, kH, kW) for conv weights. Every window operation
goes through `_windows`, a (B, C, Ho, Wo, kH, kW) view of the padded input, and every
gradient of a window operation through `_col2im`, its adjoint (add each window back).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._shapes import check_grad_shape, conv2d_shape, matmul_shapes, pairs, pool2d_shape

TIER = "reference"


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m); leading dims broadcast."""
    matmul_shapes(a.shape, b.shape)
    return np.matmul(a, b)


def right_multiplier(b):
    """f with f(a) = matmul(a, b) (numba_cpu's packs b once; here nothing is prepared)."""
    return lambda a: matmul(a, b)


def _windows(x, kernel, stride, padding, fill=0.0):
    """x (B,C,H,W) -> view (B, C, Ho, Wo, kH, kW): win[b,c,h,w,i,j] = xpad[b,c,h*sH+i,w*sW+j]."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    ho = (xp.shape[2] - kh) // sh + 1
    wo = (xp.shape[3] - kw) // sw + 1
    return sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, : ho * sh : sh, : wo * sw : sw]


def _col2im(cols, input_shape, stride, padding):
    """Adjoint of `_windows`: cols (B,C,Ho,Wo,kH,kW) -> (B,C,H,W), each window added back."""
    _, _, ho, wo, kh, kw = cols.shape
    (sh, sw), (ph, pw) = stride, padding
    b, c, h, w = input_shape
    gxp = np.zeros((b, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, i : i + ho * sh : sh, j : j + wo * sw : sw] += cols[..., i, j]
    return gxp[:, :, ph : ph + h, pw : pw + w]


def conv2d_forward(x, w, b, stride, padding):
    """y[b,o,h,w] = bias[o] + sum_{c,i,j} w[o,c,i,j] * xpad[b, c, h*sH + i, w*sW + j]."""
    stride, padding = pairs("conv2d_forward", stride, padding)
    conv2d_shape(x.shape, w.shape, stride, padding)
    y = np.einsum("bchwij,ocij->bohw", _windows(x, w.shape[2:], stride, padding), w,
                  optimize=True)
    return y if b is None else y + b[:, None, None]


def conv2d_backward_input(gy, w, input_shape, stride, padding):
    """gx (B,C,H,W) = sum over windows of gy[b,o,h,w] * w[o,c,:,:], placed where they read."""
    stride, padding = pairs("conv2d_backward_input", stride, padding)
    check_grad_shape("conv2d_backward_input", gy.shape,
                     conv2d_shape(input_shape, w.shape, stride, padding))
    cols = np.einsum("bohw,ocij->bchwij", gy, w, optimize=True)
    return _col2im(cols, input_shape, stride, padding)


def conv2d_backward_weight(gy, x, weight_shape, stride, padding):
    """gw[o,c,i,j] = sum_{b,h,w} gy[b,o,h,w] * xpad[b,c,h*sH+i,w*sW+j]; gb[o] = sum gy[b,o]."""
    stride, padding = pairs("conv2d_backward_weight", stride, padding)
    check_grad_shape("conv2d_backward_weight", gy.shape,
                     conv2d_shape(x.shape, weight_shape, stride, padding))
    win = _windows(x, weight_shape[2:], stride, padding)
    gw = np.einsum("bohw,bchwij->ocij", gy, win, optimize=True)
    return gw, gy.sum(axis=(0, 2, 3))


def maxpool2d_forward(x, kernel, stride, padding):
    """y = max over each window (padding is -inf); argmax = flat index h*W + w of that max."""
    kernel, stride, padding = pairs("maxpool2d_forward", kernel, stride, padding)
    _, _, ho, wo = pool2d_shape(x.shape, kernel, stride, padding, "maxpool2d_forward")
    win = _windows(x, kernel, stride, padding, fill=-np.inf)
    flat = win.reshape(win.shape[:4] + (-1,))
    k = flat.argmax(axis=-1)  # first max wins
    y = np.take_along_axis(flat, k[..., None], axis=-1)[..., 0]
    rows = np.arange(ho)[:, None] * stride[0] - padding[0] + k // kernel[1]
    cols = np.arange(wo)[None, :] * stride[1] - padding[1] + k % kernel[1]
    return y, (rows * x.shape[3] + cols).astype(np.int64)


def maxpool2d_backward(gy, argmax, input_shape):
    """gx = zeros(input_shape) with gy[b,c,h,w] added at gx[b, c].flat[argmax[b,c,h,w]]."""
    check_grad_shape("maxpool2d_backward", gy.shape, argmax.shape)
    b, c, h, w = input_shape
    gx = np.zeros((b * c, h * w), dtype=gy.dtype)
    np.add.at(gx, (np.arange(b * c)[:, None], argmax.reshape(b * c, -1)), gy.reshape(b * c, -1))
    return gx.reshape(input_shape)


def avgpool2d_forward(x, kernel, stride, padding):
    """y = sum over each zero-padded window / (kH*kW) (count_include_pad, Torch7's default)."""
    kernel, stride, padding = pairs("avgpool2d_forward", kernel, stride, padding)
    pool2d_shape(x.shape, kernel, stride, padding, "avgpool2d_forward")
    win = _windows(x, kernel, stride, padding)
    return win.sum(axis=(4, 5)) / (kernel[0] * kernel[1])


def avgpool2d_backward(gy, input_shape, kernel, stride, padding):
    """gx: every input cell of a window gets gy / (kH*kW) of that window."""
    kernel, stride, padding = pairs("avgpool2d_backward", kernel, stride, padding)
    check_grad_shape("avgpool2d_backward", gy.shape,
                     pool2d_shape(input_shape, kernel, stride, padding, "avgpool2d_backward"))
    scaled = gy / (kernel[0] * kernel[1])
    cols = np.broadcast_to(scaled[..., None, None], gy.shape + kernel)
    return _col2im(cols, input_shape, stride, padding)


def log_softmax(x):
    """log softmax over the last axis: y = x - max - log(sum(exp(x - max)))."""
    out = x - x.max(axis=-1, keepdims=True)
    out -= np.log(np.exp(out).sum(axis=-1, keepdims=True))
    return out


def log_softmax_backward(y, gy):
    """y = log_softmax(x), gy = dL/dy -> dL/dx = gy - exp(y) * sum(gy), over the last axis."""
    gx = np.exp(y)  # one vocabulary-wide buffer, updated in place
    gx *= -gy.sum(axis=-1, keepdims=True)
    gx += gy
    return gx
