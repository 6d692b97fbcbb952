"""gradcheck itself: it passes correct ops, and a deliberately wrong backward raises
GradcheckError naming the input, the element and both values (full and fast mode)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.autograd import Function, GradcheckError
from minitorch7.testing import tensors

FAST = settings(max_examples=20, deadline=None)


class WrongSquare(Function):
    """x^2 with a wrong backward (2x + 1 at the last element) to catch."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a * a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_arrays
        wrong = 2 * a
        wrong.reshape(-1)[-1] += 1
        return grad * wrong


class ForgetsSecondInput(Function):
    """a * b whose backward returns no gradient for b."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_arrays
        return grad * b, None


@pytest.mark.task_2_6
@FAST
@given(tensors(), tensors(shape=(2, 3), low=-1.0, high=1.0))
def test_passes_on_correct_ops(x, w):
    """(w in [-1, 1]: exp(w @ w.T) stays below e^3. With w in [-3, 3] it reaches e^27, and a
    central difference of it has a rounding error of ulp(f) / 2eps, more than gradcheck's
    atol: hypothesis found such a case, 0.70 against the true 0.66, in CI.)"""
    assert torch.gradcheck(lambda t: (t * t).exp().sum(0), (x,))
    assert torch.gradcheck(lambda a, b: (a @ b.t()).exp(), (w, w.clone().detach()
                                                              .requires_grad_()))
    assert torch.gradcheck(lambda t: (t * 2, t.sum()), x)  # several outputs


@pytest.mark.task_2_4
def test_wrong_backward_is_named_by_input_element_and_values():
    x = torch.tensor([[0.5, 1.0], [1.5, 2.0]], dtype=np.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 0, output element 3, input element \(1, 1\):"
                                             r" numerical 4, analytical 5"):
        torch.gradcheck(WrongSquare.apply, (x,))


@pytest.mark.task_2_4
def test_missing_gradient_for_the_second_input_is_caught():
    a = torch.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    b = torch.tensor([3.0, 4.0], dtype=np.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 1, output element 0, input element \(0,\): "
                                             "numerical 1, analytical 0"):
        torch.gradcheck(ForgetsSecondInput.apply, (a, b))
    assert torch.gradcheck(ForgetsSecondInput.apply, (a, b.detach()))  # b not checked


def test_numerical_jacobian_leaves_inputs_unchanged():
    x = torch.tensor([0.25, -1.0, 3.0], dtype=np.float64, requires_grad=True)
    before = x.numpy().copy()
    torch.gradcheck(lambda t: t.exp(), (x,))
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None


@FAST
@given(tensors())
def test_fast_mode_passes_on_correct_ops(x):
    assert torch.gradcheck(lambda t: (t * t.exp()).sum(), (x,), fast_mode=True)


def test_fast_mode_catches_a_wrong_backward():
    x = torch.tensor([0.5, 1.0, 1.5], dtype=np.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="input 0, projection v\\^T J u: numerical"):
        torch.gradcheck(WrongSquare.apply, (x,), fast_mode=True)


def test_float32_inputs_are_rejected():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="gradcheck: input 0 is float32; finite differences "
                                        r"need float64 inputs \(use .double\(\)\)"):
        torch.gradcheck(lambda t: t * 2, (x,))


def test_nothing_to_check_is_an_error():
    with pytest.raises(ValueError, match="gradcheck: no input requires grad"):
        torch.gradcheck(lambda t: t * 2, (torch.tensor([1.0], dtype=np.float64),))


def test_tolerances_are_pytorchs():
    x = torch.tensor([1.0], dtype=np.float64, requires_grad=True)

    class SlightlyOff(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 1000

        @staticmethod
        def backward(ctx, grad):
            return grad * 1000.5  # 5e-4 relative: inside rtol 1e-3

    assert torch.gradcheck(SlightlyOff.apply, (x,))
    with pytest.raises(GradcheckError):
        torch.gradcheck(SlightlyOff.apply, (x,), rtol=1e-4)


@pytest.mark.task_2_1
@FAST
@given(st.sampled_from([(1,), (3,), (2, 2), (3, 1)]).flatmap(
    lambda shape: tensors(shape=shape, low=-1.5, high=1.5)))
def test_numerical_jacobian_by_central_differences(x):
    """Forward only (no backward is needed yet): the Jacobian of exp(t * t) summed over dim
    0 against its formula, and the directional derivative J u against J @ u."""
    from minitorch7.autograd.gradcheck import _directional, _numerical_jacobian

    def fn(t):
        return (t * t).exp().sum(0)

    before = x.numpy().copy()
    values = before.reshape(before.shape[0], -1)
    jacobian = np.zeros((values.shape[1], values.size))  # out k = column k of values
    for i in range(values.shape[0]):
        for k in range(values.shape[1]):
            jacobian[k, i * values.shape[1] + k] = 2 * values[i, k] * np.exp(values[i, k] ** 2)
    numerical = _numerical_jacobian(fn, (x,), x, 1e-6)
    np.testing.assert_allclose(numerical, jacobian, rtol=1e-5, atol=1e-6)
    u = np.linspace(-1, 1, x.nElement()).reshape(x.shape)
    np.testing.assert_allclose(_directional(fn, (x,), x, u, 1e-6), jacobian @ u.ravel(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(x.numpy(), before)  # every nudge undone
