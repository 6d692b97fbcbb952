"""The numba.cuda kernel primitives, fast tier: the functions of numpy_ref (same names,
signatures and shapes) on CudaArrays. ``minitorch7.device.kernels_for`` returns this module
for a CudaArray, except in a learner copy, where it returns ``numba_cuda_teach`` (the
textbook tiled matmul of task 1.4, and this module's other primitives).

``matmul``: shared-memory tiled and register-blocked (each thread computes a TM x TN patch
of c from registers). ``conv2d_*``: im2col / col2im kernels around that matmul.
``maxpool2d_*`` and ``avgpool2d_*``: one thread per output, or per input pixel for the
backward gathers (deterministic, no atomics, except max pooling's scatter).
``log_softmax`` and its backward: compositions of the namespace's reductions.

The NumPy-like namespace these build on (creation, elementwise, reductions, shapes,
indexing) is ``cuda_xp``; the array type and its generic kernels are in ``cuda_array``.
Everything stays on the device.
"""

import math
from functools import cache

import numpy as np
from numba import cuda

from . import cuda_xp as xp
from ._shapes import _dims, conv2d_shape, matmul_shapes, pairs, pool2d_shape
from .cuda_array import SIM, CudaArray, broadcast_strides, empty, flat_pos, grid_1d

TIER = "fast"


# ================================================================ matmul
# Tile shape: a block computes a BM x BN tile of c with (BN/TN) x (BM/TM) threads, each
# thread TM x TN outputs held in registers; k is walked in BK-wide slabs through shared
# memory. The simulator (one Python thread per CUDA thread) uses a tiny tile.
MATMUL_TILE = dict(bm=8, bn=8, bk=4, tm=2, tn=2) if SIM else dict(bm=128, bn=128, bk=8, tm=8,
                                                                   tn=8)


