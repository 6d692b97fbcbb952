"""Bidirectional recurrences (rnn's BiSequencer and SeqBRNN, dpnn's ReverseTable and
ZipTable): BPTT gradients in both directions against finite differences, values against
NumPy recurrences run forward and on the reversed sequence (and SeqBRNN against PyTorch's
bidirectional LSTM), each direction blind to the other side of the sequence, save/load."""

import numpy as np
import pytest
from helpers import check_module_grads
from hypothesis import given, settings
from hypothesis import strategies as st
from test_recurrent import input_shape, leaf, numpy_gru, numpy_lstm, numpy_params, simple_rm

import minitorch7 as torch
from minitorch7 import nn

FEW = settings(max_examples=5, deadline=None)


@st.composite
def sizes(draw):
    """(seqlen, batch or None for unbatched steps, inputSize, hiddenSize), all tiny."""
    return (draw(st.integers(1, 5)), draw(st.none() | st.integers(1, 2)),
            draw(st.integers(1, 3)), draw(st.integers(1, 3)))


def steps(seqlen, batch, inputSize, seed=0):
    xs = np.random.default_rng(seed).standard_normal(input_shape(seqlen, batch, inputSize))
    return xs, [leaf(x, False) for x in xs]


def cell(kind, inputSize, hiddenSize):
    if kind == "rnn":
        return nn.Recurrence(simple_rm(inputSize, hiddenSize), hiddenSize, 1)
    return getattr(nn, kind)(inputSize, hiddenSize)


# ---- the table helpers --------------------------------------------------------------------

@FEW
@given(st.integers(1, 4), st.integers(1, 3))
def test_reverse_table_reverses_values_and_gradients(n, size):
    xs = [torch.randn(size).double() for _ in range(n)]
    out = nn.ReverseTable().forward(xs)
    for i, x in enumerate(xs):
        np.testing.assert_array_equal(out[n - 1 - i].data, x.data)
    check_module_grads(nn.ReverseTable(), xs)


@FEW
@given(st.integers(1, 3), st.integers(1, 3))
def test_zip_table_transposes_a_table_of_tables(n, m):
    table = [[torch.randn(2).double() for _ in range(m)] for _ in range(n)]
    out = nn.ZipTable().forward(table)
    assert len(out) == m and all(len(row) == n for row in out)
    for i in range(n):
        for j in range(m):
            np.testing.assert_array_equal(out[j][i].data, table[i][j].data)
    check_module_grads(nn.ZipTable(), table)


def test_zip_table_refuses_tables_of_different_lengths():
    with pytest.raises(ValueError, match=r"nn.ZipTable.*lengths \[2, 1\]"):
        nn.ZipTable().forward([[torch.randn(1), torch.randn(1)], [torch.randn(1)]])


