"""optim.adam and optim.Adam against a NumPy transcription of Kingma and Ba's algorithm."""

import numpy as np

import minitorch7 as torch
from minitorch7 import nn, optim


def adam_reference(x, grads, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, wd=0.0, lrd=0.0):
    x, m, v = x.copy(), np.zeros_like(x), np.zeros_like(x)
    for t, g in enumerate(grads, start=1):
        g = g + wd * x
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
        # Torch7 adds epsilon to sqrt(v) before the bias correction of the step size
        x = x - lr / (1 + (t - 1) * lrd) * m_hat / (np.sqrt(v_hat) + eps / np.sqrt(1 - beta2 ** t))
    return x


def test_adam_closure_matches_numpy_reference():
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(6)
    grads = [rng.standard_normal(6) for _ in range(5)]
    config = {"learningRate": 0.01, "beta1": 0.8, "weightDecay": 0.1, "learningRateDecay": 0.5}
    x = torch.from_numpy(x0.copy())
    calls = iter(grads)
    for _ in grads:
        _, losses = optim.adam(lambda p: (1.5, torch.from_numpy(next(calls))), x, config)
        assert losses == [1.5]
    want = adam_reference(x0, grads, lr=0.01, beta1=0.8, wd=0.1, lrd=0.5)
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-10)
    assert config["t"] == 5


def test_adam_object_steps_every_parameter():
    torch.manualSeed(0)
    model = nn.Linear(3, 2).double()
    before = [p.numpy().copy() for p in model.parameters()[0]]
    rng = np.random.default_rng(1)
    grads = [[rng.standard_normal(p.shape) for p in before] for _ in range(3)]
    opt = optim.Adam(model, learningRate=0.05)
    for step in grads:
        for g, value in zip(model.parameters()[1], step):
            g.numpy()[...] = value
        opt.step()
    for i, p in enumerate(model.parameters()[0]):
        want = adam_reference(before[i], [step[i] for step in grads], lr=0.05)
        np.testing.assert_allclose(p.numpy(), want, rtol=1e-10)
