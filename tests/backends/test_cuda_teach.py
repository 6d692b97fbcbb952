"""The teaching tier's numba.cuda matmul (task 1.4, the shared-memory tiled kernel) against
NumPy, and which CUDA kernel module serves CUDA arrays where.

Without a GPU the kernel runs in Numba's CUDA simulator, where the tile side TPB is 4: the
shapes below sit around it, so the tests cover full and clipped edge tiles, one and several
k-chunks, batches, views and both float types in seconds."""

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest

import minitorch7 as mt
from minitorch7 import backends, device
from minitorch7.backends import cuda_xp as xp
from minitorch7.backends import numba_cuda, numpy_ref
from minitorch7.backends import numba_cuda_teach as teach

T = teach.TPB


def data(seed, shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(got, want, dtype=np.float64):
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.to_numpy(), want, **tol)


# ---------------------------------------------------------------- the kernel (task 1.4)
@pytest.mark.task_1_4
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, k, m", [(1, 1, 1), (T, T, T), (T + 1, 2 * T + 1, T - 1),
                                     (2 * T + 1, T - 1, 2 * T - 1), (1, 3 * T, 2)])
def test_tiled_matmul_matches_numpy(n, k, m, dtype):
    """Sizes below, at and past the tile side: edge tiles are partly outside c, and the last
    k-chunk is partly outside a and b (those shared-memory entries must be zeros)."""
    x, y = data(n * k, (n, k), dtype), data(k * m + 1, (k, m), dtype)
    check(teach.matmul(xp.from_numpy(x), xp.from_numpy(y)), numpy_ref.matmul(x, y), dtype)


@pytest.mark.task_1_4
@pytest.mark.parametrize("a_batch, b_batch", [((2,), ()), ((), (3,)), ((2, 1), (3,))])
def test_tiled_matmul_broadcasts_batch_dims(a_batch, b_batch):
    x, y = data(0, a_batch + (T + 1, 3)), data(1, b_batch + (3, T - 1))
    check(teach.matmul(xp.from_numpy(x), xp.from_numpy(y)), np.matmul(x, y))


@pytest.mark.task_1_4
def test_tiled_matmul_of_views_and_mixed_dtypes():
    """Transposed, strided, offset and broadcast (stride 0) operands; float32 @ float64 is
    float64, as in NumPy."""
    x, y = data(2, (T + 2, T + 1)), data(3, (2, 3 * T, T + 2))
    a, b = xp.from_numpy(x), xp.from_numpy(y)
    check(teach.matmul(a.T, b[1, ::2]), x.T @ y[1, ::2])  # strided rows, an offset
    check(teach.matmul(b[:, 1:T + 3, ::-1], a), y[:, 1:T + 3, ::-1] @ x)  # reversed columns
    row = xp.broadcast_to(a[:1], (3, T + 1))  # every row the same memory
    check(teach.matmul(row, b[0, :T + 1]), np.broadcast_to(x[:1], (3, T + 1)) @ y[0, :T + 1])
    x32 = x.astype(np.float32)
    check(teach.matmul(xp.from_numpy(x32).T, b[0, :T + 2]),
          x32.T.astype(np.float64) @ y[0, :T + 2])


@pytest.mark.task_1_4
def test_tiled_matmul_with_the_gpu_tile_side(monkeypatch):
    """TPB = 16, the side used on a GPU: one block of 16 x 16 threads, two k-chunks."""
    monkeypatch.setattr(teach, "TPB", 16)
    x, y = data(4, (9, 20), np.float32), data(5, (20, 10), np.float32)
    check(teach.matmul(xp.from_numpy(x), xp.from_numpy(y)), x @ y, np.float32)


@pytest.mark.task_1_4
def test_cuda_tensors_multiply_with_the_teaching_kernel_in_a_learner_copy(monkeypatch):
    monkeypatch.setattr(backends, "is_learner_copy", lambda: True)
    calls = []
    monkeypatch.setattr(teach, "matmul_kernel", _counting(teach.matmul_kernel, calls))
    x, y = data(6, (3, T + 1)), data(7, (T + 1, 2))
    got = mt.from_numpy(x).cuda() @ mt.from_numpy(y).cuda()
    assert got.device == "cuda" and calls
    np.testing.assert_allclose(got.cpu().numpy(), x @ y, rtol=1e-12, atol=1e-12)


@pytest.mark.task_1_4
def test_teaching_right_multiplier():
    y = data(8, (T + 1, 3))
    times_y = teach.right_multiplier(xp.from_numpy(y))
    x = data(9, (2, T + 1))
    check(times_y(xp.from_numpy(x)), x @ y)


def _counting(factory, calls):
    def wrapped(*args):
        calls.append(args)
        return factory(*args)

    return wrapped


# ---------------------------------------------------------------- the host side (given)
def test_empty_products_and_errors():
    check(teach.matmul(xp.zeros((2, 0)), xp.zeros((0, 3))), np.zeros((2, 3)))
    check(teach.matmul(xp.zeros((0, 4)), xp.zeros((4, 3))), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="matmul: a is 4x2 but b is 3x3"):
        teach.matmul(xp.zeros((4, 2)), xp.zeros((3, 3)))
    with pytest.raises(TypeError, match="CudaArrays"):
        teach.matmul(np.zeros((2, 2)), xp.zeros((2, 2)))


def test_kernel_modules_per_copy(monkeypatch):
    """CUDA arrays get the cuda_xp namespace and the fast kernels; a learner copy gets the
    teaching module, whose other primitives are the fast tier's."""
    a = xp.zeros((2, 2))
    monkeypatch.setattr(backends, "is_learner_copy", lambda: False)  # this test runs in both
    assert device.array_module(a) is xp
    assert device.kernels_for(a) is numba_cuda and numba_cuda.TIER == "fast"
    monkeypatch.setattr(backends, "is_learner_copy", lambda: True)
    assert device.kernels_for(a) is teach and teach.TIER == "teaching"
    assert device.array_module(a) is xp
    assert teach.conv2d_forward is numba_cuda.conv2d_forward


PRIMITIVES = ("matmul", "right_multiplier", "conv2d_forward", "conv2d_backward_input",
              "conv2d_backward_weight", "maxpool2d_forward", "maxpool2d_backward",
              "avgpool2d_forward", "avgpool2d_backward", "log_softmax", "log_softmax_backward")


@pytest.mark.parametrize("module", [numba_cuda, teach], ids=lambda m: m.__name__)
def test_kernel_modules_have_numpy_refs_primitives(module):
    for name in PRIMITIVES:
        assert (inspect.signature(getattr(module, name)).parameters.keys()
                == inspect.signature(getattr(numpy_ref, name)).parameters.keys()), name


def test_cuda_modules_import_downwards_only():
    """cuda_array <- cuda_xp <- numba_cuda <- numba_cuda_teach: no module imports one above
    it (no import circle, not even a lazy one inside a function)."""
    allowed = {"cuda_array": set(), "cuda_xp": {"cuda_array"},
               "numba_cuda": {"cuda_array", "cuda_xp", "_shapes"},
               "numba_cuda_teach": {"cuda_array", "cuda_xp", "numba_cuda"}}
    here = Path(backends.__file__).parent
    for name, ok in allowed.items():
        tree = ast.parse((here / f"{name}.py").read_text())
        siblings = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                siblings |= {node.module} if node.module else {a.name for a in node.names}
        assert siblings <= ok, (name, siblings - ok)
