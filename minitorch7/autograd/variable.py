"""``Variable``: an array and its place in the autograd graph.

``Tensor`` (minitorch7/tensor.py) builds the Torch7 API on top of this; everything the
graph needs lives here: ``data`` (the array), ``requires_grad``, ``grad`` (a Variable of
the same shape, filled by ``backward``), ``_ctx`` (the Context of the op that made it,
None for a leaf) and ``_version`` (bumped by every in-place change; shared by views).
"""

import numpy as np

from .engine import run_backward
from .grad_mode import is_grad_enabled


class Variable:
    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_version", "__weakref__")

    @classmethod
    def _wrap(cls, data, requires_grad=False):
        """A new leaf around ``data`` (no copy)."""
        v = object.__new__(cls)
        v.data = data
        v.requires_grad = requires_grad
        v.grad = None
        v._ctx = None
        v._version = [0]
        return v

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return "cpu" if isinstance(self.data, np.ndarray) else self.data.device

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def requires_grad_(self, requires_grad=True):
        """Mark a leaf as a parameter-like value whose gradient backward fills in."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_: only leaves can stop requiring grad; "
                               "use detach() on a result instead")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        """Also fill ``.grad`` for this non-leaf when backward passes through it."""
        if self._ctx is not None:
            self._ctx.retained = self
        return self

    def detach(self):
        """The same data (shared, same version counter), cut from the graph."""
        out = type(self)._wrap(self.data)
        out._version = self._version
        return out

    def _bump_version(self):
        self._version[0] += 1

    def backward(self, gradient=None, retain_graph=False):
        """Backpropagate from here, accumulating into the ``.grad`` of every leaf.

        ``gradient`` is d(something)/d(self); it may be omitted only for one-element
        results (it is then 1).
        """
        if isinstance(gradient, Variable):
            gradient = gradient.data
        run_backward([self], [gradient], retain_graph)

    def _accumulate_grad(self, grad, fresh=False):
        """grad += g, in place, so flat views of gradients (getParameters) stay valid.

        The first gradient is kept as it is when ``fresh`` (a new array no one else holds),
        else copied: it may be shared with other inputs.
        """
        if self.grad is None:
            self.grad = type(self)._wrap(grad if fresh else grad.copy())
        else:
            self.grad.data += grad
            self.grad._bump_version()


__all__ = ["Variable", "is_grad_enabled"]
