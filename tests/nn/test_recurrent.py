"""Recurrent modules (rnn): BPTT gradients against finite differences through 1 to 8 steps,
the cells against hand-written NumPy recurrences, one shared weight per parameter,
remember/forget, the Sequencer's layer-wise fast path against stepping, printing."""

import numpy as np
import pytest
from helpers import check_module_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.autograd import run_backward
from minitorch7.nn.module import flatten_table
from minitorch7.ops.linalg import Linear as LinearOp
from minitorch7.ops.recurrent import LSTMCell, unstack
from minitorch7.tensor import Tensor

FEW = settings(max_examples=6, deadline=None)


def leaf(array, requires_grad=True):
    return Tensor._wrap(np.asarray(array, np.float64), requires_grad=requires_grad)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def simple_rm(inputSize, hiddenSize):
    """The lab's recurrent module on real-valued inputs: h[t] = tanh(V x[t] + U h[t-1])."""
    return (nn.Sequential()
            .add(nn.ParallelTable().add(nn.Linear(inputSize, hiddenSize))
                 .add(nn.Linear(hiddenSize, hiddenSize)))
            .add(nn.CAddTable()).add(nn.Tanh()))


@st.composite
def sizes(draw):
    """(seqlen, batch or None for unbatched steps, inputSize, hiddenSize), all tiny."""
    return (draw(st.integers(1, 8)), draw(st.none() | st.integers(1, 2)),
            draw(st.integers(1, 3)), draw(st.integers(1, 3)))


def input_shape(seqlen, batch, inputSize):
    return (seqlen, inputSize) if batch is None else (seqlen, batch, inputSize)


def numpy_params(module):
    return [p.data.astype(np.float64) for p in module.parameters()[0]]


# ---- BPTT against finite differences ----------------------------------------------------

@pytest.mark.task_6_2
@FEW
@given(sizes())
def test_recurrence_bptt_gradcheck(case):
    seqlen, batch, inputSize, hiddenSize = case
    torch.manualSeed(seqlen)
    seq = nn.Sequencer(nn.Recurrence(simple_rm(inputSize, hiddenSize), hiddenSize, 1))
    check_module_grads(seq, input_shape(seqlen, batch, inputSize))


@pytest.mark.task_6_3
@FEW
@given(sizes(), st.sampled_from([nn.FastLSTM, nn.LSTM]))
def test_lstm_bptt_gradcheck(case, cell):
    seqlen, batch, inputSize, hiddenSize = case
    torch.manualSeed(seqlen)
    check_module_grads(nn.Sequencer(cell(inputSize, hiddenSize)),
                       input_shape(seqlen, batch, inputSize))


@pytest.mark.task_6_4
@FEW
@given(sizes())
def test_gru_bptt_gradcheck(case):
    seqlen, batch, inputSize, hiddenSize = case
    torch.manualSeed(seqlen)
    check_module_grads(nn.Sequencer(nn.GRU(inputSize, hiddenSize)),
                       input_shape(seqlen, batch, inputSize))


@pytest.mark.task_6_3
@settings(max_examples=10, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**31))
def test_lstm_cell_gradcheck(batch, hiddenSize, seed):
    rng = np.random.default_rng(seed)
    gates = leaf(rng.standard_normal((batch, 4 * hiddenSize)))
    c_prev = leaf(rng.standard_normal((batch, hiddenSize)))
    assert torch.gradcheck(lambda g, c: LSTMCell.apply(g, c), (gates, c_prev))


# ---- the cells against NumPy --------------------------------------------------------------

def numpy_lstm(xs, W, b, U, peephole=None):
    """The documented LSTM: gates = W x + b + U h, chunks input, candidate, forget, output."""
    H = U.shape[1]
    h = np.zeros(xs.shape[1:-1] + (H,))
    c = np.zeros_like(h)
    hs = []
    p_i, p_f, p_o = np.zeros((3, H)) if peephole is None else peephole
    for x in xs:
        a = x @ W.T + b + h @ U.T
        i = sigmoid(a[..., :H] + p_i * c)
        g = np.tanh(a[..., H:2 * H])
        f = sigmoid(a[..., 2 * H:3 * H] + p_f * c)
        c = f * c + i * g
        h = sigmoid(a[..., 3 * H:] + p_o * c) * np.tanh(c)
        hs.append(h)
    return np.stack(hs), c


