"""numba_cpu against numpy_ref, and numpy_ref against formulas written as plain loops.

Inputs come contiguous, transposed (Fortran order) or sliced with a step (strided), in
float32 and float64; shapes cross the gemm's tile, k-block and task edges.
"""

import os
import platform
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kernel_cases import (
    DTYPES,
    LAYOUTS,
    close,
    conv_cases,
    conv_inputs,
    data,
    layout,
    pool_args,
    pool_cases,
    tol,
)

from minitorch7 import backends
from minitorch7.backends import _numba_gemm, cpu_target, numba_cpu, numpy_ref

FAST = settings(max_examples=12, deadline=None)


# ---------------------------------------------------------------- selection
def test_backend_selection(monkeypatch):
    monkeypatch.setattr(backends, "_cpu", None)
    monkeypatch.setenv("MINITORCH7_BACKEND", "numpy_ref")
    assert backends.get_cpu_backend() is numpy_ref
    assert backends.set_cpu_backend("numba_cpu") is numba_cpu
    assert backends.get_cpu_backend() is numba_cpu
    monkeypatch.setattr(backends, "_cpu", None)
    monkeypatch.delenv("MINITORCH7_BACKEND")
    monkeypatch.setattr(backends, "is_learner_copy", lambda: False)
    assert backends.get_cpu_backend() is numba_cpu
    with pytest.raises(ValueError, match="numpy_ref"):
        backends.set_cpu_backend("cupy")
    monkeypatch.setattr(backends, "_cpu", None)
    monkeypatch.setenv("MINITORCH7_BACKEND", "nope")
    with pytest.raises(ValueError, match="MINITORCH7_BACKEND"):
        backends.get_cpu_backend()


# ---------------------------------------------------------------- matmul
@FAST
@given(n=st.integers(1, 40), k=st.integers(1, 40), m=st.integers(1, 40), dtype=DTYPES,
       la=LAYOUTS, lb=LAYOUTS, seed=st.integers(0, 999))
def test_matmul_matches_reference(n, k, m, dtype, la, lb, seed):
    """matmul (these small products run on one thread) and the parallel gemm, on the same
    operands."""
    a, b = data(seed, (n, k), dtype), data(seed + 1, (k, m), dtype)
    want = numpy_ref.matmul(a, b)
    close(numba_cpu.matmul(layout(a, la), layout(b, lb)), want, dtype)
    close(_numba_gemm.gemm(layout(a, la), layout(b, lb), 2), want, dtype)


@settings(max_examples=6, deadline=None)
@given(n=st.integers(1, 9), k=st.integers(500, 1300), m=st.integers(1, 9), dtype=DTYPES,
       seed=st.integers(0, 999))
def test_matmul_long_k_is_split_between_tasks(n, k, m, dtype, seed):
    """Several k-blocks, few output tiles: the k-blocks are summed in separate parts."""
    a, b = data(seed, (n, k), dtype), data(seed + 1, (k, m), dtype)
    close(_numba_gemm.gemm(a, layout(b, "transposed"), 2), numpy_ref.matmul(a, b), dtype)


@pytest.mark.parametrize("shape", [(130, 70, 129), (257, 33, 300)])
def test_matmul_several_parallel_tasks(shape):
    n, k, m = shape
    a, b = data(0, (n, k), np.float32), data(1, (k, m), np.float32)
    close(_numba_gemm.gemm(a, b, 2), numpy_ref.matmul(a, b), np.float32)
    close(numba_cpu.matmul(a, b), numpy_ref.matmul(a, b), np.float32)


@pytest.mark.parametrize("shape", [(300, 4200, 40), (3000, 400, 5), (5, 300, 4000)])
def test_matmul_large_operands_go_through_in_chunks(shape):
    """Chunks of k (accumulated into c), of c's rows and of c's columns."""
    n, k, m = shape
    a, b = data(0, (n, k), np.float64), data(1, (k, m), np.float64)
    close(numba_cpu.matmul(a, b), numpy_ref.matmul(a, b), np.float64)


