"""Transfer functions: elementwise non-linearities and the (log-)softmax. Each refuses a
non-float input (TypeError naming the module and the dtype), as Torch7's do: on integers
NumPy would answer in float16 (tanh), integers (relu) or not at all (log-softmax)."""

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


__all__ = ["LogSoftMax", "ReLU", "Sigmoid", "SoftMax", "Tanh"]
