"""Criterions: losses against plain NumPy (sizeAverage on and off), gradients by the closed
form and by gradcheck, the Torch7 forward/backward contract, and bad-input errors.

The bad-input tests carry no task marker: the checks live in nn/criterion.py, outside the
task regions, so they pass whether or not a task is done."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.autograd import gradcheck
from minitorch7.tensor import Tensor
from minitorch7.testing import arrays

FAST = settings(max_examples=20, deadline=None)
EPS = 1e-12


def leaf(array):
    return Tensor._wrap(np.asarray(array, np.float64), requires_grad=True)


def log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@st.composite
def scores_and_classes(draw):
    """(B x C float64 scores, B class ids)."""
    batch, classes = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    x = draw(arrays((batch, classes)))
    return x, np.array(draw(st.lists(st.integers(0, classes - 1), min_size=batch,
                                     max_size=batch)), np.int64)


def check_contract(criterion, x, target, loss, grad):
    """forward returns the float loss and sets output; backward returns gradInput (and
    sets it), equal to ``grad``; both in the input's dtype and size."""
    value = criterion.forward(x, target)
    assert isinstance(value, float) and criterion.output == value
    np.testing.assert_allclose(value, loss, rtol=1e-5, atol=1e-6)
    grad_input = criterion.backward(x, target)
    assert grad_input is criterion.gradInput and grad_input.shape == x.shape
    assert grad_input.dtype == x.dtype
    np.testing.assert_allclose(grad_input.numpy(), grad, rtol=1e-4, atol=1e-6)


@pytest.mark.task_4_3
@FAST
@given(scores_and_classes(), st.booleans())
def test_class_nll(case, size_average):
    x, t = case
    batch = len(t)
    scale = 1 / batch if size_average else 1.0
    loss = -scale * x[np.arange(batch), t].sum()
    grad = np.zeros_like(x)
    grad[np.arange(batch), t] = -scale  # -1/B at (i, t_i), 0 elsewhere
    criterion = nn.ClassNLLCriterion()
    criterion.sizeAverage = size_average
    check_contract(criterion, Tensor._wrap(x.astype(np.float32)), torch.tensor(t), loss, grad)
    gradcheck(lambda v: criterion.updateOutput(v, t), leaf(x))


@pytest.mark.task_4_3
def test_class_nll_one_sample_and_target_forms():
    x = torch.Tensor([-1.0, -2.0, -3.0])
    criterion = nn.ClassNLLCriterion()
    for target in (torch.tensor([2]), np.array([2]), 2, torch.Tensor([2.0])):
        assert criterion.forward(x, target) == 3.0
        np.testing.assert_array_equal(criterion.backward(x, target).numpy(), [0, 0, -1])
    # the lab's Torch7 style: a one-element target narrowed out of the targets
    targets = torch.tensor(np.array([1, 0, 2]))
    assert criterion.forward(x, targets.narrow(0, 2, 1)) == 3.0


@pytest.mark.parametrize("target, message", [
    ([0, 5], r"nn.ClassNLLCriterion: class index 5 is out of range for 5 classes"),
    ([-1, 0], r"nn.ClassNLLCriterion: class index -1 is out of range for 5 classes"),
    ([0.5, 1], r"nn.ClassNLLCriterion: targets must be whole class ids"),
    ([0, 1, 2], r"nn.ClassNLLCriterion: expected .* got input 2x5 and target 3"),
])
def test_class_nll_bad_targets(target, message):
    with pytest.raises(ValueError, match=message):
        nn.ClassNLLCriterion().forward(torch.zeros(2, 5), np.array(target))


def test_class_nll_bad_input():
    with pytest.raises(ValueError, match=r"nn.ClassNLLCriterion: .* got input 2x3x4"):
        nn.ClassNLLCriterion().forward(torch.zeros(2, 3, 4), np.array([0, 1]))


@pytest.mark.task_4_3
@FAST
@given(scores_and_classes(), st.booleans())
def test_cross_entropy(case, size_average):
    x, t = case
    batch = len(t)
    scale = 1 / batch if size_average else 1.0
    loss = -scale * log_softmax(x)[np.arange(batch), t].sum()
    grad = np.exp(log_softmax(x))  # (softmax - onehot) * scale
    grad[np.arange(batch), t] -= 1
    criterion = nn.CrossEntropyCriterion()
    criterion.sizeAverage = size_average
    check_contract(criterion, Tensor._wrap(x.astype(np.float32)), torch.tensor(t), loss,
                   grad * scale)
    gradcheck(lambda v: criterion.updateOutput(v, t), leaf(x))


@pytest.mark.task_4_3
def test_log_softmax_then_class_nll_is_cross_entropy():
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((4, 3)), np.array([2, 0, 1, 1])
    logp = torch.from_numpy(x).log_softmax(-1)
    nll = nn.ClassNLLCriterion()
    assert nll.forward(logp, t) == pytest.approx(
        nn.CrossEntropyCriterion().forward(torch.from_numpy(x), t), rel=1e-12)


@st.composite
def probabilities_and_targets(draw):
    shape = draw(st.sampled_from([(1,), (4,), (3, 2), (2, 3, 2)]))
    x = draw(arrays(shape, low=0.05, high=0.95))
    t = draw(arrays(shape, low=0.0, high=1.0).map(np.round))
    return x, t


