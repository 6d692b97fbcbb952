"""The CUDA side against NumPy / numpy_ref: CudaArray views, the NumPy-like namespace
(cuda_xp) and the fast tier's kernel primitives (numba_cuda). Runs in Numba's CUDA simulator
without a GPU (tests/conftest.py), so shapes stay tiny; ``-m gpu`` runs the same kernels at
real sizes on a GPU. The teaching tier's matmul is tested in test_cuda_teach.py."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from minitorch7 import cuda as mt_cuda
from minitorch7.backends import cuda_xp as xp
from minitorch7.backends import numba_cuda as nc
from minitorch7.backends import numpy_ref

FAST = settings(max_examples=6, deadline=None)
DTYPES = st.sampled_from([np.float32, np.float64])
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


def tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-11)


def dev(x, transposed=False):
    """x on the device; with ``transposed``, as a non-contiguous (transposed) view."""
    if transposed and x.ndim >= 2:
        view = xp.from_numpy(np.ascontiguousarray(x.T)).T
        assert sum(n > 1 for n in x.shape) < 2 or not view.is_contiguous()
        return view
    return xp.from_numpy(x)


def data(seed, shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(got, want, dtype=np.float64):
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got.to_numpy(), want, **tol(dtype))


# ---------------------------------------------------------------- availability
def test_simulator_is_not_a_gpu():
    if mt_cuda.simulator_enabled():
        assert mt_cuda.is_available() is False
    mt_cuda.require("test")  # CUDA kernels can run here: GPU or simulator


def test_require_explains_how_to_get_cuda(monkeypatch):
    monkeypatch.setattr(mt_cuda, "simulator_enabled", lambda: False)
    monkeypatch.setattr(mt_cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="NUMBA_ENABLE_CUDASIM=1"):
        mt_cuda.require(".cuda()")


# ---------------------------------------------------------------- CudaArray
def test_views_share_memory_and_match_numpy():
    x = np.arange(60.0).reshape(3, 4, 5)
    a = dev(x)
    assert a.device == "cuda" and a.dtype == np.float64 and a.ndim == 3 and a.size == 60
    for got, want in [(a.T, x.T), (a.transpose(1, 0, 2), x.transpose(1, 0, 2)),
                      (a[1], x[1]), (a[:, 1:3, ::-2], x[:, 1:3, ::-2]), (a[..., -1], x[..., -1]),
                      (a[None, 2, :, 1], x[None, 2, :, 1]), (a.reshape(5, -1), x.reshape(5, -1)),
                      (xp.broadcast_to(a[:, :1], (3, 4, 5)), np.broadcast_to(x[:, :1], (3, 4, 5))),
                      (xp.expand_dims(a, (0, 2)), np.expand_dims(x, (0, 2))),
                      (xp.squeeze(a[:, :1, None]), np.squeeze(x[:, :1, None])),
                      (xp.moveaxis(a, 0, -1), np.moveaxis(x, 0, -1))]:
        check(got, want)
    view = a[1, ::2]
    view[...] = -1.0  # writes through to the base array
    x[1, ::2] = -1.0
    a[2, 1:3] = x[0, :2]  # a host array is copied in
    x[2, 1:3] = x[0, :2]
    check(a, x)
    assert a.T.reshape(-1).shape == (60,)  # a non-contiguous reshape copies
    check(a.T.reshape(-1), x.T.reshape(-1))
    check(a.T.ravel(), x.T.ravel())
    assert a[0].tolist() == x[0].tolist()


@FAST
@given(shape=shapes, dtype=DTYPES, seed=st.integers(0, 99), transposed=st.booleans())
def test_elementwise_matches_numpy(shape, dtype, seed, transposed):
    x, y = data(seed, shape, dtype), data(seed + 1, shape[-1:], dtype)
    a, b = dev(x, transposed), dev(y)  # a maybe non-contiguous
    pos = np.abs(x) + 0.5
    cases = [(a + b, x + y), (a - 2, x - 2), (3.0 * a, 3.0 * x), (a / (b * b + 1), x / (y * y + 1)),
             (-a, -x), (xp.exp(a), np.exp(x)), (xp.log(dev(pos)), np.log(pos)),
             (xp.sqrt(dev(pos)), np.sqrt(pos)), (xp.tanh(a), np.tanh(x)), (xp.abs(a), np.abs(x)),
             (xp.sign(a), np.sign(x)), (dev(pos) ** 1.5, pos ** 1.5), (2 ** b, 2 ** y),
             (xp.maximum(a, b), np.maximum(x, y)), (xp.minimum(a, 0.1), np.minimum(x, 0.1)),
             (xp.where(a > b, a, 0.0), np.where(x > y, x, 0.0)),
             (xp.clip(a, -0.5, 0.5), np.clip(x, -0.5, 0.5)), (1 - a, 1 - x)]
    for got, want in cases:
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        check(got, want, dtype)
    for got, want in [(a > b, x > y), (a <= 0, x <= 0), (xp.equal(a, a), x == x),
                      (a != b, x != y)]:
        assert got.dtype == np.bool_ and np.array_equal(got.to_numpy(), want)
    assert (a.astype(np.float32)).dtype == np.float32


def test_mixing_devices_is_a_clear_error():
    with pytest.raises(TypeError, match="from_numpy"):
        xp.from_numpy(np.ones(3)) + np.ones(3)


@FAST
@given(shape=shapes, dtype=DTYPES, seed=st.integers(0, 99), keepdims=st.booleans(),
       data_=st.data())
def test_reductions_match_numpy(shape, dtype, seed, keepdims, data_):
    x = data(seed, shape, dtype)
    a = dev(x)
    axis = data_.draw(st.sampled_from([None, -1, 0] + ([(0, len(shape) - 1)] if len(shape) > 1
                                                        else [])))
    for name in ("sum", "max", "min", "mean"):
        check(getattr(xp, name)(a, axis=axis, keepdims=keepdims),
              getattr(np, name)(x, axis=axis, keepdims=keepdims), dtype)
    if not isinstance(axis, tuple):
        for name in ("argmax", "argmin"):
            got = getattr(xp, name)(a, axis=axis)
            assert np.array_equal(got.to_numpy(), getattr(np, name)(x, axis=axis))
    assert xp.sum(a > 0).to_numpy() == (x > 0).sum()  # bool counts as int64


def test_argmax_first_of_ties_and_errors():
    x = np.array([[1.0, 3.0, 3.0, 0.0, 3.0]])
    assert xp.argmax(dev(x), axis=1).to_numpy().tolist() == [1]
    with pytest.raises(ValueError, match="zero-size"):
        xp.max(xp.zeros((0, 3)), axis=0)


# ---------------------------------------------------------------- indexing
def test_fancy_indexing_take_and_scatter():
    x = data(0, (4, 5, 3))
    a = dev(x)
    i = np.array([[3, 0], [3, -1]])
    for got, want in [(a[dev(i)], x[i]), (a[1, :, dev(i[0] - 1)], x[1, :, i[0] - 1]),
                      (a[dev(i[0]), :, dev(i[1] - 1)], x[i[0], :, i[1] - 1]),
                      (a[[2, 0]], x[[2, 0]]),
                      (a[dev(x[:, 0, 0] > 0)], x[x[:, 0, 0] > 0]),
                      (xp.take(a, dev(i), axis=1), np.take(x, i, axis=1))]:
        check(got, want)
    out, ref = xp.zeros((4, 3)), np.zeros((4, 3))
    xp.add.at(out, dev(np.array([1, 1, 3])), dev(x[0, :3]))  # repeated rows add up
    np.add.at(ref, np.array([1, 1, 3]), x[0, :3])
    check(out, ref)
    out[dev(np.array([0]))] = 7.0
    ref[[0]] = 7.0
    check(out, ref)
    g = data(1, (2, 2, 3))
    check(xp.index_add((5, 3), dev(i), dev(g)), _index_add_ref((5, 3), i, g))
    check(xp.concatenate([a, a[:2]], axis=0), np.concatenate([x, x[:2]], axis=0))
    check(xp.stack([a[0], a[1]], axis=1), np.stack([x[0], x[1]], axis=1))


def _index_add_ref(shape, idx, g):
    out = np.zeros(shape)
    np.add.at(out, idx, g)
    return out


def test_along_axis_and_indices():
    x = data(2, (3, 4))
    idx = np.array([[1], [3], [0]])
    check(xp.take_along_axis(dev(x), dev(idx), axis=1), np.take_along_axis(x, idx, axis=1))
    out, ref = xp.zeros((3, 4)), np.zeros((3, 4))
    xp.put_along_axis(out, dev(idx), dev(x[:, :1]), axis=1)
    np.put_along_axis(ref, idx, x[:, :1], axis=1)
    check(out, ref)
    for got, want in zip(xp.indices((2, 3), sparse=True), np.indices((2, 3), sparse=True)):
        check(got, want)
    check(xp.indices((2, 3)), np.indices((2, 3)))
    check(xp.arange(2, 11, 3), np.arange(2, 11, 3))


# ---------------------------------------------------------------- nn functions
@FAST
@given(n=st.integers(1, 5), c=st.integers(2, 6), dtype=DTYPES, seed=st.integers(0, 99))
def test_log_softmax_and_nll_loss(n, c, dtype, seed):
    x = data(seed, (n, c), dtype) * 3
    target = np.random.default_rng(seed).integers(0, c, n)
    logp = x - x.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    got = nc.log_softmax(dev(x))
    check(got, logp, dtype)
    check(xp.nll_loss(got, dev(target)), np.array(-logp[np.arange(n), target].mean()), dtype)
    grad = np.zeros((n, c), dtype)
    grad[np.arange(n), target] = -2.0 / n
    check(xp.nll_loss_backward(dev(np.array(2.0, dtype)), dev(target), (n, c)), grad, dtype)
    gy = data(seed + 1, (n, c), dtype)
    check(nc.log_softmax_backward(got, dev(gy)), gy - np.exp(logp) * gy.sum(1, keepdims=True),
          dtype)


# ---------------------------------------------------------------- matmul
@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 13), k=st.integers(1, 13), m=st.integers(1, 13),
       batch=st.sampled_from([((), ()), ((2,), ()), ((1,), (3,)), ((2, 1), (1, 2))]),
       dtype=DTYPES, seed=st.integers(0, 99), ta=st.booleans(), tb=st.booleans())
def test_matmul_matches_numpy_ref(n, k, m, batch, dtype, seed, ta, tb):
    x, y = data(seed, batch[0] + (n, k), dtype), data(seed + 1, batch[1] + (k, m), dtype)
    check(nc.matmul(dev(x, ta), dev(y, tb)), numpy_ref.matmul(x, y), dtype)


def test_matmul_production_tile_on_a_small_matrix():
    """The GPU's 128x128 tile (8x8 outputs per thread), one partial tile, in the simulator."""
    x, y = data(0, (9, 12)), data(1, (12, 10))
    kernel = nc.matmul_kernel(np.float64, bm=128, bn=128, bk=8, tm=8, tn=8)
    c = xp.empty((9, 10), np.float64)
    kernel[(1, 1, 1), (16, 16)](c.buf, dev(x).buf, 0, (0,), 12, 1, dev(y).buf, 0, (0,), 10, 1,
                                (1,), 1, 9, 12, 10)
    check(c, x @ y)