@FAST
@given(batch=st.sampled_from([((2, 3), (3,)), ((4, 1), (1, 5)), ((), (2,)), ((3,), ())]),
       dtype=DTYPES, seed=st.integers(0, 999), lb=LAYOUTS)
def test_matmul_broadcasts_batch_dims(batch, dtype, seed, lb):
    a = data(seed, batch[0] + (5, 3), dtype)
    b = layout(data(seed + 1, batch[1] + (3, 6), dtype), lb)
    want = np.matmul(a, b)
    close(numba_cpu.matmul(a, b), want, dtype)
    close(numpy_ref.matmul(a, b), want, dtype)


@FAST
@given(k=st.sampled_from([3, 200, 700, 5000]), m=st.sampled_from([5, 200, 800]),
       dtype=DTYPES, lb=LAYOUTS, seed=st.integers(0, 999))
def test_right_multiplier_is_matmul_by_one_b(k, m, dtype, lb, seed):
    """b packed once (or not: tiny, long k, huge b), then a product with each of several a:
    a batch of LSTM rows, one row, another dtype (falls back to matmul) and a transposed a."""
    b = data(seed, (k, m), dtype)
    times_b = numba_cpu.right_multiplier(layout(b, lb))
    other = np.float64 if dtype == np.float32 else np.float32
    for a in (data(seed + 1, (20, k), dtype), data(seed + 2, (1, k), dtype),
              data(seed + 3, (4, k), other), layout(data(seed + 4, (33, k), dtype), "transposed")):
        want = numpy_ref.matmul(a, b)
        close(times_b(a), want, want.dtype)
        close(numpy_ref.right_multiplier(b)(a), want, want.dtype)
    with pytest.raises(ValueError, match="matmul"):
        times_b(np.ones((2, k + 1), dtype))


@pytest.mark.parametrize("mod", [numba_cpu, numpy_ref])
@pytest.mark.parametrize("shape", [(0, 3, 2), (2, 0, 3), (2, 3, 0)])
def test_matmul_empty(mod, shape):
    n, k, m = shape
    got = mod.matmul(np.ones((n, k), np.float32), np.ones((k, m), np.float32))
    close(got, np.zeros((n, m), np.float32), np.float32)


def test_matmul_mixed_and_integer_dtypes():
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(numba_cpu.matmul(a, b), a @ b)
    got = numba_cpu.matmul(a.astype(np.float32), b.astype(np.float64))
    close(got, (a @ b).astype(np.float64), np.float64)


