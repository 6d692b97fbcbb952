"""Storage and strides (``minitorch7.strides``): each view function against NumPy's own
views of the same array (its strides, and where its first element sits in memory), and
the tensor views that run through them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import strides

SHAPES = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)


def geometry(array, base):
    """The View NumPy uses for ``array``, a view of ``base`` (offset from base's start)."""
    item = base.itemsize
    offset = (array.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // item
    return strides.View(offset, array.shape, tuple(s // item for s in array.strides))


def same(view, other):
    """Two Views address the same elements (a stride along a dim of size 1 never moves)."""
    return (view.offset, view.sizes) == (other.offset, other.sizes) and all(
        a == b for a, b, n in zip(view.strides, other.strides, view.sizes) if n > 1)


def base_view(shape):
    base = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    return base, strides.view_of(base)


@pytest.mark.task_1_1
@given(SHAPES)
def test_contiguous_strides_match_numpy(shape):
    assert strides.contiguous_strides(shape) == strides.view_of(np.zeros(shape)).strides
    assert strides.contiguous_strides(()) == ()


@pytest.mark.task_1_1
@settings(max_examples=60)
@given(SHAPES, st.data())
def test_narrow_select_transpose_give_numpys_views(shape, data):
    base, view = base_view(shape)
    dim = data.draw(st.integers(0, len(shape) - 1))
    start = data.draw(st.integers(0, shape[dim] - 1))
    length = data.draw(st.integers(0, shape[dim] - start))
    index = [slice(None)] * len(shape)
    index[dim] = slice(start, start + length)
    if length:  # NumPy moves no pointer for an empty slice
        assert same(strides.narrow(view, dim, start, length), geometry(base[tuple(index)], base))
    index[dim] = start
    assert same(strides.select(view, dim, start), geometry(base[(*index, ...)], base))
    other = data.draw(st.integers(0, len(shape) - 1))
    assert same(strides.transpose(view, dim, other), geometry(np.swapaxes(base, dim, other), base))


@pytest.mark.task_1_1
def test_views_compose_over_one_storage():
    base, view = base_view((3, 4))
    column = strides.select(strides.transpose(view, 0, 1), 0, 2)  # column 2
    assert column == strides.View(2, (3,), (4,))
    middle = strides.narrow(strides.narrow(view, 1, 1, 2), 0, 1, 2)
    assert middle == strides.View(5, (2, 2), (4, 1))
    np.testing.assert_array_equal(strides.realize(base, middle), base[1:3, 1:3])


@pytest.mark.task_1_1
def test_tensor_views_share_the_storage_through_the_strides():
    t = torch.range(0, 11).resize(3, 4)
    assert t.t().stride() == (1, 4) and t.narrow(1, 1, 2).stride() == (4, 1)
    t.select(1, -1).fill(-1)  # the last column, through a view
    t.transpose(0, 1).narrow(0, 0, 1).fill(9)  # the first column
    np.testing.assert_array_equal(t.numpy()[:, 0], 9)
    np.testing.assert_array_equal(t.numpy()[:, 3], -1)


@pytest.mark.task_1_2
@given(SHAPES, SHAPES, st.data())
def test_broadcast_shape_follows_numpys_rule(a, b, data):
    # make some of b's sizes match or be 1, so that many pairs broadcast
    b = tuple(data.draw(st.sampled_from([n, 1, n + 1])) for n in b)
    try:
        expected = np.broadcast_shapes(a, b)
    except ValueError:
        with pytest.raises(ValueError):
            strides.broadcast_shape(a, b)
        return
    assert strides.broadcast_shape(a, b) == expected


@pytest.mark.task_1_2
@given(SHAPES, st.integers(0, 2), st.data())
def test_expand_gives_stride_zero_views_like_numpys(shape, new_dims, data):
    base, view = base_view(shape)
    target = tuple(data.draw(st.integers(1, 3)) for _ in range(new_dims)) + tuple(
        data.draw(st.integers(1, 3)) if n == 1 else n for n in shape)
    expanded = strides.expand(view, target)
    assert same(expanded, geometry(np.broadcast_to(base, target), base))
    np.testing.assert_array_equal(strides.realize(base, expanded), np.broadcast_to(base, target))


@pytest.mark.task_1_2
def test_tensor_expand_and_broadcasting_errors():
    t = torch.Tensor([[1.0], [2.0]])
    e = t.expand(3, 2, 4)
    assert e.stride() == (0, 1, 0)
    np.testing.assert_array_equal(e.numpy()[2], [[1] * 4, [2] * 4])
    with pytest.raises(ValueError, match="expand: cannot expand size 2x1 to 3x4"):
        t.expand(3, 4)
    with pytest.raises(ValueError, match="add: sizes 2x1 and 3x2 do not broadcast"):
        t + torch.zeros(3, 2)


@pytest.mark.task_1_2
def test_cuda_tensor_views_run_through_the_same_arithmetic():
    """A CUDA array is (buffer, shape, strides, offset): its views are the same Views
    (in the CUDA simulator when there is no GPU)."""
    t = torch.range(0, 11).resize(3, 4).double().cuda()
    view = t.narrow(1, 1, 2).transpose(0, 1).select(0, 1)
    assert view.stride() == (4,)
    np.testing.assert_array_equal(view.cpu().numpy(), [2, 6, 10])
    e = torch.Tensor([[1.0], [2.0]]).cuda().expand(2, 3)
    assert e.stride() == (1, 0)
    np.testing.assert_array_equal(e.cpu().numpy(), [[1, 1, 1], [2, 2, 2]])


def test_a_view_outside_its_storage_is_refused_not_read():
    """A wrong view function (a learner's transpose that forgets the strides) must give a
    clear error, not garbage numbers or a crash."""
    base, view = base_view((2, 3))
    wrong = strides.View(0, (3, 2), (3, 1))  # sizes swapped, strides not: reads up to 7
    with pytest.raises(ValueError, match=r"reads storage positions 0\.\.7, outside the "
                                         r"array's 0\.\.5 \(size 2x3\)"):
        strides.realize(base, wrong)
    assert strides.extent(strides.View(4, (0, 3), (3, 1))) == (4, 3)  # empty: reads nothing
    np.testing.assert_array_equal(strides.realize(base, strides.View(0, (3, 2), (1, 3))),
                                  base.T)