def numpy_gru(xs, W, b, U, Wh, bh, Uh):
    H = Uh.shape[0]
    s = np.zeros(xs.shape[1:-1] + (H,))
    out = []
    for x in xs:
        rz = sigmoid(x @ W.T + b + s @ U.T)
        r, z = rz[..., :H], rz[..., H:]
        s = (1 - z) * np.tanh(x @ Wh.T + bh + (r * s) @ Uh.T) + z * s
        out.append(s)
    return np.stack(out)


@pytest.mark.task_6_3
@pytest.mark.parametrize("batch", [None, 3])
@pytest.mark.parametrize("fast", [True, False])
def test_fastlstm_matches_numpy(batch, fast):
    torch.manualSeed(1)
    lstm = nn.FastLSTM(4, 5).double()
    seq = nn.Sequencer(lstm)
    seq.fast = fast
    xs = np.random.default_rng(0).standard_normal(input_shape(6, batch, 4))
    W, b, U = numpy_params(lstm)
    expected_h, expected_c = numpy_lstm(xs, W, b, U)
    out = seq.forward(leaf(xs, False))
    np.testing.assert_allclose(out.data, expected_h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(lstm.getHiddenState()[1].data, expected_c, rtol=1e-12,
                               atol=1e-12)


@pytest.mark.task_6_3
def test_fastlstm_steps_its_cells_through_the_graph_on_the_teaching_tier(monkeypatch):
    """On the teaching tier (a learner copy's kernels) the sequence is stepped with
    LSTMCell, the learner's op, not the fast tier's fused LSTMLayer: same numbers."""
    from minitorch7.backends import get_cpu_backend
    from minitorch7.ops import recurrent_layers

    torch.manualSeed(1)
    lstm = nn.FastLSTM(4, 5).double()
    xs = np.random.default_rng(0).standard_normal((6, 3, 4))
    W, b, U = numpy_params(lstm)
    expected_h, _ = numpy_lstm(xs, W, b, U)
    monkeypatch.setattr(get_cpu_backend(), "TIER", "teaching", raising=False)
    monkeypatch.setattr(recurrent_layers.LSTMLayer, "apply", None)  # calling it would fail
    steps = []
    monkeypatch.setattr(LSTMCell, "check", staticmethod(lambda *args: steps.append(1)))
    out = nn.Sequencer(lstm).forward(leaf(xs, False))
    assert len(steps) == 6
    np.testing.assert_allclose(out.data, expected_h, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cell", [pytest.param(nn.LSTM, marks=pytest.mark.task_6_3),
                                  pytest.param(nn.GRU, marks=pytest.mark.task_6_4)])
def test_lstm_and_gru_step_through_the_graph_on_the_teaching_tier(cell, monkeypatch):
    """As FastLSTM: on the teaching tier the learner's ``_step`` runs once per step, not
    the fused op; same numbers as the fused op on the fast tier."""
    from minitorch7.backends import get_cpu_backend
    from minitorch7.ops import recurrent_layers

    torch.manualSeed(1)
    module = cell(4, 5).double()
    xs = leaf(np.random.default_rng(0).standard_normal((6, 3, 4)), False)
    fused = nn.Sequencer(module).forward(xs).data
    monkeypatch.setattr(get_cpu_backend(), "TIER", "teaching", raising=False)
    for layer in (recurrent_layers.LSTMLayer, recurrent_layers.GRULayer):
        monkeypatch.setattr(layer, "apply", None)  # calling it would fail
    steps, step = [], cell._step
    monkeypatch.setattr(cell, "_step", lambda self, *args: steps.append(1) or step(self, *args))
    out = nn.Sequencer(module).forward(xs)
    assert len(steps) == 6
    np.testing.assert_allclose(np.stack([o.data for o in out]), fused, rtol=1e-12, atol=1e-12)


