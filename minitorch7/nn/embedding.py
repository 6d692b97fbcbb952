"""``LookupTable``: word embeddings, one learned row per index."""

import numpy as np

from ..ops.shape import to_device
from ..tensor import Tensor, _fmt_size
from .module import Module, dtype_text

__all__ = ["LookupTable"]


def _number(x):
    """A min or max of ids (a Python number) for a message: 3, not 3.0."""
    return int(x) if isinstance(x, float) and x.is_integer() else x


class LookupTable(Module):
    """LookupTable(nIndex, nOutput): output[..., :] = weight[input[...]].

    weight: nIndex x nOutput ~ N(0, 1). Input: 0-based indices, 1-D (n) or 2-D (e.g.
    seqlen x batch), LongTensor (whole-valued float tensors are accepted, 1.5 is refused);
    output: input size x nOutput. Backward adds each gradient row into gradWeight at its index
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
        return self.weight.index_select(0, self._indices(input))

    def _indices(self, input):
        """The ids as an integer array on the input's device, after checking them:
        integers (any width), or floats that are whole numbers (Torch7 copies ids into a
        LongTensor; 1.5 is refused here rather than truncated), all in [0, nIndex - 1].
        Other types (bool) raise TypeError, non-whole ids (NaN too) ValueError,
        out-of-range ids IndexError, each naming the module. Cost: a min and a max over
        integer ids (on CUDA two host round trips, as before these checks); float ids,
        rare, are checked on a host copy (on CUDA one copy each way)."""
        data = input.data
        kind = data.dtype.kind
        if kind not in "iuf":
            raise TypeError(f"{self!r}: expected integer ids (a LongTensor, or a float "
                            f"tensor of whole numbers), got {dtype_text(input)}")
        if kind == "f":
            host = to_device(data, "cpu")
            whole = host == np.trunc(host)  # False for NaN
            if not whole.all():
                raise ValueError(f"{self!r}: ids must be whole numbers, got "
                                 f"{host[~whole].flat[0]} in input of size "
                                 f"{_fmt_size(input.shape)} (ids are not rounded or "
                                 f"truncated: .long() truncates them, if that is meant)")
            self._check_range(input, host)
            return to_device(host.astype(np.int64), input.device)
        self._check_range(input, data)
        return data

    def _check_range(self, input, ids):
        if ids.size:
            low, high = ids.min().item(), ids.max().item()  # Python numbers
            if low < 0 or high >= self.nIndex:
                raise IndexError(f"{self!r}: indices must be in [0, {self.nIndex - 1}], got "
                                 f"min {_number(low)} and max {_number(high)} in input of "
                                 f"size {_fmt_size(input.shape)}")

    def __repr__(self):
        return f"nn.LookupTable({self.nIndex} -> {self.nOutput})"
