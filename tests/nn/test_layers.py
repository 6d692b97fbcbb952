"""Layers: gradcheck of input and parameter gradients through forward/backward (hypothesis
over batch, feature, kernel, stride and padding sizes), output sizes, initialisation ranges,
train/eval behaviour, printing, errors for bad input, and the lab's own examples."""

import math

import numpy as np
import pytest
from helpers import check_module_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.tensor import Tensor
from minitorch7.testing import arrays

FAST = settings(max_examples=20, deadline=None)
small = st.integers(1, 3)


def tensor(data, shape, **kwargs):
    return Tensor(data.draw(arrays(shape, **kwargs)), dtype=np.float64)


# ---- Linear -------------------------------------------------------------------------
@pytest.mark.task_3_5
@FAST
@given(data=st.data(), batch=st.integers(0, 3), n_in=small, n_out=small, bias=st.booleans())
def test_linear_gradients(data, batch, n_in, n_out, bias):
    shape = (batch, n_in) if batch else (n_in,)
    module = nn.Linear(n_in, n_out) if bias else nn.LinearNoBias(n_in, n_out)
    _, grads = check_module_grads(module, tensor(data, shape))
    assert len(grads) == (2 if bias else 1)


def test_linear_init_and_printing():
    module = nn.Linear(16, 300)
    bound = 1 / math.sqrt(16)
    for p in (module.weight, module.bias):
        assert np.all(np.abs(p.numpy()) <= bound) and p.numpy().max() > 0.9 * bound
    assert module.weight.shape == (300, 16) and module.bias.shape == (300,)
    assert repr(module) == "nn.Linear(16 -> 300)"
    assert repr(nn.LinearNoBias(2, 3)) == "nn.LinearNoBias(2 -> 3)"


def test_linear_wrong_feature_size_names_module_and_sizes():
    with pytest.raises(ValueError, match=r"nn\.Linear\(4 -> 2\).*4.*5x3"):
        nn.Linear(4, 2).forward(torch.rand(5, 3))


# ---- SpatialConvolution ------------------------------------------------------------
@st.composite
def conv_geometry(draw):
    """(kW, kH, dW, dH, padW, padH, H, W) with at least one output position."""
    kw, kh, dw, dh = draw(small), draw(small), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pw, ph = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    h = draw(st.integers(max(1, kh - 2 * ph), kh + 2))
    w = draw(st.integers(max(1, kw - 2 * pw), kw + 2))
    return kw, kh, dw, dh, pw, ph, h, w


def out_size(size, k, d, p):
    return (size + 2 * p - k) // d + 1


@FAST
@given(data=st.data(), batch=st.integers(0, 2), n_in=st.integers(1, 2), n_out=st.integers(1, 2),
       geometry=conv_geometry())
def test_convolution_gradients_and_size(data, batch, n_in, n_out, geometry):
    kw, kh, dw, dh, pw, ph, h, w = geometry
    module = nn.SpatialConvolution(n_in, n_out, kw, kh, dw, dh, pw, ph)
    shape = (batch, n_in, h, w) if batch else (n_in, h, w)
    x = tensor(data, shape)
    expected = (n_out, out_size(h, kh, dh, ph), out_size(w, kw, dw, pw))
    assert module.double().forward(x).shape == ((batch, *expected) if batch else expected)
    check_module_grads(module, x)


def test_convolution_against_direct_sum():
    module = nn.SpatialConvolution(2, 3, 3, 2, 2, 1, 1, 0).double()
    x = torch.randn(2, 2, 4, 5).double()
    padded = np.pad(x.numpy(), ((0, 0), (0, 0), (0, 0), (1, 1)))
    w, b = module.weight.numpy(), module.bias.numpy()
    out = module.forward(x).numpy()
    assert out.shape == (2, 3, 3, 3)
    for i, j in np.ndindex(3, 3):
        patch = padded[:, :, i:i + 2, 2 * j:2 * j + 3]
        np.testing.assert_allclose(out[:, :, i, j], np.einsum("bchw,ochw->bo", patch, w) + b)


