"""Spatial pooling: ``SpatialMaxPooling`` and ``SpatialAveragePooling`` (floor mode)."""

from ..ops.conv import AvgPool2d, MaxPool2d
from .conv import spatial_batch
from .module import Module

__all__ = ["SpatialAveragePooling", "SpatialMaxPooling"]


class _SpatialPooling(Module):
    """Pooling over kH x kW windows moved by (dH, dW), with zero/-inf padding (padH, padW).

    Input (C,H,W) or (B,C,H,W); output (.., C, Ho, Wo), Ho = floor((H + 2 padH - kH)/dH) + 1.
    """

    function = None  # the op Function: MaxPool2d or AvgPool2d

    def __init__(self, kW, kH, dW=None, dH=None, padW=0, padH=0):
        super().__init__()
        self.kW, self.kH = kW, kH
        self.dW, self.dH = kW if dW is None else dW, kH if dH is None else dH
        self.padW, self.padH = padW, padH

    def updateOutput(self, input):
        batch, added = spatial_batch(self, input)
        out = self.function.apply(batch, (self.kH, self.kW), (self.dH, self.dW),
                                  (self.padH, self.padW))
        return out.reshape(*out.shape[1:]) if added else out

    def __repr__(self):
        s = f"nn.{type(self).__name__}({self.kW}x{self.kH}, {self.dW},{self.dH}"
        if (self.padW, self.padH) != (0, 0):
            s += f", {self.padW},{self.padH}"
        return s + ")"


class SpatialMaxPooling(_SpatialPooling):
    """SpatialMaxPooling(kW, kH, dW=kW, dH=kH, padW=0, padH=0): the max of each window;
    the gradient goes to the window's max."""

    function = MaxPool2d


class SpatialAveragePooling(_SpatialPooling):
    """SpatialAveragePooling(kW, kH, dW=1, dH=1, padW=0, padH=0): the mean of each window
    (padding counts as zeros in the mean, as in Torch7)."""

    function = AvgPool2d

    def __init__(self, kW, kH, dW=1, dH=1, padW=0, padH=0):
        super().__init__(kW, kH, dW, dH, padW, padH)
