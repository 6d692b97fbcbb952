"""Reductions over one dim or all, with and without keepdim: forward against NumPy and
gradients by gradcheck (max and min on distinct values, so the arg-max is unambiguous)."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.testing import arrays, check_op, layouts, shapes

FAST = settings(max_examples=30, deadline=None)


@st.composite
def array_and_dim(draw, **values):
    shape = draw(shapes())
    array = draw(layouts())(draw(arrays(shape, **values)))
    dim = draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    return array, dim, draw(st.booleans())


@FAST
@given(array_and_dim())
def test_sum(case):
    a, dim, keepdim = case
    check_op(lambda x: x.sum(dim, keepdim), lambda x: np.sum(x, dim, keepdims=keepdim), a)


@FAST
@given(array_and_dim())
def test_mean(case):
    a, dim, keepdim = case
    check_op(lambda x: x.mean(dim, keepdim), lambda x: np.mean(x, dim, keepdims=keepdim), a)


@FAST
@given(array_and_dim(distinct=True))
def test_max_and_argmax(case):
    a, dim, keepdim = case
    if dim is None:
        check_op(lambda x: x.max(), np.max, a)
        return
    check_op(lambda x: x.max(dim, keepdim)[0], lambda x: np.max(x, dim, keepdims=keepdim), a)
    _, index = torch.from_numpy(a).max(dim, keepdim)
    assert index.type() == "torch.LongTensor"
    np.testing.assert_array_equal(index.numpy(), np.argmax(a, dim, keepdims=keepdim))


@FAST
@given(array_and_dim(distinct=True))
def test_min_and_argmin(case):
    a, dim, keepdim = case
    if dim is None:
        check_op(lambda x: x.min(), np.min, a)
        return
    check_op(lambda x: x.min(dim, keepdim)[0], lambda x: np.min(x, dim, keepdims=keepdim), a)
    _, index = torch.from_numpy(a).min(dim, keepdim)
    np.testing.assert_array_equal(index.numpy(), np.argmin(a, dim, keepdims=keepdim))


def test_max_gradient_goes_to_the_first_maximum_only():
    x = torch.tensor([[1.0, 5.0, 5.0], [2.0, 0.0, 2.0]], requires_grad=True)
    x.max(1)[0].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])


@FAST
@given(array_and_dim(), st.booleans())
def test_var_std(case, unbiased):
    a, dim, keepdim = case
    n = a.size if dim is None else a.shape[dim]
    ddof = 1 if unbiased else 0
    assume(n - ddof > 0)
    check_op(lambda x: x.var(dim, keepdim, unbiased),
             lambda x: np.var(x, dim, keepdims=keepdim, ddof=ddof), a)
    spread = np.var(a, dim, ddof=ddof)
    if np.all(spread > 1e-3):  # sqrt's gradient needs a variance away from 0
        check_op(lambda x: x.std(dim, keepdim, unbiased),
                 lambda x: np.std(x, dim, keepdims=keepdim, ddof=ddof), a)
