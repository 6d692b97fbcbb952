"""Numba CPU backend: the default. Same primitives and signatures as numpy_ref.

    matmul                  blocked, packed, register-tiled product (_numba_gemm.gemm)
    conv2d_forward          im2col then one gemm: y (O, B*Ho*Wo) = W (O, C*kH*kW) @ cols
    conv2d_backward_weight  gw = gy (O, B*Ho*Wo) @ cols.T, gb = sum of gy
    conv2d_backward_input   cols = W.T @ gy, then col2im adds each column back in place
    max/avg pooling         one parallel task per (batch, channel) plane

Kernels are @njit(parallel=True, cache=True): the first call compiles (seconds), later
processes load the machine code from __pycache__. Nothing is compiled at import.
"""

import numpy as np
from numba import get_num_threads, njit, prange

from ._numba_gemm import gemm
from ._shapes import check_grad_shape, conv2d_shape, matmul_shapes, pairs, pool2d_shape


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m); leading dims broadcast like np.matmul.

    Float arrays go to the Numba gemm; other dtypes (integer tensors) to np.matmul.
    """
    batch, n, k, m = matmul_shapes(a.shape, b.shape)
    dtype = np.result_type(a, b)
    if dtype not in (np.float32, np.float64):
        return np.matmul(a, b)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    if not batch:
        return gemm(a, b, get_num_threads())
    c = np.empty(batch + (n, m), dtype)
    a, b = np.broadcast_to(a, batch + (n, k)), np.broadcast_to(b, batch + (k, m))
    for t in np.ndindex(batch):  # one parallel gemm per matrix of the batch
        c[t] = gemm(a[t], b[t], get_num_threads())
    return c


@njit(inline="always")
def _inside(n, count, start, step):
    """(lo, hi): the t in [0, count) with 0 <= start + t*step < n form the range lo <= t < hi."""
    lo = min(count, max(0, (step - 1 - start) // step))
    hi = max(lo, min(count, (n - 1 - start) // step + 1))
    return lo, hi


@njit(inline="always")
def _copy_row(src, dst, start, step):
    """dst[t] = src[start + t*step] where that index is inside src, else 0 (a padded row)."""
    lo, hi = _inside(src.shape[0], dst.shape[0], start, step)
    dst[:lo] = 0
    dst[hi:] = 0
    out = dst[lo:hi]
    if step == 1:  # contiguous on both sides: a vectorised copy
        seg = src[start + lo:start + hi]
        for t in range(hi - lo):
            out[t] = seg[t]
    else:
        for t in range(hi - lo):
            out[t] = src[start + (lo + t) * step]


@njit(inline="always")
def _add_row(src, dst, start, step):
    """dst[start + t*step] += src[t] wherever that index is inside dst (adjoint of _copy_row)."""
    lo, hi = _inside(dst.shape[0], src.shape[0], start, step)
    seg = src[lo:hi]
    if step == 1:
        out = dst[start + lo:start + hi]
        for t in range(hi - lo):
            out[t] += seg[t]
    else:
        for t in range(hi - lo):
            dst[start + (lo + t) * step] += seg[t]


@njit(parallel=True, cache=True)
def _im2col(x, kh, kw, sh, sw, ph, pw, ho, wo):
    """x (B,C,H,W) -> cols (C*kH*kW, B*Ho*Wo), zero outside x:

    cols[(c*kH + i)*kW + j, (b*Ho + h)*Wo + w] = x[b, c, h*sH - pH + i, w*sW - pW + j]
    """
    bsz, ch, h, w = x.shape
    cols = np.empty((ch * kh * kw, bsz * ho * wo), x.dtype)
    # BEGIN TASK 2.3
    for r in prange(ch * kh * kw):
        c, i, j = r // (kh * kw), r // kw % kh, r % kw
        for b in range(bsz):
            for oh in range(ho):
                out = cols[r, (b * ho + oh) * wo:(b * ho + oh + 1) * wo]
                hh = oh * sh - ph + i
                if 0 <= hh < h:
                    _copy_row(x[b, c, hh], out, j - pw, sw)
                else:
                    out[:] = 0
    # END TASK 2.3
    return cols


@njit(parallel=True, cache=True)
def _col2im(cols, h, w, kh, kw, sh, sw, ph, pw, ho, wo):
    """Adjoint of _im2col: cols (C*kH*kW, B*Ho*Wo) -> gx (B,C,H,W), each entry added back."""
    ch, bsz = cols.shape[0] // (kh * kw), cols.shape[1] // (ho * wo)
    gx = np.zeros((bsz, ch, h, w), cols.dtype)
    for p in prange(bsz * ch):
        b, c = p // ch, p % ch
        for i in range(kh):
            for j in range(kw):
                src = cols[(c * kh + i) * kw + j]
                for oh in range(ho):
                    hh = oh * sh - ph + i
                    if 0 <= hh < h:
                        _add_row(src[(b * ho + oh) * wo:(b * ho + oh + 1) * wo], gx[b, c, hh],
                                 j - pw, sw)
    return gx


@njit(parallel=True, cache=True)
def _to_nchw(y2, bias, bsz):
    """y2 (O, B*Ho*Wo) -> y (B, O, Ho*Wo) with y[b, o] = y2[o, b*HoWo:(b+1)*HoWo] + bias[o]."""
    o, hw = y2.shape[0], y2.shape[1] // bsz
    y = np.empty((bsz, o, hw), y2.dtype)
    for b in prange(bsz):
        for oc in range(o):
            src = y2[oc, b * hw:(b + 1) * hw]
            for p in range(hw):
                y[b, oc, p] = src[p] + bias[oc]
    return y


def conv2d_forward(x, w, b, stride, padding):
    """y[b,o,h,w] = bias[o] + sum_{c,i,j} w[o,c,i,j] * xpad[b, c, h*sH + i, w*sW + j].

    x (B,C,H,W), w (O,C,kH,kW), b (O,) or None -> y (B,O,Ho,Wo).
    As one gemm: y (O, B*Ho*Wo) = w (O, C*kH*kW) @ cols.
    """
    stride, padding = pairs("conv2d_forward", stride, padding)
    bsz, o, ho, wo = conv2d_shape(x.shape, w.shape, stride, padding)
    cols = _im2col(x, *w.shape[2:], *stride, *padding, ho, wo)
    y2 = gemm(w.reshape(o, -1), cols, get_num_threads())
    bias = np.zeros(o, x.dtype) if b is None else b.astype(x.dtype, copy=False)
    return _to_nchw(y2, bias, bsz).reshape(bsz, o, ho, wo)


def conv2d_backward_input(gy, w, input_shape, stride, padding):
    """gx (B,C,H,W): gx[b,c,h,w] = sum of gy[b,o,ho,wo] * w[o,c,i,j] over h = ho*sH - pH + i.

    As one gemm and a scatter: cols (C*kH*kW, B*Ho*Wo) = w.T @ gy, then _col2im.
    """
    stride, padding = pairs("conv2d_backward_input", stride, padding)
    _, o, ho, wo = check_grad_shape("conv2d_backward_input", gy.shape,
                                    conv2d_shape(input_shape, w.shape, stride, padding))
    gy_nhwc = np.ascontiguousarray(gy.transpose(0, 2, 3, 1)).reshape(-1, o)
    cols = gemm(np.ascontiguousarray(w.reshape(o, -1).T), gy_nhwc.T, get_num_threads())
    return _col2im(cols, *input_shape[2:], *w.shape[2:], *stride, *padding, ho, wo)


def conv2d_backward_weight(gy, x, weight_shape, stride, padding):
    """gw[o,c,i,j] = sum_{b,h,w} gy[b,o,h,w] * xpad[b,c,h*sH+i,w*sW+j]; gb[o] = sum gy[b,o].

    As one gemm over the B*Ho*Wo pixels: gw (O, C*kH*kW) = gy (O, B*Ho*Wo) @ cols.T.
    """
    stride, padding = pairs("conv2d_backward_weight", stride, padding)
    _, o, ho, wo = check_grad_shape("conv2d_backward_weight", gy.shape,
                                    conv2d_shape(x.shape, weight_shape, stride, padding))
    cols = _im2col(x, *weight_shape[2:], *stride, *padding, ho, wo)
    gy2 = np.ascontiguousarray(gy.transpose(1, 0, 2, 3)).reshape(o, -1)
    gw = gemm(gy2, cols.T, get_num_threads()).reshape(weight_shape)
    return gw, gy.sum(axis=(0, 2, 3))


@njit(parallel=True, cache=True)
def _maxpool_forward(x, kh, kw, sh, sw, ph, pw, ho, wo):
    """Window maxima y (B,C,Ho,Wo) and their flat plane indices h*W + w (first max wins)."""
    bsz, ch, h, w = x.shape
    y = np.empty((bsz, ch, ho, wo), x.dtype)
    argmax = np.empty((bsz, ch, ho, wo), np.int64)
    # BEGIN TASK 2.4
    for p in prange(bsz * ch):
        b, c = p // ch, p % ch
        for oh in range(ho):
            for ow in range(wo):
                at = -1
                best = x[b, c, 0, 0]
                for i in range(kh):
                    hh = oh * sh - ph + i
                    for j in range(kw):
                        ww = ow * sw - pw + j
                        if 0 <= hh < h and 0 <= ww < w and (at < 0 or x[b, c, hh, ww] > best):
                            best, at = x[b, c, hh, ww], hh * w + ww
                y[b, c, oh, ow] = best
                argmax[b, c, oh, ow] = at
    # END TASK 2.4
    return y, argmax


@njit(parallel=True, cache=True)
def _maxpool_backward(gy, argmax, hw):
    """gx (B, C, H*W): gy scatter-added at argmax, one task per plane (so no races)."""
    bsz, ch, ho, wo = gy.shape
    gx = np.zeros((bsz, ch, hw), gy.dtype)
    # BEGIN TASK 2.4
    for p in prange(bsz * ch):
        b, c = p // ch, p % ch
        for oh in range(ho):
            for ow in range(wo):
                gx[b, c, argmax[b, c, oh, ow]] += gy[b, c, oh, ow]
    # END TASK 2.4
    return gx


def maxpool2d_forward(x, kernel, stride, padding):
    """y = max over each window (padding never wins); argmax int64 (B,C,Ho,Wo) = h*W + w."""
    kernel, stride, padding = pairs("maxpool2d_forward", kernel, stride, padding)
    _, _, ho, wo = pool2d_shape(x.shape, kernel, stride, padding, "maxpool2d_forward")
    return _maxpool_forward(x, *kernel, *stride, *padding, ho, wo)


def maxpool2d_backward(gy, argmax, input_shape):
    """gx = zeros(input_shape) with gy[b,c,h,w] added at gx[b, c].flat[argmax[b,c,h,w]]."""
    check_grad_shape("maxpool2d_backward", gy.shape, argmax.shape)
    b, c, h, w = input_shape
    return _maxpool_backward(gy, argmax, h * w).reshape(b, c, h, w)


@njit(parallel=True, cache=True)
def _avgpool_forward(x, kh, kw, sh, sw, ph, pw, ho, wo):
    """y[b,c,h,w] = sum of the zero-padded window / (kH*kW)."""
    bsz, ch, h, w = x.shape
    y = np.empty((bsz, ch, ho, wo), x.dtype)
    for p in prange(bsz * ch):
        b, c = p // ch, p % ch
        for oh in range(ho):
            for ow in range(wo):
                s = 0.0
                for i in range(kh):
                    hh = oh * sh - ph + i
                    for j in range(kw):
                        ww = ow * sw - pw + j
                        if 0 <= hh < h and 0 <= ww < w:
                            s += x[b, c, hh, ww]
                y[b, c, oh, ow] = s / (kh * kw)
    return y


@njit(parallel=True, cache=True)
def _avgpool_backward(gy, h, w, kh, kw, sh, sw, ph, pw):
    """gx: each cell of a window inside the input gets gy of that window / (kH*kW)."""
    bsz, ch, ho, wo = gy.shape
    gx = np.zeros((bsz, ch, h, w), gy.dtype)
    for p in prange(bsz * ch):
        b, c = p // ch, p % ch
        for oh in range(ho):
            for ow in range(wo):
                g = gy[b, c, oh, ow] / (kh * kw)
                for i in range(kh):
                    hh = oh * sh - ph + i
                    for j in range(kw):
                        ww = ow * sw - pw + j
                        if 0 <= hh < h and 0 <= ww < w:
                            gx[b, c, hh, ww] += g
    return gx


def avgpool2d_forward(x, kernel, stride, padding):
    """y = sum over each zero-padded window / (kH*kW) (count_include_pad, Torch7's default)."""
    kernel, stride, padding = pairs("avgpool2d_forward", kernel, stride, padding)
    _, _, ho, wo = pool2d_shape(x.shape, kernel, stride, padding, "avgpool2d_forward")
    return _avgpool_forward(x, *kernel, *stride, *padding, ho, wo)


def avgpool2d_backward(gy, input_shape, kernel, stride, padding):
    """gx: every input cell of a window gets gy / (kH*kW) of that window."""
    kernel, stride, padding = pairs("avgpool2d_backward", kernel, stride, padding)
    check_grad_shape("avgpool2d_backward", gy.shape,
                     pool2d_shape(input_shape, kernel, stride, padding, "avgpool2d_backward"))
    return _avgpool_backward(gy, *input_shape[2:], *kernel, *stride, *padding)
