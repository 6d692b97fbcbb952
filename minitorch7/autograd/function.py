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

from .context import Context
from .grad_mode import is_grad_enabled
from .variable import Variable


class Function:
    """Base class of differentiable ops. Subclasses define ``forward`` and ``backward``.

    ``forward(ctx, *args)`` gets raw arrays for Variable arguments (other arguments as they
    are) and returns one array. ``backward(ctx, grad)`` returns the gradient for each
    argument (a tuple, or one array when there is one argument); None where there is none.
    A Function whose output is a view of its first input sets ``is_view = True`` so the two
    share one version counter. A Function may define ``check(*args)``: it gets forward's
    arguments first and raises for bad ones, so that forward holds only the math.
    """

    is_view = False
    check = None

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        # this runs for every op, so it is kept lean: one pass over the arguments
        raw, variables, needs_grad = [], [], False
        for a in args:
            if isinstance(a, Variable):
                if variables and type(a.data) is not type(variables[0].data) \
                        and a.device != variables[0].device:
                    raise RuntimeError(
                        f"{cls.__name__}: all tensors must be on one device, got "
                        f"{variables[0].device} and {a.device}. Move them with .cuda() or "
                        ".cpu().")
                raw.append(a.data)
                variables.append(a)
                needs_grad = needs_grad or a.requires_grad
            else:
                raw.append(a)
        if cls.check is not None:
            cls.check(*raw)
        ctx = Context(cls)
        result = cls.forward(ctx, *raw)
        if isinstance(result, np.generic):  # NumPy reductions return scalars, not 0-d arrays
            result = np.asarray(result)
        first = variables[0]
        out = type(first)._wrap(result)
        if cls.is_view:
            out._version = first._version
        if needs_grad and is_grad_enabled():
            ctx.needs_input_grad = tuple([isinstance(a, Variable) and a.requires_grad
                                          for a in args])
            # a leaf input is kept (its .grad is filled); of an op's result only its Context:
            # the result's array is then freed as soon as nothing else needs it
            ctx.parents = tuple([_parent(a) for a in args])
            if ctx.saved:  # version counters, not the Variables: out -> ctx -> out is a cycle
                variables.append(out)
                ctx.saved_versions = _saved_versions(ctx.saved, variables)
            out._ctx = ctx
            out.requires_grad = True
        return out


def _parent(arg):
    """What the graph keeps of an argument: None (not a tensor), the leaf Variable, or the
    Context of the op that made it."""
    if not isinstance(arg, Variable):
        return None
    return arg if arg._ctx is None else arg._ctx


def _saved_versions(saved, variables):
    """(version counter, version now, shape) of each Variable whose array is saved."""
    versions = []
    for v in variables:
        for array in saved:
            if array is v.data:
                versions.append((v._version, v._version[0], array.shape))
                break
    return tuple(versions)