@pytest.mark.task_6_3
def test_lstm_peepholes_match_numpy():
    torch.manualSeed(2)
    lstm = nn.LSTM(3, 4).double()
    xs = np.random.default_rng(1).standard_normal((5, 2, 3))
    peephole, W, b, U = numpy_params(lstm)
    expected_h, _ = numpy_lstm(xs, W, b, U, peephole)
    np.testing.assert_allclose(nn.Sequencer(lstm).forward(leaf(xs, False)).data, expected_h,
                               rtol=1e-12, atol=1e-12)
    without_peepholes, _ = numpy_lstm(xs, W, b, U)
    assert not np.allclose(without_peepholes, expected_h)  # the peepholes do matter


@pytest.mark.task_6_4
@pytest.mark.parametrize("batch", [None, 2])
def test_gru_matches_numpy(batch):
    torch.manualSeed(3)
    gru = nn.GRU(3, 4).double()
    xs = np.random.default_rng(2).standard_normal(input_shape(5, batch, 3))
    expected = numpy_gru(xs, *numpy_params(gru))
    np.testing.assert_allclose(nn.Sequencer(gru).forward(leaf(xs, False)).data, expected,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.task_6_2
def test_recurrence_matches_numpy_and_lab_word_ids():
    """The lab's rm: h[t] = sigmoid(V[x[t]] + U h[t-1] + c), word ids in, nInputDim 0."""
    torch.manualSeed(4)
    rm = (nn.Sequential()
          .add(nn.ParallelTable().add(nn.LookupTable(10, 3)).add(nn.Linear(3, 3)))
          .add(nn.CAddTable()).add(nn.Sigmoid()))
    seq = nn.Sequencer(nn.Recurrence(rm, 3, 0)).double()
    ids = np.random.default_rng(3).integers(0, 10, (4, 2))
    V, U, c = numpy_params(seq)
    h, expected = np.zeros((2, 3)), []
    for x in ids:
        h = sigmoid(V[x] + h @ U.T + c)
        expected.append(h)
    outputs = seq.forward([torch.LongTensor(x) for x in ids])
    np.testing.assert_allclose(np.stack([o.data for o in outputs]), expected, rtol=1e-12)


# ---- one weight shared by all steps -------------------------------------------------------

@pytest.mark.task_6_2
def test_recurrence_shares_one_weight_gradient_summed_over_steps():
    torch.manualSeed(5)
    T, B, n, H = 4, 2, 3, 3
    rm = simple_rm(n, H).double()
    seq = nn.Sequencer(nn.Recurrence(rm, H, 1))
    assert len(seq.parameters()[0]) == 4  # V, its bias, U, its bias: not one set per step
    rng = np.random.default_rng(4)
    xs, grads = rng.standard_normal((T, B, n)), rng.standard_normal((T, B, H))
    seq.zeroGradParameters()
    seq.forward(leaf(xs, False))
    seq.backward(leaf(xs, False), leaf(grads, False))

    # the same recurrence unrolled by hand with a separate copy of rm per step
    copies = [rm.clone() for _ in range(T)]
    h, outputs = Tensor._wrap(np.zeros((B, H))), []
    for copy, x in zip(copies, xs):
        copy.zeroGradParameters()
        h = copy.updateOutput([leaf(x, False), h])
        outputs.append(h)
    run_backward(outputs, list(grads))
    for k, shared in enumerate(seq.parameters()[1]):
        per_step = [copy.parameters()[1][k].data for copy in copies]
        np.testing.assert_allclose(shared.data, np.sum(per_step, axis=0), rtol=1e-10)


@pytest.mark.task_6_3
def test_fastlstm_gradient_is_sum_of_per_step_gradients():
    torch.manualSeed(6)
    T, B, n, H = 3, 2, 2, 3
    lstm = nn.FastLSTM(n, H).double()
    rng = np.random.default_rng(5)
    xs, grads = rng.standard_normal((T, B, n)), rng.standard_normal((T, B, H))
    seq = nn.Sequencer(lstm)
    seq.forward(leaf(xs, False))
    seq.backward(leaf(xs, False), leaf(grads, False))

    W, b, U = numpy_params(lstm)
    copies = [[leaf(W), leaf(b), leaf(U)] for _ in range(T)]
    h = c = Tensor._wrap(np.zeros((B, H)))
    outputs = []
    for (Wt, bt, Ut), x in zip(copies, xs):
        gates = LinearOp.apply(leaf(x, False), Wt, bt) + LinearOp.apply(h, Ut, None)
        hc = LSTMCell.apply(gates, c)
        h, c = hc.narrow(1, 0, H), hc.narrow(1, H, H)
        outputs.append(h)
    run_backward(outputs, list(grads))
    for k, shared in enumerate([lstm.i2g.gradWeight, lstm.i2g.gradBias, lstm.o2g.gradWeight]):
        np.testing.assert_allclose(shared.data, sum(copy[k].grad.data for copy in copies),
                                   rtol=1e-10)


# ---- remember / forget --------------------------------------------------------------------

def recurrence_sequencer(seed=7, n=2, H=3):
    torch.manualSeed(seed)
    return nn.Sequencer(nn.Recurrence(simple_rm(n, H), H, 1)).double()


@pytest.mark.task_6_2
def test_sequencer_forgets_between_calls_by_default():
    seq = recurrence_sequencer()
    xs = leaf(np.random.default_rng(6).standard_normal((3, 2, 2)), False)
    first = seq.forward(xs).data.copy()
    np.testing.assert_array_equal(seq.forward(xs).data, first)
    seq.remember("both")
    seq.forward(xs)
    assert not np.allclose(seq.forward(xs).data, first)  # started from the carried state
    seq.forget()
    np.testing.assert_allclose(seq.forward(xs).data, first, rtol=1e-12)


@pytest.mark.task_6_2
def test_remember_carries_state_detached_truncated_bptt():
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((6, 2, 2))
    seq = recurrence_sequencer().remember("both")
    whole = recurrence_sequencer().forward(leaf(xs, False)).data  # one 6-step sequence
    seq.forward(leaf(xs[:3], False))  # no backward: this graph stays alive
    carried = seq.module.getHiddenState()
    second = seq.forward(leaf(xs[3:], False))
    np.testing.assert_allclose(second.data, whole[3:], rtol=1e-12)
    grads = leaf(rng.standard_normal((3, 2, 3)), False)
    seq.zeroGradParameters()
    seq.backward(leaf(xs[3:], False), grads)

    # the gradients of a module that starts from the same state as a constant
    fresh = recurrence_sequencer().remember("both")
    fresh.module.setHiddenState(Tensor._wrap(carried.data.copy()))
    fresh.forward(leaf(xs[3:], False))
    fresh.zeroGradParameters()
    fresh.backward(leaf(xs[3:], False), grads)
    for g, expected in zip(seq.parameters()[1], fresh.parameters()[1]):
        np.testing.assert_allclose(g.data, expected.data, rtol=1e-12)


@pytest.mark.task_6_2
@pytest.mark.parametrize("mode,in_training,in_evaluation", [
    ("both", True, True), ("train", True, False), ("eval", False, True),
    ("neither", False, False)])
def test_remember_modes(mode, in_training, in_evaluation):
    xs = leaf(np.random.default_rng(8).standard_normal((2, 1, 2)), False)
    for train, remembers in ((True, in_training), (False, in_evaluation)):
        seq = recurrence_sequencer().remember(mode)
        if not train:
            seq.evaluate()
        first = seq.forward(xs).data.copy()
        assert np.allclose(seq.forward(xs).data, first) != remembers


@pytest.mark.task_6_2
def test_switching_training_and_evaluation_forgets():
    lm = nn.Sequential().add(recurrence_sequencer()).remember("both")  # through a container
    recurrence = lm.get(0).module
    xs = leaf(np.random.default_rng(9).standard_normal((2, 1, 2)), False)
    lm.forward(xs)
    assert recurrence.getHiddenState() is not None
    lm.training()  # no switch: the state stays
    assert recurrence.getHiddenState() is not None
    lm.evaluate()
    assert recurrence.getHiddenState() is None
    lm.forward(xs)
    lm.training()
    assert recurrence.getHiddenState() is None


def test_remember_rejects_unknown_mode():
    with pytest.raises(ValueError, match="remember"):
        recurrence_sequencer().remember("always")


@pytest.mark.task_6_2
def test_stepping_by_hand_matches_sequencer_without_a_graph_across_steps():
    seq = recurrence_sequencer()
    stepper = nn.Recursor(seq.module.clone())
    xs = leaf(np.random.default_rng(10).standard_normal((4, 2, 2)), False)
    expected = seq.forward(xs).data
    outputs = []
    for x in xs:
        outputs.append(stepper.forward(x).data)
        # each forward is its own graph: this backward never reaches the earlier steps,
        # whose graphs an earlier backward has freed already
        assert stepper.backward(x, Tensor._wrap(np.ones((2, 3)))).shape == (2, 2)
    np.testing.assert_allclose(np.stack(outputs), expected, rtol=1e-12)


# ---- Sequencer: forms, fast path ----------------------------------------------------------

@pytest.mark.task_6_2
def test_sequencer_keeps_the_input_form():
    seq = recurrence_sequencer()
    xs = leaf(np.random.default_rng(11).standard_normal((3, 2, 2)), False)
    stacked = seq.forward(xs)
    assert isinstance(stacked, Tensor) and stacked.shape == (3, 2, 3)
    steps = seq.forward([x for x in xs])
    assert isinstance(steps, list) and len(steps) == 3
    np.testing.assert_allclose(np.stack([s.data for s in steps]), stacked.data, rtol=1e-12)


def lab_lm(recurrent_layers, vocab=12, embed=4):
    torch.manualSeed(8)
    step = nn.Sequential()
    for layer in recurrent_layers:
        step.add(layer)
    step.add(nn.Linear(recurrent_layers[-1].outputSize, vocab)).add(nn.LogSoftMax())
    return (nn.Sequential().add(nn.LookupTable(vocab, embed)).add(nn.SplitTable(0))
            .add(nn.Sequencer(step))).double()


def fast_and_stepped(lm, T=5, B=3, vocab=12):
    """(outputs, gradients of every parameter) of the fast and the stepped path."""
    rng = np.random.default_rng(12)
    ids = torch.LongTensor(rng.integers(0, vocab, (T, B)))
    targets = list(rng.integers(0, vocab, (T, B)))
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())
    results = []
    for fast in (True, False):
        lm.get(2).fast = fast
        lm.zeroGradParameters()
        outputs = lm.forward(ids)
        lm.backward(ids, criterion.backward(outputs, targets))
        results.append(([o.data.copy() for o in outputs],
                        [g.data.copy() for g in lm.parameters()[1]]))
    return results


