"""The recurrent attention model's modules: HardTanh and MulConstant (gradchecks, Torch7's
zero gradient at HardTanh's bounds), SpatialGlimpse against a per-example NumPy transcription
of dpnn's SpatialGlimpse.lua (gradcheck wrt the image; no gradient to the location),
rnn's Recurrent against NumPy and through BPTT, RecurrentAttention through time with a
deterministic locator, and its REINFORCE gradient reaching the locator."""

import math

import numpy as np
import pytest
from helpers import check_module_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.random import generator
from minitorch7.tensor import Tensor

FEW = settings(max_examples=6, deadline=None)


def tensor(array, dtype=np.float64):
    return Tensor._wrap(np.asarray(array, dtype))


# ---- HardTanh, MulConstant ---------------------------------------------------------------

@FEW
@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 100))
def test_hardtanh_gradcheck_and_values(batch, n, seed):
    x = np.random.default_rng(seed).uniform(-2, 2, (batch, n))
    x[np.abs(np.abs(x) - 1) < 1e-3] = 0.5  # finite differences need x off the bounds
    np.testing.assert_array_equal(nn.HardTanh().forward(tensor(x)).data, np.clip(x, -1, 1))
    check_module_grads(nn.HardTanh(), tensor(x))
    check_module_grads(nn.HardTanh(-0.5, 0.25), tensor(x))


def test_hardtanh_gradient_is_zero_at_the_bounds_as_torch7():
    x = tensor([-2.0, -1.0, 0.0, 1.0, 2.0])
    module = nn.HardTanh()
    module.forward(x)
    np.testing.assert_array_equal(module.backward(x, tensor(np.ones(5))).data, [0, 0, 1, 0, 0])
    with pytest.raises(ValueError, match="max_value"):
        nn.HardTanh(1, -1)


@FEW
@given(st.floats(-3, 3), st.integers(1, 3))
def test_mulconstant_gradcheck_and_values(c, n):
    x = np.random.default_rng(n).standard_normal((2, n))
    np.testing.assert_allclose(nn.MulConstant(c).forward(tensor(x)).data, c * x)
    check_module_grads(nn.MulConstant(c), tensor(x))


# ---- SpatialGlimpse ----------------------------------------------------------------------

def numpy_glimpse(image, location, size, depth, scale=2):
    """dpnn's SpatialGlimpse:updateOutput, example by example, patch by patch."""
    B, C, H, W = image.shape
    out = np.zeros((B, depth, C, size, size))
    for b in range(B):
        y, x = (location[b, 0] + 1) / 2, (location[b, 1] + 1) / 2
        g = size
        for d in range(depth):
            if d > 0:
                g = math.floor(g * scale)
            pad = (g - 1) // 2
            padded = np.zeros((C, H + 2 * pad, W + 2 * pad))
            padded[:, pad:pad + H, pad:pad + W] = image[b]
            h, w = padded.shape[1] - g, padded.shape[2] - g
            top = math.floor(min(h, max(0, y * h)))
            left = math.floor(min(w, max(0, x * w)))
            crop = padded[:, top:top + g, left:left + g]
            k = g // size
            out[b, d] = crop.reshape(C, size, k, size, k).mean((2, 4))
    return out.reshape(B, depth * C, size, size)


@st.composite
def glimpses(draw):
    """(batch, channels, image size, patch size, depth, seed), small."""
    return (draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(3, 9)),
            draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(0, 1000)))


@FEW
@given(glimpses())
def test_spatial_glimpse_against_numpy(case):
    batch, channels, side, size, depth, seed = case
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((batch, channels, side, side))
    location = rng.uniform(-1, 1, (batch, 2))
    location[0] = [-1, 1]  # corners too
    out = nn.SpatialGlimpse(size, depth, 2).forward([tensor(image), tensor(location)])
    np.testing.assert_allclose(out.data, numpy_glimpse(image, location, size, depth))