@FEW
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), st.data())
def test_seq_reverse_sequence_is_numpy_flip(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = leaf(np.random.default_rng(1).standard_normal(shape))
    np.testing.assert_array_equal(nn.SeqReverseSequence(dim).forward(x).data,
                                  np.flip(x.data, dim))
    check_module_grads(nn.SeqReverseSequence(dim), x)


def test_seq_reverse_sequence_refuses_a_dim_out_of_range():
    with pytest.raises(ValueError, match=r"nn.SeqReverseSequence\(2\): dim 2 .* 2-D"):
        nn.SeqReverseSequence(2).forward(torch.randn(2, 3))


# ---- BiSequencer ----------------------------------------------------------------------------

@FEW
@given(sizes(), st.sampled_from(["FastLSTM", "GRU", "rnn"]), st.sampled_from([None, "add"]))
def test_bisequencer_bptt_gradcheck(case, kind, merge):
    seqlen, batch, inputSize, hiddenSize = case
    torch.manualSeed(seqlen)
    brnn = nn.BiSequencer(cell(kind, inputSize, hiddenSize), None,
                          nn.CAddTable() if merge else None)
    _, xs = steps(seqlen, batch, inputSize)
    check_module_grads(brnn, xs)


@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("kind", ["FastLSTM", "GRU"])
def test_bisequencer_joins_a_forward_and_a_reversed_recurrence(batch, kind):
    """output[t] = [fwd(x_0..x_t) | bwd(x_{T-1}..x_t)], the bwd run on the reversed steps."""
    torch.manualSeed(2)
    fwd, bwd = cell(kind, 4, 3).double(), cell(kind, 4, 3).double()
    xs, steps_ = steps(6, batch, 4)
    reference = numpy_lstm if kind == "FastLSTM" else numpy_gru
    forward = reference(xs, *numpy_params(fwd))
    backward = reference(xs[::-1], *numpy_params(bwd))
    forward, backward = (r[0] if kind == "FastLSTM" else r for r in (forward, backward))
    expected = np.concatenate([forward, backward[::-1]], axis=-1)
    out = nn.BiSequencer(fwd, bwd).forward(steps_)
    assert len(out) == 6
    np.testing.assert_allclose(np.stack([o.data for o in out]), expected, rtol=1e-12,
                               atol=1e-12)


def test_bisequencer_directions_each_see_one_side():
    """Changing x[k] changes the forward half only from step k on, the backward half only
    up to step k."""
    torch.manualSeed(3)
    brnn = nn.BiSequencer(nn.FastLSTM(2, 3)).double()
    xs, steps_ = steps(5, 2, 2)
    before = [o.data.copy() for o in brnn.forward(steps_)]
    k = 2
    xs[k] += 1.0
    after = [o.data for o in brnn.forward([leaf(x, False) for x in xs])]
    for t in range(5):
        fwd_changed = not np.allclose(before[t][:, :3], after[t][:, :3])
        bwd_changed = not np.allclose(before[t][:, 3:], after[t][:, 3:])
        assert fwd_changed == (t >= k) and bwd_changed == (t <= k)


def test_bisequencer_defaults_as_in_rnn():
    """bwd: a copy of fwd with fresh parameters; merge: JoinTable(0, 1), or JoinTable(0, n)
    for a number n."""
    torch.manualSeed(4)
    fwd = nn.FastLSTM(2, 3)
    brnn = nn.BiSequencer(fwd)
    assert brnn.forwardModule is fwd and type(brnn.backwardModule) is nn.FastLSTM
    for p, q in zip(fwd.parameters()[0], brnn.backwardModule.parameters()[0]):
        assert p.shape == q.shape and not np.allclose(p.data, q.data)
    assert isinstance(brnn.mergeModule, nn.JoinTable)
    assert (brnn.mergeModule.dimension, brnn.mergeModule.nInputDims) == (0, 1)
    assert nn.BiSequencer(fwd, None, 2).mergeModule.nInputDims == 2
    out = brnn.forward([torch.randn(2)])
    assert out[0].shape == (6,)  # a 1-D step: joined along its only dim


def test_bisequencer_refuses_a_tensor_and_bad_arguments():
    brnn = nn.BiSequencer(nn.FastLSTM(2, 3))
    with pytest.raises(ValueError, match="BiSequencer: expects a non-empty table"):
        brnn.forward(torch.randn(4, 2, 2))
    with pytest.raises(TypeError, match="BiSequencer: expects an nn module as forward"):
        nn.BiSequencer("lstm")
    with pytest.raises(TypeError, match="as merge"):
        nn.BiSequencer(nn.FastLSTM(2, 3), None, "join")


def test_bisequencer_prints_as_rnn():
    text = repr(nn.BiSequencer(nn.FastLSTM(2, 3)))
    assert text.startswith("nn.BiSequencer @ nn.Sequential {")
    assert "nn.ReverseTable" in text and "nn.ZipTable" in text
    assert "nn.Sequencer @ nn.Recursor @ nn.JoinTable" in text


# ---- SeqBRNN ----------------------------------------------------------------------------------

@FEW
@given(sizes(), st.booleans())
def test_seqbrnn_bptt_gradcheck(case, batchFirst):
    seqlen, batch, inputSize, hiddenSize = case
    torch.manualSeed(seqlen)
    batch = batch or 1
    shape = (batch, seqlen, inputSize) if batchFirst else (seqlen, batch, inputSize)
    check_module_grads(nn.SeqBRNN(inputSize, hiddenSize, batchFirst), shape)


@pytest.mark.parametrize("batchFirst", [False, True])
def test_seqbrnn_sums_a_forward_and_a_reversed_lstm(batchFirst):
    torch.manualSeed(5)
    brnn = nn.SeqBRNN(4, 3, batchFirst).double()
    xs = np.random.default_rng(0).standard_normal((6, 2, 4))
    forward, _ = numpy_lstm(xs, *numpy_params(brnn.forwardModule))
    backward, _ = numpy_lstm(xs[::-1], *numpy_params(brnn.backwardModule))
    expected = forward + backward[::-1]
    x = xs.transpose(1, 0, 2) if batchFirst else xs
    out = brnn.forward(leaf(np.ascontiguousarray(x), False)).data
    np.testing.assert_allclose(out.transpose(1, 0, 2) if batchFirst else out, expected,
                               rtol=1e-12, atol=1e-12)


def test_seqbrnn_equals_pytorch_bidirectional_lstm():
    """With merge JoinTable(2), SeqBRNN is PyTorch's LSTM(bidirectional=True): the same
    output and gradients (PyTorch's gates are i, f, g, o and it has a second bias, zero
    here; FastLSTM's are i, g, f, o)."""
    pytorch = pytest.importorskip("torch", reason="PyTorch is not installed")
    torch.manualSeed(6)
    brnn = nn.SeqBRNN(4, 3, False, nn.JoinTable(2)).double()
    ref = pytorch.nn.LSTM(4, 3, bidirectional=True).double()
    order = np.concatenate([np.arange(0, 3), np.arange(6, 9), np.arange(3, 6), np.arange(9, 12)])
    with pytorch.no_grad():
        for suffix, lstm in (("", brnn.forwardModule), ("_reverse", brnn.backwardModule)):
            W, b, U = numpy_params(lstm)
            getattr(ref, "weight_ih_l0" + suffix).copy_(pytorch.from_numpy(W[order]))
            getattr(ref, "weight_hh_l0" + suffix).copy_(pytorch.from_numpy(U[order]))
            getattr(ref, "bias_ih_l0" + suffix).copy_(pytorch.from_numpy(b[order]))
            getattr(ref, "bias_hh_l0" + suffix).zero_()
    rng = np.random.default_rng(1)
    xs, grad = rng.standard_normal((5, 2, 4)), rng.standard_normal((5, 2, 6))
    x_ref = pytorch.from_numpy(xs).requires_grad_()
    out_ref, _ = ref(x_ref)
    out_ref.backward(pytorch.from_numpy(grad))
    out = brnn.forward(leaf(xs, False))
    grad_input = brnn.backward(leaf(xs, False), leaf(grad, False))
    np.testing.assert_allclose(out.data, out_ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grad_input.data, x_ref.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(brnn.backwardModule.o2g.gradWeight.data,
                               ref.weight_hh_l0_reverse.grad.numpy()[np.argsort(order)],
                               rtol=1e-10, atol=1e-12)


def test_seqbrnn_refuses_a_wrong_input():
    with pytest.raises(ValueError, match=r"nn.SeqBRNN\(4 -> 3\).*seqlen x batch x 4.*5x2x3"):
        nn.SeqBRNN(4, 3).forward(torch.randn(5, 2, 3))


# ---- save and load -----------------------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda: nn.BiSequencer(nn.FastLSTM(3, 2)),
    lambda: nn.BiSequencer(nn.GRU(3, 2), nn.GRU(3, 2), nn.CAddTable()),
    lambda: nn.SeqBRNN(3, 2, True),
    lambda: nn.SeqBRNN(3, 2, False, nn.JoinTable(2)),
])
def test_saved_and_loaded_bidirectional_modules_compute_the_same(tmp_path, build):
    torch.manualSeed(7)
    model = nn.Sequential().add(build())
    tensor_input = isinstance(model.get(0), nn.SeqBRNN)
    x = torch.randn(2, 4, 3) if tensor_input else [torch.randn(2, 3) for _ in range(4)]
    expected = model.forward(x)
    torch.save(tmp_path / "brnn.t7", nn.Serial(model).mediumSerial())
    loaded = torch.load(tmp_path / "brnn.t7")
    got = loaded.forward(x)
    for a, b in zip(*(y if isinstance(y, list) else [y] for y in (expected, got))):
        np.testing.assert_array_equal(a.data, b.data)
    assert len(loaded.parameters()[0]) == len(model.parameters()[0])
