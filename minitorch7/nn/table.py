"""Table modules: split a tensor into a table (a Python list) of tensors, join, pick or
combine tables, and the elementwise layers ``CMul``, ``Add`` and ``Mul``.

Dimensions and table indices are 0-based; negative ones count from the end.
"""

import math

from ..autograd import size_text
from ..creation import cat
from ..tensor import Tensor
from .module import Module, check_float_input

__all__ = ["Add", "CAddTable", "CMul", "CMulTable", "JoinTable", "Mul", "NarrowTable",
           "SelectTable", "SplitTable"]



def _table_dim(module, ndim, dimension, nInputDims):
    """The dim to split/join along: negative dims count from the end; with ``nInputDims``
    set, an input with one extra (batch) dim shifts a non-negative dimension by one."""
    if dimension < 0:
        dim = dimension + ndim
    elif nInputDims is not None and ndim == nInputDims + 1:
        dim = dimension + 1
    else:
        dim = dimension
    if not 0 <= dim < ndim:
        raise ValueError(f"{module!r}: dimension {dimension} is out of range for a "
                         f"{ndim}-D input")
    return dim


def _check_table(module, input):
    if not isinstance(input, list | tuple) or not input:
        raise ValueError(f"{module!r}: expects a non-empty table (list) of tensors, got "
                         f"{type(input).__name__}")


def _check_same_sizes(module, tensors):
    _check_table(module, tensors)
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"{module!r}: all tensors must have one size, got "
                             f"{size_text(tensors[0].shape)} and {size_text(t.shape)}")


class SplitTable(Module):
    """SplitTable(dimension, nInputDims=None): a tensor -> the list of its slices along
    ``dimension`` (that dim removed). E.g. seqlen x batch x n with dimension 0 gives seqlen
    tensors of batch x n."""

    def __init__(self, dimension, nInputDims=None):
        super().__init__()
        self.dimension, self.nInputDims = dimension, nInputDims

    def updateOutput(self, input):
        dim = _table_dim(self, input.ndim, self.dimension, self.nInputDims)
        return [input.select(dim, i) for i in range(input.shape[dim])]


class JoinTable(Module):
    """JoinTable(dimension, nInputDims=None): a list of tensors -> one tensor, joined along
    ``dimension`` (sizes must match in the other dims)."""

    def __init__(self, dimension, nInputDims=None):
        super().__init__()
        self.dimension, self.nInputDims = dimension, nInputDims

    def updateOutput(self, input):
        _check_table(self, input)
        dim = _table_dim(self, input[0].ndim, self.dimension, self.nInputDims)
        try:
            return cat(input, dim)
        except ValueError as error:
            raise ValueError(f"{self!r}: {error}") from None


class SelectTable(Module):
    """SelectTable(index): element ``index`` of the input table. The other elements get a
    zero gradient."""

    def __init__(self, index):
        super().__init__()
        self.index = index

    def updateOutput(self, input):
        _check_table(self, input)
        if not -len(input) <= self.index < len(input):
            raise ValueError(f"{self!r}: index {self.index} is out of range for a table of "
                             f"{len(input)} elements")
        return input[self.index]

    def __repr__(self):
        return f"nn.SelectTable({self.index})"


class NarrowTable(Module):
    """NarrowTable(offset, length=1): the sub-table input[offset : offset + length]."""

    def __init__(self, offset, length=1):
        super().__init__()
        self.offset, self.length = offset, length

    def updateOutput(self, input):
        _check_table(self, input)
        if not (0 <= self.offset and 0 <= self.length
                and self.offset + self.length <= len(input)):
            raise ValueError(f"{self!r}: elements [{self.offset}, "
                             f"{self.offset + self.length}) are out of range for a table of "
                             f"{len(input)} elements")
        return list(input[self.offset:self.offset + self.length])

    def __repr__(self):
        return f"nn.NarrowTable({self.offset}, {self.length})"


class CAddTable(Module):
    """The elementwise sum of a table of same-size tensors: y = x_0 + x_1 + ..."""

    def updateOutput(self, input):
        _check_same_sizes(self, input)
        output = input[0]
        for x in input[1:]:
            output = output + x
        return output


class CMulTable(Module):
    """The elementwise product of a table of same-size tensors: y = x_0 * x_1 * ..."""

    def updateOutput(self, input):
        _check_same_sizes(self, input)
        output = input[0]
        for x in input[1:]:
            output = output * x
        return output


def _apply_elementwise(module, input, param, op):
    """op(input, param) with the parameter laid over the input: over all of it (the same
    number of elements), broadcast along its size-1 dims (the same number of dims), or
    over each sample of a batch (input batch x ..., one parameter copy per sample).
    A non-float input is refused (TypeError naming ``module``), as by every learned layer."""
    check_float_input(module, input)
    if input.nElement() == param.nElement():
        return op(input, param.reshape(*input.shape))
    if input.ndim == param.ndim and all(p in (1, s) for p, s in zip(param.shape, input.shape)):
        return op(input, param)
    if input.ndim > 1 and input.nElement() == input.shape[0] * param.nElement():
        rows = op(input.reshape(input.shape[0], -1), param.reshape(1, -1))
        return rows.reshape(*input.shape)
    raise ValueError(f"{module!r}: a parameter of size {size_text(param.shape)} does not fit an "
                     f"input of size {size_text(input.shape)} (expected the same number of "
                     f"elements, or batch x {param.nElement()} elements)")


class CMul(Module):
    """CMul(size...): y = x * w, elementwise, with a learned weight of ``size`` (ints or a
    tuple), ~ U(-1/sqrt(n), 1/sqrt(n)) with n its number of elements; broadcast over a
    batch."""

    def __init__(self, *size):
        super().__init__()
        self.register_parameter("weight", Tensor(*size))
        self.reset()

    def reset(self, stdv=None):
        stdv = 1 / math.sqrt(self.weight.nElement()) if stdv is None else stdv
        self.weight.uniform(-stdv, stdv)
        return self

    def updateOutput(self, input):
        return _apply_elementwise(self, input, self.weight, Tensor.__mul__)

    def __repr__(self):
        return f"nn.CMul({size_text(self.weight.shape)})"


class Add(Module):
    """Add(inputSize, scalar=False): y = x + b with a learned bias b of ``inputSize``
    (broadcast over a batch), or one learned scalar when ``scalar``. b ~ U(-1/sqrt(m),
    1/sqrt(m)), m its first size."""

    def __init__(self, inputSize, scalar=False):
        super().__init__()
        self.scalar = scalar
        self.register_parameter("bias", Tensor(1) if scalar else Tensor(inputSize))
        self.reset()

    def reset(self, stdv=None):
        stdv = 1 / math.sqrt(self.bias.shape[0]) if stdv is None else stdv
        self.bias.uniform(-stdv, stdv)
        return self

    def updateOutput(self, input):
        check_float_input(self, input)
        if self.scalar:
            return input + self.bias
        return _apply_elementwise(self, input, self.bias, Tensor.__add__)

    def __repr__(self):
        return f"nn.Add({'scalar' if self.scalar else size_text(self.bias.shape)})"


class Mul(Module):
    """Mul(): y = w * x with one learned scalar w ~ U(-1, 1)."""

    def __init__(self):
        super().__init__()
        self.register_parameter("weight", Tensor(1))
        self.reset()

    def reset(self, stdv=1.0):
        self.weight.uniform(-stdv, stdv)
        return self

    def updateOutput(self, input):
        check_float_input(self, input)
        return input * self.weight
