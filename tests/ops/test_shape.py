"""Views and reshapes: values against NumPy, gradients by gradcheck, and storage sharing
(writing through a view changes the original)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.testing import arrays, check_op, layouts, shapes

FAST = settings(max_examples=30, deadline=None)


@st.composite
def array_and_dim(draw, min_dims=1):
    shape = draw(shapes(min_dims=min_dims))
    return draw(layouts())(draw(arrays(shape))), draw(st.integers(0, len(shape) - 1))


@pytest.mark.task_1_1
@FAST
@given(array_and_dim(), st.data())
def test_narrow(case, data):
    a, dim = case
    start = data.draw(st.integers(0, a.shape[dim] - 1))
    length = data.draw(st.integers(0, a.shape[dim] - start))
    check_op(lambda x: x.narrow(dim, start, length),
             lambda x: np.take(x, range(start, start + length), axis=dim), a, grad=False)


@pytest.mark.task_1_1
@FAST
@given(array_and_dim(), st.data())
def test_select(case, data):
    a, dim = case
    index = data.draw(st.integers(-a.shape[dim], a.shape[dim] - 1))
    check_op(lambda x: x.select(dim, index), lambda x: np.take(x, index, axis=dim), a,
             grad=False)


@pytest.mark.task_1_1
@FAST
@given(array_and_dim(min_dims=2), st.data())
def test_transpose_and_t(case, data):
    a, dim0 = case
    dim1 = data.draw(st.integers(0, a.ndim - 1))
    check_op(lambda x: x.transpose(dim0, dim1), lambda x: np.swapaxes(x, dim0, dim1), a,
             grad=False)
    if a.ndim == 2:
        check_op(lambda x: x.t(), np.transpose, a, grad=False)


@pytest.mark.task_2_4
@FAST
@given(array_and_dim(min_dims=2), st.data())
def test_narrow_select_transpose_gradients(case, data):
    a, dim = case
    start = data.draw(st.integers(0, a.shape[dim] - 1))
    other = data.draw(st.integers(0, a.ndim - 1))
    check_op(lambda x: x.narrow(dim, start, 1).transpose(dim, other).select(dim, 0),
             lambda x: np.take(np.swapaxes(np.take(x, [start], axis=dim), dim, other), 0,
                               axis=dim), a)


@pytest.mark.task_1_1
def test_views_share_storage_and_strides():
    base = torch.range(0, 11).resize(3, 4)
    base.narrow(1, 1, 2).fill(-1)
    base.select(0, 2).fill(7)
    base.t()[0].fill(5)  # column 0
    np.testing.assert_array_equal(base.numpy(), [[5, -1, -1, 3], [5, -1, -1, 7], [5, 7, 7, 7]])
    assert base.t().stride() == (1, 4) and not base.t().isContiguous()
    assert base.narrow(1, 1, 2).stride() == (4, 1) and base.select(1, 2).stride() == (4,)


def test_narrow_select_out_of_range_errors():
    x = torch.zeros(3, 4)
    with pytest.raises(IndexError, match=r"narrow: \[2, 7\) is out of range for dim 1 of size 4"):
        x.narrow(1, 2, 5)
    with pytest.raises(IndexError, match="select: index 3 is out of range for dim 0 of size 3"):
        x.select(0, 3)
    with pytest.raises(IndexError, match="narrow: dim 2 is out of range for a 2-D tensor"):
        x.narrow(2, 0, 1)


@FAST
@given(data=st.data())
def test_permute(data):
    shape = data.draw(shapes(max_dims=4))
    a = data.draw(layouts())(data.draw(arrays(shape)))
    dims = data.draw(st.permutations(range(len(shape))))
    check_op(lambda x: x.permute(*dims), lambda x: np.transpose(x, dims), a)


@FAST
@given(data=st.data())
def test_view_reshape_unsqueeze_squeeze(data):
    shape = data.draw(shapes(max_dims=4))
    a = data.draw(arrays(shape))
    n = a.size
    check_op(lambda x: x.view(-1), lambda x: x.reshape(-1), a)
    check_op(lambda x: x.view(n, 1), lambda x: x.reshape(n, 1), a)
    dim = data.draw(st.integers(-a.ndim - 1, a.ndim))
    check_op(lambda x: x.unsqueeze(dim), lambda x: np.expand_dims(x, dim), a)
    check_op(lambda x: x.squeeze(), np.squeeze, a)
    sdim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    check_op(lambda x: x.squeeze(sdim),
             lambda x: np.squeeze(x, sdim) if x.shape[sdim] == 1 else x, a)


def test_view_needs_contiguous_and_matching_size():
    x = torch.zeros(2, 3)
    with pytest.raises(RuntimeError, match="view: .*3x2 is not contiguous"):
        x.t().view(6)
    with pytest.raises(ValueError, match="cannot view a tensor of size 2x3 .* as 4x2"):
        x.view(4, 2)
    v = x.view(3, 2)
    v.fill(1)
    assert x.numpy().sum() == 6


@FAST
@given(data=st.data())
def test_expand(data):
    shape = data.draw(shapes())
    small = tuple(s if data.draw(st.booleans()) else 1 for s in shape)
    a = data.draw(arrays(small))
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2))
    target = (*lead, *shape)
    check_op(lambda x: x.expand(*target), lambda x: np.broadcast_to(x, target), a)
    check_op(lambda x: x.expand(*lead, *[-1] * len(small)),
             lambda x: np.broadcast_to(x, (*lead, *small)), a)


def test_expand_shares_storage_and_errors():
    x = torch.tensor([[1.0], [2.0]])
    e = x.expand(2, 3)
    assert e.stride() == (1, 0)
    x.fill(4)
    np.testing.assert_array_equal(e.numpy(), np.full((2, 3), 4))
    with pytest.raises(ValueError, match="expand: cannot expand size 2x1 to 3x3"):
        x.expand(3, 3)


@FAST
@given(data=st.data())
def test_basic_indexing(data):
    a = data.draw(layouts())(data.draw(arrays(data.draw(shapes(min_dims=2)))))
    i = data.draw(st.integers(-a.shape[0], a.shape[0] - 1))
    step = data.draw(st.integers(1, 2))
    check_op(lambda x: x[i], lambda x: x[i], a)
    check_op(lambda x: x[::step, 1:], lambda x: x[::step, 1:], a)
    check_op(lambda x: x[..., None, 0], lambda x: x[..., None, 0], a)


@FAST
@given(data=st.data())
def test_integer_array_indexing_with_repeats(data):
    a = data.draw(arrays(data.draw(shapes(min_dims=2))))
    rows = np.array(data.draw(st.lists(st.integers(0, a.shape[0] - 1), min_size=1,
                                       max_size=5)))
    check_op(lambda x: x[torch.from_numpy(rows)], lambda x: x[rows], a)
    check_op(lambda x: x[rows, 0], lambda x: x[rows, 0], a)


def test_writes_through_indexing():
    x = torch.zeros(3, 4)
    x[1].fill(2)          # a basic-index view
    x[0, 1:3] = 5
    x[torch.LongTensor([2, 2])] = torch.ones(4)  # integer-array assignment
    np.testing.assert_array_equal(x.numpy(), [[0, 5, 5, 0], [2, 2, 2, 2], [1, 1, 1, 1]])


@FAST
@given(data=st.data())
def test_contiguous_and_clone(data):
    a = data.draw(layouts())(data.draw(arrays(data.draw(shapes()))))
    check_op(lambda x: x.contiguous(), lambda x: x, a)
    check_op(lambda x: x.clone(), lambda x: x, a)
    t = torch.from_numpy(a)
    assert t.contiguous().isContiguous()
    c = t.clone()
    c.fill(9)
    assert not np.any(a == 9)


def test_contiguous_of_a_contiguous_tensor_is_itself():
    x = torch.zeros(2, 3)
    assert x.contiguous() is x
    assert x.t().contiguous().numpy().flags.c_contiguous


@FAST
@given(data=st.data())
def test_casts(data):
    a = data.draw(arrays(data.draw(shapes())))
    # a float32 round trip is not differentiable at float64 precision: forward only
    check_op(lambda x: x.double().float(), lambda x: x, a, grad=False)
    check_op(lambda x: x.type("torch.DoubleTensor").type("torch.FloatTensor"), lambda x: x, a,
             grad=False)
    t = torch.from_numpy(a)
    assert t.long().type() == "torch.LongTensor"
    np.testing.assert_array_equal(t.long().numpy(), a.astype(np.int64))
    assert t.int().dtype == np.int32 and t.byte().dtype == np.uint8
    x = torch.from_numpy(a.copy()).requires_grad_()
    x.float().sum().backward()
    assert x.grad.dtype == np.float64  # the gradient comes back in the input's type


@FAST
@given(data=st.data(), count=st.integers(1, 3))
def test_cat_and_stack(data, count):
    shape = data.draw(shapes())
    dim = data.draw(st.integers(0, len(shape) - 1))
    parts = []
    for _ in range(count):
        part_shape = list(shape)
        part_shape[dim] = data.draw(st.integers(1, 3))
        parts.append(data.draw(layouts())(data.draw(arrays(tuple(part_shape)))))
    check_op(lambda *xs: torch.cat(xs, dim), lambda *xs: np.concatenate(xs, dim), *parts)
    same = [data.draw(arrays(shape)) for _ in range(count)]
    sdim = data.draw(st.integers(0, len(shape)))
    check_op(lambda *xs: torch.stack(xs, sdim), lambda *xs: np.stack(xs, sdim), *same)


def test_cat_mismatch_names_sizes():
    with pytest.raises(ValueError, match="cat: sizes must match except in dim 0, got 2x3 and 2x4"):
        torch.cat([torch.zeros(2, 3), torch.zeros(2, 4)], 0)
