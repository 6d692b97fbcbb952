"""The fused whole-sequence ops (``LSTMLayer`` with and without peepholes, ``GRULayer``):
forward against a NumPy recurrence in float32, gradients by gradcheck in float64 (hypothesis
over seqlen, batch dims and H), and equal to stepping ``LSTMCell`` or the cell's graph ops;
the steps of ``unstack`` are tested in tests/nn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.ops.linalg import Linear as LinearOp
from minitorch7.ops.recurrent import LSTMCell
from minitorch7.ops.recurrent_layers import GRULayer, LSTMLayer
from minitorch7.tensor import Tensor
from minitorch7.testing import arrays, check_op


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def numpy_lstm_layer(gates_x, w_h, h0, c0, peephole=None):
    """The documented recurrence, step by step: hc[0, t] = h[t], hc[1, t] = c[t]."""
    H = w_h.shape[1]
    p_i, p_f, p_o = np.zeros((3, H)) if peephole is None else peephole
    h, c, hs, cs = h0, c0, [], []
    for gx in gates_x:
        a = gx + h @ w_h.T
        i, g = sigmoid(a[..., :H] + p_i * c), np.tanh(a[..., H:2 * H])
        f = sigmoid(a[..., 2 * H:3 * H] + p_f * c)
        c = f * c + i * g
        h = sigmoid(a[..., 3 * H:] + p_o * c) * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.stack([np.stack(hs), np.stack(cs)])


def numpy_gru_layer(gates_x, w_rz, w_n, s0):
    """Torch7's GRU, step by step (the reset gate before the recurrent product)."""
    H = w_n.shape[0]
    s, out = s0, []
    for gx in gates_x:
        rz = sigmoid(gx[..., :2 * H] + s @ w_rz.T)
        r, z = rz[..., :H], rz[..., H:]
        n = np.tanh(gx[..., 2 * H:] + (r * s) @ w_n.T)
        s = (1 - z) * n + z * s
        out.append(s)
    return np.stack(out)


@st.composite
def layer_inputs(draw, peephole=False):
    """(gates_x (T, *batch, 4H), w_h (4H, H), h0, c0 (*batch, H)[, peephole (3, H)]), batch
    of 0 to 2 dims."""
    T, H = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return (draw(arrays((T, *batch, 4 * H))), draw(arrays((4 * H, H), low=-1, high=1)),
            draw(arrays((*batch, H), low=-1, high=1)), draw(arrays((*batch, H))),
            *([draw(arrays((3, H), low=-1, high=1))] if peephole else []))


@st.composite
def gru_inputs(draw):
    """(gates_x (T, *batch, 3H), w_rz (2H, H), w_n (H, H), s0 (*batch, H))."""
    T, H = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    return (draw(arrays((T, *batch, 3 * H))), draw(arrays((2 * H, H), low=-1, high=1)),
            draw(arrays((H, H), low=-1, high=1)), draw(arrays((*batch, H), low=-1, high=1)))


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


@settings(max_examples=20, deadline=None)
@given(layer_inputs(peephole=True))
def test_peephole_lstm_layer_matches_numpy_and_gradcheck(inputs):
    check_op(lambda *xs: LSTMLayer.apply(*xs), numpy_lstm_layer, *inputs)


@settings(max_examples=20, deadline=None)
@given(gru_inputs())
def test_gru_layer_matches_numpy_and_gradcheck(inputs):
    check_op(lambda *xs: GRULayer.apply(*xs), numpy_gru_layer, *inputs)


def stepped_peephole_lstm(gates_x, w_h, h, c, peephole):
    """nn.LSTM's steps in graph ops -> hc (2, T, ..., H)."""
    H = w_h.shape[1]
    p_i, p_f, p_o = (peephole.select(0, k) for k in range(3))
    hs, cs = [], []
    for t in range(gates_x.shape[0]):
        a = gates_x[t] + LinearOp.apply(h, w_h, None)
        a_i, a_g, a_f, a_o = (a.narrow(-1, k * H, H) for k in range(4))
        f = (a_f + p_f * c).sigmoid()
        c = f * c + (a_i + p_i * c).sigmoid() * a_g.tanh()
        h = (a_o + p_o * c).sigmoid() * c.tanh()
        hs.append(h)
        cs.append(c)
    return torch.stack([torch.stack(hs), torch.stack(cs)])