@pytest.mark.task_3_3
@FAST
@given(probabilities_and_targets(), st.booleans())
def test_bce(case, size_average):
    x, t = case
    scale = 1 / x.size if size_average else 1.0
    loss = -scale * np.sum(t * np.log(x + EPS) + (1 - t) * np.log(1 - x + EPS))
    grad = -scale * (t / (x + EPS) - (1 - t) / (1 - x + EPS))
    criterion = nn.BCECriterion()
    criterion.sizeAverage = size_average
    check_contract(criterion, Tensor._wrap(x.astype(np.float32)),
                   Tensor._wrap(t.astype(np.float32)), loss, grad)
    gradcheck(lambda v: criterion.updateOutput(v, t), leaf(x))


@pytest.mark.task_3_3
def test_bce_eps_keeps_saturated_outputs_finite():
    criterion = nn.BCECriterion()
    loss = criterion.forward(torch.Tensor([0.0, 1.0]).double(), torch.Tensor([1.0, 0.0]))
    assert loss == pytest.approx(-np.log(EPS), rel=1e-9)  # mean of two -log(eps)
    assert np.all(np.isfinite(criterion.backward(torch.Tensor([0.0, 1.0]).double(),
                                                 torch.Tensor([1.0, 0.0])).numpy()))


@pytest.mark.parametrize("target_shape", [(4,), (2, 1), (4, 2)])
def test_bce_target_of_the_wrong_shape(target_shape):
    with pytest.raises(ValueError, match=r"nn.BCECriterion: target must have the input's "
                                         rf"size 2x2, got {'x'.join(map(str, target_shape))}"):
        nn.BCECriterion().forward(torch.rand(2, 2), torch.zeros(*target_shape))


@FAST
@given(st.sampled_from([(1,), (5,), (2, 3)]), st.booleans(), st.data())
def test_mse(shape, size_average, data):
    x, t = data.draw(arrays(shape)), data.draw(arrays(shape))
    scale = 1 / x.size if size_average else 1.0
    criterion = nn.MSECriterion()
    criterion.sizeAverage = size_average
    check_contract(criterion, leaf(x), Tensor._wrap(t), scale * np.sum((x - t) ** 2),
                   2 * scale * (x - t))
    gradcheck(lambda v: criterion.updateOutput(v, t), leaf(x))
    with pytest.raises(ValueError, match=r"nn.MSECriterion: target must have the input's"):
        criterion.forward(leaf(x), np.zeros(x.size + 1))


def test_criterion_stops_at_its_input():
    # the gradient goes to gradInput only; the model's graph is left for model.backward
    w = leaf([1.0, 2.0])
    y = w * 2
    criterion = nn.MSECriterion()
    criterion.forward(y, np.zeros(2))
    grad = criterion.backward(y, np.zeros(2))
    assert w.grad is None
    np.testing.assert_allclose(grad.numpy(), [2.0, 4.0])  # 2 (y - 0) / 2
    y.backward(grad)  # that graph is still intact
    np.testing.assert_allclose(w.grad.numpy(), [4.0, 8.0])


def test_backward_without_forward_and_twice():
    x, t = torch.Tensor([0.5, -1.0]).double(), torch.zeros(2).double()
    criterion = nn.MSECriterion()
    first = criterion.backward(x, t).numpy().copy()  # no forward before: computed anyway
    criterion.forward(x, t)
    np.testing.assert_allclose(criterion.backward(x, t).numpy(), first)
    np.testing.assert_allclose(criterion.backward(x, t).numpy(), first)  # not accumulated
    np.testing.assert_allclose(first, [0.5, -1.0])
    other = torch.Tensor([1.0, 1.0]).double()  # another input than the forward's
    np.testing.assert_allclose(criterion.backward(other, t).numpy(), [1.0, 1.0])


def test_call_and_repr():
    criterion = nn.MSECriterion()
    assert criterion(torch.ones(3), torch.zeros(3)) == 1.0 and criterion.sizeAverage
    assert criterion.cuda() is criterion and criterion.float() is criterion
    assert repr(nn.ClassNLLCriterion()) == "nn.ClassNLLCriterion"


@pytest.mark.parametrize("make, log_probs", [
    (nn.ClassNLLCriterion, True), (nn.CrossEntropyCriterion, False),
    (nn.BCECriterion, False), (nn.MSECriterion, False)])
def test_on_cuda_as_on_cpu(make, log_probs):
    # a CPU target with a CUDA input: the target follows the input (the simulator without
    # a GPU, see tests/conftest.py)
    rng = np.random.default_rng(0)
    if make in (nn.ClassNLLCriterion, nn.CrossEntropyCriterion):
        x, t = rng.standard_normal((3, 4)), torch.tensor(np.array([0, 3, 1]))
        x = log_softmax(x) if log_probs else x
    else:
        x, t = rng.uniform(0.1, 0.9, (3, 4)), torch.from_numpy(np.round(rng.random((3, 4))))
    on_cpu, on_cuda = make(), make().cuda()
    x = Tensor._wrap(x)
    assert on_cuda.forward(x.cuda(), t) == pytest.approx(on_cpu.forward(x, t), rel=1e-12)
    grad = on_cuda.backward(x.cuda(), t)
    assert grad.device == "cuda"
    np.testing.assert_allclose(grad.cpu().numpy(), on_cpu.backward(x, t).numpy(), rtol=1e-12)
