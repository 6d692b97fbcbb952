"""Matrix products: matmul (1-D, 2-D, batched with broadcast batch dims) and the fused
Linear (x W^T + b), forward against NumPy and gradients by gradcheck."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.ops.linalg import Linear
from minitorch7.testing import arrays, broadcastable_shapes, check_op, layouts

FAST = settings(max_examples=30, deadline=None)
side = st.integers(1, 4)


def draw_array(data, shape):
    return data.draw(layouts())(data.draw(arrays(shape)))


@pytest.mark.task_2_6
@pytest.mark.task_2_1
@FAST
@given(data=st.data(), n=side, k=side, m=side)
def test_matmul_2d(data, n, k, m):
    a, b = draw_array(data, (n, k)), draw_array(data, (k, m))
    check_op(lambda x, y: x @ y, np.matmul, a, b)
    check_op(torch.mm, np.matmul, a, b)


@pytest.mark.task_2_6
@pytest.mark.task_2_1
@FAST
@given(data=st.data(), n=side, k=side)
def test_matmul_with_vectors(data, n, k):
    m, v, w = draw_array(data, (n, k)), draw_array(data, (k,)), draw_array(data, (n,))
    check_op(lambda x, y: x @ y, np.matmul, m, v)
    check_op(lambda x, y: x @ y, np.matmul, w, m)
    check_op(lambda x, y: x @ y, np.matmul, v, v.copy())


@pytest.mark.task_2_6
@pytest.mark.task_2_1
@FAST
@given(data=st.data(), batch=broadcastable_shapes(max_dims=2, max_side=3), n=side, k=side,
       m=side)
def test_matmul_batched_broadcasts_batch_dims(data, batch, n, k, m):
    a, b = draw_array(data, (*batch[0], n, k)), draw_array(data, (*batch[1], k, m))
    check_op(lambda x, y: x @ y, np.matmul, a, b)


@pytest.mark.task_2_6
@FAST
@given(data=st.data(), batch=st.integers(1, 3), n=side, k=side, m=side)
def test_matmul_backward_called_directly(data, batch, n, k, m):
    """dA = G B^T and dB = A^T G, summed over the batch dim B was broadcast along."""
    a, b = data.draw(arrays((batch, n, k))), data.draw(arrays((k, m)))
    g = data.draw(arrays((batch, n, m)))
    out = torch.from_numpy(a).requires_grad_() @ torch.from_numpy(b).requires_grad_()
    grad_a, grad_b = out._ctx.function.backward(out._ctx, g)
    np.testing.assert_allclose(grad_a, g @ b.T, atol=1e-12)
    np.testing.assert_allclose(grad_b, sum(a[i].T @ g[i] for i in range(batch)), atol=1e-12)


def test_matmul_mismatch_names_both_sizes():
    with pytest.raises(ValueError, match="matmul: A is 2x3 but B is 4x5"):
        torch.zeros(2, 3) @ torch.zeros(4, 5)


@pytest.mark.task_3_1
@FAST
@given(data=st.data(), lead=st.lists(side, min_size=1, max_size=2), n_in=side, n_out=side,
       bias=st.booleans())
def test_linear(data, lead, n_in, n_out, bias):
    x, w = draw_array(data, (*lead, n_in)), draw_array(data, (n_out, n_in))
    if bias:
        b = draw_array(data, (n_out,))
        check_op(lambda x, w, b: Linear.apply(x, w, b), lambda x, w, b: x @ w.T + b, x, w, b)
    else:
        check_op(lambda x, w: Linear.apply(x, w, None), lambda x, w: x @ w.T, x, w)


def test_linear_wrong_features_names_sizes():
    with pytest.raises(ValueError, match="linear: input has 3 features .*2x3.* expects 4"):
        Linear.apply(torch.zeros(2, 3), torch.zeros(5, 4), None)