@pytest.mark.parametrize("mod", [numba_cpu, numpy_ref])
def test_matmul_shape_errors(mod):
    with pytest.raises(ValueError, match="matmul: a is 4x2 but b is 3x3"):
        mod.matmul(np.zeros((4, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="matmul"):
        mod.matmul(np.zeros(3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="broadcast"):
        mod.matmul(np.zeros((2, 4, 3)), np.zeros((3, 3, 5)))


# ---------------------------------------------------------------- convolution
def conv_by_formula(x, w, b, stride, padding):
    """y[b,o,h,w] = bias[o] + sum_{c,i,j} w[o,c,i,j] * x[b, c, h*sH - pH + i, w*sW - pW + j]."""
    (sh, sw), (ph, pw) = stride, padding
    bsz, ch, h, wd = x.shape
    o, _, kh, kw = w.shape
    ho, wo = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((bsz, o, ho, wo))
    for n, oc, oh, ow, c, i, j in np.ndindex(bsz, o, ho, wo, ch, kh, kw):
        hh, ww = oh * sh - ph + i, ow * sw - pw + j
        if 0 <= hh < h and 0 <= ww < wd:
            y[n, oc, oh, ow] += w[oc, c, i, j] * x[n, c, hh, ww]
    return y + b[:, None, None]


@settings(max_examples=8, deadline=None)
@given(case=conv_cases(), seed=st.integers(0, 999))
def test_reference_conv_matches_formula(case, seed):
    x, w, b, _, _ = conv_inputs(case, np.float64, seed)
    want = conv_by_formula(x, w, b, case["stride"], case["padding"])
    close(numpy_ref.conv2d_forward(x, w, b, case["stride"], case["padding"]), want, np.float64)


@settings(max_examples=8, deadline=None)
@given(case=conv_cases(), seed=st.integers(0, 999))
def test_reference_conv_backward_is_the_adjoint(case, seed):
    """<conv(x, w), gy> = <x, backward_input(gy)> = <w, backward_weight(gy)>; gb = sum gy."""
    x, w, b, _, _ = conv_inputs(case, np.float64, seed)
    s, p = case["stride"], case["padding"]
    y = numpy_ref.conv2d_forward(x, w, None, s, p)
    gy = data(seed + 3, y.shape, np.float64)
    gx = numpy_ref.conv2d_backward_input(gy, w, x.shape, s, p)
    gw, gb = numpy_ref.conv2d_backward_weight(gy, x, w.shape, s, p)
    assert gx.shape == x.shape and gw.shape == w.shape
    np.testing.assert_allclose(np.sum(x * gx), np.sum(y * gy), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.sum(w * gw), np.sum(y * gy), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gb, gy.sum(axis=(0, 2, 3)))


@FAST
@given(case=conv_cases(), dtype=DTYPES, lx=LAYOUTS, lw=LAYOUTS, seed=st.integers(0, 999),
       bias=st.booleans())
def test_conv_forward_matches_reference(case, dtype, lx, lw, seed, bias):
    x, w, b, _, _ = conv_inputs(case, dtype, seed)
    b = b if bias else None
    s, p = case["stride"], case["padding"]
    got = numba_cpu.conv2d_forward(layout(x, lx), layout(w, lw), b, s, p)
    close(got, numpy_ref.conv2d_forward(x, w, b, s, p), dtype)


@FAST
@given(case=conv_cases(), dtype=DTYPES, lg=LAYOUTS, seed=st.integers(0, 999))
def test_conv_backward_matches_reference(case, dtype, lg, seed):
    x, w, _, _, _ = conv_inputs(case, dtype, seed)
    s, p = case["stride"], case["padding"]
    gy = data(seed + 3, numpy_ref.conv2d_forward(x, w, None, s, p).shape, dtype)
    close(numba_cpu.conv2d_backward_input(layout(gy, lg), layout(w, lg), x.shape, s, p),
          numpy_ref.conv2d_backward_input(gy, w, x.shape, s, p), dtype)
    gw, gb = numba_cpu.conv2d_backward_weight(layout(gy, lg), layout(x, lg), w.shape, s, p)
    want_gw, want_gb = numpy_ref.conv2d_backward_weight(gy, x, w.shape, s, p)
    close(gw, want_gw, dtype)
    close(gb, want_gb, dtype)


def close_to_scale(got, want):
    """float32 sums of hundreds of terms: errors scale with the largest value, not each one."""
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-6 * np.abs(want).max())


def lab_layer(c, o, h):
    """x (4, c, h, h), w (o, c, 5, 5), b (o,): one of the lab CNN's layers at batch 4."""
    return (data(0, (4, c, h, h), np.float32), data(1, (o, c, 5, 5), np.float32),
            data(2, (o,), np.float32))


@pytest.mark.parametrize("c, o, h", [(1, 16, 28), (16, 32, 14)])
def test_conv_lab_layers(c, o, h):
    """The lab CNN's two layers (5x5, pad 2), float32: many gemm tiles and images."""
    x, w, b = lab_layer(c, o, h)
    close_to_scale(numba_cpu.conv2d_forward(x, w, b, 1, 2),
                   numpy_ref.conv2d_forward(x, w, b, 1, 2))


@pytest.mark.parametrize("c, o, h", [(1, 16, 28), (16, 32, 14)])
def test_conv_backward_lab_layers(c, o, h):
    x, w, _ = lab_layer(c, o, h)
    gy = data(3, (4, o, h, h), np.float32)
    close_to_scale(numba_cpu.conv2d_backward_input(gy, w, x.shape, 1, 2),
                   numpy_ref.conv2d_backward_input(gy, w, x.shape, 1, 2))
    for got, want in zip(numba_cpu.conv2d_backward_weight(gy, x, w.shape, 1, 2),
                         numpy_ref.conv2d_backward_weight(gy, x, w.shape, 1, 2)):
        close_to_scale(got, want)


@pytest.mark.parametrize("o", [3, 9])  # the direct kernel and the tiles
@pytest.mark.parametrize("kw", [1, 2, 3, 4, 5])
def test_conv_every_padding_for_a_kernel_width(kw, o):
    """Rows of the flattened image hold pW zeros and W numbers: a window that runs past a
    row's end must read the next row's zeros, never its numbers. Every pW up to kW + 1."""
    x, w, b = data(0, (2, 2, 4, 7), np.float64), data(1, (o, 2, 3, kw), np.float64), data(
        2, (o,), np.float64)
    for pw in range(kw + 2):
        p = (1, pw)
        y = numba_cpu.conv2d_forward(x, w, b, 1, p)
        close(y, numpy_ref.conv2d_forward(x, w, b, 1, p), np.float64)
        gy = data(3, y.shape, np.float64)
        close(numba_cpu.conv2d_backward_input(gy, w, x.shape, 1, p),
              numpy_ref.conv2d_backward_input(gy, w, x.shape, 1, p), np.float64)
        close(numba_cpu.conv2d_backward_weight(gy, x, w.shape, 1, p)[0],
              numpy_ref.conv2d_backward_weight(gy, x, w.shape, 1, p)[0], np.float64)


@pytest.mark.parametrize("mod", [numba_cpu, numpy_ref])
def test_conv_shape_errors(mod):
    with pytest.raises(ValueError, match=r"conv2d_forward: .* x 2x3x5x5 and weight 4x2x3x3"):
        mod.conv2d_forward(np.zeros((2, 3, 5, 5)), np.zeros((4, 2, 3, 3)), None, 1, 0)
    with pytest.raises(ValueError, match="larger than the padded input"):
        mod.conv2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), None, 1, 0)
    with pytest.raises(ValueError, match="conv2d_backward_input: gradient is 1x1x2x2"):
        mod.conv2d_backward_input(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)),
                                  (1, 1, 5, 5), 1, 0)