def test_lab_convolution_examples():
    x = torch.rand(3, 12, 12)
    assert nn.SpatialConvolution(3, 4, 5, 5).forward(x).shape == (4, 8, 8)
    assert nn.SpatialConvolution(3, 4, 5, 5, 1, 1, 2, 2).forward(x).shape == (4, 12, 12)


def test_convolution_init_printing_and_errors():
    module = nn.SpatialConvolution(3, 40, 5, 4)
    assert module.weight.shape == (40, 3, 4, 5) and module.bias.shape == (40,)
    bound = 1 / math.sqrt(5 * 4 * 3)
    assert np.abs(module.weight.numpy()).max() <= bound
    assert np.abs(module.weight.numpy()).max() > 0.9 * bound
    assert np.abs(module.bias.numpy()).max() <= bound
    assert repr(module) == "nn.SpatialConvolution(3 -> 40, 5x4)"
    assert repr(nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2)) == \
        "nn.SpatialConvolution(1 -> 16, 5x5, 1,1, 2,2)"
    assert repr(nn.SpatialConvolution(1, 2, 3, 3, 2, 2)) == \
        "nn.SpatialConvolution(1 -> 2, 3x3, 2,2)"
    with pytest.raises(ValueError, match=r"SpatialConvolution\(3 -> 40.*3xHxW.*2x1x8x8"):
        module.forward(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"SpatialConvolution.*got 8x8"):
        module.forward(torch.rand(8, 8))


