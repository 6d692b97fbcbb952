"""The teaching kernels (numba_teach) against the oracle numpy_ref, and the backward kernels
against central finite differences of the forward kernels (the gradient check).

Inputs come contiguous, transposed (Fortran order) or sliced with a step, in float32 and
float64; the wrappers hand every kernel C-contiguous arrays, so each kernel compiles once per
dtype and hypothesis's many small shapes then cost little. Each test is marked with the task
whose kernel it checks; it uses that kernel, earlier tasks' kernels and numpy_ref only.
"""

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
)

from minitorch7.backends import numba_teach, numpy_ref

FAST = settings(max_examples=15, deadline=None)
GRAD = settings(max_examples=6, deadline=None)
SEEDS = st.integers(0, 999)


def numerical_gradient(loss, x, eps=1e-6):
    """d loss / dx by central differences, one element of x (float64) at a time."""
    grad = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        saved = x[k]
        x[k] = saved + eps
        up = loss()
        x[k] = saved - eps
        down = loss()
        x[k] = saved
        grad[k] = (up - down) / (2 * eps)
    return grad


def test_tier():
    assert numba_teach.TIER == "teaching"


# ---------------------------------------------------------------- matmul (1.3)
@pytest.mark.task_1_3
@FAST
@given(n=st.integers(1, 24), k=st.integers(1, 24), m=st.integers(1, 24), dtype=DTYPES,
       la=LAYOUTS, lb=LAYOUTS, seed=SEEDS)
def test_matmul_matches_reference(n, k, m, dtype, la, lb, seed):
    a, b = data(seed, (n, k), dtype), data(seed + 1, (k, m), dtype)
    close(numba_teach.matmul(layout(a, la), layout(b, lb)), numpy_ref.matmul(a, b), dtype)


@pytest.mark.task_1_3
@FAST
@given(batch=st.sampled_from([((2, 3), (3,)), ((4, 1), (1, 5)), ((), (2,)), ((3,), ())]),
       dtype=DTYPES, lb=LAYOUTS, seed=SEEDS)
def test_matmul_broadcasts_batch_dims(batch, dtype, lb, seed):
    a = data(seed, batch[0] + (5, 3), dtype)
    b = data(seed + 1, batch[1] + (3, 6), dtype)
    close(numba_teach.matmul(a, layout(b, lb)), numpy_ref.matmul(a, b), dtype)


@pytest.mark.task_1_3
def test_matmul_empty_mixed_and_integer_dtypes():
    for n, k, m in [(0, 3, 2), (2, 0, 3), (2, 3, 0)]:
        got = numba_teach.matmul(np.ones((n, k), np.float32), np.ones((k, m), np.float32))
        close(got, np.zeros((n, m), np.float32), np.float32)
    a, b = np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(numba_teach.matmul(a, b), a @ b)
    close(numba_teach.matmul(a.astype(np.float32), b.astype(np.float64)),
          (a @ b).astype(np.float64), np.float64)


@pytest.mark.task_1_3
def test_matmul_kernel_contract():
    """The kernel itself: C-contiguous (n, k) and (k, m) in, a new (n, m) of their dtype out,
    the MLP's first layer's shapes."""
    for dtype in (np.float32, np.float64):
        a, b = data(0, (32, 784), dtype), data(1, (784, 200), dtype)
        c = numba_teach.matmul_kernel(a, b)
        assert c.shape == (32, 200) and c.dtype == dtype
        np.testing.assert_allclose(c, a @ b, rtol=1e-4 if dtype == np.float32 else 1e-10,
                                   atol=1e-3 if dtype == np.float32 else 1e-10)


@pytest.mark.task_1_3
def test_right_multiplier_is_matmul_by_one_b():
    b = data(0, (7, 5), np.float64)
    times_b = numba_teach.right_multiplier(b)
    for a in (data(1, (3, 7), np.float64), data(2, (1, 7), np.float64)):
        close(times_b(a), numpy_ref.matmul(a, b), np.float64)


