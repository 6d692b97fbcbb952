"""Gathering by integer indices: index_select and gather, forward against NumPy, gradients
by gradcheck (repeated indices add up), and clear errors for bad indices."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.testing import arrays, check_op, layouts, shapes

FAST = settings(max_examples=30, deadline=None)


@st.composite
def array_dim_index(draw):
    shape = draw(shapes())
    a = draw(layouts())(draw(arrays(shape)))
    dim = draw(st.integers(0, len(shape) - 1))
    index_shape = draw(shapes(max_dims=1))
    index = draw(arrays(index_shape, low=0, high=shape[dim] - 1)).round().astype(np.int64)
    return a, dim, index


@pytest.mark.task_6_1
@FAST
@given(array_dim_index())
def test_index_select(case):
    a, dim, index = case
    check_op(lambda x, i: x.index_select(dim, i), lambda x, i: np.take(x, i, axis=dim), a,
             index)
    check_op(lambda x, i: x.index(dim, i), lambda x, i: np.take(x, i, axis=dim), a, index)


@pytest.mark.task_6_1
@FAST
@given(data=st.data(), vocab=st.integers(1, 5), dim=st.integers(1, 3))
def test_index_select_embedding_lookup(data, vocab, dim):
    weight = data.draw(arrays((vocab, dim)))
    index = data.draw(arrays(data.draw(shapes(min_dims=2, max_dims=2)), low=0, high=vocab - 1))
    index = index.round().astype(np.int64)
    check_op(lambda w, i: w.index_select(0, i), lambda w, i: w[i], weight, index)


@FAST
@given(data=st.data())
def test_gather(data):
    shape = data.draw(shapes())
    a = data.draw(layouts())(data.draw(arrays(shape)))
    dim = data.draw(st.integers(0, len(shape) - 1))
    index_shape = tuple(data.draw(st.integers(1, 3)) if d == dim else s
                        for d, s in enumerate(shape))
    index = data.draw(arrays(index_shape, low=0, high=shape[dim] - 1)).round().astype(np.int64)
    check_op(lambda x, i: x.gather(dim, i), lambda x, i: np.take_along_axis(x, i, dim), a, index)


def test_index_select_repeated_indices_add_gradients():
    w = torch.ones(3, 2, requires_grad=True)
    w.index_select(0, torch.LongTensor([2, 0, 2])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [2, 2]])


def test_float_indices_are_rejected_by_name():
    x = torch.zeros(3, 4)
    with pytest.raises(TypeError, match="index_select: indices must be an integer tensor "
                                        r"\(LongTensor\), got float32"):
        x.index_select(0, torch.FloatTensor([0, 1]))
    with pytest.raises(TypeError, match="gather: indices must be an integer tensor"):
        x.gather(1, torch.DoubleTensor([[0], [1], [2]]))


def test_index_out_of_range_names_dim_and_size():
    with pytest.raises(IndexError, match="index_select: index out of range for dim 1 of size 4"):
        torch.zeros(3, 4).index_select(1, torch.LongTensor([0, 4]))