def test_right_multiplier_is_matmul_by_one_b():
    y = data(1, (6, 5))
    times_y = nc.right_multiplier(dev(y, transposed=True))
    for x in (data(0, (3, 6)), data(2, (1, 6))):
        check(times_y(dev(x)), x @ y)


def test_matmul_errors_name_the_shapes():
    with pytest.raises(ValueError, match="matmul: a is 4x2 but b is 3x3"):
        nc.matmul(xp.zeros((4, 2)), xp.zeros((3, 3)))
    with pytest.raises(ValueError, match="matmul"):
        nc.matmul(xp.zeros((4,)), xp.zeros((4, 3)))


# ---------------------------------------------------------------- conv and pooling
conv_cases = st.fixed_dictionaries(dict(
    b=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(3, 7),
    w=st.integers(3, 7), kh=st.integers(1, 3), kw=st.integers(1, 3),
    stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    padding=st.tuples(st.integers(0, 1), st.integers(0, 1)), bias=st.booleans(),
    dtype=DTYPES, seed=st.integers(0, 99), transposed=st.booleans()))


@settings(max_examples=5, deadline=None)
@given(case=conv_cases)
def test_conv2d_matches_numpy_ref(case):
    p = case
    x = data(p["seed"], (p["b"], p["c"], p["h"], p["w"]), p["dtype"])
    wt = data(p["seed"] + 1, (p["o"], p["c"], p["kh"], p["kw"]), p["dtype"])
    bias = data(p["seed"] + 2, (p["o"],), p["dtype"]) if p["bias"] else None
    s, pad = p["stride"], p["padding"]
    y = numpy_ref.conv2d_forward(x, wt, bias, s, pad)
    xd = dev(x, p["transposed"])  # a non-contiguous input
    check(nc.conv2d_forward(xd, dev(wt), None if bias is None else dev(bias), s, pad), y,
          p["dtype"])
    gy = data(p["seed"] + 3, y.shape, p["dtype"])
    check(nc.conv2d_backward_input(dev(gy), dev(wt), x.shape, s, pad),
          numpy_ref.conv2d_backward_input(gy, wt, x.shape, s, pad), p["dtype"])
    gw, gb = nc.conv2d_backward_weight(dev(gy), xd, wt.shape, s, pad)
    ref_gw, ref_gb = numpy_ref.conv2d_backward_weight(gy, x, wt.shape, s, pad)
    check(gw, ref_gw, p["dtype"])
    check(gb, ref_gb, p["dtype"])