# ---------------------------------------------------------------- pooling
def test_reference_maxpool_lab_example():
    """Max pool 2x2 stride 2 on 1..16 seen as 1x1x4x4."""
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    y, argmax = numpy_ref.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(y[0, 0], [[6, 8], [14, 16]])
    np.testing.assert_array_equal(argmax[0, 0], [[5, 7], [13, 15]])
    gx = numpy_ref.maxpool2d_backward(np.ones_like(y), argmax, x.shape)
    np.testing.assert_array_equal(gx[0, 0], [[0, 0, 0, 0], [0, 1, 0, 1]] * 2)


def pool_by_formula(x, kernel, stride, padding):
    """Window max (its flat index, first wins) and window sum / (kH*kW), by plain loops."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    bsz, ch, h, w = x.shape
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    ymax, arg, yavg = np.zeros((bsz, ch, ho, wo)), np.zeros((bsz, ch, ho, wo), int), \
        np.zeros((bsz, ch, ho, wo))
    for n, c, oh, ow in np.ndindex(bsz, ch, ho, wo):
        cells = [(oh * sh - ph + i, ow * sw - pw + j) for i in range(kh) for j in range(kw)]
        cells = [(hh, ww) for hh, ww in cells if 0 <= hh < h and 0 <= ww < w]
        vals = [x[n, c, hh, ww] for hh, ww in cells]
        best = int(np.argmax(vals))
        ymax[n, c, oh, ow], yavg[n, c, oh, ow] = vals[best], sum(vals) / (kh * kw)
        arg[n, c, oh, ow] = cells[best][0] * w + cells[best][1]
    return ymax, arg, yavg


@settings(max_examples=10, deadline=None)
@given(case=pool_cases, seed=st.integers(0, 999), ties=st.booleans())
def test_reference_pooling_matches_formula(case, seed, ties):
    x = data(seed, case["shape"], np.float64)
    x = np.round(x) if ties else x  # ties: the first max must win
    k, s, p = pool_args(case)
    ymax, arg, yavg = pool_by_formula(x, k, s, p)
    y, argmax = numpy_ref.maxpool2d_forward(x, k, s, p)
    np.testing.assert_array_equal(y, ymax)
    np.testing.assert_array_equal(argmax, arg)
    close(numpy_ref.avgpool2d_forward(x, k, s, p), yavg, np.float64)
    gy = data(seed + 1, y.shape, np.float64)  # backward: the adjoint of the forward
    gx = numpy_ref.avgpool2d_backward(gy, x.shape, k, s, p)
    np.testing.assert_allclose(np.sum(gx * x), np.sum(gy * yavg), rtol=1e-10, atol=1e-10)
    gx = numpy_ref.maxpool2d_backward(gy, argmax, x.shape)
    np.testing.assert_allclose(np.sum(gx * x), np.sum(gy * y), rtol=1e-10, atol=1e-10)


@FAST
@given(case=pool_cases, dtype=DTYPES, lx=LAYOUTS, seed=st.integers(0, 999), ties=st.booleans())
def test_maxpool_matches_reference(case, dtype, lx, seed, ties):
    x = data(seed, case["shape"], dtype)
    x = np.round(x) if ties else x
    k, s, p = pool_args(case)
    y, argmax = numba_cpu.maxpool2d_forward(layout(x, lx), k, s, p)
    want_y, want_arg = numpy_ref.maxpool2d_forward(x, k, s, p)
    close(y, want_y, dtype)
    assert argmax.dtype == np.int64
    np.testing.assert_array_equal(argmax, want_arg)
    gy = layout(data(seed + 1, y.shape, dtype), lx)
    close(numba_cpu.maxpool2d_backward(gy, argmax, x.shape),
          numpy_ref.maxpool2d_backward(gy, argmax, x.shape), dtype)


@FAST
@given(case=pool_cases, dtype=DTYPES, lx=LAYOUTS, seed=st.integers(0, 999))
def test_avgpool_matches_reference(case, dtype, lx, seed):
    x = data(seed, case["shape"], dtype)
    k, s, p = pool_args(case)
    y = numba_cpu.avgpool2d_forward(layout(x, lx), k, s, p)
    close(y, numpy_ref.avgpool2d_forward(x, k, s, p), dtype)
    gy = data(seed + 1, y.shape, dtype)
    close(numba_cpu.avgpool2d_backward(layout(gy, lx), x.shape, k, s, p),
          numpy_ref.avgpool2d_backward(gy, x.shape, k, s, p), dtype)


@pytest.mark.parametrize("mod", [numba_cpu, numpy_ref])
def test_pool_errors(mod):
    with pytest.raises(ValueError, match="maxpool2d_forward: need .* padding <= kernel // 2"):
        mod.maxpool2d_forward(np.zeros((1, 1, 4, 4)), 2, 2, 2)
    with pytest.raises(ValueError, match=r"avgpool2d_forward: expected x \(B,C,H,W\), got 4x4"):
        mod.avgpool2d_forward(np.zeros((4, 4)), 2, 2, 0)
    with pytest.raises(ValueError, match="maxpool2d_backward: gradient is 1x1x3x3"):
        mod.maxpool2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2), np.int64),
                               (1, 1, 4, 4))


# ---------------------------------------------------------------- compile cache
def test_warm_cache_new_process_runs_every_kernel_quickly():
    """cache=True: once compiled, a fresh process loads every kernel from the cache.

    Compiling them takes a minute of CPU; loading them well under a second (the benchmark
    reports the wall time). CPU time is measured so that a busy machine does not fail this.
    """
    script = ("import time; t = time.process_time();"
              "from kernels import run_every_kernel_once; run_every_kernel_once();"
              "print(time.process_time() - t)")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    run = [sys.executable, "-c", script]  # in benchmarks/: kernels.py imports harness.py
    bench = os.path.join(root, "benchmarks")
    subprocess.run(run, cwd=bench, check=True, capture_output=True)  # fills the cache
    out = subprocess.run(run, cwd=bench, check=True, capture_output=True, text=True)
    assert float(out.stdout.strip().splitlines()[-1]) < 3.0


# ---------------------------------------------------------------- log-softmax
def _log_softmax_loops(x):
    """log softmax over the last axis, row by row with math.exp: the formula, plainly."""
    import math

    rows = x.reshape(-1, x.shape[-1]).astype(np.float64)
    out = np.empty_like(rows)
    for r, row in enumerate(rows):
        top = max(row)
        total = sum(math.exp(v - top) for v in row)
        out[r] = [v - top - math.log(total) for v in row]
    return out.reshape(x.shape)


FMA = "fma" in cpu_target.compile_features() or platform.machine() in ("arm64", "aarch64")


@pytest.mark.parametrize("dtype, lowest, error, error_without_fma",
                         [(np.float32, -87.0, 4e-7, 5e-6), (np.float64, -708.0, 5e-14, 1e-13)])
def test_vectorised_exp_is_accurate_in_its_precision(dtype, lowest, error, error_without_fma):
    """The log-softmax kernels' exp against NumPy's: relative error, from 0 down to the
    smallest normal number's exponent, in float32 arithmetic for float32 (looser where the
    compiled code has no FMA: see _exp_nonpositive)."""
    from numba import njit

    @njit(fastmath=True)
    def exp_all(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = numba_cpu._exp_nonpositive(x[i])
        return out

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(lowest, 0, 10**5), rng.uniform(-1, 0, 10**5),
                        [0.0, lowest, -0.5 * np.log(2)]]).astype(dtype)
    got, want = exp_all(x), np.exp(x.astype(np.float64))
    assert got.dtype == dtype
    assert np.max(np.abs(got - want) / want) < (error if FMA else error_without_fma)


@FAST
@given(shape=st.sampled_from([(1,), (7,), (3, 5), (2, 3, 33), (4, 1000)]), dtype=DTYPES,
       scale=st.sampled_from([1.0, 30.0, 1e4]), how=LAYOUTS, seed=st.integers(0, 999))
def test_log_softmax_matches_reference(shape, dtype, scale, how, seed):
    """Large logits too: exp(x - max) underflows to 0 for all but the largest."""
    x = data(seed, shape, dtype) * scale
    want = numpy_ref.log_softmax(x)
    np.testing.assert_allclose(want, _log_softmax_loops(x), **tol(dtype))
    close(numba_cpu.log_softmax(layout(x, how)), want, dtype)


@FAST
@given(shape=st.sampled_from([(1,), (6,), (3, 5), (2, 3, 33), (4, 1000)]), dtype=DTYPES,
       how=LAYOUTS, seed=st.integers(0, 999))
def test_log_softmax_backward_matches_reference(shape, dtype, how, seed):
    y = numpy_ref.log_softmax(data(seed, shape, dtype) * 5)
    gy = data(seed + 1, shape, dtype)
    want = numpy_ref.log_softmax_backward(y, gy)
    np.testing.assert_allclose(want, gy - np.exp(y) * gy.sum(-1, keepdims=True), **tol(dtype))
    close(numba_cpu.log_softmax_backward(layout(y, how), layout(gy, how)), want, dtype)


def test_log_softmax_of_no_rows():
    for mod in (numba_cpu, numpy_ref):
        assert mod.log_softmax(np.zeros((0, 4), np.float32)).shape == (0, 4)
        assert mod.log_softmax_backward(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 4)
