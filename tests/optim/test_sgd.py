"""optim.sgd (closure) and optim.SGD (object): dpnn's damped momentum, Nesterov, weight decay."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn, optim


def fixed_grads(grads):
    """A feval returning the next gradient of ``grads`` each call (loss = call number)."""
    calls = iter(range(len(grads)))

    def feval(x):
        i = next(calls)
        return float(i), torch.tensor(grads[i])
    return feval


def test_sgd_closure_damped_momentum_by_hand():
    x = torch.tensor([1.0, -2.0])
    feval = fixed_grads([[1.0, 2.0], [3.0, -1.0], [0.0, 4.0]])
    config = {"learningRate": 0.5, "momentum": 0.9}
    # v1 = g1 = (1, 2)                         x = (1, -2) - 0.5 (1, 2)       = (0.5, -3)
    # v2 = 0.9 (1, 2) + 0.1 (3, -1) = (1.2, 1.7)   x = (0.5, -3) - 0.5 (1.2, 1.7) = (-0.1, -3.85)
    # v3 = 0.9 (1.2, 1.7) + 0.1 (0, 4) = (1.08, 1.93)  x = (-0.64, -4.815)
    expected = [[0.5, -3.0], [-0.1, -3.85], [-0.64, -4.815]]
    for step, want in enumerate(expected):
        out, losses = optim.sgd(feval, x, config)
        assert out is x and losses == [float(step)]
        np.testing.assert_allclose(x.numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(config["dfdx"], [1.08, 1.93], rtol=1e-6)  # state defaults to config
    assert config["evalCounter"] == 3


def test_sgd_closure_nesterov_dampening_weight_decay_and_lr_decay_by_hand():
    x = torch.tensor([2.0])
    feval = fixed_grads([[1.0], [1.0]])
    config = {"learningRate": 0.1, "momentum": 0.5, "dampening": 0.0, "nesterov": True,
              "weightDecay": 0.5, "learningRateDecay": 1.0}
    state = {}
    # step 1: g = 1 + 0.5*2 = 2; v = 2; d = g + 0.5 v = 3; lr 0.1/(1+0) -> x = 2 - 0.3 = 1.7
    optim.sgd(feval, x, config, state)
    np.testing.assert_allclose(x.numpy(), [1.7], rtol=1e-6)
    # step 2: g = 1 + 0.85 = 1.85; v = 0.5*2 + 1.85 = 2.85; d = 1.85 + 1.425 = 3.275;
    #         lr 0.1/(1+1) = 0.05 -> x = 1.7 - 0.16375 = 1.53625
    optim.sgd(feval, x, config, state)
    np.testing.assert_allclose(x.numpy(), [1.53625], rtol=1e-6)
    assert "dfdx" not in config  # an explicit state keeps config clean


def test_sgd_without_momentum_is_a_plain_gradient_step():
    x = torch.tensor([1.0, 1.0])
    optim.sgd(fixed_grads([[2.0, -4.0]]), x, {"learningRate": 0.25})
    np.testing.assert_allclose(x.numpy(), [0.5, 2.0])


def _mlp():
    return nn.Sequential().add(nn.Linear(4, 3)).add(nn.Tanh()).add(nn.Linear(3, 2))


@settings(max_examples=10, deadline=None)
@given(momentum=st.sampled_from([0.0, 0.5, 0.9]), damp=st.sampled_from([None, 0.0, 0.3]),
       nesterov=st.booleans(), lr=st.floats(0.01, 0.5))
def test_sgd_object_matches_module_updateGradParameters_and_updateParameters(
        momentum, damp, nesterov, lr):
    torch.manualSeed(0)
    reference = _mlp().double()
    model = reference.clone()
    sgd = optim.SGD(model, learningRate=lr, momentum=momentum, dampening=damp, nesterov=nesterov)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = torch.from_numpy(rng.standard_normal((5, 4)))
        gy = torch.from_numpy(rng.standard_normal((5, 2)))
        for m in (reference, model):
            m.zeroGradParameters()
            m.forward(x)
            m.backward(x, gy)
        reference.updateGradParameters(momentum, damp, nesterov)
        reference.updateParameters(lr)
        sgd.step()
    for p, q in zip(reference.parameters()[0], model.parameters()[0]):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-12, atol=1e-12)


def test_sgd_object_closure_and_flat_parameters_agree():
    torch.manualSeed(3)
    a = _mlp().double()
    b = a.clone()
    flat, flat_grad = b.getParameters()
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((5, 4)))
    gy = torch.from_numpy(np.ones((5, 2)))
    config = {"learningRate": 0.1, "momentum": 0.9, "weightDecay": 1e-2}
    opt = optim.SGD(a, **config)

    def feval(params):
        b.zeroGradParameters()
        b.forward(x)
        b.backward(x, gy)
        return 0.0, flat_grad
    for _ in range(3):
        opt.zero_grad()
        a.forward(x)
        a.backward(x, gy)
        opt.step()
        optim.sgd(feval, flat, config)
    for p, q in zip(a.parameters()[0], b.parameters()[0]):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-12)


def test_sgd_object_zero_grad_and_unknown_option():
    model = _mlp()
    for g in model.parameters()[1]:
        g.fill(1)
    optim.SGD(model).zero_grad()
    assert all(not g.numpy().any() for g in model.parameters()[1])
    with pytest.raises(TypeError, match="SGD: unknown option.*lr"):
        optim.SGD(model, lr=0.1)


@pytest.mark.parametrize("make", [
    lambda m: optim.SGD(m, learningRate=0.1, momentum=0.9, nesterov=True, weightDecay=0.01),
    lambda m: optim.Adam(m, learningRate=0.1)])
def test_optimizers_step_cuda_parameters_like_cpu_ones(make):
    """CUDA tensors (the numba.cuda simulator without a GPU) take the same steps."""
    torch.manualSeed(0)
    cpu = nn.Linear(3, 2)
    gpu = cpu.clone().cuda()
    for m in (cpu, gpu):
        for g in m.parameters()[1]:
            g.fill(0.5)
    on_cpu, on_gpu = make(cpu), make(gpu)
    for _ in range(2):
        on_cpu.step()
        on_gpu.step()
    for p, q in zip(cpu.parameters()[0], gpu.parameters()[0]):
        assert q.device == "cuda"
        np.testing.assert_allclose(q.cpu().numpy(), p.numpy(), rtol=1e-6)
