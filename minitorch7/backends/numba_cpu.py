"""Numba CPU backend: the default. Same primitives and signatures as numpy_ref.

    matmul                  blocked, packed, register-tiled product (_numba_gemm.gemm)
    conv2d_forward          im2col (_im2col) then one gemm: y = W (O, C*kH*kW) @ cols
    conv2d_backward_weight  gw = gy (O, B*Ho*Wo) @ cols.T, gb = sum of gy
    conv2d_backward_input   a stride-1 convolution of the dilated, padded gy with the
                            flipped weight (a "full" convolution), so it reuses the forward
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
    a3, b3 = a.reshape((-1, n, k)), b.reshape((-1, k, m))
    ia = np.broadcast_to(np.arange(a3.shape[0]).reshape(a.shape[:-2]), batch).ravel()
    ib = np.broadcast_to(np.arange(b3.shape[0]).reshape(b.shape[:-2]), batch).ravel()
    return _matmul_batched(a3, b3, ia, ib, get_num_threads()).reshape(batch + (n, m))


@njit(cache=True)
def _matmul_batched(a3, b3, ia, ib, threads):
    """c[t] = a3[ia[t]] @ b3[ib[t]] for every t (ia, ib: the broadcast batch indices)."""
    c = np.empty((ia.size, a3.shape[1], b3.shape[2]), a3.dtype)
    for t in range(ia.size):
        c[t] = gemm(a3[ia[t]], b3[ib[t]], threads)
    return c


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
                for ow in range(wo):
                    ww = ow * sw - pw + j
                    inside = 0 <= hh < h and 0 <= ww < w
                    out[ow] = x[b, c, hh, ww] if inside else 0
    # END TASK 2.3
    return cols


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
    """
    stride, padding = pairs("conv2d_forward", stride, padding)
    bsz, o, ho, wo = conv2d_shape(x.shape, w.shape, stride, padding)
    cols = _im2col(x, *w.shape[2:], *stride, *padding, ho, wo)
    y2 = gemm(w.reshape(o, -1), cols, get_num_threads())
    bias = np.zeros(o, x.dtype) if b is None else b.astype(x.dtype, copy=False)
    return _to_nchw(y2, bias, bsz).reshape(bsz, o, ho, wo)


@njit(parallel=True, cache=True)
def _dilate(gy, h, w, kh, kw, sh, sw, ph, pw):
    """gy (B,O,Ho,Wo) -> g (B, O, H+kH-1, W+kW-1), zeros except
    g[b, o, qH + h*sH, qW + w*sW] = gy[b, o, h, w] with q = k - 1 - p (cells outside dropped).
    """
    bsz, o, ho, wo = gy.shape
    hd, wd = h + kh - 1, w + kw - 1
    g = np.zeros((bsz, o, hd, wd), gy.dtype)
    for p in prange(bsz * o):
        b, oc = p // o, p % o
        for oh in range(ho):
            hh = kh - 1 - ph + oh * sh
            for ow in range(wo):
                ww = kw - 1 - pw + ow * sw
                if 0 <= hh < hd and 0 <= ww < wd:
                    g[b, oc, hh, ww] = gy[b, oc, oh, ow]
    return g


def conv2d_backward_input(gy, w, input_shape, stride, padding):
    """gx (B,C,H,W): gx[b,c,h,w] = sum of gy[b,o,ho,wo] * w[o,c,i,j] over h = ho*sH - pH + i.

    Computed as conv2d_forward(dilate(gy), w flipped in space with O and C swapped), stride 1.
    """
    stride, padding = pairs("conv2d_backward_input", stride, padding)
    check_grad_shape("conv2d_backward_input", gy.shape,
                     conv2d_shape(input_shape, w.shape, stride, padding))
    kh, kw = w.shape[2:]
    g = _dilate(gy, *input_shape[2:], kh, kw, *stride, *padding)
    w_flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
    return conv2d_forward(g, w_flipped, None, (1, 1), (0, 0))


def conv2d_backward_weight(gy, x, weight_shape, stride, padding):
    """gw[o,c,i,j] = sum_{b,h,w} gy[b,o,h,w] * xpad[b,c,h*sH+i,w*sW+j]; gb[o] = sum gy[b,o]."""
    stride, padding = pairs("conv2d_backward_weight", stride, padding)
    _, o, ho, wo = check_grad_shape("conv2d_backward_weight", gy.shape,
                                    conv2d_shape(x.shape, weight_shape, stride, padding))
    cols = _im2col(x, *weight_shape[2:], *stride, *padding, ho, wo)
    gy2 = gy.transpose(1, 0, 2, 3).reshape(o, -1)
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
