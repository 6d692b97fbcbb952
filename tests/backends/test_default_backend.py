"""The Numba CPU backend end to end: a training step of the lab's CNN and MLP gives the same
loss and gradients as on the NumPy reference (the rest of the suite runs on numpy_ref)."""

import numpy as np
import pytest

import minitorch7 as torch
from minitorch7 import backends, nn


def _lab_cnn():
    return (nn.Sequential()
            .add(nn.SpatialConvolution(1, 4, 5, 5, 1, 1, 2, 2)).add(nn.ReLU())
            .add(nn.SpatialMaxPooling(2, 2, 2, 2))
            .add(nn.Collapse(3)).add(nn.Linear(4 * 6 * 6, 10)).add(nn.LogSoftMax()))


def _lab_mlp():
    return (nn.Sequential().add(nn.Collapse(3)).add(nn.Linear(144, 20)).add(nn.Tanh())
            .add(nn.Linear(20, 10)).add(nn.LogSoftMax()))


@pytest.fixture
def restore_backend():
    previous = backends.get_cpu_backend().__name__.rsplit(".", 1)[-1]
    yield
    backends.set_cpu_backend(previous)


def _step(build, backend):
    backends.set_cpu_backend(backend)
    torch.manualSeed(0)
    model, criterion = build(), nn.ClassNLLCriterion()
    inputs = torch.rand(8, 1, 12, 12)
    targets = torch.LongTensor([0, 1, 2, 3, 4, 5, 6, 7])
    outputs = model.forward(inputs)
    loss = criterion.forward(outputs, targets)
    model.zeroGradParameters()
    gradInput = model.backward(inputs, criterion.backward(outputs, targets))
    return loss, gradInput.numpy().copy(), [g.numpy().copy() for g in model.parameters()[1]]


@pytest.mark.parametrize("build", [_lab_cnn, _lab_mlp], ids=["cnn", "mlp"])
def test_numba_cpu_step_matches_numpy_ref(build, restore_backend):
    loss, grad_input, grads = _step(build, "numba_cpu")
    ref_loss, ref_grad_input, ref_grads = _step(build, "numpy_ref")
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(grad_input, ref_grad_input, rtol=1e-4, atol=1e-6)
    for g, ref in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, ref, rtol=1e-4, atol=1e-6)