def assert_same(fast, stepped):
    for a, b in zip(fast[0] + fast[1], stepped[0] + stepped[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.task_6_5
def test_fast_path_equals_stepping_lab_rnn():
    rm = (nn.Sequential()
          .add(nn.ParallelTable().add(nn.Identity()).add(nn.Linear(4, 4)))
          .add(nn.CAddTable()).add(nn.Sigmoid()))
    assert_same(*fast_and_stepped(lab_lm([nn.Recurrence(rm, 4, 1)])))


@pytest.mark.task_6_5
@pytest.mark.parametrize("cell", [nn.FastLSTM, nn.LSTM, nn.GRU])
def test_fast_path_equals_stepping_lab_two_layer_lm(cell):
    assert_same(*fast_and_stepped(lab_lm([cell(4, 5), cell(5, 4)])))


@pytest.mark.parametrize("cell", [pytest.param(nn.FastLSTM, marks=pytest.mark.task_6_3),
                                  pytest.param(nn.LSTM, marks=pytest.mark.task_6_3),
                                  pytest.param(nn.GRU, marks=pytest.mark.task_6_4)])
def test_fused_layers_remember_truncate_and_accumulate_like_stepping(cell):
    """Two remembered sequences, a backward after each without zeroing: the fused path
    (ops.recurrent_layers) gives the outputs, carried state and summed gradients of
    stepping."""
    rng = np.random.default_rng(9)
    xs = rng.standard_normal((2, 4, 2, 3))
    grads = rng.standard_normal((2, 4, 2, 5))
    results = []
    for fast in (True, False):
        torch.manualSeed(4)
        seq = nn.Sequencer(cell(3, 5)).double().remember("both")
        seq.fast = fast
        seq.zeroGradParameters()
        outputs = []
        for x, g in zip(xs, grads):
            outputs.append(seq.forward(leaf(x, False)).data.copy())
            seq.backward(leaf(x, False), leaf(g, False))
        state = [s.data.copy() for s in flatten_table(seq.module.getHiddenState())]
        results.append(outputs + state + [g.data.copy() for g in seq.parameters()[1]])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_fastlstm_rejects_wrong_input_size():
    with pytest.raises(ValueError, match=r"nn.FastLSTM\(3 -> 2\).*got 4x5"):
        nn.FastLSTM(3, 2).forward(torch.randn(4, 5))


# ---- criterion ----------------------------------------------------------------------------

@pytest.mark.task_6_5
@pytest.mark.parametrize("as_tensor", [False, True])
def test_sequencer_criterion_sums_over_time(as_tensor):
    rng = np.random.default_rng(13)
    logp = np.log(rng.dirichlet(np.ones(4), size=(3, 2)))
    targets = rng.integers(0, 4, (3, 2))
    nll = nn.ClassNLLCriterion()
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())
    input = leaf(logp, False) if as_tensor else [leaf(x, False) for x in logp]
    target = torch.LongTensor(targets) if as_tensor else list(targets)
    loss = criterion.forward(input, target)
    assert loss == pytest.approx(sum(nll.forward(leaf(x, False), t)
                                     for x, t in zip(logp, targets)))
    grad = criterion.backward(input, target)
    per_step = [nll.backward(leaf(x, False), t).data for x, t in zip(logp, targets)]
    got = grad.data if as_tensor else np.stack([g.data for g in grad])
    np.testing.assert_allclose(got, np.stack(per_step))


def test_sequencer_criterion_checks_lengths():
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())
    with pytest.raises(ValueError, match="3 time steps but target has 2"):
        criterion.forward([torch.zeros(1, 4)] * 3, [np.zeros(1, np.int64)] * 2)


