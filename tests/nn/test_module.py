"""The Module contract (Torch7's nn with dpnn's helpers): forward/backward, gradient
accumulation, updateParameters, updateGradInput + accGradParameters with a scale,
parameters and getParameters, modes, types, clone/share/outside, printing, and the
momentum / clipping / max-norm helpers against hand computations."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.testing import arrays


def mlp():
    """Two Linear layers with a (parameter-free) module between them."""
    return nn.Sequential().add(nn.Linear(3, 4)).add(nn.Identity()).add(nn.Linear(4, 2))


def set_grads(module, rng):
    """Fill every gradient with random values; returns copies of them."""
    grads = module.parameters()[1]
    for g in grads:
        g.data[...] = rng.standard_normal(g.shape)
    return [g.numpy().copy() for g in grads]


# ---- forward, backward, accumulation ----------------------------------------------------
@pytest.mark.task_3_5
def test_linear_forward_backward_and_accumulation():
    module = nn.Linear(3, 2).double()
    x, g = torch.randn(4, 3).double(), torch.randn(4, 2).double()
    w, b = module.weight.numpy(), module.bias.numpy()
    np.testing.assert_allclose(module(x).numpy(), x.numpy() @ w.T + b)  # __call__ = forward
    np.testing.assert_allclose(module.backward(x, g).numpy(), g.numpy() @ w)
    np.testing.assert_allclose(module.gradWeight.numpy(), g.numpy().T @ x.numpy())
    np.testing.assert_allclose(module.gradBias.numpy(), g.numpy().sum(0))
    module.forward(x)
    module.backward(x, g)  # gradients add up until zeroGradParameters
    np.testing.assert_allclose(module.gradWeight.numpy(), 2 * g.numpy().T @ x.numpy())
    module.zeroGradParameters()
    assert not module.gradWeight.numpy().any() and not module.gradBias.numpy().any()


@pytest.mark.task_3_5
def test_update_grad_input_and_acc_grad_parameters_with_scale():
    net = mlp().double()
    x, g = torch.randn(2, 3).double(), torch.randn(2, 2).double()
    net.forward(x)
    full = net.backward(x, g).numpy().copy()
    grads = [p.numpy().copy() for p in net.parameters()[1]]
    net.zeroGradParameters()
    net.forward(x)
    np.testing.assert_allclose(net.updateGradInput(x, g).numpy(), full)
    assert not any(p.numpy().any() for p in net.parameters()[1])  # held back
    net.accGradParameters(x, g, 0.5)
    for p, expected in zip(net.parameters()[1], grads):
        np.testing.assert_allclose(p.numpy(), 0.5 * expected)
    net.forward(x)
    net.backward(x, g, 2)  # backward with a scale adds 2x
    for p, expected in zip(net.parameters()[1], grads):
        np.testing.assert_allclose(p.numpy(), 2.5 * expected)


def test_update_parameters():
    net = mlp()
    before = [p.numpy().copy() for p in net.parameters()[0]]
    grads = set_grads(net, np.random.default_rng(0))
    net.updateParameters(0.1)
    for p, b, g in zip(net.parameters()[0], before, grads):
        np.testing.assert_allclose(p.numpy(), b - 0.1 * g, rtol=1e-6)


def test_backward_errors_name_the_module_and_sizes():
    module = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="Linear: backward called before forward"):
        module.backward(torch.rand(3), torch.rand(2))
    module.forward(torch.rand(4, 3))
    with pytest.raises(ValueError, match="Linear: gradOutput has size 4x3, output has size 4x2"):
        module.backward(torch.rand(4, 3), torch.rand(4, 3))


# ---- parameters ------------------------------------------------------------------------
def test_parameters_are_depth_first_without_repeats():
    net = mlp()
    params, grads = net.parameters()
    first, last = net.get(0), net.get(2)
    assert [id(p) for p in params] == [id(first.weight), id(first.bias), id(last.weight),
                                       id(last.bias)]
    assert [id(g) for g in grads] == [id(p.grad) for p in params]
    assert first.gradWeight is first.weight.grad
    shared = nn.Sequential().add(first).add(first)  # the same module twice counts once
    assert len(shared.parameters()[0]) == 2


@pytest.mark.task_3_5
def test_get_parameters_gives_flat_views():
    net = mlp()
    flat, flat_grad = net.getParameters()
    assert flat.shape == flat_grad.shape == (3 * 4 + 4 + 4 * 2 + 2,)
    first = net.get(0)
    np.testing.assert_array_equal(flat.numpy()[:12], first.weight.numpy().ravel())
    flat.numpy()[:] = 0.5  # writing the flat tensor changes the module
    assert np.all(first.weight.numpy() == 0.5) and np.all(net.get(2).bias.numpy() == 0.5)
    x = torch.randn(2, 3)
    net.forward(x)
    net.backward(x, torch.ones(2, 2))  # backward fills the flat gradient
    np.testing.assert_array_equal(
        flat_grad.numpy(), np.concatenate([g.numpy().ravel() for g in net.parameters()[1]]))
    assert flat_grad.numpy().any()
    net.updateParameters(1.0)  # updates keep the views
    np.testing.assert_allclose(flat.numpy(), 0.5 - flat_grad.numpy())
    net.zeroGradParameters()
    assert not flat_grad.numpy().any()


# ---- modes, types, copies --------------------------------------------------------------
def test_training_and_evaluate_reach_every_module():
    net = nn.Sequential().add(nn.Linear(2, 2)).add(nn.Sequential().add(nn.Dropout(0.5)))
    net.evaluate()
    assert not any(m.train for m in net.modules_depth_first())
    x = torch.ones(3, 2)
    np.testing.assert_array_equal(net.forward(x).numpy(), net.get(0).forward(x).numpy())
    net.training()
    assert all(m.train for m in net.modules_depth_first())


def test_float_and_double_convert_parameters_gradients_and_buffers():
    net = nn.Sequential().add(nn.Linear(2, 3)).add(nn.BatchNormalization(3)).double()
    for p in net.parameters()[0]:
        assert p.type() == "torch.DoubleTensor" and p.grad.type() == "torch.DoubleTensor"
    assert net.get(1).running_var.type() == "torch.DoubleTensor"
    assert net.get(0).forward(torch.rand(4, 2).double()).type() == "torch.DoubleTensor"
    net.float()
    assert all(p.type() == "torch.FloatTensor" for p in net.parameters()[0])
    assert net.get(1).running_mean.type() == "torch.FloatTensor"


def test_clone_is_independent():
    net = mlp()
    copy = net.clone()
    assert repr(copy) == repr(net)
    for p, q in zip(net.parameters()[0], copy.parameters()[0]):
        assert p is not q
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    copy.get(0).weight.fill(3)
    assert not np.any(net.get(0).weight.numpy() == 3)


@pytest.mark.task_3_1
def test_share_uses_the_same_parameters_and_gradients():
    a = nn.Linear(2, 2)
    b = a.clone().share(a, "weight", "bias", "gradWeight", "gradBias")
    assert b.weight is a.weight and b.gradBias is a.gradBias
    x = torch.rand(1, 2)
    a.forward(x)
    a.backward(x, torch.ones(1, 2))
    b.forward(x)
    b.backward(x, torch.ones(1, 2))
    np.testing.assert_allclose(a.gradBias.numpy(), [2, 2])  # both backwards add up
    a.weight.fill(1)
    assert np.all(b.weight.numpy() == 1)


def test_outside_gives_the_output_size():
    net = nn.Sequential().add(nn.Collapse(3)).add(nn.Linear(784, 10))
    assert tuple(net.outside((5, 1, 28, 28))) == (5, 10)


# ---- printing --------------------------------------------------------------------------
def test_printing_as_torch7():
    net = nn.Sequential().add(nn.Linear(2, 1)).add(nn.Sigmoid())
    assert repr(net) == ("nn.Sequential {\n"
                         "  [input -> (1) -> (2) -> output]\n"
                         "  (1): nn.Linear(2 -> 1)\n"
                         "  (2): nn.Sigmoid\n"
                         "}")
    outer = nn.Sequential().add(nn.Tanh()).add(net)
    assert repr(outer).split("\n")[3:6] == ["  (2): nn.Sequential {",
                                            "    [input -> (1) -> (2) -> output]",
                                            "    (1): nn.Linear(2 -> 1)"]


# ---- dpnn helpers ----------------------------------------------------------------------
@pytest.mark.task_3_4
@settings(max_examples=25, deadline=None)
@given(mom=st.floats(0.1, 0.99), damp=st.none() | st.floats(0, 0.99), nesterov=st.booleans(),
       steps=st.integers(1, 4), seed=st.integers(0, 1000))
def test_momentum_against_hand_computation(mom, damp, nesterov, steps, seed):
    net = mlp().double()
    rng = np.random.default_rng(seed)
    d = mom if damp is None else damp
    velocity = None
    for _ in range(steps):
        grads = set_grads(net, rng)
        net.updateGradParameters(mom, damp, nesterov)
        if velocity is None:
            velocity = [g.copy() for g in grads]  # the first call copies the gradient
        else:
            velocity = [mom * v + (1 - d) * g for v, g in zip(velocity, grads)]
        expected = [g + mom * v for g, v in zip(grads, velocity)] if nesterov else velocity
        for p, e in zip(net.parameters()[1], expected):
            np.testing.assert_allclose(p.numpy(), e, rtol=1e-12)


@pytest.mark.task_3_4
def test_momentum_default_damping_is_an_average():
    net = nn.Linear(1, 1).double()
    net.gradWeight.fill(1.0)
    net.updateGradParameters(0.9)  # v = g = 1
    net.gradWeight.fill(2.0)
    net.updateGradParameters(0.9)  # v = 0.9 * 1 + 0.1 * 2
    assert net.gradWeight.item() == pytest.approx(1.1)
    net.updateGradParameters(0)  # momFactor <= 0 does nothing
    assert net.gradWeight.item() == pytest.approx(1.1)


def test_momentum_makes_no_gradient_sized_temporary():
    """After the first call (which allocates the velocity), dpnn momentum works in the
    memory it has: a 100,000-number gradient gets no temporary of its size (a fresh
    array's pages cost as much as a pass over it; the language model's momentum was a
    third slower with them)."""
    net = nn.Linear(500, 200)
    set_grads(net, np.random.default_rng(0))
    net.updateGradParameters(0.9)
    tracemalloc.start()
    try:
        net.updateGradParameters(0.9)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < net.weight.data.nbytes // 4


@pytest.mark.task_6_6
@settings(max_examples=25, deadline=None)
@given(cutoff=st.floats(0.1, 10), seed=st.integers(0, 1000))
def test_grad_param_clip(cutoff, seed):
    net = mlp().double()
    grads = set_grads(net, np.random.default_rng(seed))
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    assert net.gradParamClip(cutoff) == pytest.approx(norm)  # the norm before clipping
    scale = min(1.0, cutoff / norm)
    for p, g in zip(net.parameters()[1], grads):
        np.testing.assert_allclose(p.numpy(), scale * g, rtol=1e-12)
    after = np.sqrt(sum((p.numpy() ** 2).sum() for p in net.parameters()[1]))
    assert after == pytest.approx(min(norm, cutoff))


def test_grad_param_clip_on_cuda_as_on_cpu():
    """The norm is summed on the device (the CUDA simulator without a GPU)."""
    on_cpu = mlp().double()
    grads = set_grads(on_cpu, np.random.default_rng(3))
    on_cuda = on_cpu.clone().cuda()
    norm = np.sqrt(sum((g ** 2).sum() for g in grads))
    assert on_cuda.gradParamClip(0.5) == pytest.approx(norm, rel=1e-12)
    for p, g in zip(on_cuda.parameters()[1], grads):
        np.testing.assert_allclose(p.cpu().numpy(), 0.5 / norm * g, rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(w=arrays((4, 3)), max_norm=st.floats(0.5, 4))
def test_max_param_norm(w, max_norm):
    module = nn.Linear(3, 4).double()
    module.weight.copy(w)
    bias = module.bias.numpy().copy()
    module.maxParamNorm(max_norm)
    norms = np.linalg.norm(w, axis=1)
    expected = w * np.where(norms > max_norm, max_norm / (norms + 1e-7), 1)[:, None]
    np.testing.assert_allclose(module.weight.numpy(), expected)
    np.testing.assert_array_equal(module.bias.numpy(), bias)  # only weight matrices
    module.maxParamNorm(-1)  # <= 0 does nothing
    np.testing.assert_allclose(module.weight.numpy(), expected)


@pytest.mark.task_3_5
def test_zero_grad_and_update_parameters_step_every_parameter_in_place():
    model = nn.Sequential().add(nn.Linear(3, 2)).add(nn.Linear(2, 1))
    params, grads = model.parameters()
    before = [p.numpy().copy() for p in params]
    versions = [p._version[0] for p in params]
    for k, g in enumerate(grads):
        g.fill(k + 1.0)
    model.updateParameters(0.5)
    for k, (p, old) in enumerate(zip(params, before)):
        np.testing.assert_allclose(p.numpy(), old - 0.5 * (k + 1.0), rtol=1e-6)
    assert all(p._version[0] > v for p, v in zip(params, versions))
    model.zeroGradParameters()
    assert all(not g.numpy().any() for g in grads)
    assert model.parameters()[1][0] is grads[0]  # zeroed in place, not replaced


def test_backward_twice_after_one_forward_accumulates():
    """Torch7: backward may be called again after one forward; the parameter gradients
    add up (until zeroGradParameters) and gradInput is the same each time."""
    torch.manualSeed(3)
    model = mlp().add(nn.Tanh())
    x, g = torch.Tensor(5, 3).uniform(-1, 1), torch.Tensor(5, 2).uniform(-1, 1)
    model.zeroGradParameters()
    model.forward(x)
    first = model.backward(x, g).clone()
    once = [p.clone() for p in model.parameters()[1]]
    second = model.backward(x, g)
    np.testing.assert_allclose(second.numpy(), first.numpy(), rtol=1e-6)
    for grad, one in zip(model.parameters()[1], once):
        np.testing.assert_allclose(grad.numpy(), 2 * one.numpy(), rtol=1e-5, atol=1e-7)
    model.zeroGradParameters()
    model.backward(x, g)
    for grad, one in zip(model.parameters()[1], once):
        np.testing.assert_allclose(grad.numpy(), one.numpy(), rtol=1e-5, atol=1e-7)


def test_backward_with_scale_twice_after_one_forward():
    torch.manualSeed(4)
    model = mlp()
    x, g = torch.Tensor(2, 3).uniform(-1, 1), torch.Tensor(2, 2).uniform(-1, 1)
    model.zeroGradParameters()
    model.forward(x)
    model.backward(x, g)
    once = [p.clone() for p in model.parameters()[1]]
    model.backward(x, g, 0.5)
    for grad, one in zip(model.parameters()[1], once):
        np.testing.assert_allclose(grad.numpy(), 1.5 * one.numpy(), rtol=1e-5, atol=1e-7)


def test_a_new_forward_frees_the_previous_graph():
    """At most one graph per module: the one of its latest forward. The output of an
    earlier forward (still held here) has its saved values dropped."""
    torch.manualSeed(5)
    model = mlp().add(nn.Tanh())
    x = torch.Tensor(2, 3).uniform(-1, 1)
    old = model.forward(x)
    model.backward(x, torch.Tensor(2, 2).fill(1))
    assert old._ctx.saved  # kept after backward, for another backward
    model.forward(x)
    assert not old._ctx.saved and old._ctx.freed
    with pytest.raises(RuntimeError, match="second time"):
        old.sum().backward()
    model.backward(x, torch.Tensor(2, 2).fill(1))  # the new graph is there


def test_criterion_backward_twice():
    criterion = nn.MSECriterion()
    x, y = torch.Tensor([[1.0, 2.0]]), torch.Tensor([[0.0, 0.0]])
    criterion.forward(x, y)
    first = criterion.backward(x, y).clone()
    np.testing.assert_allclose(criterion.backward(x, y).numpy(), first.numpy())
