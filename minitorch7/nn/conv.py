"""``SpatialConvolution``: 2-D convolution of image batches (Torch7's nn.SpatialConvolution)."""

import math

from ..ops.conv import Conv2d
from ..tensor import Tensor, _fmt_size
from .module import Module, check_float_input

__all__ = ["SpatialConvolution"]


def spatial_batch(module, input, planes=None):
    """``input`` as a 4-D batch (B,C,H,W) and whether a batch dim was added (3-D input).

    Raises TypeError naming ``module`` unless the input holds floats (a uint8 image gave
    uint8 garbage, int64 zeros, and a Numba compile error in backward), ValueError unless
    it is 3-D or 4-D (with ``planes`` channels, when given).
    """
    check_float_input(module, input)
    if input.ndim not in (3, 4) or (planes is not None and input.shape[-3] != planes):
        channels = "C" if planes is None else planes
        raise ValueError(f"{module!r}: expected input of size {channels}xHxW or "
                         f"Bx{channels}xHxW, got {_fmt_size(input.shape)}")
    if input.ndim == 3:
        return input.reshape(1, *input.shape), True
    return input, False


class SpatialConvolution(Module):
    """SpatialConvolution(nInputPlane, nOutputPlane, kW, kH, dW=1, dH=1, padW=0, padH=padW).

    Input (C,H,W) or (B,C,H,W) with C = nInputPlane; output (O,Ho,Wo) or (B,O,Ho,Wo) with
    Ho = floor((H + 2 padH - kH) / dH) + 1 (likewise Wo).
    out[b,o] = bias[o] + sum_c correlate(in[b,c], weight[o,c]).
    weight: nOutputPlane x nInputPlane x kH x kW, bias: nOutputPlane, both drawn from
    U(-1/sqrt(kW kH nInputPlane), +1/sqrt(kW kH nInputPlane)).
    """

    def __init__(self, nInputPlane, nOutputPlane, kW, kH, dW=1, dH=1, padW=0, padH=None):
        super().__init__()
        self.nInputPlane, self.nOutputPlane = nInputPlane, nOutputPlane
        self.kW, self.kH, self.dW, self.dH = kW, kH, dW, dH
        self.padW, self.padH = padW, padW if padH is None else padH
        self.register_parameter("weight", Tensor(nOutputPlane, nInputPlane, kH, kW))
        self.register_parameter("bias", Tensor(nOutputPlane))
        self.reset()

    def reset(self, stdv=None):
        """Re-draw weight and bias from U(-stdv, stdv), stdv = 1/sqrt(kW kH nInputPlane)."""
        stdv = 1 / math.sqrt(self.kW * self.kH * self.nInputPlane) if stdv is None else stdv
        for p in self.own_parameters():
            p.uniform(-stdv, stdv)
        return self

    def updateOutput(self, input):
        batch, added = spatial_batch(self, input, self.nInputPlane)
        out = Conv2d.apply(batch, self.weight, self.bias, (self.dH, self.dW),
                           (self.padH, self.padW))
        return out.reshape(*out.shape[1:]) if added else out

    def __repr__(self):
        s = f"nn.SpatialConvolution({self.nInputPlane} -> {self.nOutputPlane}, {self.kW}x{self.kH}"
        if (self.dW, self.dH, self.padW, self.padH) != (1, 1, 0, 0):
            s += f", {self.dW},{self.dH}"
        if (self.padW, self.padH) != (0, 0):
            s += f", {self.padW},{self.padH}"
        return s + ")"