@FEW
@given(glimpses())
def test_spatial_glimpse_gradcheck_wrt_image(case):
    batch, channels, side, size, depth, seed = case
    side = min(side, 6)
    rng = np.random.default_rng(seed)
    location = tensor(rng.uniform(-1, 1, (batch, 2)))
    # the location held fixed: {image, location} -> glimpse
    net = (nn.Sequential().add(nn.ConcatTable().add(nn.Identity()).add(nn.Constant(location)))
           .add(nn.SpatialGlimpse(size, depth, 2)))
    check_module_grads(net, (batch, channels, side, side))


def test_spatial_glimpse_sends_no_gradient_to_the_location():
    rng = np.random.default_rng(0)
    image, location = tensor(rng.standard_normal((2, 1, 7, 7))), tensor([[0.1, -0.3],
                                                                          [0.5, 0.9]])
    glimpse = nn.SpatialGlimpse(3, 2)
    out = glimpse.forward([image, location])
    grads = glimpse.backward([image, location], tensor(rng.standard_normal(out.shape)))
    np.testing.assert_array_equal(grads[1].data, np.zeros((2, 2)))
    assert out.shape == (2, 2, 3, 3)
    single = glimpse.forward([tensor(image.data[0]), tensor(location.data[0])])
    np.testing.assert_array_equal(single.data, out.data[0])
    with pytest.raises(ValueError, match="bilinear"):
        nn.SpatialGlimpse(3, 2, 3)


# ---- rnn's Recurrent ----------------------------------------------------------------------

def elman(inputSize, hiddenSize):
    return nn.Recurrent(hiddenSize, nn.Linear(inputSize, hiddenSize),
                        nn.Linear(hiddenSize, hiddenSize), nn.Tanh())


def test_recurrent_against_numpy():
    torch.manualSeed(0)
    rnn = elman(3, 2).double()
    xs = np.random.default_rng(0).standard_normal((4, 2, 3))
    outputs = nn.Sequencer(rnn).forward([tensor(x) for x in xs])
    start, (wi, bi), (wf, bf) = (rnn.startModule.bias.data,
                                 (rnn.inputModule.weight.data, rnn.inputModule.bias.data),
                                 (rnn.feedbackModule.weight.data, rnn.feedbackModule.bias.data))
    h = np.tanh(xs[0] @ wi.T + bi + start)
    np.testing.assert_allclose(outputs[0].data, h)
    for t in range(1, 4):
        h = np.tanh(xs[t] @ wi.T + bi + h @ wf.T + bf)
        np.testing.assert_allclose(outputs[t].data, h)


@FEW
@given(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3))
def test_recurrent_bptt_gradcheck(seqlen, inputSize, hiddenSize):
    torch.manualSeed(seqlen)
    check_module_grads(nn.Sequencer(elman(inputSize, hiddenSize)), (seqlen, 2, inputSize))


# ---- RecurrentAttention ----------------------------------------------------------------

def small_ram(hidden, locator, nStep, size=2, depth=2):
    """A RAM on 1 x 2 x 2 images whose glimpse (2 x 2 patches, depth 2) covers the whole
    image wherever it looks (no room to move): smooth in every parameter."""
    location = nn.Sequential().add(nn.SelectTable(1)).add(nn.Linear(2, 3)).add(nn.Tanh())
    patches = (nn.Sequential().add(nn.SpatialGlimpse(size, depth)).add(nn.Collapse(3))
               .add(nn.Linear(depth * size * size, 3)).add(nn.Tanh()))
    glimpse = (nn.Sequential().add(nn.ConcatTable().add(location).add(patches))
               .add(nn.JoinTable(0, 1)).add(nn.Linear(6, hidden)))
    rnn = nn.Recurrent(hidden, glimpse, nn.Linear(hidden, hidden), nn.Tanh())
    return nn.RecurrentAttention(rnn, locator, nStep, [hidden])


@FEW
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 2))
def test_recurrent_attention_gradcheck_through_time(nStep, hidden, batch):
    torch.manualSeed(nStep)
    locator = nn.Sequential().add(nn.Linear(hidden, 2)).add(nn.HardTanh()).add(
        nn.MulConstant(0.9))
    check_module_grads(small_ram(hidden, locator, nStep), (batch, 1, 2, 2))