def test_matmul_shape_errors():
    with pytest.raises(ValueError, match="matmul: a is 4x2 but b is 3x3"):
        numba_teach.matmul(np.zeros((4, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="broadcast"):
        numba_teach.matmul(np.zeros((2, 4, 3)), np.zeros((3, 3, 5)))


# ---------------------------------------------------------------- log-softmax (4.2)
@pytest.mark.task_4_2
@FAST
@given(shape=st.sampled_from([(1,), (7,), (3, 5), (2, 3, 33), (4, 1000)]), dtype=DTYPES,
       scale=st.sampled_from([1.0, 30.0, 1e4]), how=LAYOUTS, seed=SEEDS)
def test_log_softmax_matches_reference(shape, dtype, scale, how, seed):
    """Large logits too: exp(x) overflows unless the row's max is taken out first."""
    x = data(seed, shape, dtype) * scale
    got = numba_teach.log_softmax(layout(x, how))
    close(got, numpy_ref.log_softmax(x), dtype)
    assert np.isfinite(got).all()


@pytest.mark.task_4_2
@FAST
@given(shape=st.sampled_from([(1,), (6,), (3, 5), (2, 3, 33), (4, 1000)]), dtype=DTYPES,
       how=LAYOUTS, seed=SEEDS)
def test_log_softmax_backward_matches_reference(shape, dtype, how, seed):
    y = numpy_ref.log_softmax(data(seed, shape, dtype) * 5)
    gy = data(seed + 1, shape, dtype)
    close(numba_teach.log_softmax_backward(layout(y, how), layout(gy, how)),
          numpy_ref.log_softmax_backward(y, gy), dtype)


@pytest.mark.task_4_2
@GRAD
@given(shape=st.sampled_from([(1,), (4,), (2, 3), (2, 2, 3)]), seed=SEEDS)
def test_log_softmax_backward_is_the_gradient(shape, seed):
    """gx = d/dx of sum(gy * log_softmax(x)), by central differences (float64)."""
    x, gy = data(seed, shape, np.float64), data(seed + 1, shape, np.float64)
    y = numba_teach.log_softmax(x)
    want = numerical_gradient(lambda: np.sum(gy * numba_teach.log_softmax(x)), x)
    np.testing.assert_allclose(numba_teach.log_softmax_backward(y, gy), want,
                               rtol=1e-6, atol=1e-7)


def test_log_softmax_of_no_rows():
    assert numba_teach.log_softmax(np.zeros((0, 4), np.float32)).shape == (0, 4)
    assert numba_teach.log_softmax_backward(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0, 4)


# ---------------------------------------------------------------- convolution (5.1-5.3)
conv = conv_cases(outputs=4, side=7)
tiny_conv = conv_cases(batch=2, channels=2, outputs=2, side=4, kernel=3, stride=2, padding=1)


@pytest.mark.task_5_1
@FAST
@given(case=conv, dtype=DTYPES, lx=LAYOUTS, lw=LAYOUTS, bias=st.booleans(), seed=SEEDS)
def test_conv_forward_matches_reference(case, dtype, lx, lw, bias, seed):
    x, w, b, s, p = conv_inputs(case, dtype, seed)
    b = b if bias else None
    close(numba_teach.conv2d_forward(layout(x, lx), layout(w, lw), b, s, p),
          numpy_ref.conv2d_forward(x, w, b, s, p), dtype)


@pytest.mark.task_5_1
@pytest.mark.parametrize("c, o, h", [(1, 16, 28), (16, 32, 14)])
def test_conv_forward_lab_layers(c, o, h):
    """The lab CNN's two layers (5x5, pad 2), float32, at batch 2."""
    x, w, b = data(0, (2, c, h, h), np.float32), data(1, (o, c, 5, 5), np.float32), data(
        2, (o,), np.float32)
    want = numpy_ref.conv2d_forward(x, w, b, 1, 2)
    np.testing.assert_allclose(numba_teach.conv2d_forward(x, w, b, 1, 2), want, rtol=2e-4,
                               atol=2e-6 * np.abs(want).max())


@pytest.mark.task_5_2
@FAST
@given(case=conv, dtype=DTYPES, lg=LAYOUTS, seed=SEEDS)
def test_conv_backward_input_matches_reference(case, dtype, lg, seed):
    x, w, _, s, p = conv_inputs(case, dtype, seed)
    gy = data(seed + 3, numpy_ref.conv2d_forward(x, w, None, s, p).shape, dtype)
    close(numba_teach.conv2d_backward_input(layout(gy, lg), layout(w, lg), x.shape, s, p),
          numpy_ref.conv2d_backward_input(gy, w, x.shape, s, p), dtype)


@pytest.mark.task_5_2
@GRAD
@given(case=tiny_conv, seed=SEEDS)
def test_conv_backward_input_is_the_gradient(case, seed):
    """gx = d/dx of sum(gy * conv2d_forward(x, w, b)), by central differences (float64)."""
    x, w, b, s, p = conv_inputs(case, np.float64, seed)
    gy = data(seed + 3, numba_teach.conv2d_forward(x, w, b, s, p).shape, np.float64)
    want = numerical_gradient(lambda: np.sum(gy * numba_teach.conv2d_forward(x, w, b, s, p)), x)
    np.testing.assert_allclose(numba_teach.conv2d_backward_input(gy, w, x.shape, s, p), want,
                               rtol=1e-6, atol=1e-7)


@pytest.mark.task_5_3
@FAST
@given(case=conv, dtype=DTYPES, lg=LAYOUTS, seed=SEEDS)
def test_conv_backward_weight_matches_reference(case, dtype, lg, seed):
    x, w, _, s, p = conv_inputs(case, dtype, seed)
    gy = data(seed + 3, numpy_ref.conv2d_forward(x, w, None, s, p).shape, dtype)
    gw, gb = numba_teach.conv2d_backward_weight(layout(gy, lg), layout(x, lg), w.shape, s, p)
    want_gw, want_gb = numpy_ref.conv2d_backward_weight(gy, x, w.shape, s, p)
    close(gw, want_gw, dtype)
    close(gb, want_gb, dtype)


@pytest.mark.task_5_3
@GRAD
@given(case=tiny_conv, seed=SEEDS)
def test_conv_backward_weight_is_the_gradient(case, seed):
    """gw, gb = d/dw, d/db of sum(gy * conv2d_forward(x, w, b)), by central differences."""
    x, w, b, s, p = conv_inputs(case, np.float64, seed)
    gy = data(seed + 3, numba_teach.conv2d_forward(x, w, b, s, p).shape, np.float64)

    def loss():
        return np.sum(gy * numba_teach.conv2d_forward(x, w, b, s, p))
    gw, gb = numba_teach.conv2d_backward_weight(gy, x, w.shape, s, p)
    np.testing.assert_allclose(gw, numerical_gradient(loss, w), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(gb, numerical_gradient(loss, b), rtol=1e-6, atol=1e-7)


@pytest.mark.task_5_3
@pytest.mark.parametrize("c, o, h", [(1, 16, 28), (16, 32, 14)])
def test_conv_backward_lab_layers(c, o, h):
    """Both backward kernels on the lab CNN's layers (5x5, pad 2), float32, at batch 2."""
    x, w = data(0, (2, c, h, h), np.float32), data(1, (o, c, 5, 5), np.float32)
    gy = data(3, (2, o, h, h), np.float32)
    got = (numba_teach.conv2d_backward_input(gy, w, x.shape, 1, 2),
           *numba_teach.conv2d_backward_weight(gy, x, w.shape, 1, 2))
    want = (numpy_ref.conv2d_backward_input(gy, w, x.shape, 1, 2),
            *numpy_ref.conv2d_backward_weight(gy, x, w.shape, 1, 2))
    for g, ref in zip(got, want, strict=True):
        np.testing.assert_allclose(g, ref, rtol=2e-4, atol=2e-6 * np.abs(ref).max())


def test_conv_shape_errors():
    with pytest.raises(ValueError, match=r"conv2d_forward: .* x 2x3x5x5 and weight 4x2x3x3"):
        numba_teach.conv2d_forward(np.zeros((2, 3, 5, 5)), np.zeros((4, 2, 3, 3)), None, 1, 0)
    with pytest.raises(ValueError, match="conv2d_backward_input: gradient is 1x1x2x2"):
        numba_teach.conv2d_backward_input(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)),
                                          (1, 1, 5, 5), 1, 0)
    with pytest.raises(ValueError, match="conv2d_backward_weight: gradient is 1x1x2x2"):
        numba_teach.conv2d_backward_weight(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 5, 5)),
                                           (1, 1, 3, 3), 1, 0)