# ---- unstack ------------------------------------------------------------------------------

@pytest.mark.parametrize("used", [[0, 1, 2], [2], [1, 1]])
def test_unstack_views_share_one_gradient(used):
    x = leaf(np.arange(12.0).reshape(3, 2, 2))
    steps = unstack(x)
    assert all(np.shares_memory(s.data, x.data) for s in steps)
    weights = [np.full((2, 2), k + 1.0) for k in range(len(used))]
    for _ in range(2):  # a second backward pass starts from a fresh buffer
        x.grad = None
        run_backward([steps[t] * 1.0 for t in used], weights)
        expected = np.zeros((3, 2, 2))
        for t, w in zip(used, weights):
            expected[t] += w
        np.testing.assert_array_equal(x.grad.data, expected)


@pytest.mark.parametrize("used", [[0, 1, 2], [2, 0], [1]])
@pytest.mark.parametrize("mixed", [False, True])
def test_unstack_takes_the_rows_of_one_gradient_array_whole(used, mixed):
    """Gradients that are rows of one (T, ...) array are taken without a copy; steps given
    another array, and steps given none, still get exactly their own gradient, and the
    caller's array is never written."""
    x = leaf(np.arange(12.0).reshape(3, 2, 2))
    steps = unstack(x)
    rows = np.random.default_rng(1).standard_normal((3, 2, 2))
    before = rows.copy()
    grads = [rows[t] for t in used]
    if mixed:
        grads[-1] = np.full((2, 2), 5.0)
    run_backward([steps[t] for t in used], grads)
    expected = np.zeros((3, 2, 2))
    for t, g in zip(used, grads):
        expected[t] += g
    np.testing.assert_array_equal(x.grad.data, expected)
    np.testing.assert_array_equal(rows, before)