# ---- pooling ---------------------------------------------------------------------------
@st.composite
def pool_geometry(draw):
    """(kW, kH, dW, dH, padW, padH, H, W): padding at most half the kernel, output >= 1."""
    kw, kh, dw, dh = draw(small), draw(small), draw(small), draw(small)
    pw, ph = draw(st.integers(0, kw // 2)), draw(st.integers(0, kh // 2))
    h = draw(st.integers(max(1, kh - 2 * ph), kh + 2))
    w = draw(st.integers(max(1, kw - 2 * pw), kw + 2))
    return kw, kh, dw, dh, pw, ph, h, w


@FAST
@given(data=st.data(), batch=st.integers(0, 2), planes=st.integers(1, 2),
       geometry=pool_geometry())
def test_max_pooling_values_gradients_and_size(data, batch, planes, geometry):
    kw, kh, dw, dh, pw, ph, h, w = geometry
    shape = (batch, planes, h, w) if batch else (planes, h, w)
    x = tensor(data, shape, distinct=True)  # no ties: the max is unique in every window
    module = nn.SpatialMaxPooling(kw, kh, dw, dh, pw, ph).double()
    out = module.forward(x).numpy()
    ho, wo = out_size(h, kh, dh, ph), out_size(w, kw, dw, pw)
    assert out.shape == (*shape[:-2], ho, wo)
    padded = np.pad(x.numpy(), [(0, 0)] * (len(shape) - 2) + [(ph, ph), (pw, pw)],
                    constant_values=-np.inf)
    for i, j in np.ndindex(ho, wo):
        window = padded[..., i * dh:i * dh + kh, j * dw:j * dw + kw]
        np.testing.assert_array_equal(out[..., i, j], window.max(axis=(-2, -1)))
    check_module_grads(module, x)


@FAST
@given(data=st.data(), batch=st.integers(0, 2), planes=st.integers(1, 2),
       geometry=pool_geometry())
def test_average_pooling_values_gradients_and_size(data, batch, planes, geometry):
    kw, kh, dw, dh, pw, ph, h, w = geometry
    shape = (batch, planes, h, w) if batch else (planes, h, w)
    x = tensor(data, shape)
    module = nn.SpatialAveragePooling(kw, kh, dw, dh, pw, ph).double()
    out = module.forward(x).numpy()
    ho, wo = out_size(h, kh, dh, ph), out_size(w, kw, dw, pw)
    assert out.shape == (*shape[:-2], ho, wo)
    padded = np.pad(x.numpy(), [(0, 0)] * (len(shape) - 2) + [(ph, ph), (pw, pw)])
    for i, j in np.ndindex(ho, wo):
        window = padded[..., i * dh:i * dh + kh, j * dw:j * dw + kw]
        np.testing.assert_allclose(out[..., i, j], window.sum(axis=(-2, -1)) / (kh * kw))
    check_module_grads(module, x)


def test_lab_max_pooling_example():
    x = torch.range(1, 16).double().resize(1, 4, 4)
    out = nn.SpatialMaxPooling(2, 2, 2, 2).forward(x)
    assert out.tolist() == [[[6, 8], [14, 16]]]
    assert out.type() == "torch.DoubleTensor"


def test_pooling_defaults_printing_and_errors():
    pool = nn.SpatialMaxPooling(3, 2)
    assert (pool.dW, pool.dH) == (3, 2)
    assert repr(pool) == "nn.SpatialMaxPooling(3x2, 3,2)"
    assert repr(nn.SpatialMaxPooling(2, 2, 2, 2, 1, 1)) == "nn.SpatialMaxPooling(2x2, 2,2, 1,1)"
    assert repr(nn.SpatialAveragePooling(2, 2)) == "nn.SpatialAveragePooling(2x2, 1,1)"
    with pytest.raises(ValueError, match=r"SpatialMaxPooling\(3x2, 3,2\).*got 4x4"):
        pool.forward(torch.rand(4, 4))


# ---- BatchNormalization ----------------------------------------------------------------
def bn_reference(x, axes, weight, bias, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def channel_shape(ndim):
    return (1, -1) + (1,) * (ndim - 2)


@pytest.mark.task_5_6
@FAST
@given(data=st.data(), batch=st.integers(2, 4), features=small, spatial=st.booleans(),
       affine=st.booleans(), train=st.booleans())
def test_batchnorm_gradients(data, batch, features, spatial, affine, train):
    if spatial:
        module, shape = nn.SpatialBatchNormalization(features, affine=affine), (batch, features,
                                                                               2, 3)
    else:
        module, shape = nn.BatchNormalization(features, affine=affine), (batch, features)
    if not train:
        module.running_mean.uniform(-1, 1)
        module.running_var.uniform(0.5, 2)
        module.evaluate()
    _, grads = check_module_grads(module, tensor(data, shape), atol=1e-4)
    assert len(grads) == (2 if affine else 0)


@pytest.mark.task_5_6
@FAST
@given(data=st.data(), batch=st.integers(2, 4), features=small, spatial=st.booleans())
def test_batchnorm_training_statistics(data, batch, features, spatial):
    shape = (batch, features, 3, 2) if spatial else (batch, features)
    axes = (0, 2, 3) if spatial else (0,)
    module = (nn.SpatialBatchNormalization if spatial else nn.BatchNormalization)(
        features, momentum=0.3).double()
    module.bias.uniform(-1, 1)
    x = tensor(data, shape)
    c = channel_shape(len(shape))
    expected = bn_reference(x.numpy(), axes, module.weight.numpy().reshape(c),
                            module.bias.numpy().reshape(c))
    np.testing.assert_allclose(module.forward(x).numpy(), expected, atol=1e-7)
    # the running variance uses the UNBIASED batch variance
    mean = x.numpy().mean(axis=axes)
    var = x.numpy().var(axis=axes, ddof=1)
    np.testing.assert_allclose(module.running_mean.numpy(), 0.3 * mean, atol=1e-12)
    np.testing.assert_allclose(module.running_var.numpy(), 0.7 + 0.3 * var, atol=1e-12)
    module.forward(x)
    np.testing.assert_allclose(module.running_mean.numpy(), 0.3 * mean + 0.7 * 0.3 * mean,
                               atol=1e-12)


@pytest.mark.task_5_6
def test_batchnorm_evaluation_uses_running_statistics():
    module = nn.SpatialBatchNormalization(2, eps=0.1).double()
    module.running_mean.copy(torch.Tensor([1.0, -2.0]))
    module.running_var.copy(torch.Tensor([4.0, 0.5]))
    module.evaluate()
    x = torch.randn(3, 2, 2, 2).double()
    c = channel_shape(4)
    expected = ((x.numpy() - np.array([1.0, -2.0]).reshape(c)) / np.sqrt(
        np.array([4.0, 0.5]).reshape(c) + 0.1) * module.weight.numpy().reshape(c)
        + module.bias.numpy().reshape(c))
    np.testing.assert_allclose(module.forward(x).numpy(), expected)
    assert module.running_mean.tolist() == [1.0, -2.0]  # evaluation leaves them alone


def test_batchnorm_init_printing_and_errors():
    module = nn.BatchNormalization(500)
    w = module.weight.numpy()
    assert w.min() >= 0 and w.max() <= 1 and 0.4 < w.mean() < 0.6
    assert np.all(module.bias.numpy() == 0)
    assert np.all(module.running_mean.numpy() == 0) and np.all(module.running_var.numpy() == 1)
    assert nn.BatchNormalization(3, affine=False).parameters()[0] == []
    assert repr(nn.BatchNormalization(10)) == "nn.BatchNormalization (2D) (10)"
    assert repr(nn.SpatialBatchNormalization(16)) == "nn.SpatialBatchNormalization (4D) (16)"
    with pytest.raises(ValueError, match=r"BatchNormalization \(2D\) \(500\).*got 4x3"):
        module.forward(torch.rand(4, 3))
    with pytest.raises(ValueError, match=r"SpatialBatchNormalization.*got 2x3"):
        nn.SpatialBatchNormalization(3).forward(torch.rand(2, 3))
    with pytest.raises(ValueError, match=r"more than one value"):
        module.forward(torch.rand(1, 500))


# ---- Dropout ---------------------------------------------------------------------------
@pytest.mark.task_4_4
@FAST
@given(data=st.data(), p=st.sampled_from([0.2, 0.5, 0.75]), spatial=st.booleans(),
       seed=st.integers(0, 100))
def test_dropout_gradients_with_fixed_mask(data, p, spatial, seed):
    shape = (2, 3, 2, 2) if spatial else (3, 4)
    module = nn.SpatialDropout(p) if spatial else nn.Dropout(p)
    x = tensor(data, shape, away_from=0.1)
    grad_input, _ = check_module_grads(module, x, seed=seed)
    mask = np.broadcast_to(module.noise.numpy(), shape)  # the mask of every forward above
    assert set(np.round(mask.ravel(), 12)) <= {0.0, round(1 / (1 - p), 12)}
    assert np.all(grad_input.numpy()[mask == 0] == 0)
    torch.manualSeed(seed)
    np.testing.assert_allclose(module.forward(x).numpy(), x.numpy() * mask)


@pytest.mark.task_4_4
@pytest.mark.parametrize("p", [0.25, 0.5])
def test_dropout_training_masks(p):
    torch.manualSeed(0)
    x = torch.ones(200, 100)
    out = nn.Dropout(p).forward(x).numpy()
    assert set(np.unique(out)) == {0.0, np.float32(1 / (1 - p))}
    assert abs((out == 0).mean() - p) < 0.02
    assert abs(out.mean() - 1) < 0.03  # inverted dropout keeps the expectation
    maps = nn.SpatialDropout(p).forward(torch.ones(50, 40, 3, 3)).numpy()
    assert np.all(maps == maps[:, :, :1, :1])  # a whole map is kept or dropped
    assert abs((maps[:, :, 0, 0] == 0).mean() - p) < 0.05
    module = nn.Dropout(p)
    assert not np.array_equal(module.forward(x).numpy(), module.forward(x).numpy())


def test_dropout_evaluation_is_identity_and_printing():
    x = torch.randn(4, 3)
    for module in (nn.Dropout(0.5), nn.SpatialDropout(0.3)):
        module.evaluate()
        np.testing.assert_array_equal(module.forward(x.view(1, 4, 3, 1)).numpy(),
                                      x.numpy().reshape(1, 4, 3, 1))
    np.testing.assert_array_equal(nn.Dropout(0).forward(x).numpy(), x.numpy())
    assert repr(nn.Dropout()) == "nn.Dropout(0.500000)"
    assert repr(nn.SpatialDropout(0.25)) == "nn.SpatialDropout(0.250000)"
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1)
    with pytest.raises(ValueError, match=r"SpatialDropout.*got 4x3"):
        nn.SpatialDropout().forward(x)


# ---- LookupTable -----------------------------------------------------------------------
@pytest.mark.task_6_1
@FAST
@given(n_index=st.integers(1, 5), n_output=small, index_shape=st.sampled_from([(3,), (2, 3)]),
       seed=st.integers(0, 1000))
def test_lookup_table_values_and_gradients(n_index, n_output, index_shape, seed):
    indices = np.random.default_rng(seed).integers(0, n_index, index_shape)
    module = nn.LookupTable(n_index, n_output)
    grad_input, _ = check_module_grads(module, torch.LongTensor(indices.tolist()))
    module.forward(torch.LongTensor(indices.tolist()))
    np.testing.assert_array_equal(module.output.numpy(), module.weight.numpy()[indices])
    assert module.output.shape == (*index_shape, n_output)
    assert grad_input is None  # no gradient for the indices


@pytest.mark.task_6_1
def test_lookup_table_repeated_indices_accumulate():
    module = nn.LookupTable(4, 2)
    indices = torch.LongTensor([[1, 3], [1, 1]])
    module.forward(indices)
    grad = torch.Tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    module.backward(indices, grad)
    module.backward(indices, grad)  # and across backward calls too
    assert module.gradWeight.tolist() == [[0, 0], [26, 32], [0, 0], [6, 8]]


def test_lookup_table_init_printing_and_errors():
    torch.manualSeed(1)
    w = nn.LookupTable(200, 50).weight.numpy()
    assert abs(w.mean()) < 0.03 and abs(w.std() - 1) < 0.03
    module = nn.LookupTable(10, 3)
    assert repr(module) == "nn.LookupTable(10 -> 3)"
    assert module.forward(torch.Tensor([2.0, 9.0])).shape == (2, 3)  # float indices work
    with pytest.raises(IndexError, match=r"LookupTable\(10 -> 3\).*\[0, 9\].*max 10"):
        module.forward(torch.LongTensor([0, 10]))
    with pytest.raises(IndexError, match=r"min -1"):
        module.forward(torch.LongTensor([-1]))
    with pytest.raises(ValueError, match=r"LookupTable.*2x2x2"):
        module.forward(torch.LongTensor(2, 2, 2))


# ---- shape modules ---------------------------------------------------------------------
def test_shape_module_gradients():
    for module, shape in [(nn.Identity(), (2, 3)), (nn.Collapse(3), (2, 1, 2, 2)),
                          (nn.View(3, 2), (2, 6)), (nn.Reshape(6), (2, 3, 2))]:
        grad_input, _ = check_module_grads(module, shape)
        assert grad_input.shape == shape


def test_identity_passes_tables():
    x = [torch.rand(2), [torch.rand(3)]]
    assert nn.Identity().forward(x)[1][0] is not None
    assert nn.Identity().forward(x)[0].tolist() == x[0].tolist()


def test_convert_follows_module_type():
    module = nn.Convert()
    assert repr(module) == "nn.Convert"
    assert module.forward(torch.rand(2).double()).type() == "torch.FloatTensor"
    net = nn.Sequential().add(nn.Convert()).add(nn.Tanh()).double()
    x = torch.rand(2, 3)
    out = net.forward(x)
    assert out.type() == "torch.DoubleTensor"
    assert net.backward(x, torch.ones(2, 3).double()).type() == "torch.FloatTensor"
    assert module.forward(torch.ByteTensor([1, 255])).tolist() == [1.0, 255.0]


def test_collapse_view_reshape_sizes():
    assert nn.Collapse(3).forward(torch.rand(5, 1, 28, 28)).shape == (5, 784)
    assert nn.Collapse(3).forward(torch.rand(1, 28, 28)).shape == (784,)
    assert nn.View(6).forward(torch.rand(2, 3)).shape == (6,)
    assert nn.View(6).forward(torch.rand(4, 2, 3)).shape == (4, 6)  # batch inferred
    assert nn.View(-1, 2).forward(torch.rand(4, 3)).shape == (6, 2)
    assert nn.View(-1).setNumInputDims(2).forward(torch.rand(5, 3, 2)).shape == (5, 6)
    assert nn.View(6).setNumInputDims(2).forward(torch.rand(1, 3, 2)).shape == (1, 6)
    assert nn.Reshape(3, 2).forward(torch.rand(6)).shape == (3, 2)
    assert nn.Reshape(3, 2).forward(torch.rand(4, 6)).shape == (4, 3, 2)
    assert nn.Reshape(6, batchMode=True).forward(torch.rand(1, 2, 3)).shape == (1, 6)
    assert nn.Reshape(2, 3, batchMode=False).forward(torch.rand(6, 1)).shape == (2, 3)
    assert repr(nn.View(2, 3)) == "nn.View(2, 3)" and repr(nn.Reshape(2, 3)) == "nn.Reshape(2x3)"
    with pytest.raises(ValueError, match=r"nn\.View\(4\).*2x3.*viewed as 4"):
        nn.View(4).forward(torch.rand(2, 3))


# ---- the lab CNN -----------------------------------------------------------------------
def lab_cnn():
    cnn = nn.Sequential()
    cnn.add(nn.Convert())
    cnn.add(nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2))
    cnn.add(nn.ReLU())
    cnn.add(nn.SpatialMaxPooling(2, 2, 2, 2))
    cnn.add(nn.SpatialConvolution(16, 32, 5, 5, 1, 1, 2, 2))
    cnn.add(nn.ReLU())
    cnn.add(nn.SpatialMaxPooling(2, 2, 2, 2))
    outsize = cnn.outside((1, 1, 28, 28))
    cnn.add(nn.Collapse(3))
    cnn.add(nn.Linear(outsize[1] * outsize[2] * outsize[3], 200))
    cnn.add(nn.ReLU())
    cnn.add(nn.Linear(200, 10))
    cnn.add(nn.LogSoftMax())
    return cnn, outsize


def test_lab_cnn_outside_and_printing():
    cnn, outsize = lab_cnn()
    assert tuple(outsize) == (1, 32, 7, 7)
    # the slide's listing, with Torch7's pooling format and the Collapse the lab code adds
    chain = " -> ".join(["input", *(f"({i})" for i in range(1, 13)), "output"])
    assert repr(cnn).split("\n") == [
        "nn.Sequential {",
        f"  [{chain}]",
        "  (1): nn.Convert",
        "  (2): nn.SpatialConvolution(1 -> 16, 5x5, 1,1, 2,2)",
        "  (3): nn.ReLU",
        "  (4): nn.SpatialMaxPooling(2x2, 2,2)",
        "  (5): nn.SpatialConvolution(16 -> 32, 5x5, 1,1, 2,2)",
        "  (6): nn.ReLU",
        "  (7): nn.SpatialMaxPooling(2x2, 2,2)",
        "  (8): nn.Collapse",
        "  (9): nn.Linear(1568 -> 200)",
        "  (10): nn.ReLU",
        "  (11): nn.Linear(200 -> 10)",
        "  (12): nn.LogSoftMax",
        "}"]


def test_lab_cnn_forward_gives_log_probabilities():
    cnn, _ = lab_cnn()
    out = cnn.forward(torch.rand(3, 1, 28, 28)).numpy()
    assert out.shape == (3, 10)
    np.testing.assert_allclose(np.exp(out).sum(1), 1, rtol=1e-5)
