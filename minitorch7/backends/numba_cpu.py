"""Numba CPU backend, fast tier: the default outside a learner copy (numba_teach holds the
plain-loop teaching tier). Same primitives and signatures as numpy_ref.

    matmul                  blocked, packed, register-tiled product (_numba_gemm.gemm);
                            on one thread for small products (threads cost more than they win)
    right_multiplier        a -> a @ b with b packed once (the LSTM's recurrent weight)
    conv2d_forward          per image: the gemm's register tile run straight from the
                            flattened padded image, no im2col copy (a direct kernel when
                            there are few outputs)
    conv2d_backward_input   a forward convolution of gy with the flipped, transposed weights
    conv2d_backward_weight  the same tile, image by image; per-thread partial sums added at
                            the end
    max/avg pooling         one parallel task per (batch, channel) plane
    log_softmax (+backward) one parallel task per row, fused passes, a vectorised exp

Kernels are @njit(parallel=True, cache=True): the first call compiles (seconds), later
processes load the machine code from __pycache__. Nothing is compiled at import. Python calls
them, never another cached jitted function: such a caller could be cached without the launch
of Numba's threading layer and crash a later process (see _numba_gemm's docstring).
"""

import math

import numpy as np
from numba import get_num_threads, njit, prange, types
from numba.extending import intrinsic, overload

from ._numba_gemm import (
    CHUNK,
    KB,
    MR,
    _pack,
    gemm,
    gemm_panels,
    gemm_serial,
    pack_right,
    tile_into,
    tile_width,
)
from ._shapes import check_grad_shape, conv2d_shape, matmul_shapes, pairs, pool2d_shape

TIER = "fast"


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m); leading dims broadcast like np.matmul.

    Float arrays go to the Numba gemm; other dtypes (integer tensors) to np.matmul.
    """
    batch, n, k, m = matmul_shapes(a.shape, b.shape)
    dtype = np.result_type(a, b)
    if dtype not in (np.float32, np.float64):
        return np.matmul(a, b)
    a, b = a.astype(dtype, copy=False), b.astype(dtype, copy=False)
    product = gemm_serial if _small(n * k * m) else _gemm_parallel
    if not batch:
        return product(a, b)
    c = np.empty(batch + (n, m), dtype)
    a, b = np.broadcast_to(a, batch + (n, k)), np.broadcast_to(b, batch + (k, m))
    for t in np.ndindex(batch):  # one gemm per matrix of the batch
        c[t] = product(a[t], b[t])
    return c


def right_multiplier(b):
    """f with f(a) = matmul(a, b), for many products with one b (k, m): b is packed into
    the gemm's panels once, not at every product (an LSTM's recurrent weight, step after
    step: packing it costs about half as much as its 20 x 200 x 800 product). b is 2-D;
    operands that the gemm would chunk, tiny products and other dtypes go through matmul."""
    k, m = b.shape
    if b.dtype not in (np.float32, np.float64) or k > 8 * KB or k * m > CHUNK:
        return lambda a: matmul(a, b)
    panels = pack_right(b)

    def times_b(a):
        if (a.ndim != 2 or a.dtype != b.dtype or a.shape[1] != k
                or _small(a.shape[0] * k * m)):
            return matmul(a, b)
        return gemm_panels(a, panels, m, get_num_threads())
    return times_b


SERIAL_WORK = 1 << 22  # threads * n*k*m up to this: one thread (see _small)


def _small(work):
    """Whether a product of n*k*m = work runs faster on one thread than on all of them:
    starting them costs about 10 us. Measured on 2 cores: a 32 x 200 x 200 product (1.3M)
    takes 37 us on one thread, 48 us on two; 32 x 784 x 200 (5M), 142 us against 87."""
    return work * get_num_threads() <= SERIAL_WORK


def _gemm_parallel(a, b):
    return gemm(a, b, get_num_threads())


@njit(inline="always")
def _pad_image(x, xp, ph, pw):
    """xp[c, ph + h, pw + w] = x[c, h, w]; xp's zero border is written once and kept."""
    for c in range(x.shape[0]):
        for h in range(x.shape[1]):
            src, dst = x[c, h], xp[c, ph + h, pw:]
            for w in range(x.shape[2]):
                dst[w] = src[w]


