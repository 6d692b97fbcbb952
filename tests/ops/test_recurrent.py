"""The fused whole-sequence LSTM op (``LSTMLayer``): forward against a NumPy recurrence in
float32, gradients by gradcheck in float64 (hypothesis over seqlen, batch dims and H), and
equal to stepping ``LSTMCell``; the steps of ``unstack`` are tested in tests/nn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.ops.linalg import Linear as LinearOp
from minitorch7.ops.recurrent_layers import LSTMLayer
from minitorch7.ops.recurrent import LSTMCell
from minitorch7.tensor import Tensor
from minitorch7.testing import arrays, check_op


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm_layer(gates_x, w_h, h0, c0):
    """The documented recurrence, step by step: hc[0, t] = h[t], hc[1, t] = c[t]."""
    H = w_h.shape[1]
    h, c, hs, cs = h0, c0, [], []
    for gx in gates_x:
        a = gx + h @ w_h.T
        i, g = sigmoid(a[..., :H]), np.tanh(a[..., H:2 * H])
        f, o = sigmoid(a[..., 2 * H:3 * H]), sigmoid(a[..., 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack([np.stack(hs), np.stack(cs)])


@st.composite
def layer_inputs(draw):
    """(gates_x (T, *batch, 4H), w_h (4H, H), h0, c0 (*batch, H)), batch of 0 to 2 dims."""
    T, H = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return (draw(arrays((T, *batch, 4 * H))), draw(arrays((4 * H, H), low=-1, high=1)),
            draw(arrays((*batch, H), low=-1, high=1)), draw(arrays((*batch, H))))


@pytest.mark.task_6_3
@settings(max_examples=25, deadline=None)
@given(layer_inputs())
def test_lstm_layer_matches_numpy_and_gradcheck(inputs):
    check_op(lambda *xs: LSTMLayer.apply(*xs), numpy_lstm_layer, *inputs)


@pytest.mark.task_6_3
@settings(max_examples=10, deadline=None)
@given(layer_inputs(), st.integers(0, 2**31))
def test_lstm_layer_equals_stepping_lstm_cell(inputs, seed):
    """Outputs and all four gradients equal those of T LSTMCell steps."""
    rng = np.random.default_rng(seed)
    T, H = inputs[0].shape[0], inputs[1].shape[1]
    grad = rng.standard_normal((2, T, *inputs[2].shape))

    fused = [Tensor._wrap(x.copy(), requires_grad=True) for x in inputs]
    out = LSTMLayer.apply(*fused)
    out.backward(Tensor._wrap(grad))

    stepped = [Tensor._wrap(x.copy(), requires_grad=True) for x in inputs]
    gates_x, w_h, h, c = stepped
    hs, cs = [], []
    for t in range(T):
        hc = LSTMCell.apply(gates_x[t] + LinearOp.apply(h, w_h, None), c)
        h, c = hc.narrow(-1, 0, H), hc.narrow(-1, H, H)
        hs.append(h)
        cs.append(c)
    ours = torch.stack([torch.stack(hs), torch.stack(cs)])
    np.testing.assert_allclose(out.data, ours.data, rtol=1e-12, atol=1e-12)
    ours.backward(Tensor._wrap(grad))
    for a, b in zip(fused, stepped):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-10, atol=1e-12)


@pytest.mark.task_6_3
def test_lstm_layer_without_h0_gradient_and_twice_with_retain_graph():
    rng = np.random.default_rng(3)
    gates_x = Tensor._wrap(rng.standard_normal((4, 2, 8)), requires_grad=True)
    w_h = Tensor._wrap(rng.standard_normal((8, 2)), requires_grad=True)
    zeros = Tensor._wrap(np.zeros((2, 2)))
    out = LSTMLayer.apply(gates_x, w_h, zeros, zeros)
    out.sum().backward(retain_graph=True)
    first = gates_x.grad.data.copy(), w_h.grad.data.copy()
    out.sum().backward()
    np.testing.assert_allclose(gates_x.grad.data, 2 * first[0])
    np.testing.assert_allclose(w_h.grad.data, 2 * first[1])
    assert zeros.grad is None


def test_lstm_layer_rejects_mismatched_shapes():
    x = Tensor._wrap(np.zeros((3, 2, 8)))
    with pytest.raises(ValueError, match=r"LSTMLayer: expected gates_x \(T, ..., 4H\).*3x2x8, "
                                         r"8x3"):
        LSTMLayer.apply(x, Tensor._wrap(np.zeros((8, 3))), Tensor._wrap(np.zeros((2, 2))),
                        Tensor._wrap(np.zeros((2, 2))))