pool_cases = st.fixed_dictionaries(dict(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(2, 7), st.integers(2, 7)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)), pad=st.booleans(),
    dtype=DTYPES, seed=st.integers(0, 99), ties=st.booleans()))


@settings(max_examples=8, deadline=None)
@given(case=pool_cases)
def test_pooling_matches_numpy_ref(case):
    p = case
    kernel, stride = p["kernel"], p["stride"]
    padding = (kernel[0] // 2, kernel[1] // 2) if p["pad"] else (0, 0)
    assume(all(k <= n + 2 * q for k, n, q in zip(kernel, p["shape"][2:], padding)))
    x = data(p["seed"], p["shape"], p["dtype"])
    x = np.round(x) if p["ties"] else x  # many equal values: the first max must win
    y, arg = numpy_ref.maxpool2d_forward(x, kernel, stride, padding)
    got_y, got_arg = nc.maxpool2d_forward(dev(x, True), kernel, stride, padding)
    check(got_y, y, p["dtype"])
    assert got_arg.dtype == np.int64 and np.array_equal(got_arg.to_numpy(), arg)
    gy = data(p["seed"] + 1, y.shape, p["dtype"])
    check(nc.maxpool2d_backward(dev(gy), got_arg, x.shape),
          numpy_ref.maxpool2d_backward(gy, arg, x.shape), p["dtype"])
    check(nc.avgpool2d_forward(dev(x), kernel, stride, padding),
          numpy_ref.avgpool2d_forward(x, kernel, stride, padding), p["dtype"])
    check(nc.avgpool2d_backward(dev(gy), x.shape, kernel, stride, padding),
          numpy_ref.avgpool2d_backward(gy, x.shape, kernel, stride, padding), p["dtype"])


# ---------------------------------------------------------------- a real GPU
@pytest.mark.gpu
def test_real_gpu_kernels_at_size():
    assert mt_cuda.is_available()
    x, y = data(0, (1024, 1024), np.float32), data(1, (1024, 1024), np.float32)
    np.testing.assert_allclose(nc.matmul(dev(x), dev(y)).to_numpy(), x @ y, rtol=1e-3,
                               atol=1e-2)
    xb, wb = data(2, (32, 16, 14, 14), np.float32), data(3, (32, 16, 5, 5), np.float32)
    bias = data(4, (32,), np.float32)
    y_ref = numpy_ref.conv2d_forward(xb, wb, bias, (1, 1), (2, 2))
    np.testing.assert_allclose(
        nc.conv2d_forward(dev(xb), dev(wb), dev(bias), (1, 1), (2, 2)).to_numpy(), y_ref,
        rtol=1e-3, atol=1e-3)
    gy = data(5, y_ref.shape, np.float32)
    gw, gb = nc.conv2d_backward_weight(dev(gy), dev(xb), wb.shape, (1, 1), (2, 2))
    ref_gw, ref_gb = numpy_ref.conv2d_backward_weight(gy, xb, wb.shape, (1, 1), (2, 2))
    np.testing.assert_allclose(gw.to_numpy(), ref_gw, rtol=1e-3, atol=1e-2)
    np.testing.assert_allclose(gb.to_numpy(), ref_gb, rtol=1e-3, atol=1e-2)
    p, arg = nc.maxpool2d_forward(dev(xb), (2, 2), (2, 2), (0, 0))
    ref_p, ref_arg = numpy_ref.maxpool2d_forward(xb, (2, 2), (2, 2), (0, 0))
    np.testing.assert_array_equal(arg.to_numpy(), ref_arg)
    big = data(6, (256, 10000), np.float32)
    np.testing.assert_allclose(nc.log_softmax(dev(big)).to_numpy(),
                               big - np.log(np.exp(big).sum(1, keepdims=True)), atol=1e-4)