@njit(inline="always")
def _pitch(w, pw, kw):
    """Wp, the row length of the flattened padded image: pw zeros, then a row of the image.
    The right border needs no zeros of its own: a window reaching past a row's end reads
    the next row's leading zeros. (At least Wo, so that an output row fits in one.)"""
    return w + max(pw, 2 * pw - kw + 1)


@njit(inline="always")
def _flat_geometry(ch, h, w, kh, kw, ph, pw):
    """For a stride-1 convolution of a (ch, h, w) image: the flattened padded image's height
    Hp and row length Wp (_pitch), the output's Ho and Wo, and the window offsets."""
    hp, wp = h + 2 * ph, _pitch(w, pw, kw)
    return hp, wp, hp - kh + 1, w + 2 * pw - kw + 1, _window_offsets(ch, kh, kw, hp, wp)


@njit(inline="always")
def _image_buffer(ch, hp, wp, slack, dtype_like):
    """A zeroed flat buffer for one padded image (ch, hp, wp) plus `slack` zeros after it,
    and the image's 3-D view into it."""
    flat = np.zeros(ch * hp * wp + slack, dtype_like.dtype)
    return flat, flat[:ch * hp * wp].reshape(ch, hp, wp)


@njit(inline="always")
def _window_offsets(ch, kh, kw, hp, wp):
    """offsets[(c*kH + i)*kW + j] = (c*Hp + i)*Wp + j: where window position (c, i, j) of
    output pixel 0 lies in the flattened padded image; pixel p = h*Wp + w adds p."""
    offsets = np.empty(ch * kh * kw, np.int64)
    for r in range(ch * kh * kw):
        c, i, j = r // (kh * kw), r // kw % kh, r % kw
        offsets[r] = (c * hp + i) * wp + j
    return offsets


def _weight_panels(w):
    """w (O, C, kH, kW) -> gemm A panels of w as an (O, C*kH*kW) matrix, one k-block (the B
    side is the image itself, not a panel that must fit in L1; see _numba_gemm)."""
    w2 = w.reshape(w.shape[0], -1)
    return _pack(w2.T, MR, w2.shape[1])[0]


@njit(inline="always")
def _crop(wide, y, bias, wp):
    """y (O, Ho, Wo) = wide (O, Ho*Wp) + bias, without the scratch columns w >= Wo."""
    for oc in range(y.shape[0]):
        for oh in range(y.shape[1]):
            src, dst = wide[oc, oh * wp:], y[oc, oh]
            for ow in range(y.shape[2]):
                dst[ow] = src[ow] + bias[oc]


@njit(parallel=True, fastmath=True, cache=True)
def _conv_forward(x, ap, bias, kh, kw, ph, pw, threads):
    """Stride 1: x (B,C,H,W) contiguous, ap = _weight_panels(w) -> y (B, O, Ho, Wo).

    Flatten the padded image (Hp, Wp) to one row (rows of Wp = W + pW: see _pitch). Window
    position r = (c*kH + i)*kW + j of the output pixel p = h*Wp + w is then
    xflat[offsets[r] + p]: row r of the im2col matrix is the image itself, shifted by
    offsets[r], and NR consecutive pixels are NR consecutive numbers. So y[b] = bias + W @
    im2col runs tile by tile straight from the image, with no window copied; it pays for Wp
    - Wo scratch columns per output row instead (kW - 1 - pW: 2 of 16 for the lab's 5x5
    pad 2; dropped when the tile is stored). Each thread owns every threads-th image.
    """
    bsz, ch, h, w = x.shape
    hp, wp, ho, wo, offsets = _flat_geometry(ch, h, w, kh, kw, ph, pw)
    nr = tile_width(x)
    nb = (ho * wp + nr - 1) // nr
    y = np.empty((bsz, bias.shape[0], ho, wo), x.dtype)
    for t in prange(threads):
        flat, xp = _image_buffer(ch, hp, wp, kw + nr, x)  # the last tiles read past the image
        wide, ct = np.empty((bias.shape[0], ho * wp), x.dtype), np.empty((MR, nr), x.dtype)
        for b in range(t, bsz, threads):
            _pad_image(x[b], xp, ph, pw)
            for jb in range(nb):
                pixels = flat[jb * nr:]
                for ib in range(ap.shape[0]):
                    tile_into(ap.shape[1], ap[ib].ravel(), None, MR, pixels, offsets, 0,
                              wide, ib * MR, jb * nr, wide.shape[0], wide.shape[1], False, ct)
            _crop(wide, y[b], bias, wp)
    return y