# ---------------------------------------------------------------- pooling (5.4, 5.5)
def pool_input(case, dtype, seed, ties):
    """Random values, or rounded ones whose windows hold ties (the first max must win)."""
    x = data(seed, case["shape"], dtype)
    return np.round(x) if ties else x


@pytest.mark.task_5_4
def test_maxpool_lab_example():
    """Max pool 2x2 stride 2 on 1..16 seen as 1x1x4x4: y and its flat argmax h*W + w."""
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    y, argmax = numba_teach.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(y[0, 0], [[6, 8], [14, 16]])
    np.testing.assert_array_equal(argmax[0, 0], [[5, 7], [13, 15]])


@pytest.mark.task_5_4
@FAST
@given(case=pool_cases, dtype=DTYPES, lx=LAYOUTS, ties=st.booleans(), seed=SEEDS)
def test_maxpool_forward_matches_reference(case, dtype, lx, ties, seed):
    x = pool_input(case, dtype, seed, ties)
    k, s, p = pool_args(case)
    y, argmax = numba_teach.maxpool2d_forward(layout(x, lx), k, s, p)
    want_y, want_arg = numpy_ref.maxpool2d_forward(x, k, s, p)
    assert y.dtype == dtype and argmax.dtype == np.int64
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(argmax, want_arg)


