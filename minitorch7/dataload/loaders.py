"""Torch7 ``dataload`` loaders over arrays, handing out minitorch7 Tensors; loadMNIST, loadPTB.

Indices are 0-based and ``sub(start, stop)`` is a Python slice (``stop`` excluded).
``subiter`` is stateful as in Torch7: it remembers where it stopped and wraps around to the
start; a batch never straddles the end, so the last one before a wrap may be shorter.
Iterators yield ``(samples_so_far, inputs, targets)``.
"""

from __future__ import annotations

import os

import numpy as np

from ..creation import from_numpy
from ..random import generator
from ..tensor import Tensor
from . import mnist, ptb


def _array(x) -> np.ndarray:
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


def _positive(name: str, value: int) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class DataLoader:
    """Base loader: ``size()`` samples, ``sub(start, stop)``; adds the two iterators."""

    _start = 0  # where the next subiter batch begins

    def size(self) -> int:
        raise NotImplementedError

    def sub(self, start: int, stop: int):
        raise NotImplementedError

    def sample(self, batchsize: int):
        raise NotImplementedError(f"{type(self).__name__} cannot sample")

    def reset(self) -> None:
        """Make the next ``subiter`` start at sample 0 (a full epoch in order)."""
        self._start = 0

    def getState(self) -> dict:
        """Where the next ``subiter`` batch begins ({'start': sample index}): the loader's
        only state (``sampleiter`` draws from minitorch7's RNG, whose state is
        ``minitorch7.random.getRNGState()``). A training checkpoint saves it so that a
        resumed run draws the batches an uninterrupted one would."""
        return {"start": int(self._start)}

    def setState(self, state: dict) -> None:
        """Continue from ``getState()``: the next ``subiter`` starts where that one stopped."""
        start = state.get("start") if isinstance(state, dict) else None
        if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start < self.size():
            raise ValueError(f"{type(self).__name__}.setState: expected {{'start': an index in "
                             f"[0, {self.size()})}}, got {state!r}")
        self._start = start

    def subiter(self, batchsize: int = 32, epochsize: int = -1):
        """Sequential batches of ``batchsize`` until ``epochsize`` samples (-1: ``size()``)."""
        batchsize = _positive(f"{type(self).__name__}.subiter: batchsize", batchsize)
        size = self.size()
        epochsize = epochsize if epochsize > 0 else size
        nsampled = 0
        while nsampled < epochsize:
            stop = min(self._start + min(batchsize, epochsize - nsampled), size)
            inputs, targets = self.sub(self._start, stop)
            nsampled += stop - self._start
            self._start = stop % size
            yield nsampled, inputs, targets

    def sampleiter(self, batchsize: int = 32, epochsize: int = -1):
        """Batches of ``sample(batchsize)`` until ``epochsize`` samples (-1: ``size()``)."""
        batchsize = _positive(f"{type(self).__name__}.sampleiter: batchsize", batchsize)
        epochsize = epochsize if epochsize > 0 else self.size()
        nsampled = 0
        while nsampled < epochsize:
            n = min(batchsize, epochsize - nsampled)
            nsampled += n
            yield (nsampled, *self.sample(n))


class TensorLoader(DataLoader):
    """Samples along the first dimension of ``inputs`` (N x ...) and ``targets`` (N x ...).

    ``inputs`` and ``targets`` may be Tensors or arrays; they are shared, not copied.
    """

    def __init__(self, inputs, targets):
        self._inputs, self._targets = _array(inputs), _array(targets)
        if len(self._inputs) != len(self._targets):
            raise ValueError(f"TensorLoader: {len(self._inputs)} inputs but "
                             f"{len(self._targets)} targets")
        self.inputs, self.targets = from_numpy(self._inputs), from_numpy(self._targets)

    def size(self) -> int:
        return len(self._inputs)

    def index(self, indices):
        """(inputs, targets) of the samples at 0-based ``indices`` (copies)."""
        indices = _array(indices).astype(np.int64, copy=False)
        if indices.size and (indices.min() < 0 or indices.max() >= self.size()):
            raise IndexError(f"TensorLoader.index: indices must be in [0, {self.size()}), "
                             f"got [{indices.min()}, {indices.max()}]")
        return from_numpy(self._inputs[indices]), from_numpy(self._targets[indices])

    def sub(self, start: int, stop: int):
        """(inputs, targets) of samples start..stop-1 (views)."""
        return from_numpy(self._inputs[start:stop]), from_numpy(self._targets[start:stop])

    def sample(self, batchsize: int):
        """``batchsize`` samples drawn uniformly with replacement (minitorch7's RNG)."""
        return self.index(generator().integers(0, self.size(), size=batchsize))


