"""Gathering by integer indices: ``index_select``, ``gather`` and the embedding lookup.
Backward adds the gradient back at the indices (repeated indices add up)."""

from ..autograd import Function
from ..device import array_module


def _check_indices(name, index):
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be an integer tensor (LongTensor), "
                        f"got {index.dtype}")


class IndexSelect(Function):
    """Entries ``index`` along ``dim``: out.shape = a.shape with dim -> index.shape.

    With dim 0 and a 2-D weight this is the embedding lookup: weight[index] gives
    index.shape + (D,).
    """

    @staticmethod
    def forward(ctx, a, dim, index):
        _check_indices("index_select", index)
        if index.size and (index.min() < 0 or index.max() >= a.shape[dim]):
            raise IndexError(f"index_select: index out of range for dim {dim} of size "
                             f"{a.shape[dim]} (got min {index.min()}, max {index.max()})")
        ctx.args = a.shape, a.dtype, dim, index
        return array_module(a).take(a, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        """grad = dL/dout (a.shape with dim -> index.shape) -> (dL/da of a's shape and
        dtype, None, None). ``ctx.args`` = (a.shape, a.dtype, dim, index). An index that
        appears twice read its row twice."""
        # BEGIN TASK 6.1
        shape, dtype, dim, index = ctx.args
        xp = array_module(grad)
        out = xp.zeros(shape, dtype)
        moved = xp.moveaxis(out, dim, 0)  # a view: scatter along dim 0 of it
        grad_rows = xp.moveaxis(grad, tuple(range(dim, dim + index.ndim)),
                                tuple(range(index.ndim)))
        xp.add.at(moved, index, grad_rows)
        return out, None, None
        # END TASK 6.1


class Gather(Function):
    """out[i][j] = a[index[i][j]][j] (dim 0), as torch.gather; index has a's ndim."""

    @staticmethod
    def forward(ctx, a, dim, index):
        _check_indices("gather", index)
        ctx.args = a.shape, a.dtype, dim, index
        return array_module(a).take_along_axis(a, index, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, dim, index = ctx.args
        xp = array_module(grad)
        out = xp.zeros(shape, dtype)
        idx = list(xp.indices(index.shape, sparse=True))
        idx[dim] = index
        xp.add.at(out, tuple(idx), grad)
        return out, None, None
