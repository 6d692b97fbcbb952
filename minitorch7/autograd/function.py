"""``Function``: one differentiable op, its forward and backward side by side.

A Function works on raw arrays (``numpy.ndarray``, or the CUDA array type); ``apply``
wraps the result in a Variable and, when a gradient will be needed, records a
``Context`` that links the result to its inputs. That context is a node of the graph
``backward`` walks::

    class Exp(Function):
        @staticmethod
        def forward(ctx, a):
            out = xp.exp(a)
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):          # d exp(a)/da = exp(a)
            (out,) = ctx.saved_arrays
            return grad * out
"""

import numpy as np

from .grad_mode import is_grad_enabled
from .variable import Variable


class Context:
    """What one op's forward leaves for its backward: saved arrays, inputs, flags."""

    __slots__ = ("function", "parents", "needs_input_grad", "saved", "saved_versions",
                 "freed", "retained", "__dict__")

    def __init__(self, function, parents, needs_input_grad):
        self.function = function
        self.parents = parents
        self.needs_input_grad = needs_input_grad
        self.saved = ()
        self.saved_versions = ()
        self.freed = False
        self.retained = None

    def save_for_backward(self, *arrays):
        """Keep arrays for backward; changing one of them in place is caught later."""
        self.saved = arrays

    @property
    def saved_arrays(self):
        if self.freed:
            raise RuntimeError(
                f"{self.function.__name__}: trying to backward through the graph a second "
                "time; its saved values were freed. Pass retain_graph=True to the first "
                "backward if you need to backward twice.")
        for counter, version, shape in self.saved_versions:
            if counter[0] != version:
                raise RuntimeError(
                    f"{self.function.__name__}: a tensor of size "
                    f"{'x'.join(map(str, shape))} that backward needs was modified "
                    f"in place after the forward (version {version}, now "
                    f"{counter[0]}). Use clone() before changing it.")
        return self.saved

    def free(self):
        """Drop the saved arrays so memory goes back once backward has used them."""
        self.saved = ()
        self.freed = True


class Function:
    """Base class of differentiable ops. Subclasses define ``forward`` and ``backward``.

    ``forward(ctx, *args)`` gets raw arrays for Variable arguments (other arguments as they
    are) and returns one array. ``backward(ctx, grad)`` returns the gradient for each
    argument (a tuple, or one array when there is one argument); None where there is none.
    A Function whose output is a view of its first input sets ``is_view = True`` so the two
    share one version counter.
    """

    is_view = False

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        # one pass over the arguments: this runs for every op, so it is kept lean
        raw, parents, first, needs_grad = [], [], None, False
        for a in args:
            if isinstance(a, Variable):
                if first is None:
                    first = a
                elif type(a.data) is not type(first.data) and a.device != first.device:
                    raise RuntimeError(
                        f"{cls.__name__}: all tensors must be on one device, got "
                        f"{first.device} and {a.device}. Move them with .cuda() or .cpu().")
                raw.append(a.data)
                parents.append(a)
                needs_grad = needs_grad or a.requires_grad
            else:
                raw.append(a)
                parents.append(None)
        ctx = Context(cls, None, None)
        result = cls.forward(ctx, *raw)
        if isinstance(result, np.generic):  # NumPy reductions return scalars, not 0-d arrays
            result = np.asarray(result)
        out = type(first)._wrap(result)
        if cls.is_view:
            out._version = first._version
        if needs_grad and is_grad_enabled():
            ctx.parents = tuple(parents)
            ctx.needs_input_grad = tuple(p is not None and p.requires_grad for p in parents)
            if ctx.saved:  # version counters, not the Variables: out -> ctx -> out is a cycle
                ctx.saved_versions = _saved_versions(ctx.saved, parents, out)
            out._ctx = ctx
            out.requires_grad = True
        return out


def _saved_versions(saved, parents, out):
    """(version counter, version now, shape) of each input or output whose array is saved."""
    versions = []
    for v in (*parents, out):
        if v is not None:
            for array in saved:
                if array is v.data:
                    versions.append((v._version, v._version[0], v.data.shape))
                    break
    return tuple(versions)
