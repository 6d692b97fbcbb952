"""Softmax, log-softmax, NLL and BCE: forward against NumPy formulas (also at extreme
values), gradients by gradcheck."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.ops.nnfunc import BCELoss, NLLLoss
from minitorch7.testing import arrays, check_op, layouts, shapes

FAST = settings(max_examples=30, deadline=None)


def np_log_softmax(x, dim):
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


@st.composite
def array_and_dim(draw):
    shape = draw(shapes())
    return draw(layouts())(draw(arrays(shape, low=-5, high=5))), draw(
        st.integers(-len(shape), len(shape) - 1))


@FAST
@given(array_and_dim())
def test_log_softmax(case):
    a, dim = case
    check_op(lambda x: x.log_softmax(dim), lambda x: np_log_softmax(x, dim), a)


@FAST
@given(array_and_dim())
def test_softmax(case):
    a, dim = case
    check_op(lambda x: x.softmax(dim), lambda x: np.exp(np_log_softmax(x, dim)), a)


def test_log_softmax_is_stable_for_large_inputs():
    x = torch.tensor([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(x.log_softmax(1).numpy(), [[0.0, -1000.0, -2000.0]])
    np.testing.assert_allclose(x.softmax(1).numpy(), [[1.0, 0.0, 0.0]])


@st.composite
def logits_and_targets(draw):
    batch, classes = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    logp = draw(arrays((batch, classes)))
    target = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=batch,
                                    max_size=batch)), np.int64)
    return logp, target


@pytest.mark.task_4_3
@FAST
@given(logits_and_targets(), st.booleans())
def test_nll(case, size_average):
    logp, target = case
    scale = 1 / len(target) if size_average else 1.0

    def reference(lp, t):
        return -lp[np.arange(len(t)), t].sum() * scale

    check_op(lambda lp, t: NLLLoss.apply(lp, t, size_average), reference, logp, target)


@pytest.mark.task_4_3
@FAST
@given(logits_and_targets())
def test_log_softmax_then_nll_gradient_is_softmax_minus_onehot(case):
    x, target = case
    check_op(lambda z, t: NLLLoss.apply(z.log_softmax(1), t, True),
             lambda z, t: -np_log_softmax(z, 1)[np.arange(len(t)), t].mean(), x, target)
    logits = torch.from_numpy(x.copy()).requires_grad_()
    NLLLoss.apply(logits.log_softmax(1), torch.from_numpy(target), True).backward()
    onehot = np.eye(x.shape[1])[target]
    np.testing.assert_allclose(logits.grad.numpy(),
                               (np.exp(np_log_softmax(x, 1)) - onehot) / len(target), atol=1e-12)


@pytest.mark.task_4_3
def test_nll_single_sample():
    logp = torch.tensor([-1.0, -2.0, -3.0], dtype=np.float64, requires_grad=True)
    loss = NLLLoss.apply(logp, torch.LongTensor([1]), True)
    assert loss.item() == pytest.approx(2.0)
    loss.backward()
    np.testing.assert_array_equal(logp.grad.numpy(), [0, -1, 0])


@pytest.mark.task_3_3
@FAST
@given(data=st.data(), size_average=st.booleans())
def test_bce(data, size_average):
    shape = data.draw(shapes())
    x = data.draw(arrays(shape, low=0.05, high=0.95))
    target = torch.from_numpy((data.draw(arrays(shape)) > 0).astype(np.float32))
    scale = 1 / x.size if size_average else 1.0

    def reference(p, t):
        return -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p)) * scale

    check_op(lambda p, t: BCELoss.apply(p, t, size_average), reference, x, target)


@pytest.mark.task_3_3
def test_bce_is_finite_at_zero_and_one():
    p = torch.tensor([0.0, 1.0], requires_grad=True)
    loss = BCELoss.apply(p, torch.tensor([1.0, 0.0]), True)
    assert np.isfinite(loss.item()) and loss.item() > 10
    loss.backward()
    assert np.all(np.isfinite(p.grad.numpy()))
