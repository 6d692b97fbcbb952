"""nn.SpatialReSampling: gradcheck over sizes and ratios, values and gradients bit for bit
against a loop transcription of nnx's SpatialReSampling.c, PyTorch's bilinear
interpolate with align_corners=True (the same mapping), sizes from ratios, errors."""

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


def taps(iy, ix, ih, iw):
    """The C code's four neighbours and float32 surfaces of sub-pixel (iy, ix)."""
    y0, x0 = np.floor(iy), np.floor(ix)
    one = np.float32(1)
    nw = ((x0 + one) - ix) * ((y0 + one) - iy)
    ne = (ix - x0) * ((y0 + one) - iy)
    sw = ((x0 + one) - ix) * (iy - y0)
    se = (ix - x0) * (iy - y0)
    y0, x0 = int(y0), int(x0)
    y1, x1 = min(y0 + 1, ih - 1), min(x0 + 1, iw - 1)
    return [((y0, x0), nw), ((y0, x1), ne), ((y1, x0), sw), ((y1, x1), se)]


def positions(isize, osize):
    ratio = np.float32(isize - 1) / np.float32(osize - 1)
    return [ratio * np.float32(o) for o in range(osize)]


def reference_forward(planes, oh, ow):
    """nnx's updateOutput, one output pixel at a time: (..., H, W) -> (..., oh, ow)."""
    ih, iw = planes.shape[-2:]
    out = np.zeros((*planes.shape[:-2], oh, ow), planes.dtype)
    for y, iy in enumerate(positions(ih, oh)):
        for x, ix in enumerate(positions(iw, ow)):
            total = None
            for (r, c), w in taps(iy, ix, ih, iw):
                term = planes[..., r, c] * planes.dtype.type(w)
                total = term if total is None else total + term
            out[..., y, x] = total
    return out


def reference_backward(grad, ih, iw):
    """nnx's updateGradInput: each output gradient added to its four input pixels in order."""
    oh, ow = grad.shape[-2:]
    out = np.zeros((*grad.shape[:-2], ih, iw), grad.dtype)
    for y, iy in enumerate(positions(ih, oh)):
        for x, ix in enumerate(positions(iw, ow)):
            for (r, c), w in taps(iy, ix, ih, iw):
                out[..., r, c] += np.float64(w) * grad[..., y, x]
    return out


@FAST
@given(data=st.data(), batch=st.integers(0, 2), planes=st.integers(1, 2),
       h=st.integers(1, 4), w=st.integers(1, 4), oh=st.integers(2, 5), ow=st.integers(2, 5))
def test_gradients(data, batch, planes, h, w, oh, ow):
    shape = (batch, planes, h, w) if batch else (planes, h, w)
    x = Tensor(data.draw(arrays(shape)), dtype=np.float64)
    module = nn.SpatialReSampling(owidth=ow, oheight=oh)
    assert module.double().forward(x).shape == shape[:-2] + (oh, ow)
    check_module_grads(module, x)


@FAST
@given(data=st.data(), h=st.integers(1, 6), w=st.integers(1, 6), oh=st.integers(2, 9),
       ow=st.integers(2, 9))
def test_values_and_gradients_equal_the_c_formula_bit_for_bit(data, h, w, oh, ow):
    x = data.draw(arrays((2, 3, h, w)))
    module = nn.SpatialReSampling(owidth=ow, oheight=oh)
    out = module.forward(Tensor(x, dtype=np.float64))
    np.testing.assert_array_equal(out.numpy(), reference_forward(x, oh, ow))
    grad = data.draw(arrays((2, 3, oh, ow)))
    gi = module.backward(Tensor(x, dtype=np.float64), Tensor(grad, dtype=np.float64))
    np.testing.assert_array_equal(gi.numpy(), reference_backward(grad, h, w))
    x32 = x.astype(np.float32)  # float32: the C code's float arithmetic, term by term
    out32 = nn.SpatialReSampling(owidth=ow, oheight=oh).forward(Tensor(x32))
    np.testing.assert_array_equal(out32.numpy(), reference_forward(x32, oh, ow))


def test_agrees_with_pytorch_bilinear_align_corners():
    pytorch = pytest.importorskip("torch", reason="PyTorch is not installed")
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 5))
    for oh, ow in ((13, 9), (4, 3), (7, 5), (2, 11)):
        ours = nn.SpatialReSampling(owidth=ow, oheight=oh).forward(Tensor(x, dtype=np.float64))
        theirs = pytorch.nn.functional.interpolate(pytorch.from_numpy(x), size=(oh, ow),
                                                   mode="bilinear", align_corners=True)
        # the positions are float32 numbers in nnx (PyTorch's are float64 here)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=1e-5)


def test_ratios_give_the_truncated_size_for_every_input():
    module = nn.SpatialReSampling(rwidth=1.5, rheight=2)
    assert module.forward(torch.randn(1, 3, 3)).shape == (1, 6, 4)  # int(1.5 * 3) = 4
    assert module.forward(torch.randn(2, 1, 5, 4)).shape == (2, 1, 10, 6)
    mixed = nn.SpatialReSampling(rwidth=0.5, oheight=3)
    assert mixed.forward(torch.randn(1, 2, 8)).shape == (1, 3, 4)


def test_identity_size_and_corners():
    x = torch.randn(2, 4, 5)
    np.testing.assert_allclose(nn.SpatialReSampling(owidth=5, oheight=4).forward(x).numpy(),
                               x.numpy(), rtol=1e-6)
    y = nn.SpatialReSampling(owidth=9, oheight=2).forward(x).numpy()
    np.testing.assert_allclose(y[:, [0, -1]][..., [0, -1]], x.numpy()[:, [0, -1]][..., [0, -1]],
                               rtol=1e-6)


def test_errors_name_the_module():
    with pytest.raises(ValueError, match="owidth .* or rwidth .* not neither"):
        nn.SpatialReSampling(oheight=3)
    with pytest.raises(ValueError, match="oheight .* or rheight .* not both"):
        nn.SpatialReSampling(owidth=2, rheight=2, oheight=3)
    with pytest.raises(ValueError, match=r"nn\.SpatialReSampling: the output must be at least "
                                         r"2x2.*got 1x4 for input 3x2x4"):
        nn.SpatialReSampling(rheight=0.5, rwidth=1).forward(torch.randn(3, 2, 4))
    with pytest.raises(ValueError, match=r"nn\.SpatialReSampling: expected input of size "
                                         r"CxHxW or BxCxHxW, got 4x4"):
        nn.SpatialReSampling(owidth=2, oheight=2).forward(torch.randn(4, 4))
    with pytest.raises(TypeError, match="expected a float input"):
        nn.SpatialReSampling(owidth=2, oheight=2).forward(torch.LongTensor(1, 2, 2))