def test_sequencer_criterion_gradients_are_rows_of_one_array_taken_by_the_sequencer():
    torch.manualSeed(3)
    lm = lab_lm([nn.FastLSTM(4, 5)])
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())
    rng = np.random.default_rng(2)
    ids = torch.LongTensor(rng.integers(0, 12, (4, 3)))
    targets = list(rng.integers(0, 12, (4, 3)))
    outputs = lm.forward(ids)
    grads = criterion.backward(outputs, targets)
    base = grads[0].data.base
    assert base is not None and base.shape == (4, 3, 12)
    assert all(g.data.base is base for g in grads)
    for t, g in enumerate(grads):
        expected = np.zeros((3, 12))
        expected[np.arange(3), targets[t]] = -1 / 3
        np.testing.assert_allclose(g.data, expected)
    lm.backward(ids, grads)  # the same gradients as stepping: test_fast_path_equals_...


def test_fast_path_row_wise_layer_output_is_the_last_step_as_when_stepping():
    lm = lab_lm([nn.FastLSTM(4, 5)])
    ids = torch.LongTensor(np.random.default_rng(4).integers(0, 12, (4, 3)))
    step = lm.get(2).module.module
    results = []
    for fast in (True, False):
        lm.get(2).fast = fast
        outputs = lm.forward(ids)
        assert [m.output.shape for m in step.modules] == [(3, 5), (3, 12), (3, 12)]
        np.testing.assert_allclose(step.modules[2].output.data, outputs[-1].data)
        results.append([m.output.data.copy() for m in step.modules])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10)


