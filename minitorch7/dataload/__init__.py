"""Torch7's ``dataload``: MNIST and Penn Treebank, verified, cached, offline first.

``loadMNIST()`` -> (train, valid, test) TensorLoaders; ``loadPTB(batchsize)`` -> (train,
valid, test) SequenceLoaders. Where the files come from: ``sources`` (and docs/data.md).
"""

from .loaders import DataLoader, SequenceLoader, TensorLoader, loadMNIST, loadPTB
from .sources import DataFormatError, DataUnavailableError

__all__ = ["DataLoader", "SequenceLoader", "TensorLoader", "loadMNIST", "loadPTB",
           "DataFormatError", "DataUnavailableError"]