def test_recurrent_attention_against_numpy():
    """7 glimpses on 8 x 8 images with a deterministic locator (ReinforceNormal evaluating:
    the mean), every step recomputed in NumPy with numpy_glimpse."""
    torch.manualSeed(2)
    H = 4
    locator = (nn.Sequential().add(nn.Linear(H, 2)).add(nn.HardTanh())
               .add(nn.ReinforceNormal(0.2)).add(nn.HardTanh()).add(nn.MulConstant(0.8)))
    location = nn.Sequential().add(nn.SelectTable(1)).add(nn.Linear(2, 3)).add(nn.ReLU())
    patches = (nn.Sequential().add(nn.SpatialGlimpse(3, 2)).add(nn.Collapse(3))
               .add(nn.Linear(18, 3)).add(nn.ReLU()))
    glimpse = (nn.Sequential().add(nn.ConcatTable().add(location).add(patches))
               .add(nn.JoinTable(0, 1)).add(nn.Linear(6, H)))
    rnn = nn.Recurrent(H, glimpse, nn.Linear(H, H), nn.ReLU())
    ram = nn.RecurrentAttention(rnn, locator, 7, [H]).double().evaluate()
    for p in ram.parameters()[0]:
        p.uniform(-1, 1)
    images = np.random.default_rng(3).random((2, 1, 8, 8))
    outputs = ram.forward(tensor(images))

    def linear(module, x):
        return x @ module.weight.data.T + module.bias.data

    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    h = np.zeros((2, H))
    for t in range(7):
        loc = 0.8 * np.clip(np.clip(linear(locator.get(0), h), -1, 1), -1, 1)
        np.testing.assert_allclose(ram.actions[t].data, loc)
        g = numpy_glimpse(images, loc, 3, 2).reshape(2, -1)
        x = linear(glimpse.get(2), np.concatenate(
            [relu(linear(location.get(1), loc)), relu(linear(patches.get(2), g))], 1))
        h = relu(x + (rnn.startModule.bias.data if t == 0 else linear(rnn.feedbackModule, h)))
        np.testing.assert_allclose(outputs[t].data, h, rtol=1e-10, atol=1e-12)


def test_recurrent_attention_reinforce_gradient_reaches_the_locator():
    """The locator's Linear gets only REINFORCE's gradient: sum over steps of
    g_t^T [h_{t-1}, 1], g_t = -r (x_t - mu_t) / s^2 where HardTanh passes (mu_t = HardTanh(
    W h_{t-1} + b), x_t its sample, h_0 = 0); the loss's gradient to the sampled location
    is dropped by ReinforceNormal."""
    H, nStep, s, B = 3, 4, 0.3, 2
    torch.manualSeed(5)
    locator = (nn.Sequential().add(nn.Linear(H, 2)).add(nn.HardTanh())
               .add(nn.ReinforceNormal(s)).add(nn.HardTanh()))
    ram = small_ram(H, locator, nStep).double()
    images = tensor(np.random.default_rng(5).random((B, 1, 2, 2)))
    torch.manualSeed(11)
    outputs = ram.forward(images)
    torch.manualSeed(11)
    noise = [generator().standard_normal((B, 2)) for _ in range(nStep)]
    reward = np.array([0.7, -1.3])
    nn.reinforce(ram, tensor(reward))
    ram.zeroGradParameters()
    grad_outputs = [tensor(np.random.default_rng(t).standard_normal((B, H)))
                    for t in range(nStep)]
    ram.backward(images, grad_outputs)
    linear = locator.get(0)
    w, b = linear.weight.data, linear.bias.data
    grad_w, grad_b = np.zeros_like(w), np.zeros_like(b)
    h = np.zeros((B, H))
    for t in range(nStep):
        a = h @ w.T + b  # HardTanh passes the gradient where |a| < 1
        g = -reward[:, None] * (s * noise[t]) / s ** 2 * (np.abs(a) < 1)
        grad_w += g.T @ h
        grad_b += g.sum(0)
        h = outputs[t].data
    np.testing.assert_allclose(linear.gradWeight.data, grad_w, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(linear.gradBias.data, grad_b, rtol=1e-8, atol=1e-12)
