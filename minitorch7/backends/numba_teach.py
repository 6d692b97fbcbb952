"""Numba CPU backend, teaching tier: the primitives of numpy_ref as plain loops you can write.

minitorch7 has two tiers of CPU kernels with the same functions and signatures:

    numba_teach  (this module, TIER = "teaching") one short @njit(parallel=True, cache=True)
                 kernel per primitive, written the way the formula reads: a few nested loops,
                 the outer one a `prange` (its iterations run on all cores). A learner writes
                 each kernel in an hour; the lab's MLP trains on them in minutes.
    numba_cpu    (TIER = "fast") the default outside a learner copy: a packed,
                 register-tiled gemm, convolutions run as products straight from the
                 flattened image, fused log-softmax passes with a vectorised exp. Several
                 times faster, and far longer to read.

numpy_ref (TIER = "reference") is the oracle both are tested against.

Each public function is a thin wrapper: it checks shapes (_shapes, one place for the error
messages), sends float32 / float64 arrays, made C-contiguous, to its kernel (so each kernel
is compiled once per dtype), and any other dtype to numpy_ref. A kernel takes and returns
plain arrays and computes one thing; its docstring states the contract (the arguments,
what it returns, their shapes) and what it computes. Conventions:

    images (B, C, H, W); conv weights (O, C, kH, kW); outputs (B, O, Ho, Wo) with
    Ho = (H + 2*pH - kH) // sH + 1 and Wo likewise. Output pixel (i, j) looks at the input
    cells (i*sH - pH + u, j*sW - pW + v) for u < kH, v < kW; a cell outside the image is
    padding (zero for convolutions and average pooling, -inf for max pooling).

The first call of a kernel compiles it (a second or two per dtype); later processes load
the machine code from __pycache__. A kernel that raises (a task not yet written) raises its
exception, message included, to the caller.
"""

import warnings

import numpy as np
from numba import njit, prange
from numba.core.errors import NumbaPerformanceWarning

from . import numpy_ref
from ._shapes import check_grad_shape, conv2d_shape, matmul_shapes, pairs, pool2d_shape

TIER = "teaching"

# A kernel whose body is still a task's hole has no prange left, and Numba would say so
# above the hole's own message.
warnings.filterwarnings("ignore", r"\s*The keyword argument 'parallel=True' was specified",
                        NumbaPerformanceWarning)
FLOATS = (np.float32, np.float64)


def _float_dtype(*arrays):
    """The common dtype of `arrays` if it is float32 or float64, else None."""
    dtype = np.result_type(*arrays)
    return dtype if dtype in FLOATS else None


def _c(x, dtype):
    """x as a C-contiguous array of `dtype` (no copy when it already is one)."""
    return np.ascontiguousarray(x, dtype=dtype)


