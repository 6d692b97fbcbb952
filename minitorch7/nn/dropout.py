"""Dropout: ``Dropout`` zeroes single units, ``SpatialDropout`` whole feature maps."""

from ..ops.shape import to_device
from ..random import generator
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout", "SpatialDropout"]


class Dropout(Module):
    """Dropout(p=0.5): inverted dropout.

    Training: each element is kept with probability 1 - p (a fresh draw every forward,
    one per element) and the kept ones are scaled so that the expected output equals the
    input. Evaluation: y = x.
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"nn.Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def mask_shape(self, input):
        """One mask value per element."""
        return input.shape

    def updateOutput(self, input):
        """input Tensor -> output Tensor of its shape. In training (``self.train``) with
        p > 0: draw the mask with ``generator().random(self.mask_shape(input))`` (NumPy,
        on the CPU: ``to_device(mask, input.device)`` moves it), keep the scaled mask as the
        Tensor ``self.noise``, and return input times it (a graph op, so the gradient flows
        through the same mask). Otherwise the input itself."""
        # BEGIN TASK 4.4
        if not self.train or self.p == 0:
            return input
        keep = 1 - self.p
        mask = (generator().random(self.mask_shape(input)) < keep).astype(input.dtype) / keep
        self.noise = Tensor._wrap(to_device(mask, input.device))
        return input * self.noise
        # END TASK 4.4

    def __repr__(self):
        return f"nn.{type(self).__name__}({self.p:f})"


class SpatialDropout(Dropout):
    """SpatialDropout(p=0.5): Dropout with one mask value per feature map, for (C,H,W) or
    (B,C,H,W) input: a dropped channel is zero over all its H x W positions."""

    def mask_shape(self, input):
        if input.ndim < 3:
            raise ValueError(f"{self!r}: expected input of size CxHxW or BxCxHxW, got "
                             f"{'x'.join(map(str, input.shape))}")
        return (*input.shape[:-2], 1, 1)
