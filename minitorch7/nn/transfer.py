"""Transfer functions: elementwise non-linearities and the (log-)softmax. Each refuses a
non-float input (TypeError naming the module and the dtype), as Torch7's do: on integers
NumPy would answer in float16 (tanh), integers (relu) or not at all (log-softmax)."""

from ..device import array_module
from ..ops.elementwise import Where
from .module import Module, check_float_input


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))."""

    def updateOutput(self, input):
        check_float_input(self, input)
        return input.sigmoid()


class Tanh(Module):
    """y = tanh(x)."""

    def updateOutput(self, input):
        check_float_input(self, input)
        return input.tanh()


class ReLU(Module):
    """y = max(0, x)."""

    def updateOutput(self, input):
        check_float_input(self, input)
        return input.relu()


class SoftMax(Module):
    """y_i = exp(x_i) / sum_j exp(x_j) over the last dim (the features)."""

    def updateOutput(self, input):
        check_float_input(self, input)
        return input.softmax(-1)


class LogSoftMax(Module):
    """y_i = x_i - log sum_j exp(x_j) over the last dim: log-probabilities for ClassNLL."""

    def updateOutput(self, input):
        check_float_input(self, input)
        return input.log_softmax(-1)


class HardTanh(Module):
    """HardTanh(min_value=-1, max_value=1): y = min(max(x, min_value), max_value).

    The gradient passes only where min_value < x < max_value: Torch7's kernel (THNN
    HardTanh) zeroes it AT the bounds too, where a plain clamp would pass it.
    """

    def __init__(self, min_value=-1.0, max_value=1.0):
        super().__init__()
        if not max_value > min_value:
            raise ValueError(f"nn.HardTanh: max_value ({max_value}) must be larger than "
                             f"min_value ({min_value})")
        self.min_val, self.max_val = min_value, max_value

    def updateOutput(self, input):
        check_float_input(self, input)
        x = input.data
        inside = (x > self.min_val) & (x < self.max_val)
        return Where.apply(inside, input, array_module(x).clip(x, self.min_val, self.max_val))


class MulConstant(Module):
    """MulConstant(constant_scalar): y = c * x, a fixed (not learned) factor c."""

    def __init__(self, constant_scalar):
        super().__init__()
        if isinstance(constant_scalar, bool) or not isinstance(constant_scalar, int | float):
            raise TypeError(f"nn.MulConstant: expects a number, got "
                            f"{type(constant_scalar).__name__}")
        self.constant_scalar = constant_scalar

    def updateOutput(self, input):
        check_float_input(self, input)
        return input * self.constant_scalar


__all__ = ["HardTanh", "LogSoftMax", "MulConstant", "ReLU", "Sigmoid", "SoftMax", "Tanh"]
