"""Affine layers: ``Linear`` (y = x W^T + b) and ``LinearNoBias`` (y = x W^T)."""

import math

from ..ops import linalg
from ..tensor import Tensor
from .module import Module, check_float_input


class Linear(Module):
    """Linear(inputSize, outputSize): y = x W^T + b.

    weight: outputSize x inputSize, bias: outputSize, both ~ U(-1/sqrt(inputSize),
    +1/sqrt(inputSize)). Input: inputSize (1-D) or batch x inputSize (2-D).
    """

    def __init__(self, inputSize, outputSize, bias=True):
        super().__init__()
        self.inputSize, self.outputSize = inputSize, outputSize
        self.register_parameter("weight", Tensor(outputSize, inputSize))
        if bias:
            self.register_parameter("bias", Tensor(outputSize))
        self.reset()

    def reset(self, stdv=None):
        """Re-draw the parameters from U(-stdv, stdv), stdv = 1/sqrt(inputSize) by default."""
        stdv = 1 / math.sqrt(self.inputSize) if stdv is None else stdv
        for p in self.own_parameters():
            p.uniform(-stdv, stdv)
        return self

    def updateOutput(self, input):
        check_float_input(self, input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.inputSize:
            raise ValueError(f"{self!r}: expected input of size {self.inputSize} or "
                             f"batch x {self.inputSize}, got "
                             f"{'x'.join(map(str, input.shape))}")
        return linalg.Linear.apply(input, self.weight, getattr(self, "bias", None))

    def __repr__(self):
        suffix = "" if "bias" in self._parameter_names else " without bias"
        return f"nn.{type(self).__name__}({self.inputSize} -> {self.outputSize}{suffix})"


class LinearNoBias(Linear):
    """LinearNoBias(inputSize, outputSize): y = x W^T, no bias."""

    def __init__(self, inputSize, outputSize):
        super().__init__(inputSize, outputSize, bias=False)

    def __repr__(self):
        return f"nn.LinearNoBias({self.inputSize} -> {self.outputSize})"


__all__ = ["Linear", "LinearNoBias"]