def stepped_gru(gates_x, w_rz, w_n, s):
    """nn.GRU's steps in graph ops -> s (T, ..., H)."""
    H = w_n.shape[0]
    out = []
    for t in range(gates_x.shape[0]):
        rz = (gates_x[t].narrow(-1, 0, 2 * H) + LinearOp.apply(s, w_rz, None)).sigmoid()
        r, z = rz.narrow(-1, 0, H), rz.narrow(-1, H, H)
        n = (gates_x[t].narrow(-1, 2 * H, H) + LinearOp.apply(r * s, w_n, None)).tanh()
        s = (1 - z) * n + z * s
        out.append(s)
    return torch.stack(out)


@settings(max_examples=10, deadline=None)
@given(st.one_of(layer_inputs(peephole=True).map(lambda xs: (LSTMLayer, stepped_peephole_lstm,
                                                             xs)),
                 gru_inputs().map(lambda xs: (GRULayer, stepped_gru, xs))),
       st.integers(0, 2**31))
def test_fused_layers_equal_stepping_graph_ops(case, seed):
    """Outputs and every gradient (gates_x, the recurrent weights, the initial states, the
    peepholes) equal those of the cell's steps in graph ops."""
    layer, stepped, inputs = case
    fused = [Tensor._wrap(x.copy(), requires_grad=True) for x in inputs]
    out = layer.apply(*fused)
    grad = Tensor._wrap(np.random.default_rng(seed).standard_normal(out.shape))
    out.backward(grad)
    steps = [Tensor._wrap(x.copy(), requires_grad=True) for x in inputs]
    ours = stepped(*steps)
    np.testing.assert_allclose(out.data, ours.data, rtol=1e-12, atol=1e-12)
    ours.backward(grad)
    for a, b in zip(fused, steps, strict=True):
        np.testing.assert_allclose(a.grad.data, b.grad.data, rtol=1e-10, atol=1e-12)


def test_gru_layer_without_state_gradient_and_twice_with_retain_graph():
    rng = np.random.default_rng(4)
    inputs = [Tensor._wrap(rng.standard_normal(shape), requires_grad=True)
              for shape in ((3, 2, 6), (4, 2), (2, 2))]
    zeros = Tensor._wrap(np.zeros((2, 2)))
    out = GRULayer.apply(*inputs, zeros)
    out.sum().backward(retain_graph=True)
    first = [x.grad.data.copy() for x in inputs]
    out.sum().backward()
    for x, g in zip(inputs, first, strict=True):
        np.testing.assert_allclose(x.grad.data, 2 * g)
    assert zeros.grad is None


def test_peephole_and_gru_layers_reject_mismatched_shapes():
    def zeros(*shape):
        return Tensor._wrap(np.zeros(shape))
    with pytest.raises(ValueError, match=r"LSTMLayer: expected .*peephole \(3, H\).*got "
                                         r"3x2x8, 8x2, 2x2, 2x2, 2x2$"):
        LSTMLayer.apply(zeros(3, 2, 8), zeros(8, 2), zeros(2, 2), zeros(2, 2), zeros(2, 2))
    with pytest.raises(ValueError, match=r"GRULayer: expected gates_x \(T, ..., 3H\), w_rz "
                                         r"\(2H, H\), w_n \(H, H\), s0 \(..., H\), got "
                                         r"3x2x6, 2x4, 2x2, 2x2$"):
        GRULayer.apply(zeros(3, 2, 6), zeros(2, 4), zeros(2, 2), zeros(2, 2))
    with pytest.raises(ValueError, match=r"GRULayer: .*got 3x2x6, 4x2, 2x2$"):
        GRULayer.apply(zeros(3, 2, 6), zeros(4, 2), zeros(2, 2))
