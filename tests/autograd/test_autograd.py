"""The graph and backward: requires_grad, accumulation, topological order, freed graphs,
grad modes, detach, long chains, the version counter and backward's errors."""

import sys

import numpy as np
import pytest

import minitorch7 as torch
from minitorch7.autograd import Function, is_grad_enabled, topological_order


def leaf(values):
    return torch.tensor(values, dtype=np.float64, requires_grad=True)


def test_requires_grad_propagates_and_leaves_are_leaves():
    x, c = leaf([1.0, 2.0]), torch.tensor([3.0, 4.0], dtype=np.float64)
    y = x * c
    assert x.is_leaf and not y.is_leaf and y.requires_grad
    assert not (c * c).requires_grad and (c * c).is_leaf
    assert x.requires_grad_(False) is x and not x.requires_grad
    with pytest.raises(RuntimeError, match="requires_grad_: only leaves"):
        y.requires_grad_(False)


def test_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 6])
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5, 7, 9])
    x.grad.zero()
    x.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1, 1, 1])


def test_backward_with_explicit_gradient():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    (x * 2).backward(torch.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=np.float64))
    np.testing.assert_allclose(x.grad.numpy(), [[2, 0], [1, 4]])


@pytest.mark.task_2_5
def test_broadcast_grads_are_summed_back_to_each_input():
    x, b, s = leaf(np.ones((2, 3))), leaf([1.0, 2.0, 3.0]), leaf([[2.0], [3.0]])
    ((x + b) * s).sum().backward()
    assert x.grad.shape == (2, 3) and b.grad.shape == (3,) and s.grad.shape == (2, 1)
    np.testing.assert_allclose(x.grad.numpy(), [[2, 2, 2], [3, 3, 3]])
    np.testing.assert_allclose(b.grad.numpy(), [5, 5, 5])
    np.testing.assert_allclose(s.grad.numpy(), [[9], [9]])


@pytest.mark.task_2_3
def test_topological_order_puts_every_node_after_its_inputs():
    x = leaf([1.0])
    a = x * 2
    b = a.exp()
    c = a * b
    order = topological_order(c._ctx)
    position = {id(ctx): i for i, ctx in enumerate(order)}
    assert len(order) == 3
    assert position[id(a._ctx)] < position[id(b._ctx)] < position[id(c._ctx)]


@pytest.mark.task_2_5
def test_diamond_graph_visits_the_shared_node_once_with_summed_gradient():
    calls = []

    class Counted(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 3

        @staticmethod
        def backward(ctx, grad):
            calls.append(grad.copy())
            return grad * 3

    x = leaf([1.0, 2.0])
    shared = Counted.apply(x)
    left, right = shared * shared, shared.exp()
    (left + right).sum().backward()
    assert len(calls) == 1  # its backward waits for both branches
    s = 3 * np.array([1.0, 2.0])
    np.testing.assert_allclose(calls[0], 2 * s + np.exp(s))
    np.testing.assert_allclose(x.grad.numpy(), 3 * (2 * s + np.exp(s)))


@pytest.mark.task_2_4
def test_deep_diamond_chain_gets_every_path():
    x = leaf([1.0])
    y = x
    for _ in range(30):  # 2^30 paths: only a correct ordering is fast and exact
        y = y + y
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0**30])


@pytest.mark.task_2_4
def test_chain_of_100000_ops_has_no_recursion_error():
    x = leaf([0.5])
    y = x
    for _ in range(100_000):
        y = y + 0.0
    assert sys.getrecursionlimit() < 100_000
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_second_backward_through_a_freed_graph_is_a_clear_error():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Mul: trying to backward through the graph a second "
                                           "time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4, 8])


def test_no_grad_and_enable_grad_as_context_managers():
    x = leaf([1.0])
    with torch.no_grad():
        assert not is_grad_enabled()
        y = x * 2
        with torch.enable_grad():
            z = x * 2
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad


def test_no_grad_and_enable_grad_as_decorators():
    @torch.no_grad()
    def step(t):
        return t * 2, is_grad_enabled()

    @torch.enable_grad()
    def inner(t):
        return t * 2

    x = leaf([1.0])
    y, enabled = step(x)
    assert not enabled and not y.requires_grad and is_grad_enabled()
    with torch.no_grad():
        assert inner(x).requires_grad


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError), torch.no_grad():
        raise KeyError("inside no_grad")
    assert is_grad_enabled()


def test_detach_shares_data_but_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    d.fill(0)
    assert np.all(y.numpy() == 0)
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0])


def test_in_place_change_of_a_saved_tensor_is_caught_by_backward():
    x = leaf([1.0, 2.0])
    a = x * 1
    y = (a * a).sum()
    a.add(1)  # Mul saved `a`
    with pytest.raises(RuntimeError, match="Mul: a tensor of size 2 that backward needs was "
                                           "modified in place .*version 0, now 1"):
        y.backward()


def test_in_place_change_through_a_view_is_caught():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    a = x * 1
    y = a.exp().sum()  # Exp saved its output; change the input instead: still fine
    a.select(0, 0).fill(0)
    y.backward()
    b = x * 1
    z = (b * 2).sum() + (b * b).sum()
    b.t().select(0, 1).fill(7)  # a view shares b's version counter
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_backward_on_a_non_scalar_needs_a_gradient():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="a gradient must be given for a non-scalar output "
                                           r"\(size 2\)"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="gradient has size 3 but the output has size 2"):
        (x * 2).backward(torch.ones(3, dtype=np.float64))


def test_backward_without_a_graph_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        torch.tensor([1.0]).sum().backward()


def test_retain_grad_fills_a_non_leaf_gradient():
    x = leaf([1.0, 2.0])
    h = (x * 2).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [4, 8])
    assert (x * 2).grad is None


def test_unused_inputs_get_no_gradient():
    x, y = leaf([1.0]), leaf([2.0])
    a = x * 2
    _ = y * 3  # not part of the loss
    a.sum().backward()
    assert y.grad is None and x.grad.numpy()[0] == 2


def test_custom_function_contract():
    class Cube(Function):
        """x^3 with d/dx = 3 x^2."""

        @staticmethod
        def forward(ctx, a, scale):
            ctx.save_for_backward(a)
            ctx.scale = scale
            return scale * a**3

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_arrays
            assert ctx.needs_input_grad == (True, False)
            return grad * 3 * ctx.scale * a**2, None

    x = leaf([1.0, 2.0])
    y = Cube.apply(x, 2.0)
    np.testing.assert_allclose(y.numpy(), [2, 16])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6, 24])
    assert torch.gradcheck(lambda t: Cube.apply(t, 2.0), (leaf([0.3, -1.2]),))


def test_gradients_keep_the_leaf_dtype():
    x = torch.ones(2, 3, requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.type() == "torch.FloatTensor"


def test_leaf_gradients_never_share_memory():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()  # Add hands one array to both inputs
    a.grad.fill(5)
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1])
    c, d = leaf([1.0]), leaf([2.0])
    seed = torch.tensor([1.0], dtype=np.float64)
    (c.clone() + d).backward(seed)
    c.grad.fill(7)
    assert d.grad.item() == 1 and seed.item() == 1

    class ReturnsSaved(Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(w)
            return x * w

        @staticmethod
        def backward(ctx, grad):
            (w,) = ctx.saved_arrays
            return w, None  # the saved array itself (right when grad is 1)

    x, w = leaf([1.0, 2.0]), torch.tensor([3.0, 4.0], dtype=np.float64)
    ReturnsSaved.apply(x, w).backward(torch.ones(2, dtype=np.float64))
    x.grad.zero()
    np.testing.assert_array_equal(w.numpy(), [3, 4])


def test_fresh_gradients_are_kept_and_then_accumulated_in_place():
    w = torch.ones(3, 2, dtype=np.float64, requires_grad=True)
    x = torch.ones(4, 2, dtype=np.float64)
    (x @ w.t()).sum().backward()
    first = w.grad.numpy()
    (x @ w.t()).sum().backward()
    assert w.grad.numpy() is first  # accumulated in place
    np.testing.assert_array_equal(first, np.full((3, 2), 8))
