"""Bilinear re-sampling of image planes with Torch7 nnx's coordinate mapping
(nnx/generic/SpatialReSampling.c): the op behind ``nn.SpatialReSampling``.

Output pixel (y, x) of an oH x oW plane reads the input plane (H x W) at the sub-pixel
position (iy, ix) = (y (H-1)/(oH-1), x (W-1)/(oW-1)): the corners of the input map onto
the corners of the output (PyTorch's ``interpolate(..., align_corners=True)`` uses the same
mapping). With lo = floor(ix), fx = ix - lo (likewise for y):

    out = in[lo_y, lo_x] (1-fx)(1-fy) + in[lo_y, hi_x] fx (1-fy)
        + in[hi_y, lo_x] (1-fx) fy    + in[hi_y, hi_x] fx fy,     hi = min(lo + 1, size - 1)

As in the C code, positions and the four weights are float32 numbers (the ratio is a
float); the weighted sum runs in the input's dtype, in the order written above.
"""

import numpy as np

from ..autograd import Function
from ..device import array_module
from .conv import check_float


def _axis_taps(isize, osize):
    """(lo, hi, frac, rest) for one axis: the two input indices each output index reads and
    the float32 weights of hi (frac = pos - lo) and of lo (rest = lo + 1 - pos), where
    pos = o * (isize-1)/(osize-1) in float32."""
    ratio = np.float32(isize - 1) / np.float32(osize - 1)
    pos = ratio * np.arange(osize, dtype=np.float32)
    lo = np.floor(pos)
    frac, rest = pos - lo, (lo + np.float32(1)) - pos
    lo = lo.astype(np.int64)
    return lo, np.minimum(lo + 1, isize - 1), frac, rest


def _taps(in_shape, out_shape):
    """The four (flat input index, float32 weight) taps of every output pixel, each
    oH x oW: in the C code's order nw, ne, sw, se."""
    (ih, iw), (oh, ow) = in_shape, out_shape
    ylo, yhi, fy, ry = _axis_taps(ih, oh)
    xlo, xhi, fx, rx = _axis_taps(iw, ow)
    rows, cols = (ylo[:, None], ylo[:, None], yhi[:, None], yhi[:, None]), \
        (xlo[None], xhi[None], xlo[None], xhi[None])
    weights = (rx[None] * ry[:, None], fx[None] * ry[:, None],
               rx[None] * fy[:, None], fx[None] * fy[:, None])  # float32 products, as in C
    return [(r * iw + c, w) for r, c, w in zip(rows, cols, weights)]


class Resample2d(Function):
    """x (B, C, H, W) -> (B, C, oH, oW) by bilinear re-sampling (see the module's
    docstring); oH and oW at least 2 (the mapping divides by oH-1 and oW-1).

    Backward: each output gradient goes back to its four input pixels times their
    weights, added in the C code's order (output pixels row by row, nw, ne, sw, se)."""

    @staticmethod
    def check(x, size):
        check_float("resample2d", x)
        if x.ndim != 4 or min(size) < 2:
            raise ValueError(f"resample2d: expected a B x C x H x W input and an output "
                             f"size of at least 2 x 2, got input "
                             f"{'x'.join(map(str, x.shape))} and size {size[0]}x{size[1]}")

    @staticmethod
    def forward(ctx, x, size):
        xp = array_module(x)
        taps = _taps(x.shape[2:], size)
        ctx.args = x.shape, taps
        planes = x.reshape(*x.shape[:2], -1)
        out = None
        for index, weight in taps:
            term = planes[:, :, xp.asarray(index)] * xp.asarray(weight.astype(x.dtype))
            out = term if out is None else out + term
        return out

    @staticmethod
    def backward(ctx, grad):
        shape, taps = ctx.args
        xp = array_module(grad)
        # interleave the taps so that add.at adds them in the C code's order
        index = xp.asarray(np.stack([i for i, _ in taps], axis=-1).reshape(-1))
        weight = xp.asarray(np.stack([w for _, w in taps], axis=-1).astype(grad.dtype))
        values = (grad[..., None] * weight).reshape(*shape[:2], -1)
        out = xp.zeros((shape[0] * shape[1], shape[2] * shape[3]), grad.dtype)
        xp.add.at(out, (slice(None), index), values.reshape(out.shape[0], -1))
        return out.reshape(shape), None