@njit(parallel=True, fastmath=True, cache=True)
def _conv_forward_direct(x, w2, bias, kh, kw, ph, pw, threads):
    """_conv_forward for few output channels (O < MR, e.g. gx of a 1-channel input), where a
    tile would fill a few of its MR rows: y (B, O, Ho, Wo), stride 1.

    Over the flattened padded image each output plane (with its scratch columns, as in
    _conv_forward) is a sum of shifted copies of it:
    y[b, o] = bias[o] + sum over r of w2[o, r] * xflat[offsets[r]:offsets[r] + Ho*Wp].
    """
    bsz, ch, h, w = x.shape
    hp, wp, ho, wo, offsets = _flat_geometry(ch, h, w, kh, kw, ph, pw)
    y = np.empty((bsz, bias.shape[0], ho, wo), x.dtype)
    for t in prange(threads):
        flat, xp = _image_buffer(ch, hp, wp, kw, x)  # the last rows read past the image
        wide = np.empty((bias.shape[0], ho * wp), x.dtype)
        for b in range(t, bsz, threads):
            _pad_image(x[b], xp, ph, pw)
            wide[:] = 0
            for oc in range(bias.shape[0]):
                out = wide[oc]
                for r in range(offsets.shape[0]):
                    weight, src = w2[oc, r], flat[offsets[r]:]
                    for p in range(ho * wp):
                        out[p] += weight * src[p]
            _crop(wide, y[b], bias, wp)
    return y


def conv2d_forward(x, w, b, stride, padding):
    """y[b,o,h,w] = bias[o] + sum_{c,i,j} w[o,c,i,j] * xpad[b, c, h*sH + i, w*sW + j].

    x (B,C,H,W), w (O,C,kH,kW), b (O,) or None -> y (B,O,Ho,Wo). Per image a gemm straight
    from the padded image, y[b] (O, pixels) = w (O, C*kH*kW) @ im2col(x[b]) (see
    _conv_forward); a direct loop when O < MR (_conv_forward_direct). Strided: the stride-1
    result, subsampled (Torch7's lab never strides; this keeps one kernel).
    """
    stride, padding = pairs("conv2d_forward", stride, padding)
    conv2d_shape(x.shape, w.shape, stride, padding)
    o, kh, kw = w.shape[0], *w.shape[2:]
    bias = np.zeros(o, x.dtype) if b is None else np.ascontiguousarray(b, x.dtype)
    x, w = np.ascontiguousarray(x), np.asarray(w, x.dtype)
    if o < MR:
        y = _conv_forward_direct(x, np.ascontiguousarray(w.reshape(o, -1)), bias, kh, kw,
                                 *padding, get_num_threads())
    else:
        y = _conv_forward(x, _weight_panels(w), bias, kh, kw, *padding, get_num_threads())
    return y if stride == (1, 1) else np.ascontiguousarray(y[:, :, ::stride[0], ::stride[1]])