# ================================================================ matmul (Task 1.3)
@njit(parallel=True, cache=True)
def matmul_kernel(a, b):
    """c = a @ b for 2-D arrays: a (n, k), b (k, m), C-contiguous, one float dtype ->
    c (n, m), a new array of that dtype.

    c[i, j] = sum over p of a[i, p] * b[p, j]. Loop order i, p, j: row i of c gets
    a[i, p] times row p of b, for each p. The innermost loop then walks along rows of c
    and b (consecutive numbers in memory: the CPU loads them in vectors), and a[i, p] is
    read once. Rows of c are independent: prange over i (each task writes its own rows).
    """
    # BEGIN TASK 1.3
    n, k = a.shape
    m = b.shape[1]
    c = np.zeros((n, m), a.dtype)
    for i in prange(n):
        for p in range(k):
            aip = a[i, p]
            for j in range(m):
                c[i, j] += aip * b[p, j]
    return c
    # END TASK 1.3


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m); leading dims broadcast like np.matmul.

    Float arrays go to matmul_kernel, one 2-D product per matrix of the batch; other
    dtypes (integer tensors) to numpy_ref.
    """
    batch, n, k, m = matmul_shapes(a.shape, b.shape)
    dtype = _float_dtype(a, b)
    if dtype is None:
        return numpy_ref.matmul(a, b)
    a, b = _c(a, dtype), _c(b, dtype)
    if not batch:
        return matmul_kernel(a, b)
    c = np.empty(batch + (n, m), dtype)
    a, b = np.broadcast_to(a, batch + (n, k)), np.broadcast_to(b, batch + (k, m))
    for t in np.ndindex(batch):
        c[t] = matmul_kernel(_c(a[t], dtype), _c(b[t], dtype))
    return c


def right_multiplier(b):
    """f with f(a) = matmul(a, b) (numba_cpu's packs b once; here nothing is prepared)."""
    return lambda a: matmul(a, b)


# ================================================================ convolution (Tasks 5.1-5.3)
@njit(parallel=True, cache=True)
def conv2d_forward_kernel(x, w, bias, sh, sw, ph, pw, ho, wo):
    """The convolution (Torch7's SpatialConvolution, a cross-correlation).

    x (B, C, H, W), w (O, C, kH, kW), bias (O,): C-contiguous, one float dtype; strides
    sh, sw >= 1, paddings ph, pw >= 0; ho, wo: the output's size (Ho, Wo, see the module
    docstring). Returns y (B, O, Ho, Wo) of x's dtype:

        y[b, o, i, j] = bias[o] + sum over c, u, v of w[o, c, u, v] * x[b, c, hh, ww]

    with hh = i*sH - pH + u, ww = j*sW - pW + v; a cell outside the image reads zero, so
    its term is skipped. Each (image, output channel) plane is independent: prange over the
    B*O pairs (b, o).
    """
    # BEGIN TASK 5.1
    bsz, ch, h, wd = x.shape
    o, _, kh, kw = w.shape
    y = np.empty((bsz, o, ho, wo), x.dtype)
    for bo in prange(bsz * o):
        b, oc = bo // o, bo % o
        for i in range(ho):
            for j in range(wo):
                s = bias[oc]
                for c in range(ch):
                    for u in range(kh):
                        hh = i * sh - ph + u
                        if 0 <= hh < h:
                            for v in range(kw):
                                ww = j * sw - pw + v
                                if 0 <= ww < wd:
                                    s += w[oc, c, u, v] * x[b, c, hh, ww]
                y[b, oc, i, j] = s
    return y
    # END TASK 5.1


@njit(parallel=True, cache=True)
def conv2d_backward_input_kernel(gy, w, h, wd, sh, sw, ph, pw):
    """gx = dL/dx of the convolution y = conv2d_forward_kernel(x, w, ...), given gy = dL/dy.

    gy (B, O, Ho, Wo), w (O, C, kH, kW): C-contiguous, one float dtype; h, wd: the input's
    H and W; sh, sw, ph, pw: the forward's strides and paddings. Returns gx (B, C, H, W)
    of gy's dtype.

    y is a sum of terms w[o, c, u, v] * x[b, c, hh, ww], one for each (b, o, i, j, c, u, v)
    whose cell (hh, ww) lies inside the image, each added into y[b, o, i, j]. By the chain
    rule every term sends gy[b, o, i, j] back to both of its factors: gy * w[o, c, u, v] to
    x[b, c, hh, ww] (and gy * x to w: conv2d_backward_weight_kernel). gx[b, c, h, w] is the
    sum of what the terms that read cell (h, w) send. Every term of plane (b, c) of gx comes
    from image b, channel c: prange over the B*C planes, so that no two tasks add into the
    same cell.
    """
    # BEGIN TASK 5.2
    bsz, o, ho, wo = gy.shape
    ch, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    gx = np.zeros((bsz, ch, h, wd), gy.dtype)
    for bc in prange(bsz * ch):
        b, c = bc // ch, bc % ch
        for oc in range(o):
            for i in range(ho):
                for j in range(wo):
                    g = gy[b, oc, i, j]
                    for u in range(kh):
                        hh = i * sh - ph + u
                        if 0 <= hh < h:
                            for v in range(kw):
                                ww = j * sw - pw + v
                                if 0 <= ww < wd:
                                    gx[b, c, hh, ww] += g * w[oc, c, u, v]
    return gx
    # END TASK 5.2


@njit(parallel=True, cache=True)
def conv2d_backward_weight_kernel(gy, x, kh, kw, sh, sw, ph, pw):
    """gw = dL/dw and gb = dL/dbias of y = conv2d_forward_kernel(x, w, bias, ...).

    gy (B, O, Ho, Wo), x (B, C, H, W): C-contiguous, one float dtype; kh, kw: the kernel's
    size; sh, sw, ph, pw: the forward's strides and paddings. Returns (gw, gb): gw
    (O, C, kH, kW) and gb (O,), of gy's dtype.

    As in conv2d_backward_input_kernel, every forward term w[o, c, u, v] * x[b, c, hh, ww]
    (cell inside the image) sends gy[b, o, i, j] back to both factors; here the part for
    w: gy * x[b, c, hh, ww] to w[o, c, u, v], summed over the images b and output pixels
    (i, j). bias[o] is added once into each y[b, o, i, j], so gb[o] is gy[:, o] summed.
    Weight plane (o, c) takes terms of output channel o and input channel c only: prange
    over the O*C planes for gw (no two tasks add into the same entry), and over O for gb.
    """
    # BEGIN TASK 5.3
    bsz, o, ho, wo = gy.shape
    ch, h, wd = x.shape[1], x.shape[2], x.shape[3]
    gw = np.zeros((o, ch, kh, kw), gy.dtype)
    for oc_c in prange(o * ch):
        oc, c = oc_c // ch, oc_c % ch
        for b in range(bsz):
            for i in range(ho):
                for j in range(wo):
                    g = gy[b, oc, i, j]
                    for u in range(kh):
                        hh = i * sh - ph + u
                        if 0 <= hh < h:
                            for v in range(kw):
                                ww = j * sw - pw + v
                                if 0 <= ww < wd:
                                    gw[oc, c, u, v] += g * x[b, c, hh, ww]
    gb = np.zeros(o, gy.dtype)
    for oc in prange(o):
        for b in range(bsz):
            for i in range(ho):
                for j in range(wo):
                    gb[oc] += gy[b, oc, i, j]
    return gw, gb
    # END TASK 5.3


def conv2d_forward(x, w, b, stride, padding):
    """y[b,o,i,j] = bias[o] + sum_{c,u,v} w[o,c,u,v] * xpad[b, c, i*sH + u, j*sW + v].

    x (B,C,H,W), w (O,C,kH,kW), b (O,) or None -> y (B,O,Ho,Wo) (conv2d_forward_kernel).
    """
    stride, padding = pairs("conv2d_forward", stride, padding)
    _, o, ho, wo = conv2d_shape(x.shape, w.shape, stride, padding)
    dtype = _float_dtype(x, w)
    if dtype is None:
        return numpy_ref.conv2d_forward(x, w, b, stride, padding)
    bias = np.zeros(o, dtype) if b is None else _c(b, dtype)
    return conv2d_forward_kernel(_c(x, dtype), _c(w, dtype), bias, *stride, *padding, ho, wo)


def conv2d_backward_input(gy, w, input_shape, stride, padding):
    """gx (B,C,H,W) = dL/dx of conv2d_forward for gy = dL/dy (conv2d_backward_input_kernel)."""
    stride, padding = pairs("conv2d_backward_input", stride, padding)
    check_grad_shape("conv2d_backward_input", gy.shape,
                     conv2d_shape(tuple(input_shape), w.shape, stride, padding))
    dtype = _float_dtype(gy, w)
    if dtype is None:
        return numpy_ref.conv2d_backward_input(gy, w, input_shape, stride, padding)
    return conv2d_backward_input_kernel(_c(gy, dtype), _c(w, dtype), *input_shape[2:],
                                        *stride, *padding)


def conv2d_backward_weight(gy, x, weight_shape, stride, padding):
    """(gw (O,C,kH,kW), gb (O,)) = dL/dw, dL/db of conv2d_forward for gy = dL/dy
    (conv2d_backward_weight_kernel)."""
    stride, padding = pairs("conv2d_backward_weight", stride, padding)
    check_grad_shape("conv2d_backward_weight", gy.shape,
                     conv2d_shape(x.shape, tuple(weight_shape), stride, padding))
    dtype = _float_dtype(gy, x)
    if dtype is None:
        return numpy_ref.conv2d_backward_weight(gy, x, weight_shape, stride, padding)
    return conv2d_backward_weight_kernel(_c(gy, dtype), _c(x, dtype), *weight_shape[2:],
                                         *stride, *padding)


# ================================================================ pooling (Tasks 5.4, 5.5)
@njit(parallel=True, cache=True)
def maxpool2d_forward_kernel(x, kh, kw, sh, sw, ph, pw, ho, wo):
    """Max pooling with the place of each maximum.

    x (B, C, H, W) C-contiguous float; kh, kw: window; sh, sw: strides; ph, pw: paddings
    (at most half the window, so every window holds a cell of the image); ho, wo: the
    output's size. Returns (y, argmax), both (B, C, Ho, Wo): y (x's dtype) the largest
    value of each window, argmax (int64) where it is, as the flat index hh*W + ww of the
    cell in its (H, W) plane. Padding is -inf: it never wins. On a tie the first maximum in
    the window's row-major order wins (u, then v; as numpy_ref's argmax). The planes (b, c)
    are independent: prange over the B*C planes.
    """
    # BEGIN TASK 5.4
    bsz, ch, h, w = x.shape
    y = np.empty((bsz, ch, ho, wo), x.dtype)
    argmax = np.empty((bsz, ch, ho, wo), np.int64)
    for bc in prange(bsz * ch):
        b, c = bc // ch, bc % ch
        for i in range(ho):
            for j in range(wo):
                best, at = -np.inf, -1
                for u in range(kh):
                    hh = i * sh - ph + u
                    for v in range(kw):
                        ww = j * sw - pw + v
                        if 0 <= hh < h and 0 <= ww < w and (at < 0 or x[b, c, hh, ww] > best):
                            best, at = x[b, c, hh, ww], hh * w + ww
                y[b, c, i, j] = best
                argmax[b, c, i, j] = at
    return y, argmax
    # END TASK 5.4


@njit(parallel=True, cache=True)
def maxpool2d_backward_kernel(gy, argmax, hw):
    """gx = dL/dx of max pooling, given gy = dL/dy and the forward's argmax.

    gy (B, C, Ho, Wo) C-contiguous float, argmax (B, C, Ho, Wo) int64 C-contiguous (flat
    indices into an (H, W) plane), hw = H*W. Returns gx (B, C, H*W) of gy's dtype: the
    planes flattened, as argmax indexes them (the caller reshapes).

    y[b, c, i, j] = x[b, c] at the flat index argmax[b, c, i, j]: its derivative is 1 for
    that cell and 0 for every other, so gy[b, c, i, j] goes to that one cell. Windows
    overlap when the stride is smaller than the window: a cell can win several times, and
    its gradient is the sum. Every index of plane (b, c) points into plane (b, c): prange
    over the B*C planes, so that no two tasks add into the same cell.
    """
    # BEGIN TASK 5.5
    bsz, ch, ho, wo = gy.shape
    gx = np.zeros((bsz, ch, hw), gy.dtype)
    for bc in prange(bsz * ch):
        b, c = bc // ch, bc % ch
        for i in range(ho):
            for j in range(wo):
                gx[b, c, argmax[b, c, i, j]] += gy[b, c, i, j]
    return gx
    # END TASK 5.5


def maxpool2d_forward(x, kernel, stride, padding):
    """y = max over each window (padding is -inf); argmax = flat index h*W + w of that max."""
    kernel, stride, padding = pairs("maxpool2d_forward", kernel, stride, padding)
    _, _, ho, wo = pool2d_shape(x.shape, kernel, stride, padding, "maxpool2d_forward")
    if _float_dtype(x) is None:
        return numpy_ref.maxpool2d_forward(x, kernel, stride, padding)
    return maxpool2d_forward_kernel(_c(x, x.dtype), *kernel, *stride, *padding, ho, wo)


def maxpool2d_backward(gy, argmax, input_shape):
    """gx = zeros(input_shape) with gy[b,c,h,w] added at gx[b, c].flat[argmax[b,c,h,w]]."""
    check_grad_shape("maxpool2d_backward", gy.shape, argmax.shape)
    if _float_dtype(gy) is None:
        return numpy_ref.maxpool2d_backward(gy, argmax, input_shape)
    b, c, h, w = input_shape
    gx = maxpool2d_backward_kernel(_c(gy, gy.dtype), _c(argmax, np.int64), h * w)
    return gx.reshape(b, c, h, w)


# Average pooling is not in the lab's CNN and is no task: the teaching tier takes the
# reference's (its window loops would be a worked answer to Tasks 5.1-5.5, next door).
avgpool2d_forward = numpy_ref.avgpool2d_forward
avgpool2d_backward = numpy_ref.avgpool2d_backward


# ================================================================ log-softmax (Task 4.2)
@njit(parallel=True, cache=True)
def log_softmax_kernel(x):
    """Log-softmax of each row: x (R, N) C-contiguous float, N >= 1 -> y (R, N), x's dtype.

    y[r] = log(softmax(x[r])) = x[r] - log(sum over n of exp(x[r, n])). Computed as
    written, exp overflows for logits above ~88 (float32) or ~709 (float64). Any constant
    m may be taken out of the sum, log(sum exp(x)) = m + log(sum exp(x - m)); with m the
    row's maximum every exp(x - m) is <= 1 and the largest is exactly 1, so the sum neither
    overflows nor underflows to 0. Rows are independent: prange over r.
    """
    # BEGIN TASK 4.2
    y = np.empty_like(x)
    for r in prange(x.shape[0]):
        top = x[r, 0]
        for n in range(1, x.shape[1]):
            top = max(top, x[r, n])
        total = 0.0
        for n in range(x.shape[1]):
            total += np.exp(x[r, n] - top)
        shift = top + np.log(total)
        for n in range(x.shape[1]):
            y[r, n] = x[r, n] - shift
    return y
    # END TASK 4.2


@njit(parallel=True, cache=True)
def log_softmax_backward_kernel(y, gy):
    """gx = dL/dx of y = log_softmax_kernel(x), given y and gy = dL/dy, row by row.

    y, gy (R, N) C-contiguous, one float dtype -> gx (R, N) of that dtype.

    y[r, n] = x[r, n] - log(sum over k of exp(x[r, k])), so dy[r, n]/dx[r, k] =
    [n == k] - softmax(x[r])[k], and softmax(x[r]) = exp(y[r]): the forward's output
    already holds it. Chain rule: gx[r, k] = sum over n of gy[r, n] * dy[r, n]/dx[r, k],
    which comes out as gy - exp(y) * sum(gy), the sum over the row. prange over the rows.
    """
    # BEGIN TASK 4.2
    gx = np.empty_like(gy)
    for r in prange(y.shape[0]):
        total = 0.0
        for n in range(y.shape[1]):
            total += gy[r, n]
        for n in range(y.shape[1]):
            gx[r, n] = gy[r, n] - np.exp(y[r, n]) * total
    return gx
    # END TASK 4.2


def _rows(x, dtype):
    """x (..., N) as a C-contiguous (R, N) matrix of `dtype`."""
    return _c(x, dtype).reshape(-1, x.shape[-1])


def log_softmax(x):
    """log softmax over the last axis: y = x - max - log(sum(exp(x - max)))."""
    if _float_dtype(x) is None:
        return numpy_ref.log_softmax(x)
    if x.size == 0:
        return np.empty_like(x)
    return log_softmax_kernel(_rows(x, x.dtype)).reshape(x.shape)


def log_softmax_backward(y, gy):
    """y = log_softmax(x), gy = dL/dy -> dL/dx = gy - exp(y) * sum(gy), over the last axis."""
    check_grad_shape("log_softmax_backward", gy.shape, y.shape)
    if _float_dtype(y) is None:
        return numpy_ref.log_softmax_backward(y, gy)
    if y.size == 0:
        return np.empty_like(y)
    return log_softmax_backward_kernel(_rows(y, y.dtype), _rows(gy, y.dtype)).reshape(y.shape)
