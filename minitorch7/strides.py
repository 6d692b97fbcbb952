"""Storage, strides and views: the index arithmetic behind narrow, select, transpose and
expand.

A tensor's numbers live in a flat storage. The tensor itself is only a ``View`` of it:
an ``offset`` (where element (0, ..., 0) is) and, per dimension, a size and a stride
(how many storage places one step along that dimension moves):

    element (i_0, ..., i_{n-1})  lives at  storage[offset + i_0 * strides[0] + ...]

``narrow``, ``select``, ``transpose`` and ``expand`` make a new View of the same storage:
only these three numbers change, no element is copied. ``realize`` turns a View back into
an array (NumPy or CUDA) that shares the memory, which is how ``Tensor.narrow`` and its
siblings run (``ops.shape.View``). docs/tensors.md derives each function.
"""

from typing import NamedTuple

import numpy as np


class View(NamedTuple):
    """Where a tensor's elements are: ``offset`` into the storage, and per dimension its
    size and stride, both counted in elements."""

    offset: int
    sizes: tuple
    strides: tuple


def contiguous_strides(sizes):
    """The strides of a fresh row-major (C-order) tensor of ``sizes``: the last dimension
    has stride 1, and each earlier one steps over a whole block of the dims after it.

    contiguous_strides((2, 3, 4)) -> (12, 4, 1); () -> ().
    """
    # BEGIN TASK 1.1
    strides = []
    step = 1
    for size in reversed(sizes):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))
    # END TASK 1.1


def narrow(view, dim, start, length):
    """The View of elements start .. start + length - 1 along ``dim`` (0 <= dim < ndim,
    the range already checked): same strides, ``dim`` has size ``length``, and the offset
    moves to where element start along ``dim`` is."""
    # BEGIN TASK 1.1
    sizes = list(view.sizes)
    sizes[dim] = length
    offset = view.offset + start * view.strides[dim]
    return View(offset, tuple(sizes), view.strides)
    # END TASK 1.1


def select(view, dim, index):
    """The View of the slice at ``index`` (0 <= index < sizes[dim]) along ``dim``, that
    dimension removed: one dimension fewer."""
    # BEGIN TASK 1.1
    offset = view.offset + index * view.strides[dim]
    sizes = view.sizes[:dim] + view.sizes[dim + 1:]
    strides = view.strides[:dim] + view.strides[dim + 1:]
    return View(offset, sizes, strides)
    # END TASK 1.1


def transpose(view, dim0, dim1):
    """The View with dimensions ``dim0`` and ``dim1`` (both in 0 .. ndim-1) swapped."""
    # BEGIN TASK 1.1
    sizes, strides = list(view.sizes), list(view.strides)
    sizes[dim0], sizes[dim1] = sizes[dim1], sizes[dim0]
    strides[dim0], strides[dim1] = strides[dim1], strides[dim0]
    return View(view.offset, tuple(sizes), tuple(strides))
    # END TASK 1.1


def broadcast_shape(a, b):
    """The shape that shapes ``a`` and ``b`` (tuples) broadcast to, NumPy's and Torch7's
    rule: align them on the right; each pair of sizes must be equal or contain a 1 (the
    result takes the other); a missing dimension on the left counts as 1.

    broadcast_shape((3, 1), (4,)) -> (3, 4). ValueError when a pair clashes.
    """
    # BEGIN TASK 1.2
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    shape = []
    for x, y in zip(a, b):
        if x != y and x != 1 and y != 1:
            raise ValueError(f"sizes {x} and {y} do not broadcast")
        shape.append(y if x == 1 else x)
    return tuple(shape)
    # END TASK 1.2


def expand(view, sizes):
    """The View that repeats ``view`` to ``sizes`` without copying: new dimensions on the
    left and dimensions of size 1 are repeated, which a stride of 0 does (every step
    reads the same element). ``sizes`` is already checked with broadcast_shape."""
    # BEGIN TASK 1.2
    lead = len(sizes) - len(view.sizes)
    strides = [0] * lead
    for size, old_size, stride in zip(sizes[lead:], view.sizes, view.strides):
        strides.append(stride if old_size == size else 0)
    return View(view.offset, tuple(sizes), tuple(strides))
    # END TASK 1.2


def view_of(array):
    """The View of an array (NumPy or CUDA) relative to its own first element (offset 0):
    its shape and its strides in elements."""
    itemsize = np.dtype(array.dtype).itemsize
    return View(0, tuple(array.shape), tuple(s // itemsize for s in array.strides))


def extent(view):
    """The lowest and the highest storage position that ``view`` reads (an empty view
    reads none: (offset, offset - 1))."""
    if 0 in view.sizes:
        return view.offset, view.offset - 1
    steps = [(size - 1) * stride for size, stride in zip(view.sizes, view.strides)]
    return (view.offset + sum(s for s in steps if s < 0),
            view.offset + sum(s for s in steps if s > 0))


def realize(array, view):
    """The array that ``view`` (relative to ``array``'s first element, as ``view_of``
    gives) describes, sharing ``array``'s memory: writing through it changes ``array``.

    ValueError when the view would read outside ``array``'s memory (a wrong view function:
    reading there would give garbage or crash the process)."""
    low, high = extent(view)
    inside_low, inside_high = extent(view_of(array))
    if low <= high and (low < inside_low or high > inside_high):
        raise ValueError(f"strides: the view {view} reads storage positions {low}..{high}, "
                         f"outside the array's {inside_low}..{inside_high} (size "
                         f"{'x'.join(map(str, array.shape))}): check the view's offset, "
                         "sizes and strides")
    if not isinstance(array, np.ndarray):  # a CudaArray is (buffer, shape, strides, offset)
        return type(array)(array.buf, view.sizes, view.strides, array.offset + view.offset)
    interface = dict(array.__array_interface__)
    address, read_only = interface["data"]
    interface.update(data=(address + view.offset * array.itemsize, read_only),
                     shape=view.sizes, strides=tuple(s * array.itemsize for s in view.strides))
    return np.asarray(_Memory(interface, array)).view()  # .view(): an ndarray as its base


class _Memory:
    """An array interface at a chosen address that keeps its owner alive (NumPy's
    as_strided builds its views the same way)."""

    def __init__(self, interface, owner):
        self.__array_interface__ = interface
        self.base = owner
