"""Modules that only change the shape or type of their input: ``Identity``, ``Convert``,
``Collapse``, ``View``, ``Reshape``."""

import math

from ..tensor import Tensor, _fmt_size
from .module import Module

__all__ = ["Collapse", "Convert", "Identity", "Reshape", "View"]


class Identity(Module):
    """output = input (a tensor or a table); also nngraph's input node."""

    def updateOutput(self, input):
        return input


class Convert(Module):
    """Convert(): casts the input to the module's type, e.g. MNIST's float images into a
    network made ``double()`` (or ``cuda()``); the type follows float()/double()/cuda()."""

    def __init__(self):
        super().__init__()
        self.register_buffer("typeTensor", Tensor(0))  # converted along with the module

    def updateOutput(self, input):
        moved = input.cuda() if self.typeTensor.device == "cuda" else input.cpu()
        return moved._cast(self.typeTensor.dtype)


class Collapse(Module):
    """Collapse(nInputDim): input with more than nInputDim dims (a batch) -> batch x rest,
    otherwise -> a 1-D vector. E.g. Collapse(3) on B x 1 x 28 x 28 gives B x 784."""

    def __init__(self, nInputDim):
        super().__init__()
        self.nInputDim = nInputDim

    def updateOutput(self, input):
        if input.ndim > self.nInputDim:
            return input.reshape(input.shape[0], -1)
        return input.reshape(-1)


class View(Module):
    """View(*sizes): the input viewed as ``sizes`` (one may be -1), or as batch x sizes
    when the input holds a whole number > 1 of ``sizes`` blocks (no -1 given).

    ``setNumInputDims(n)``: the last n input dims form one example; dims before them are
    the batch.
    """

    def __init__(self, *sizes):
        super().__init__()
        self.sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], tuple) \
            else sizes
        self.numInputDims = None

    def setNumInputDims(self, numInputDims):
        self.numInputDims = numInputDims
        return self

    def updateOutput(self, input):
        known = math.prod(s for s in self.sizes if s != -1)
        example = input.shape if self.numInputDims is None \
            else input.shape[input.ndim - self.numInputDims:]
        if known == 0 or math.prod(example) % known:
            raise ValueError(f"{self!r}: input of size {_fmt_size(input.shape)} cannot be "
                             f"viewed as {_fmt_size(self.sizes)}")
        batch = 1 if -1 in self.sizes else math.prod(example) // known
        batch *= math.prod(input.shape[:input.ndim - len(example)])
        if batch == 1 and (self.numInputDims is None or input.ndim <= self.numInputDims):
            return input.reshape(*self.sizes)
        return input.reshape(batch, *self.sizes)

    def __repr__(self):
        return f"nn.View({', '.join(map(str, self.sizes))})"


class Reshape(Module):
    """Reshape(*sizes, batchMode=None): a copy-free reshape to ``sizes``; with a batch
    (first) dim kept when batchMode is True, or, when None, whenever the input has more
    elements than ``sizes`` holds."""

    def __init__(self, *sizes, batchMode=None):
        super().__init__()
        self.sizes, self.batchMode = sizes, batchMode

    def updateOutput(self, input):
        batch = self.batchMode
        if batch is None:
            batch = input.nElement() != math.prod(self.sizes)
        if batch:
            return input.reshape(input.shape[0], *self.sizes)
        return input.reshape(*self.sizes)

    def __repr__(self):
        return f"nn.Reshape({'x'.join(map(str, self.sizes))})"