# ---- printing -----------------------------------------------------------------------------

def test_printing_as_in_the_lab():
    lm = (nn.Sequential().add(nn.LookupTable(10000, 200)).add(nn.SplitTable(0))
          .add(nn.Sequencer(nn.Sequential().add(nn.FastLSTM(200, 200))
                            .add(nn.FastLSTM(200, 200)).add(nn.Linear(200, 10000))
                            .add(nn.LogSoftMax()))))
    assert repr(lm.get(2)).splitlines() == [
        "nn.Sequencer @ nn.Recursor @ nn.Sequential {",
        "  [input -> (1) -> (2) -> (3) -> (4) -> output]",
        "  (1): nn.FastLSTM(200 -> 200)",
        "  (2): nn.FastLSTM(200 -> 200)",
        "  (3): nn.Linear(200 -> 10000)",
        "  (4): nn.LogSoftMax",
        "}"]
    assert repr(nn.Sequencer(nn.LSTM(3, 4))) == "nn.Sequencer @ nn.LSTM(3 -> 4)"
    assert repr(nn.GRU(2, 5)) == "nn.GRU(2 -> 5)"
    assert repr(nn.Recurrence(nn.Sigmoid(), 3, 1)).splitlines() == [
        "nn.Recurrence {", "  [{input(t), output(t-1)} -> (1) -> output(t)]",
        "  (1): nn.Sigmoid", "}"]


@pytest.mark.parametrize("cell", [nn.FastLSTM, nn.LSTM, nn.GRU])
def test_language_model_on_cuda_as_on_cpu(cell):
    """The fused layers, the criterion's one gradient array and the unstacked steps on
    the CUDA backend (the simulator without a GPU): same loss and gradients as the CPU."""
    results = []
    lm = lab_lm([cell(4, 5)])
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())
    rng = np.random.default_rng(6)
    ids = torch.LongTensor(rng.integers(0, 12, (3, 2)))
    targets = list(rng.integers(0, 12, (3, 2)))
    for cuda in (False, True):
        if cuda:  # the same model, moved
            lm, ids = lm.cuda(), ids.cuda()
        lm.zeroGradParameters()
        outputs = lm.forward(ids)
        loss = criterion.forward(outputs, targets)
        lm.backward(ids, criterion.backward(outputs, targets))
        results.append([loss] + [g.float().cpu().data.astype(np.float64)
                                 for g in lm.parameters()[1]])
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-6)
    for a, b in zip(results[0][1:], results[1][1:], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-8)
