"""Elementwise ops: forward against NumPy, gradients by gradcheck, over broadcasting shapes,
size-1 dims, non-contiguous layouts and safe value ranges."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.ops.elementwise import unbroadcast
from minitorch7.testing import arrays, broadcastable_shapes, check_op, layouts, shapes

FAST = settings(max_examples=30, deadline=None)


def draw_array(data, shape, **values):
    return data.draw(layouts())(data.draw(arrays(shape, **values)))


def draw_pair(data, a_values=None, b_values=None):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    return draw_array(data, shape_a, **(a_values or {})), draw_array(data, shape_b,
                                                                       **(b_values or {}))


@pytest.mark.task_2_4
@FAST
@given(data=st.data())
def test_add_broadcasting(data):
    a, b = draw_pair(data)
    check_op(lambda x, y: x + y, np.add, a, b)


@pytest.mark.task_2_4
@FAST
@given(data=st.data())
def test_sub_broadcasting(data):
    a, b = draw_pair(data)
    check_op(lambda x, y: x - y, np.subtract, a, b)


@pytest.mark.task_2_5
@FAST
@given(data=st.data())
def test_mul_broadcasting(data):
    a, b = draw_pair(data)
    check_op(lambda x, y: x * y, np.multiply, a, b)


@pytest.mark.task_2_5
@FAST
@given(data=st.data())
def test_div_broadcasting(data):
    a, b = draw_pair(data, b_values={"away_from": 0.5})
    check_op(lambda x, y: x / y, np.divide, a, b)


@pytest.mark.task_2_5
@pytest.mark.task_2_5
@FAST
@given(data=st.data())
def test_backward_formulas_called_directly(data):
    """Each op's backward on its own (no engine, no gradcheck): the chain-rule factors."""
    shape = data.draw(shapes())
    a, b = data.draw(arrays(shape, low=0.1)), data.draw(arrays(shape, away_from=0.5))
    g = data.draw(arrays(shape))
    x, y = torch.from_numpy(a).requires_grad_(), torch.from_numpy(b).requires_grad_()
    cases = [(x * y, (g * b, g * a)), (x / y, (g / b, -g * a / b**2)),
             (x.exp(), (g * np.exp(a),)), (x.log(), (g / a,))]
    for out, expected in cases:
        got = out._ctx.function.backward(out._ctx, g)
        got = got if isinstance(got, tuple) else (got,)
        for grad, want in zip(got, expected, strict=True):
            np.testing.assert_allclose(grad, want, rtol=1e-12, atol=1e-12)


@pytest.mark.task_2_5
@pytest.mark.task_2_1
@FAST
@given(data=st.data())
def test_mul_div_same_shape(data):
    shape = data.draw(shapes())
    a, b = draw_array(data, shape), draw_array(data, shape, away_from=0.5)
    check_op(lambda x, y: x * y / (y * x + 10), lambda x, y: x * y / (y * x + 10), a, b)


@FAST
@given(data=st.data())
def test_pow_tensor_tensor(data):
    a, b = draw_pair(data, a_values={"low": 0.5, "high": 2.0}, b_values={"low": -2.0,
                                                                          "high": 2.0})
    check_op(lambda x, y: x**y, np.power, a, b)
    check_op(lambda x, y: x.pow(y), np.power, a, b)


@FAST
@given(data=st.data(), exponent=st.sampled_from([2, 3, 0.5, -1.0]))
def test_pow_scalar_exponent(data, exponent):
    a = draw_array(data, data.draw(shapes()), low=0.5, high=2.0)
    check_op(lambda x: x**exponent, lambda x: x**exponent, a)


@FAST
@given(data=st.data())
def test_python_scalars_on_either_side(data):
    a = draw_array(data, data.draw(shapes()), away_from=0.5)
    check_op(lambda x: 2 + x, lambda x: 2 + x, a)
    check_op(lambda x: x + 2, lambda x: x + 2, a)
    check_op(lambda x: 2 - x, lambda x: 2 - x, a)
    check_op(lambda x: x - 2, lambda x: x - 2, a)
    check_op(lambda x: 3 * x, lambda x: 3 * x, a)
    check_op(lambda x: 3 / x, lambda x: 3 / x, a)
    check_op(lambda x: x / 3, lambda x: x / 3, a)
    check_op(lambda x: 2**x, lambda x: 2**x, a)


@pytest.mark.task_2_5
@pytest.mark.task_2_1
@FAST
@given(data=st.data())
def test_exp(data):
    check_op(lambda x: x.exp(), np.exp, draw_array(data, data.draw(shapes())))


