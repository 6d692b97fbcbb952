"""Ways to make tensors: Torch7's typed constructors and the factories.

``FloatTensor(2, 3)`` allocates a 2x3 float32 tensor (zeros here, where Torch7 left
garbage); ``FloatTensor([[1, 2]])`` copies data. ``range(1, 16)`` includes both ends.
"""

import builtins

import numpy as np

from .ops import elementwise as ew
from .ops import shape as shape_ops
from .random import generator
from .tensor import Tensor, _data, _sizes, get_default_dtype


def _typed(dtype, name):
    def constructor(*args, requires_grad=False):
        return Tensor(*args, dtype=dtype, requires_grad=requires_grad)

    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = f"{name}(sizes...) or {name}(data): a {np.dtype(dtype)} tensor."
    return constructor


FloatTensor = _typed(np.float32, "FloatTensor")
DoubleTensor = _typed(np.float64, "DoubleTensor")
LongTensor = _typed(np.int64, "LongTensor")
IntTensor = _typed(np.int32, "IntTensor")
ByteTensor = _typed(np.uint8, "ByteTensor")


def tensor(data, dtype=None, requires_grad=False):
    """A tensor holding a copy of ``data``; floats get the default type, ints int64,
    booleans uint8 (a ByteTensor, as Torch7's comparisons give)."""
    array = np.asarray(_data(data))
    dtype = _inferred_dtype(array) if dtype is None else dtype
    return Tensor(array, dtype=dtype, requires_grad=requires_grad)


def _inferred_dtype(array):
    if array.dtype.kind == "f":
        return get_default_dtype()
    if array.dtype.kind == "b":
        return np.uint8
    if array.dtype.kind in "iu" and array.dtype != np.uint8:
        return np.int64
    return array.dtype


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def _filled(fill, sizes, dtype, requires_grad):
    dtype = np.dtype(dtype) if dtype is not None else get_default_dtype()
    return Tensor._wrap(fill(_sizes(sizes), dtype), requires_grad)


def zeros(*sizes, dtype=None, requires_grad=False):
    return _filled(np.zeros, sizes, dtype, requires_grad)


def ones(*sizes, dtype=None, requires_grad=False):
    return _filled(np.ones, sizes, dtype, requires_grad)


def rand(*sizes, dtype=None, requires_grad=False):
    """Uniform on [0, 1)."""
    return _filled(lambda s, d: generator().random(s).astype(d), sizes, dtype, requires_grad)


def randn(*sizes, dtype=None, requires_grad=False):
    """Standard normal."""
    return _filled(lambda s, d: generator().standard_normal(s).astype(d), sizes, dtype,
                   requires_grad)


def range(start, end, step=1, dtype=None):
    """start, start+step, ..., end: both ends included, as Torch7's torch.range."""
    count = int(np.floor((end - start) / step)) + 1
    return Tensor(start + step * np.arange(builtins.max(count, 0)), dtype=dtype)


def arange(start, end=None, step=1, dtype=None):
    """start, ..., end excluded (Python's convention). arange(n) is 0 .. n-1."""
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    return Tensor(values, dtype=dtype or (np.int64 if values.dtype.kind == "i" else None))


def linspace(start, end, steps=100, dtype=None):
    return Tensor(np.linspace(start, end, steps), dtype=dtype)


def eye(n, m=None, dtype=None):
    return Tensor(np.eye(n, m), dtype=dtype)


def cat(tensors, dim=0):
    """Join tensors along an existing dim (Torch7's torch.cat / JoinTable)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expects at least one tensor")
    first = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(first) or any(a != b for i, (a, b) in enumerate(zip(t.shape, first))
                                       if i != dim % len(first)):
            raise ValueError(f"cat: sizes must match except in dim {dim}, got "
                             f"{'x'.join(map(str, first))} and {'x'.join(map(str, t.shape))}")
    return shape_ops.Cat.apply(dim, *tensors)


def stack(tensors, dim=0):
    """Join tensors of one size along a new dim."""
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def where(condition, a, b):
    """condition ? a : b elementwise, with broadcasting (differentiable in a and b)."""
    return ew.Where.apply(_data(condition), a, b)