def conv2d_backward_input(gy, w, input_shape, stride, padding):
    """gx[b,c,h,w] = sum of gy[b,o,u,v] * w[o,c,i,j] over h = u*sH - pH + i, w = v*sW - pW + j.

    A convolution too: spread gy out to gz (a zero between rows/columns when strided, a
    border of kH-1-pH rows and kW-1-pW columns), then gx = conv2d_forward(gz, w flipped in
    i and j with c and o swapped), stride 1: each gx[b,c,h,w] meets every (o, i, j) once.
    """
    stride, padding = pairs("conv2d_backward_input", stride, padding)
    bsz, o, ho, wo = check_grad_shape("conv2d_backward_input", gy.shape,
                                      conv2d_shape(input_shape, w.shape, stride, padding))
    (kh, kw), (sh, sw), (ph, pw) = w.shape[2:], stride, padding
    w_flip = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    top, left = kh - 1 - ph, kw - 1 - pw
    if (sh, sw) == (1, 1) and top >= 0 and left >= 0:  # gz = gy with a zero border
        return conv2d_forward(gy, w_flip, None, 1, (top, left))
    h, wd = input_shape[2:]
    gz = np.zeros((bsz, o, h + kh - 1, wd + kw - 1), gy.dtype)
    u0, v0 = max(0, -top + sh - 1) // sh, max(0, -left + sw - 1) // sw  # rows/cols landing
    u1, v1 = min(ho, (h + kh - 2 - top) // sh + 1), min(wo, (wd + kw - 2 - left) // sw + 1)
    if u1 > u0 and v1 > v0:
        gz[:, :, u0 * sh + top:(u1 - 1) * sh + top + 1:sh,
           v0 * sw + left:(v1 - 1) * sw + left + 1:sw] = gy[:, :, u0:u1, v0:v1]
    return conv2d_forward(gz, w_flip, None, 1, 0)


@njit(parallel=True, fastmath=True, cache=True)
def _conv_backward_weight(gy, x, kh, kw, ph, pw, threads):
    """Stride 1: gy (B,O,Ho,Wo), x (B,C,H,W), contiguous -> gw (C*kH*kW, O), gb (O,).

    gw = sum over images of im2col(x[b]) (C*kH*kW, pixels) @ gy[b].T (pixels, O): a gemm
    whose k runs over the pixels p = h*Wp + w of the flattened padded image, as in
    _conv_forward. Its A side is read from the image itself (tile row r starts at
    offsets[r] and steps one pixel at a time); gy[b] is packed into B panels (pixel, NR
    channels) with zeros in the scratch columns w >= Wo, which cancel them. Each thread sums
    its images into its own part; the parts are added at the end.
    """
    bsz, o = gy.shape[:2]
    ch, h, w = x.shape[1:]
    hp, wp, ho, wo, offsets = _flat_geometry(ch, h, w, kh, kw, ph, pw)
    npix, kdim, nr = ho * wp, ch * kh * kw, tile_width(gy)
    na, nb = (kdim + MR - 1) // MR, (o + nr - 1) // nr
    gw_parts = np.zeros((threads, kdim, o), gy.dtype)
    gb_parts = np.zeros((threads, o), gy.dtype)
    for t in prange(threads):
        flat, xp = _image_buffer(ch, hp, wp, kw, x)  # the last rows read past the image
        bp = np.zeros((nb, npix, nr), gy.dtype)
        a_rows, ct = np.empty(MR, np.int64), np.empty((MR, nr), gy.dtype)
        gw, gb = gw_parts[t], gb_parts[t]
        for b in range(t, bsz, threads):
            _pad_image(x[b], xp, ph, pw)
            for oc in range(o):
                dst, total = bp[oc // nr, :, oc % nr], 0.0
                for oh in range(ho):
                    src, out = gy[b, oc, oh], dst[oh * wp:]
                    for ow in range(wo):
                        out[ow] = src[ow]
                        total += src[ow]
                gb[oc] += total
            for ib in range(na):
                for i in range(MR):  # rows past C*kH*kW repeat the last one; tile_into drops them
                    a_rows[i] = offsets[min(ib * MR + i, kdim - 1)]
                for jb in range(nb):
                    tile_into(npix, flat, a_rows, 1, bp[jb].ravel(), None, nr,
                              gw, ib * MR, jb * nr, gw.shape[0], gw.shape[1], True, ct)
    return gw_parts.sum(axis=0), gb_parts.sum(axis=0)


def conv2d_backward_weight(gy, x, weight_shape, stride, padding):
    """gw[o,c,i,j] = sum_{b,h,w} gy[b,o,h,w] * xpad[b,c,h*sH+i,w*sW+j]; gb[o] = sum gy[b,o].

    One gemm over the pixels of every image, gw.T (C*kH*kW, O) = im2col(x) @ gy.T (see
    _conv_backward_weight). Strided: gy spread out with zeros between its rows and columns,
    the gradient of the stride-1 convolution that conv2d_forward subsamples.
    """
    stride, padding = pairs("conv2d_backward_weight", stride, padding)
    check_grad_shape("conv2d_backward_weight", gy.shape,
                     conv2d_shape(x.shape, weight_shape, stride, padding))
    (kh, kw), (sh, sw), (ph, pw) = weight_shape[2:], stride, padding
    if (sh, sw) != (1, 1):
        h1, w1 = x.shape[2] + 2 * ph - kh + 1, x.shape[3] + 2 * pw - kw + 1
        spread = np.zeros(gy.shape[:2] + (h1, w1), gy.dtype)
        spread[:, :, ::sh, ::sw] = gy
        gy = spread
    gw, gb = _conv_backward_weight(np.ascontiguousarray(gy), np.ascontiguousarray(x, gy.dtype),
                                   kh, kw, ph, pw, get_num_threads())
    return np.ascontiguousarray(gw.T).reshape(weight_shape), gb


@njit(parallel=True, cache=True)
def _maxpool_forward(x, kh, kw, sh, sw, ph, pw, ho, wo):
    """Window maxima y (B,C,Ho,Wo) and their flat plane indices h*W + w (first max wins)."""
    bsz, ch, h, w = x.shape
    y = np.empty((bsz, ch, ho, wo), x.dtype)
    argmax = np.empty((bsz, ch, ho, wo), np.int64)
    for p in prange(bsz * ch):
        b, c = p // ch, p % ch
        plane = x[b, c]
        for oh in range(ho):
            h0 = oh * sh - ph
            for ow in range(wo):
                w0 = ow * sw - pw
                if h0 >= 0 and w0 >= 0 and h0 + kh <= h and w0 + kw <= w:  # inside: no checks
                    best, at = plane[h0, w0], h0 * w + w0
                    for i in range(kh):
                        row = plane[h0 + i]
                        for j in range(kw):
                            if row[w0 + j] > best:
                                best, at = row[w0 + j], (h0 + i) * w + w0 + j
                else:  # a window over the padding: padding never wins
                    at, best = -1, plane[0, 0]
                    for i in range(kh):
                        hh = h0 + i
                        for j in range(kw):
                            ww = w0 + j
                            if 0 <= hh < h and 0 <= ww < w and (at < 0 or plane[hh, ww] > best):
                                best, at = plane[hh, ww], hh * w + ww
                y[b, c, oh, ow] = best
                argmax[b, c, oh, ow] = at
    return y, argmax


@njit(parallel=True, cache=True)
def _maxpool_backward(gy, argmax, hw):
    """gx (B, C, H*W): gy scatter-added at argmax, one task per plane (so no races)."""
    bsz, ch, ho, wo = gy.shape
    gx = np.zeros((bsz, ch, hw), gy.dtype)
    for p in prange(bsz * ch):
        b, c = p // ch, p % ch
        for oh in range(ho):
            for ow in range(wo):
                gx[b, c, argmax[b, c, oh, ow]] += gy[b, c, oh, ow]
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


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float whose IEEE-754 bit pattern is `bits`: float64 from int64, float32 from
    int32."""
    real = types.float64 if bits.bitwidth == 64 else types.float32
    return real(bits), lambda context, builder, signature, args: builder.bitcast(
        args[0], context.get_value_type(real))


def _exp_nonpositive(x):
    """exp(x) for x <= 0 as plain arithmetic in the precision of x, so that loops over it
    vectorise (Numba calls libm's scalar exp otherwise). x = n ln2 + r with |r| <= ln2/2,
    so exp(x) = 2^n exp(r): a Taylor polynomial for exp(r) times 2^n built from its bits.
    float64: degree 11, relative error < 5e-14; float32: degree 7 in float32 arithmetic
    (twice the numbers per vector), relative error < 4e-7. Below the smallest normal
    number's exponent (-708 / -87) it returns exp of that bound, not 0.

    Those bounds need FMA (x86 since 2013, every ARM64): fastmath lets LLVM fold the
    reduction's two steps (x - n ln2_high - n ln2_low) into one with a rounded ln 2 unless
    x - n ln2_high became one fused multiply-add first. Without FMA (the generic x86-64
    path) the error grows with |x|, to 5e-6 (float32) and 1e-13 (float64) at the bottom of
    the range, on numbers below 1e-37 that a sum of exponentials does not feel. (An
    arithmetic fence would keep the steps apart, but it stops the loop's vectorisation:
    log_softmax took 3x as long.)"""
    raise TypeError("_exp_nonpositive runs inside Numba code only")


def _exp_for(real, degree, lowest, int_type, bias, mantissa_bits):
    """_exp_nonpositive for one float type, every constant of that type (so that float32
    stays float32): the polynomial's degree, the lowest x, and the int type, exponent bias
    and mantissa width of the type's bit pattern."""
    lowest, log2e, half = real(lowest), real(1.4426950408889634), real(0.5)
    ln2_high, ln2_low = real(0.693145751953125), real(1.4286068203094173e-06)  # n*high exact
    inverse_factorials = tuple(real(1.0 / math.factorial(k)) for k in range(degree, -1, -1))
    bias, mantissa_bits = int_type(bias), int_type(mantissa_bits)

    def exp(x):
        x = max(x, lowest)
        n = np.floor(x * log2e + half)
        r = x - n * ln2_high - n * ln2_low
        p = inverse_factorials[0]
        for c in inverse_factorials[1:]:  # Horner: p = sum over k of r^k / k!
            p = p * r + c
        return p * _float_from_bits(int_type((int_type(n) + bias) << mantissa_bits))
    return exp


_EXP = {types.float64: _exp_for(np.float64, 11, -708.0, np.int64, 1023, 52),
        types.float32: _exp_for(np.float32, 7, -87.0, np.int32, 127, 23)}


@overload(_exp_nonpositive, inline="always", fastmath=True)
def _exp_nonpositive_of(x):
    return _EXP.get(x)


@njit(parallel=True, fastmath=True, cache=True)
def _log_softmax_rows(x):
    """y[r] = x[r] - max - log(sum(exp(x[r] - max))) for each row of x (R, C), C >= 1."""
    y = np.empty_like(x)
    for row in prange(x.shape[0]):
        src, out = x[row], y[row]
        top = src[0]
        for j in range(src.shape[0]):
            top = max(top, src[j])
        total = 0.0
        for j in range(src.shape[0]):
            total += _exp_nonpositive(src[j] - top)
        shift = top + np.log(total)
        for j in range(src.shape[0]):
            out[j] = src[j] - shift
    return y


@njit(parallel=True, fastmath=True, cache=True)
def _log_softmax_rows_backward(y, gy):
    """gx[r] = gy[r] - exp(y[r]) * sum(gy[r]) for each row of y, gy (R, C)."""
    gx = np.empty_like(gy)
    for row in prange(y.shape[0]):
        total = 0.0
        for j in range(y.shape[1]):
            total += gy[row, j]
        for j in range(y.shape[1]):
            gx[row, j] = gy[row, j] - _exp_nonpositive(y[row, j]) * total
    return gx


def _rows(x):
    """x (..., C) as a contiguous (R, C) matrix."""
    return np.ascontiguousarray(x).reshape(-1, x.shape[-1])


def log_softmax(x):
    """log softmax over the last axis, one fused pass per row (see _log_softmax_rows)."""
    if x.size == 0:
        return np.empty_like(x)
    return _log_softmax_rows(_rows(x)).reshape(x.shape)


def log_softmax_backward(y, gy):
    """y = log_softmax(x), gy = dL/dy -> dL/dx = gy - exp(y) * sum(gy), over the last axis."""
    if y.size == 0:
        return np.empty_like(gy)
    return _log_softmax_rows_backward(_rows(y), _rows(gy.astype(y.dtype, copy=False))
                                      ).reshape(y.shape)