@cache
def matmul_kernel(dtype, bm, bn, bk, tm, tn):
    """The tiled matmul kernel for one dtype and tile shape (compiled on first launch)."""
    tx_n, ty_n = bn // tn, bm // tm
    nt = tx_n * ty_n
    a_loads, b_loads = bm * bk // nt, bk * bn // nt
    assert a_loads * nt == bm * bk and b_loads * nt == bk * bn, "tile must split evenly"
    a_width = bm + 4  # padded rows: the transposed stores into a_tile hit distinct banks

    @cuda.jit
    def kernel(c, a, a_off, a_bst, a_rs, a_cs, b, b_off, b_bst, b_rs, b_cs, bshape, nbatch,
               n, k, m):
        """c[z] (n, m, contiguous) = a[z] (n, k) @ b[z] (k, m) for each batch index z;
        a and b are strided views: element (r, s) of a[z] is a[a_off_z + r*a_rs + s*a_cs]."""
        a_tile = cuda.shared.array((bk, a_width), dtype)  # transposed: a_tile[kk, row]
        b_tile = cuda.shared.array((bk, bn), dtype)
        acc = cuda.local.array((tm, tn), dtype)
        a_reg = cuda.local.array(tm, dtype)
        b_reg = cuda.local.array(tn, dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        tid = ty * tx_n + tx
        row0, col0 = cuda.blockIdx.y * bm, cuda.blockIdx.x * bn
        for z in range(cuda.blockIdx.z, nbatch, cuda.gridDim.z):
            pa = flat_pos(z, bshape, a_bst, a_off)
            pb = flat_pos(z, bshape, b_bst, b_off)
            for i in range(tm):
                for j in range(tn):
                    acc[i, j] = 0
            for k0 in range(0, k, bk):
                for slot in range(a_loads):  # consecutive threads read along a row of a
                    e = tid + slot * nt
                    r, kk = row0 + e // bk, k0 + e % bk
                    a_tile[e % bk, e // bk] = a[pa + r * a_rs + kk * a_cs] \
                        if r < n and kk < k else 0
                for slot in range(b_loads):  # ... and along a row of b
                    e = tid + slot * nt
                    kk, col = k0 + e // bn, col0 + e % bn
                    b_tile[e // bn, e % bn] = b[pb + kk * b_rs + col * b_cs] \
                        if kk < k and col < m else 0
                cuda.syncthreads()
                for kk in range(bk):
                    for i in range(tm):  # thread rows ty + i*ty_n: a warp reads 2 addresses
                        a_reg[i] = a_tile[kk, ty + i * ty_n]
                    for j in range(tn):  # columns tx + j*tx_n: conflict-free, coalesced
                        b_reg[j] = b_tile[kk, tx + j * tx_n]
                    for i in range(tm):
                        for j in range(tn):
                            acc[i, j] += a_reg[i] * b_reg[j]
                cuda.syncthreads()
            pc = z * n * m
            for i in range(tm):
                r = row0 + ty + i * ty_n
                for j in range(tn):
                    col = col0 + tx + j * tx_n
                    if r < n and col < m:
                        c[pc + r * m + col] = acc[i, j]

    return kernel


def matmul_operands(a, b):
    """The host side that every CUDA matmul shares (this module's and numba_cuda_teach's).

    Checks that a (..., n, k) and b (..., k, m) are CudaArrays whose shapes multiply (the
    leading dims broadcast like np.matmul), converts both to their common dtype and
    allocates c (batch + (n, m), contiguous, uninitialised). Returns (a, b, c, batch). When
    c needs no kernel (it has no element, or k == 0 and it is all zeros), a and b come back
    as None and c is already the result.
    """
    if not isinstance(a, CudaArray) or not isinstance(b, CudaArray):
        raise TypeError(f"matmul: expected two CudaArrays, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    batch, n, k, m = matmul_shapes(a.shape, b.shape)
    dtype = np.result_type(a.dtype, b.dtype)
    c = empty(batch + (n, m), dtype)
    if c.size == 0 or k == 0:
        c.fill(0)
        return None, None, c, batch
    return a.astype(dtype, copy=False), b.astype(dtype, copy=False), c, batch


def matmul(a, b):
    """a (..., n, k) @ b (..., k, m) -> (..., n, m); leading dims broadcast like np.matmul."""
    a, b, c, batch = matmul_operands(a, b)
    if a is None:
        return c
    n, k, m = a.shape[-2], a.shape[-1], b.shape[-1]
    nbatch = math.prod(batch)

    def batch_strides(x):
        head = CudaArray(x.buf, x.shape[:-2], x.elem_strides[:-2], x.offset)
        return broadcast_strides(head, batch) if batch else (0,)

    t = MATMUL_TILE
    kernel = matmul_kernel(c.dtype, t["bm"], t["bn"], t["bk"], t["tm"], t["tn"])
    grid = (-(-m // t["bn"]), -(-n // t["bm"]), nbatch if nbatch < 65535 else 65535)
    kernel[grid, (t["bn"] // t["tn"], t["bm"] // t["tm"])](
        c.buf, a.buf, a.offset, batch_strides(a), a.elem_strides[-2], a.elem_strides[-1],
        b.buf, b.offset, batch_strides(b), b.elem_strides[-2], b.elem_strides[-1],
        batch or (1,), nbatch, n, k, m)
    return c


def right_multiplier(b):
    """f with f(a) = matmul(a, b) (numba_cpu's packs b once; here nothing is prepared)."""
    return lambda a: matmul(a, b)


# ================================================================ conv2d (im2col + matmul)
@cuda.jit
def _im2col_kernel(total, cols, x, x_off, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo):
    """cols[b, (c*kh + i)*kw + j, ho*Wo + wo] = x[b, c, ho*sh - ph + i, wo*sw - pw + j]
    (0 outside x); x is contiguous (B, C, H, W)."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        wo = e % Wo
        t = e // Wo
        ho = t % Ho
        t //= Ho
        j = t % kw
        t //= kw
        i = t % kh
        t //= kh
        h, w = ho * sh - ph + i, wo * sw - pw + j
        if 0 <= h < H and 0 <= w < W:
            cols[e] = x[x_off + (t * H + h) * W + w]  # t is now b*C + c
        else:
            cols[e] = 0


@cuda.jit
def _col2im_kernel(total, gx, cols, C, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, zero):
    """The adjoint of im2col: gx[b, c, h, w] sums every cols entry that copied x[b, c, h, w]
    (one thread per input pixel: a gather, so no atomics)."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        w = e % W
        h = (e // W) % H
        bc = e // (W * H)  # b*C + c: rows of cols start at bc*kh*kw
        acc = zero
        for i in range(kh):
            hh = h + ph - i
            if hh >= 0 and hh % sh == 0 and hh // sh < Ho:
                for j in range(kw):
                    ww = w + pw - j
                    if ww >= 0 and ww % sw == 0 and ww // sw < Wo:
                        acc += cols[((bc * kh + i) * kw + j) * Ho * Wo + (hh // sh) * Wo
                                    + ww // sw]
        gx[e] = acc


def _im2col(x, kh, kw, stride, padding, Ho, Wo):
    x = xp.ascontiguousarray(x)
    B, C, H, W = x.shape
    cols = empty((B, C * kh * kw, Ho * Wo), x.dtype)
    _im2col_kernel[grid_1d(cols.size)](cols.size, cols.buf, x.buf, x.offset, C, H, W, kh, kw,
                                       *stride, *padding, Ho, Wo)
    return cols


def conv2d_forward(x, w, b, stride, padding):
    """y (B,O,Ho,Wo) = w (O,C,kH,kW) * x (B,C,H,W) + b (O,): matmul(w as O x CkHkW,
    im2col(x) as B x CkHkW x HoWo)."""
    stride, padding = pairs("conv2d_forward", stride, padding)
    B, O, Ho, Wo = conv2d_shape(x.shape, w.shape, stride, padding)
    kh, kw = w.shape[2:]
    cols = _im2col(x, kh, kw, stride, padding, Ho, Wo)
    y = matmul(w.reshape(O, -1), cols)
    if b is not None:
        y = y + b.reshape(1, O, 1)
    return y.reshape(B, O, Ho, Wo)


def conv2d_backward_input(gy, w, input_shape, stride, padding):
    """gx = col2im(w^T @ gy): each input pixel gathers the gradient of every window it fed."""
    stride, padding = pairs("conv2d_backward_input", stride, padding)
    B, O, Ho, Wo = conv2d_shape(input_shape, w.shape, stride, padding,
                                "conv2d_backward_input")
    _, C, H, W = input_shape
    kh, kw = w.shape[2:]
    dcols = matmul(w.reshape(O, -1).T, gy.reshape(B, O, Ho * Wo))
    gx = empty(input_shape, gy.dtype)
    _col2im_kernel[grid_1d(gx.size)](gx.size, gx.buf, dcols.buf, C, H, W, kh, kw, *stride,
                                     *padding, Ho, Wo, gy.dtype.type(0))
    return gx


def conv2d_backward_weight(gy, x, weight_shape, stride, padding):
    """gw = sum_b gy[b] (O, HoWo) @ im2col(x)[b]^T (HoWo, CkHkW); gb = gy summed over
    (B, Ho, Wo)."""
    stride, padding = pairs("conv2d_backward_weight", stride, padding)
    B, O, Ho, Wo = conv2d_shape(x.shape, weight_shape, stride, padding,
                                "conv2d_backward_weight")
    kh, kw = weight_shape[2:]
    cols = _im2col(x, kh, kw, stride, padding, Ho, Wo)
    per_batch = matmul(gy.reshape(B, O, Ho * Wo), cols.transpose(0, 2, 1))
    return xp.sum(per_batch, axis=0).reshape(weight_shape), xp.sum(gy, axis=(0, 2, 3))


# ================================================================ pooling
@cuda.jit
def _maxpool_kernel(total, y, arg, x, x_off, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo):
    """One thread per output: the max of its window (padding never wins) and its flat
    index h*W + w in the input plane; the first max wins."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        wo = e % Wo
        ho = (e // Wo) % Ho
        base = x_off + (e // (Wo * Ho)) * H * W
        best, bi = x[base], -1
        for i in range(kh):
            h = ho * sh - ph + i
            if 0 <= h < H:
                for j in range(kw):
                    w = wo * sw - pw + j
                    if 0 <= w < W:
                        v = x[base + h * W + w]
                        if bi < 0 or v > best:
                            best, bi = v, h * W + w
        y[e], arg[e] = best, bi


@cuda.jit
def _avgpool_kernel(total, y, x, x_off, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo, zero):
    """One thread per output: the window sum over kH*kW (padding counts as zeros)."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        wo = e % Wo
        ho = (e // Wo) % Ho
        base = x_off + (e // (Wo * Ho)) * H * W
        acc = zero
        for i in range(kh):
            h = ho * sh - ph + i
            if 0 <= h < H:
                for j in range(kw):
                    w = wo * sw - pw + j
                    if 0 <= w < W:
                        acc += x[base + h * W + w]
        y[e] = acc / (kh * kw)


@cuda.jit
def _maxpool_backward_kernel(total, gx, gy, gy_off, arg, arg_off, HW, HoWo):
    """One thread per output: gx[plane, argmax] += gy (atomically: windows may overlap)."""
    for o in range(cuda.grid(1), total, cuda.gridsize(1)):
        cuda.atomic.add(gx, (o // HoWo) * HW + arg[arg_off + o], gy[gy_off + o])


@cuda.jit
def _avgpool_backward_kernel(total, gx, gy, gy_off, H, W, kh, kw, sh, sw, ph, pw, Ho, Wo,
                             zero):
    """One thread per input pixel gathers gy / (kH*kW) from every window covering it."""
    for e in range(cuda.grid(1), total, cuda.gridsize(1)):
        w = e % W
        h = (e // W) % H
        plane = e // (W * H)
        acc = zero
        for i in range(kh):
            hh = h + ph - i
            if hh >= 0 and hh % sh == 0 and hh // sh < Ho:
                for j in range(kw):
                    ww = w + pw - j
                    if ww >= 0 and ww % sw == 0 and ww // sw < Wo:
                        acc += gy[gy_off + (plane * Ho + hh // sh) * Wo + ww // sw]
        gx[e] = acc / (kh * kw)


def _pool_setup(name, x_shape, kernel, stride, padding):
    """(geometry args of the pool kernels, output shape)."""
    kernel, stride, padding = pairs(name, kernel, stride, padding)
    out_shape = pool2d_shape(x_shape, kernel, stride, padding, name)
    return (*x_shape[2:], *kernel, *stride, *padding, *out_shape[2:]), out_shape


def maxpool2d_forward(x, kernel, stride, padding):
    """y, argmax (B,C,Ho,Wo): window maxima and their flat h*W + w input indices."""
    geometry, out_shape = _pool_setup("maxpool2d_forward", x.shape, kernel, stride, padding)
    x = xp.ascontiguousarray(x)
    y, arg = empty(out_shape, x.dtype), empty(out_shape, np.int64)
    if y.size:
        _maxpool_kernel[grid_1d(y.size)](y.size, y.buf, arg.buf, x.buf, x.offset, *geometry)
    return y, arg


def maxpool2d_backward(gy, argmax, input_shape):
    """gx (input_shape): gy scatter-added at the argmax positions of its plane."""
    if len(input_shape) != 4 or gy.shape != argmax.shape or gy.shape[:2] != input_shape[:2]:
        raise ValueError(f"maxpool2d_backward: gy {_dims(gy.shape)} and argmax "
                         f"{_dims(argmax.shape)} don't fit input {_dims(input_shape)}")
    gy, argmax = xp.ascontiguousarray(gy), xp.ascontiguousarray(argmax)
    gx = xp.zeros(input_shape, gy.dtype)
    if gy.size:
        _maxpool_backward_kernel[grid_1d(gy.size)](
            gy.size, gx.buf, gy.buf, gy.offset, argmax.buf, argmax.offset,
            input_shape[2] * input_shape[3], gy.shape[2] * gy.shape[3])
    return gx


def avgpool2d_forward(x, kernel, stride, padding):
    """y (B,C,Ho,Wo): window means with divisor kH*kW (padding counted, Torch7's default)."""
    geometry, out_shape = _pool_setup("avgpool2d_forward", x.shape, kernel, stride, padding)
    x = xp.ascontiguousarray(x)
    y = empty(out_shape, x.dtype)
    if y.size:
        _avgpool_kernel[grid_1d(y.size)](y.size, y.buf, x.buf, x.offset, *geometry,
                                         x.dtype.type(0))
    return y


def avgpool2d_backward(gy, input_shape, kernel, stride, padding):
    """gx: each input pixel gets gy / (kH*kW) from every window covering it."""
    geometry, out_shape = _pool_setup("avgpool2d_backward", input_shape, kernel, stride,
                                      padding)
    if gy.shape != out_shape:
        raise ValueError(f"avgpool2d_backward: gy is {_dims(gy.shape)}, expected "
                         f"{_dims(out_shape)}")
    gy = xp.ascontiguousarray(gy)
    gx = empty(input_shape, gy.dtype)
    if gx.size:
        _avgpool_backward_kernel[grid_1d(gx.size)](gx.size, gx.buf, gy.buf, gy.offset,
                                                   *geometry, gy.dtype.type(0))
    return gx


# ================================================================ log-softmax
def log_softmax(x):
    """log softmax over the last axis: x - logsumexp(x), computed stably (shift by the
    row's max first)."""
    shifted = x - xp.max(x, axis=-1, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))


def log_softmax_backward(y, gy):
    """y = log_softmax(x), gy = dL/dy -> dL/dx = gy - exp(y) * sum(gy), over the last axis."""
    return gy - xp.exp(y) * xp.sum(gy, axis=-1, keepdims=True)