@pytest.mark.task_5_4
def test_maxpool_padding_never_wins():
    """All-negative input: a padded window's max is a cell of the image, not the padding."""
    x = -1.0 - np.arange(16.0).reshape(1, 1, 4, 4)
    y, argmax = numba_teach.maxpool2d_forward(x, 3, 2, 1)
    want_y, want_arg = numpy_ref.maxpool2d_forward(x, 3, 2, 1)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(argmax, want_arg)


@pytest.mark.task_5_5
@FAST
@given(case=pool_cases, dtype=DTYPES, lg=LAYOUTS, ties=st.booleans(), seed=SEEDS)
def test_maxpool_backward_matches_reference(case, dtype, lg, ties, seed):
    """Windows overlap when the stride is below the kernel: a cell can win several times."""
    x = pool_input(case, dtype, seed, ties)
    k, s, p = pool_args(case)
    y, argmax = numpy_ref.maxpool2d_forward(x, k, s, p)
    gy = data(seed + 1, y.shape, dtype)
    close(numba_teach.maxpool2d_backward(layout(gy, lg), layout(argmax, lg), x.shape),
          numpy_ref.maxpool2d_backward(gy, argmax, x.shape), dtype)


@pytest.mark.task_5_5
@GRAD
@given(case=pool_cases, seed=SEEDS)
def test_maxpool_backward_is_the_gradient(case, seed):
    """gx = d/dx of sum(gy * maxpool2d_forward(x)), by central differences. The values are
    0.1 apart (a shuffled range), so a step of 1e-6 never changes which one wins."""
    shape = case["shape"]
    rng = np.random.default_rng(seed)
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1
    k, s, p = pool_args(case)
    y, argmax = numba_teach.maxpool2d_forward(x, k, s, p)
    gy = data(seed + 1, y.shape, np.float64)
    want = numerical_gradient(lambda: np.sum(gy * numba_teach.maxpool2d_forward(x, k, s, p)[0]),
                              x)
    np.testing.assert_allclose(numba_teach.maxpool2d_backward(gy, argmax, x.shape), want,
                               rtol=1e-6, atol=1e-7)


def test_pool_errors():
    with pytest.raises(ValueError, match="maxpool2d_forward: need .* padding <= kernel // 2"):
        numba_teach.maxpool2d_forward(np.zeros((1, 1, 4, 4)), 2, 2, 2)
    with pytest.raises(ValueError, match="maxpool2d_backward: gradient is 1x1x3x3"):
        numba_teach.maxpool2d_backward(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2), np.int64),
                                       (1, 1, 4, 4))