class SequenceLoader(DataLoader):
    """A token stream cut into ``batchsize`` contiguous columns: ``data`` is T x B.

    Column b holds tokens b*T .. b*T+T-1 (the tail that does not fill a column is dropped).
    Sample s is the time step s: inputs ``data[s]``, targets ``data[s+1]``; ``size()`` is
    T - 1. ``vocab`` (word -> id), ``ivocab`` (id -> word) and ``wordfreq`` describe the ids.
    """

    def __init__(self, sequence, batchsize: int, vocab=None, ivocab=None, wordfreq=None):
        sequence = _array(sequence)
        batchsize = _positive("SequenceLoader: batchsize", batchsize)
        steps = len(sequence) // batchsize
        if sequence.ndim != 1 or steps < 2:
            raise ValueError(f"SequenceLoader: need a 1-D sequence of at least 2 x batchsize "
                             f"= {2 * batchsize} tokens, got shape {sequence.shape}")
        self._data = np.ascontiguousarray(sequence[:steps * batchsize].reshape(batchsize, steps).T)
        self.data = from_numpy(self._data)
        self.batchsize = batchsize
        self.vocab, self.ivocab, self.wordfreq = vocab, ivocab, wordfreq

    def size(self) -> int:
        return len(self._data) - 1

    def sub(self, start: int, stop: int):
        """inputs = rows start..stop-1, targets = rows start+1..stop (each seqlen x B, views)."""
        return from_numpy(self._data[start:stop]), from_numpy(self._data[start + 1:stop + 1])

    def subiter(self, seqlen: int, epochsize: int = -1):
        """Batches of ``seqlen`` time steps (seqlen x B) until ``epochsize`` steps (-1: all).

        ``n`` counts time steps; a new epoch in order: ``reset()`` then ``subiter(seqlen)``.
        """
        return super().subiter(seqlen, epochsize)


def loadMNIST(datapath: str | os.PathLike | None = None, validratio: float = 1 / 6):
    """(train, valid, test) TensorLoaders of MNIST: 50000 / 10000 / 10000 by default.

    Inputs float32 in [0, 1], N x 1 x 28 x 28; targets int64 classes 0..9. ``datapath``:
    a directory holding the four ``.gz`` IDX files (see sources.fetch for the others).
    """
    return tuple(TensorLoader(x, y) for x, y in mnist.load_arrays(datapath, validratio))


def loadPTB(batchsize=32, datapath: str | os.PathLike | None = None):
    """(train, valid, test) SequenceLoaders of Penn Treebank.

    ``batchsize``: one int for all three, or a triple (train, valid, test), as in the
    lab's ``loadPTB{batchsize, 1, 1}``. ``datapath``: a directory holding ptb.*.txt.
    """
    sizes = tuple(batchsize) if isinstance(batchsize, (tuple, list)) else (batchsize,) * 3
    if len(sizes) != 3:
        raise ValueError(f"loadPTB: batchsize must be an int or a triple, got {batchsize!r}")
    vocab, ivocab, wordfreq, ids = ptb.load_arrays(datapath)
    return tuple(SequenceLoader(seq, b, vocab, ivocab, wordfreq)
                 for seq, b in zip(ids, sizes, strict=True))
