"""Torch7's tensor math (minitorch7.blas): the torch.* BLAS forms with their optional
result tensor and scalars, the method forms, sort / topk / cumsum / norm / unfold /
repeatTensor (forward against NumPy, gradients by gradcheck in float64), the in-place
maskedFill / indexCopy, sub, storage, typeAs and the CUDA constructors (in the simulator)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.testing import arrays, check_op, layouts, shapes

FAST = settings(max_examples=25, deadline=None)
side = st.integers(1, 4)


def draw_array(data, shape, **values):
    return data.draw(layouts())(data.draw(arrays(shape, **values)))


@FAST
@given(data=st.data(), n=side, k=side, m=side, beta=st.sampled_from([0, 1, 0.5]),
       alpha=st.sampled_from([1, 2.0, -1]))
def test_addmm_function_forms(data, n, k, m, beta, alpha):
    M, A, B = (draw_array(data, s) for s in [(n, m), (n, k), (k, m)])
    check_op(torch.addmm, lambda M, A, B: M + A @ B, M, A, B)
    check_op(lambda M, A, B: torch.addmm(beta, M, alpha, A, B),
             lambda M, A, B: beta * M + alpha * (A @ B), M, A, B)
    check_op(lambda M, A, B: torch.addmm(beta, M, A, B),
             lambda M, A, B: beta * M + A @ B, M, A, B)
    check_op(lambda M, A, B: torch.addmm(M, alpha, A, B),
             lambda M, A, B: M + alpha * (A @ B), M, A, B)


@FAST
@given(data=st.data(), n=side, k=side)
def test_addmv_addr_mv_dot(data, n, k):
    v, A, x, y = (draw_array(data, s) for s in [(n,), (n, k), (k,), (n,)])
    check_op(torch.addmv, lambda v, A, x: v + A @ x, v, A, x)
    check_op(lambda v, A, x: torch.addmv(2, v, 3, A, x),
             lambda v, A, x: 2 * v + 3 * (A @ x), v, A, x)
    check_op(torch.mv, lambda A, x: A @ x, A, x)
    check_op(torch.addr, lambda M, a, b: M + np.outer(a, b), A, y, x)
    check_op(lambda M, a, b: torch.addr(0.5, M, 2, a, b),
             lambda M, a, b: 0.5 * M + 2 * np.outer(a, b), A, y, x)
    check_op(torch.dot, lambda a, b: np.dot(a, b), v, y)
    check_op(lambda a, b: a.dot(b), lambda a, b: np.dot(a, b), v, y)


def test_result_tensor_first_is_written_and_returned():
    A = torch.DoubleTensor([[1, 2], [3, 4]])
    res = torch.DoubleTensor()
    out = torch.addmm(res, torch.DoubleTensor(2, 2).fill(1), A, A)
    assert out is res and res.tolist() == [[8, 11], [16, 23]]
    assert torch.mm(res, A, A) is res and res.tolist() == [[7, 10], [15, 22]]
    r = torch.DoubleTensor(2)
    assert torch.mv(r, A, torch.DoubleTensor([1, 1])) is r and r.tolist() == [3, 7]
    assert torch.mm(A, A).tolist() == [[7, 10], [15, 22]]  # still NumPy's matmul
    assert torch.mm(torch.DoubleTensor([1, 1]), A).tolist() == [4, 6]


def test_addmm_method_forms():
    A = torch.DoubleTensor([[1, 2], [3, 4]])
    M = torch.DoubleTensor(2, 2).fill(1)
    assert M.addmm(A, A) is M and M.tolist() == [[8, 11], [16, 23]]
    M.fill(1).addmm(2, A, A)  # M += 2 * A @ B
    assert M.tolist() == [[15, 21], [31, 45]]
    M.fill(1).addmm(0.5, 2, A, A)  # M = 0.5 * M + 2 * A @ B
    assert M.tolist() == [[14.5, 20.5], [30.5, 44.5]]
    out = torch.DoubleTensor(2, 2)
    out.addmm(0, out, 1, A, A.t())  # the lab's line
    assert out.tolist() == [[5, 11], [11, 25]]
    out.addmm(torch.DoubleTensor(2, 2).fill(1), A, A)
    assert out.tolist() == [[8, 11], [16, 23]]
    assert out.mm(A, A) is out and out.tolist() == [[7, 10], [15, 22]]
    v = torch.DoubleTensor([1, 1])
    assert v.addmv(A, v).tolist() == [4, 8]
    assert M.fill(0).addr(v, v).tolist() == [[16, 32], [32, 64]]
    with pytest.raises(TypeError, match="addmm"):
        M.addmm(A)


@FAST
@given(data=st.data(), shape=shapes(max_dims=3), descending=st.booleans())
def test_sort_values_and_indices(data, shape, descending):
    x = draw_array(data, shape, distinct=True)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    want = np.sort(x, axis=dim)
    want = np.flip(want, dim) if descending else want
    values, index = torch.DoubleTensor(x).sort(dim, descending)
    np.testing.assert_array_equal(values.numpy(), want)
    assert index.type() == "torch.LongTensor"
    np.testing.assert_array_equal(np.take_along_axis(x, index.numpy(), dim), want)
    check_op(lambda t: t.sort(dim, descending)[0],
             lambda a: np.flip(np.sort(a, dim), dim) if descending else np.sort(a, dim), x)


@FAST
@given(data=st.data(), shape=shapes(max_dims=3), largest=st.booleans())
def test_topk(data, shape, largest):
    x = draw_array(data, shape, distinct=True)
    k = data.draw(st.integers(0, shape[-1]))
    order = np.sort(x, axis=-1)
    want = np.flip(order, -1)[..., :k] if largest else order[..., :k]
    values, index = torch.DoubleTensor(x).topk(k, -1, largest)
    np.testing.assert_array_equal(values.numpy(), want)
    np.testing.assert_array_equal(np.take_along_axis(x, index.numpy(), -1), want)
    check_op(lambda t: torch.topk(t, k, -1, largest)[0], lambda a: want, x)


def test_topk_default_is_smallest_as_torch7():
    values, index = torch.DoubleTensor([3, 1, 2]).topk(2)
    assert values.tolist() == [1, 2] and index.tolist() == [1, 2]
    with pytest.raises(ValueError, match="topk"):
        torch.DoubleTensor([1]).topk(2)


@FAST
@given(data=st.data(), shape=shapes(max_dims=3))
def test_cumsum(data, shape):
    x = draw_array(data, shape)
    dim = data.draw(st.integers(0, len(shape) - 1))
    check_op(lambda t: t.cumsum(dim), lambda a: np.cumsum(a, axis=dim), x)
    check_op(torch.cumsum, lambda a: np.cumsum(a, axis=0), x)


@FAST
@given(data=st.data(), shape=shapes(max_dims=3), p=st.sampled_from([1, 2, 3]))
def test_norm(data, shape, p):
    x = draw_array(data, shape)
    x += np.where(x < 0, -0.5, 0.5)  # away from 0, where |x| has no derivative
    check_op(lambda t: t.norm(p), lambda a: np.sum(np.abs(a) ** p) ** (1 / p), x)
    dim = data.draw(st.integers(0, len(shape) - 1))
    check_op(lambda t: torch.norm(t, p, dim),
             lambda a: np.sum(np.abs(a) ** p, axis=dim) ** (1 / p), x)


def test_norm_zero_counts_nonzeros():
    assert torch.DoubleTensor([0, 2, 0, -1]).norm(0).item() == 2


def _np_unfold(a, dim, size, step):
    count = (a.shape[dim] - size) // step + 1
    windows = [np.take(a, range(i * step, i * step + size), axis=dim) for i in range(count)]
    return np.moveaxis(np.stack(windows, axis=dim), dim + 1, -1)


@FAST
@given(data=st.data(), shape=shapes(max_dims=3))
def test_unfold(data, shape):
    x = draw_array(data, shape)
    dim = data.draw(st.integers(0, len(shape) - 1))
    size = data.draw(st.integers(1, shape[dim]))
    step = data.draw(st.integers(1, 3))
    check_op(lambda t: t.unfold(dim, size, step), lambda a: _np_unfold(a, dim, size, step), x)


def test_unfold_is_a_view():
    x = torch.range(1, 7)
    windows = x.unfold(0, 3, 2)
    assert windows.tolist() == [[1, 2, 3], [3, 4, 5], [5, 6, 7]]
    windows[1, 0] = 0
    assert x.tolist()[2] == 0
    assert windows.stride() == (2, 1)
    with pytest.raises(ValueError, match="unfold"):
        x.unfold(0, 8, 1)


@FAST
@given(data=st.data(), shape=shapes(max_dims=2), extra=st.integers(0, 1))
def test_repeatTensor(data, shape, extra):
    x = draw_array(data, shape)
    reps = tuple(data.draw(st.integers(1, 3)) for _ in range(len(shape) + extra))
    check_op(lambda t: t.repeatTensor(*reps), lambda a: np.tile(a, reps), x)


def test_maskedFill_and_indexCopy_in_place():
    x = torch.DoubleTensor([[1, 2], [3, 4]])
    assert x.maskedFill(x > 2, -1) is x and x.tolist() == [[1, 2], [-1, -1]]
    y = torch.DoubleTensor(3, 2)
    src = torch.DoubleTensor([[1, 2], [3, 4]])
    assert y.indexCopy(0, torch.LongTensor([2, 0]), src) is y
    assert y.tolist() == [[3, 4], [0, 0], [1, 2]]
    z = torch.DoubleTensor(2, 3).indexCopy(1, torch.LongTensor([1]), torch.DoubleTensor([[5],
                                                                                         [6]]))
    assert z.tolist() == [[0, 5, 0], [0, 6, 0]]
    with pytest.raises(ValueError, match="maskedFill"):
        x.maskedFill(torch.ByteTensor(3), 0)
    with pytest.raises(IndexError, match="indexCopy"):
        y.indexCopy(0, torch.LongTensor([3]), src[:1])


def test_sub_is_torch7_subtensor_view():
    x = torch.range(1, 12).view(3, 4)
    s = x.sub(1, 2, 1, -1)  # rows 1..2, columns 1..last, both ends included
    assert s.tolist() == [[6, 7, 8], [10, 11, 12]]
    s.fill(0)
    assert x.tolist()[1] == [5, 0, 0, 0]
    assert x.sub(0, 0).shape == (1, 4)
    with pytest.raises(IndexError, match="sub"):
        x.sub(2, 3)


def test_storage_is_the_shared_flat_memory():
    x = torch.range(1, 6).view(2, 3)
    col = x.select(1, 1)
    assert col.storage().tolist() == [1, 2, 3, 4, 5, 6]
    assert col.storageOffset() == 1 and col.stride() == (3,)
    col.storage()[0] = 10
    assert x.tolist()[0][0] == 10
    t = x.t().narrow(0, 2, 1)
    assert t.storageOffset() == 2 and t.storage().size() == (6,)


def test_typeAs():
    x = torch.FloatTensor([1, 2])
    assert x.typeAs(torch.LongTensor(1)).type() == "torch.LongTensor"
    assert x.typeAs(torch.FloatTensor(1)) is x


def test_cuda_constructors_and_math_in_simulator():
    pytest.importorskip("numba")
    c = torch.CudaTensor(2, 3)
    assert c.type() == "torch.CudaTensor" and c.shape == (2, 3)
    assert torch.cuda.FloatTensor([[1, 2]]).type() == "torch.CudaTensor"
    assert torch.cuda.DoubleTensor(2).type() == "torch.CudaDoubleTensor"
    assert torch.FloatTensor([1]).typeAs(c).type() == "torch.CudaTensor"
    A = torch.DoubleTensor([[1, 2], [3, 4]])
    M = torch.DoubleTensor(2, 2).fill(1)
    got = torch.addmm(M.cuda(), A.cuda(), A.cuda())
    assert got.device == "cuda" and got.cpu().tolist() == [[8, 11], [16, 23]]
    assert torch.mv(A.cuda(), A[0].cuda()).cpu().tolist() == [5, 11]
    assert A.cuda().dot(A.cuda()).item() == 30
    assert A.cuda().norm().item() == pytest.approx(30 ** 0.5)
    assert A.cuda().repeatTensor(1, 2).cpu().tolist() == [[1, 2, 1, 2], [3, 4, 3, 4]]
    Ac = A.cuda().requires_grad_()
    torch.addmm(M.cuda(), Ac, Ac).sum().backward()
    assert Ac.grad.device == "cuda"
    np.testing.assert_allclose(Ac.grad.cpu().numpy(), np.ones((2, 2)) @ A.numpy().T
                               + A.numpy().T @ np.ones((2, 2)))
    with pytest.raises(RuntimeError, match="cpu"):
        A.cuda().sort()
