"""Table modules: values against NumPy; gradients of the input(s) and parameters through the
Torch7 backward contract against finite differences (float64); errors for bad tables."""

import numpy as np
import pytest
from helpers import check_module_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.tensor import Tensor
from minitorch7.testing import arrays, shapes

FAST = settings(max_examples=15, deadline=None)


def leaf(array):
    return Tensor._wrap(np.asarray(array, np.float64), requires_grad=True)


def checked_output(module, input):
    """The module's output after ``check_module_grads`` (finite differences, float64) has
    passed for the input and every parameter."""
    check_module_grads(module, input)
    return module.forward(input)


@st.composite
def tensor_and_dim(draw, min_dims=1):
    shape = draw(shapes(min_dims=min_dims, max_side=3))
    return leaf(draw(arrays(shape))), draw(st.integers(-len(shape), len(shape) - 1))


@FAST
@given(tensor_and_dim())
def test_split_table(case):
    x, dim = case
    output = checked_output(nn.SplitTable(dim), x)
    expected = [np.take(x.data, i, axis=dim) for i in range(x.shape[dim])]
    assert len(output) == len(expected)
    for o, e in zip(output, expected):
        np.testing.assert_array_equal(o.data, e)


def test_split_table_batch_mode_and_lab_use():
    # nInputDims: a sample of n dims splits along dimension, a batch along dimension + 1
    split = nn.SplitTable(0, 1)
    assert len(split.forward(torch.zeros(5))) == 5
    assert [o.shape for o in split.forward(torch.zeros(3, 5))] == [(3,)] * 5
    # the lab's RNN LM: seqlen x batch x hidden -> seqlen tensors of batch x hidden
    steps = nn.SplitTable(0).forward(torch.zeros(4, 2, 7))
    assert len(steps) == 4 and steps[0].shape == (2, 7)
    with pytest.raises(ValueError, match=r"nn.SplitTable: dimension 3 .* 2-D"):
        nn.SplitTable(3).forward(torch.zeros(2, 2))


@FAST
@given(st.integers(1, 3), st.integers(0, 2), st.data())
def test_join_table(count, dim, data):
    base = list(data.draw(shapes(min_dims=dim + 1, max_dims=3, max_side=3)))
    arrays_ = []
    for _ in range(count):
        base[dim] = data.draw(st.integers(1, 3))
        arrays_.append(data.draw(arrays(tuple(base))))
    output = checked_output(nn.JoinTable(dim), [leaf(a) for a in arrays_])
    np.testing.assert_array_equal(output.data, np.concatenate(arrays_, axis=dim))


def test_join_table_batch_mode_and_errors():
    join = nn.JoinTable(0, 1)
    assert join.forward([torch.zeros(2), torch.zeros(3)]).shape == (5,)
    assert join.forward([torch.zeros(4, 2), torch.zeros(4, 3)]).shape == (4, 5)
    with pytest.raises(ValueError, match=r"nn.JoinTable: .*2x3 and 2x4"):
        nn.JoinTable(0).forward([torch.zeros(2, 3), torch.zeros(2, 4)])
    with pytest.raises(ValueError, match="nn.JoinTable: expects a non-empty table"):
        nn.JoinTable(0).forward(torch.zeros(2, 3))


@FAST
@given(st.integers(1, 4), st.data())
def test_select_table(count, data):
    index = data.draw(st.integers(-count, count - 1))
    table = [leaf(data.draw(arrays((2, 3)))) for _ in range(count)]
    module = nn.SelectTable(index)
    output = checked_output(module, table)
    np.testing.assert_array_equal(output.data, table[index].data)
    module.forward(table)
    grad = module.backward(table, torch.ones(2, 3).double())
    for i, g in enumerate(grad):  # the others get a zero gradient of their size
        expected = 1.0 if i == index % count else 0.0
        np.testing.assert_array_equal(g.data, np.full((2, 3), expected))


def test_select_table_of_tables_and_errors():
    a, b, c = torch.zeros(1), torch.ones(2), torch.ones(3)
    assert nn.SelectTable(1).forward([a, [b, c]])[1].shape == (3,)
    with pytest.raises(ValueError, match=r"nn.SelectTable\(3\): index 3 .* 2 elements"):
        nn.SelectTable(3).forward([a, b])