@pytest.mark.task_2_5
@pytest.mark.task_2_1
@FAST
@given(data=st.data())
def test_log(data):
    check_op(lambda x: x.log(), np.log, draw_array(data, data.draw(shapes()), low=0.1))


@FAST
@given(data=st.data())
def test_sqrt(data):
    check_op(lambda x: x.sqrt(), np.sqrt, draw_array(data, data.draw(shapes()), low=0.1))


@FAST
@given(data=st.data())
def test_neg(data):
    a = draw_array(data, data.draw(shapes()))
    check_op(lambda x: -x, np.negative, a)
    check_op(lambda x: x.neg(), np.negative, a)


@FAST
@given(data=st.data())
def test_abs(data):
    check_op(lambda x: x.abs(), np.abs, draw_array(data, data.draw(shapes()), away_from=0.01))


@pytest.mark.task_4_1
@FAST
@given(data=st.data())
def test_tanh(data):
    check_op(lambda x: x.tanh(), np.tanh, draw_array(data, data.draw(shapes())))


@pytest.mark.task_3_2
@FAST
@given(data=st.data())
def test_sigmoid(data):
    check_op(lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)),
             draw_array(data, data.draw(shapes())))


def test_sigmoid_saturates_without_overflow():
    x = torch.tensor([-1000.0, 1000.0])
    np.testing.assert_array_equal(x.sigmoid().numpy(), [0.0, 1.0])


@pytest.mark.task_4_1
@FAST
@given(data=st.data())
def test_relu(data):
    check_op(lambda x: x.relu(), lambda x: np.maximum(x, 0),
             draw_array(data, data.draw(shapes()), away_from=0.01))


@FAST
@given(data=st.data(), bounds=st.sampled_from([(-1.0, 1.0), (None, 0.5), (-0.5, None)]))
def test_clamp(data, bounds):
    a = draw_array(data, data.draw(shapes()))
    low, high = bounds
    assume(all(b is None or np.all(np.abs(a - b) > 1e-3) for b in bounds))
    check_op(lambda x: x.clamp(low, high), lambda x: np.clip(x, low, high), a)


@FAST
@given(data=st.data())
def test_where(data):
    shape_a, shape_b = data.draw(broadcastable_shapes())
    cond = np.asarray(data.draw(arrays(np.broadcast_shapes(shape_a, shape_b))) > 0)
    a, b = draw_array(data, shape_a), draw_array(data, shape_b)
    check_op(lambda x, y: torch.where(torch.from_numpy(cond), x, y),
             lambda x, y: np.where(cond, x, y), a, b)


@pytest.mark.task_2_2
@FAST
@given(data=st.data())
def test_unbroadcast_is_the_adjoint_of_broadcasting(data):
    """<unbroadcast(g), v> = <g, broadcast_to(v)> for every v: the definition of its gradient."""
    shape, other = data.draw(broadcastable_shapes())
    out_shape = np.broadcast_shapes(shape, other)
    g, v = data.draw(arrays(out_shape)), data.draw(arrays(shape))
    reduced = unbroadcast(g, shape)
    assert reduced.shape == shape
    np.testing.assert_allclose(np.sum(reduced * v), np.sum(g * np.broadcast_to(v, out_shape)),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.task_2_5
def test_broadcast_gradient_of_a_row_vector_is_the_column_sum():
    x = torch.ones(3, 4, requires_grad=True)
    b = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    (x * b).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [3, 3, 3, 3])
    np.testing.assert_allclose(x.grad.numpy(), np.tile([1, 2, 3, 4], (3, 1)))


def test_add_mismatched_shapes_names_both():
    with pytest.raises(ValueError, match="add: sizes 2x3 and 4x5 do not broadcast"):
        torch.zeros(2, 3) + torch.zeros(4, 5)
    with pytest.raises(ValueError, match="mul: sizes 3 and 2 do not broadcast"):
        torch.zeros(3) * torch.zeros(2)


def test_comparisons_give_byte_tensors():
    a, b = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 2.0, 2.0])
    assert (a < b).type() == "torch.ByteTensor"
    np.testing.assert_array_equal((a < b).numpy(), [1, 0, 0])
    np.testing.assert_array_equal((a <= b).numpy(), [1, 1, 0])
    np.testing.assert_array_equal((a > b).numpy(), [0, 0, 1])
    np.testing.assert_array_equal((a >= b).numpy(), [0, 1, 1])
    np.testing.assert_array_equal((a == b).numpy(), [0, 1, 0])
    np.testing.assert_array_equal(a.ne(b).numpy(), [1, 0, 1])
