"""``LookupTable``: word embeddings, one learned row per index."""

import numpy as np

from ..tensor import Tensor, _fmt_size
from .module import Module

__all__ = ["LookupTable"]


class LookupTable(Module):
    """LookupTable(nIndex, nOutput): output[..., :] = weight[input[...]].

    weight: nIndex x nOutput ~ N(0, 1). Input: 0-based indices, 1-D (n) or 2-D (e.g.
    seqlen x batch), LongTensor (integer-valued float tensors are accepted); output:
    input size x nOutput. Backward adds each gradient row into gradWeight at its index
    (repeated indices add up); the indices get no gradient.
    """

    def __init__(self, nIndex, nOutput):
        super().__init__()
        self.nIndex, self.nOutput = nIndex, nOutput
        self.register_parameter("weight", Tensor(nIndex, nOutput).normal(0, 1))

    def updateOutput(self, input):
        if input.ndim not in (1, 2):
            raise ValueError(f"{self!r}: expected 1-D or 2-D indices, got size "
                             f"{_fmt_size(input.shape)}")
        index = input.data if input.dtype.kind in "iu" else input.data.astype(np.int64)
        if index.size and (int(index.min()) < 0 or int(index.max()) >= self.nIndex):
            raise IndexError(f"{self!r}: indices must be in [0, {self.nIndex - 1}], got min "
                             f"{int(index.min())} and max {int(index.max())} in input of size "
                             f"{_fmt_size(input.shape)}")
        return self.weight.index_select(0, index)

    def __repr__(self):
        return f"nn.LookupTable({self.nIndex} -> {self.nOutput})"