@FAST
@given(st.integers(1, 4), st.data())
def test_narrow_table(count, data):
    offset = data.draw(st.integers(0, count - 1))
    length = data.draw(st.integers(1, count - offset))
    table = [leaf(data.draw(arrays((3,)))) for _ in range(count)]
    output = checked_output(nn.NarrowTable(offset, length), table)
    assert len(output) == length
    for o, t in zip(output, table[offset:offset + length]):
        np.testing.assert_array_equal(o.data, t.data)
    with pytest.raises(ValueError, match=r"nn.NarrowTable\(.*out of range"):
        nn.NarrowTable(offset, count - offset + 1).forward(table)


@FAST
@given(st.sampled_from([(nn.CAddTable, np.add), (nn.CMulTable, np.multiply)]),
       st.integers(1, 4), shapes(max_side=3), st.data())
def test_cadd_and_cmul_table(kind, count, shape, data):
    module_class, np_op = kind
    arrays_ = [data.draw(arrays(shape)) for _ in range(count)]
    output = checked_output(module_class(), [leaf(a) for a in arrays_])
    expected = arrays_[0]
    for a in arrays_[1:]:
        expected = np_op(expected, a)
    np.testing.assert_allclose(output.data, expected, rtol=1e-12)


def test_cadd_table_size_mismatch():
    with pytest.raises(ValueError, match=r"nn.CAddTable: .*2x3 and 3x2"):
        nn.CAddTable().forward([torch.zeros(2, 3), torch.zeros(3, 2)])
    with pytest.raises(ValueError, match=r"nn.CMulTable: expects a non-empty table"):
        nn.CMulTable().forward([])


@FAST
@given(st.integers(1, 3), st.integers(1, 4), st.data())
def test_cmul(batch, n, data):
    # one sample; a batch of samples; broadcast along size-1 dims
    for size, input_shape in [((n,), (n,)), ((n,), (batch, n)), ((1, n), (batch, n)),
                              ((1, n, 1), (batch, n, 2))]:
        module = nn.CMul(*size)
        x = data.draw(arrays(input_shape))
        weight = module.weight.numpy().astype(np.float64)
        output = checked_output(module, leaf(x))
        np.testing.assert_allclose(output.data, x * weight, rtol=1e-12)


def test_cmul_init_and_errors():
    module = nn.CMul(4, 25)
    bound = 1 / np.sqrt(100)
    assert module.weight.shape == (4, 25) and module.gradWeight.shape == (4, 25)
    assert np.all(np.abs(module.weight.numpy()) <= bound)
    assert np.abs(module.weight.numpy()).max() > bound / 2  # spread over the range
    assert repr(nn.CMul((1, 5))) == "nn.CMul(1x5)"
    with pytest.raises(ValueError, match=r"nn.CMul\(5\): .*size 5 does not fit .*size 3x4"):
        nn.CMul(5).forward(torch.zeros(3, 4))


@FAST
@given(st.integers(1, 3), st.integers(1, 4), st.booleans(), st.data())
def test_add(batch, n, scalar, data):
    module = nn.Add(n, scalar)
    bias = module.bias.numpy().astype(np.float64)
    for shape in [(n,), (batch, n)]:
        x = data.draw(arrays(shape))
        output = checked_output(module, leaf(x))
        np.testing.assert_allclose(output.data, x + (bias if scalar else bias.reshape(1, n)
                                                     if len(shape) == 2 else bias))
    assert module.bias.shape == ((1,) if scalar else (n,))


@FAST
@given(shapes(max_side=3), st.data())
def test_mul(shape, data):
    module = nn.Mul()
    assert module.weight.shape == (1,) and abs(module.weight.item()) <= 1
    x = data.draw(arrays(shape))
    output = checked_output(module, leaf(x))
    np.testing.assert_allclose(output.data, x * module.weight.item())


def test_lab_recurrent_step_with_parallel_and_cadd_table():
    # {x[t], h[t-1]} -> sigmoid(V x[t] + U h[t-1]), the lab's Recurrence module, without
    # the LookupTable: a Linear in its place
    torch.manualSeed(0)
    step = (nn.Sequential()
            .add(nn.ParallelTable().add(nn.Linear(3, 4)).add(nn.Linear(4, 4)))
            .add(nn.CAddTable())
            .add(nn.Sigmoid()))
    x, h = leaf(np.random.default_rng(1).standard_normal((2, 3))), leaf(np.zeros((2, 4)))
    check_module_grads(step, [x, h])
