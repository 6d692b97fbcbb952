"""Ops for recurrences over time.

``LSTMCell`` fuses one LSTM step (a dozen small ops) into one Function with a hand-written
backward: the step is the hot loop of a language model. (The fast tier fuses a whole
sequence: ``ops.recurrent_layers``.)

``unstack`` splits a (T, ...) tensor into its T time steps. Plain indexing would do, but
each step's backward would then allocate a zero gradient of the WHOLE (T, ...) input and
the engine would add T of them up (O(T^2) memory traffic); the steps of one ``unstack``
write into one shared gradient buffer instead.
"""

import numpy as np

from ..autograd import Function
from ..device import array_module


def _sigmoid(xp, x):
    return 0.5 * xp.tanh(0.5 * x) + 0.5


class LSTMCell(Function):
    """One LSTM step from the 4H gate pre-activations (..., 4H) and c[t-1] (..., H).

    Gate order (Torch7's FastLSTM): input i, candidate g, forget f, output o:
      i = sigmoid(a_i), g = tanh(a_g), f = sigmoid(a_f), o = sigmoid(a_o)
      c = f * c[t-1] + i * g,  h = o * tanh(c)
    Returns [h | c] as one (..., 2H) array; the caller takes the two halves as views.
    """

    @staticmethod
    def check(gates, c_prev):
        if gates.shape[-1] != 4 * c_prev.shape[-1] or gates.shape[:-1] != c_prev.shape[:-1]:
            raise ValueError(f"LSTMCell: gates must be (..., 4H) for c[t-1] (..., H), got "
                             f"{'x'.join(map(str, gates.shape))} and "
                             f"{'x'.join(map(str, c_prev.shape))}")

    @staticmethod
    def forward(ctx, gates, c_prev):
        """gates (..., 4H), c_prev (..., H) -> [h | c] (..., 2H). Keeps what backward needs:
        ``ctx.save_for_backward`` for inputs, attributes of ctx for the gate values.
        ``_sigmoid(xp, x)`` is a sigmoid without overflow."""
        # BEGIN TASK 6.3
        xp = array_module(gates)
        H = c_prev.shape[-1]
        i = _sigmoid(xp, gates[..., :H])
        g = xp.tanh(gates[..., H:2 * H])
        f = _sigmoid(xp, gates[..., 2 * H:3 * H])
        o = _sigmoid(xp, gates[..., 3 * H:])
        c = f * c_prev + i * g
        tanh_c = xp.tanh(c)
        h = o * tanh_c
        ctx.save_for_backward(c_prev)
        ctx.cell = i, g, f, o, tanh_c
        return xp.concatenate([h, c], axis=-1)
        # END TASK 6.3

    @staticmethod
    def backward(ctx, grad):
        """grad = [dL/dh | dL/dc] (..., 2H) -> (dL/dgates (..., 4H), dL/dc_prev (..., H))."""
        # BEGIN TASK 6.3
        xp = array_module(grad)
        (c_prev,) = ctx.saved_arrays
        i, g, f, o, tanh_c = ctx.cell
        H = c_prev.shape[-1]
        grad_h, grad_c = grad[..., :H], grad[..., H:]
        grad_c = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
        grad_gates = xp.concatenate([
            grad_c * g * i * (1 - i),                 # input gate
            grad_c * i * (1 - g * g),                 # candidate
            grad_c * c_prev * f * (1 - f),            # forget gate
            grad_h * tanh_c * o * (1 - o),            # output gate
        ], axis=-1)
        return grad_gates, grad_c * f
        # END TASK 6.3


class _SharedGrad:
    """The gradient buffer that the steps of one ``unstack`` fill during a backward pass:
    ``array``, whether it was ``adopted`` (the caller's array, read-only to us), and the
    steps ``visited``."""

    __slots__ = ("array", "adopted", "visited")

    def __init__(self):
        self.array, self.adopted, self.visited = None, False, set()


class Unstacked(Function):
    """Identity on x (T, ...): the one parent of the steps of ``unstack``.

    The engine visits every step before it (their parent), so by then the buffer the steps
    wrote into holds the whole gradient; backward hands it on (with the rows of an adopted
    array whose step got no gradient set to zero) and lets the next backward pass start
    afresh.
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, shared):
        ctx.shared = shared
        return x

    @staticmethod
    def backward(ctx, grad):
        shared = ctx.shared
        if shared.adopted and len(shared.visited) < grad.shape[0]:
            grad = grad.copy()
            for t in set(range(grad.shape[0])) - shared.visited:
                grad[t] = 0
        shared.array, shared.adopted, shared.visited = None, False, set()
        return grad, None


def _row_of(grad, shape, t):
    """The (T, ...) array ``shape`` of which ``grad`` is exactly row t, or None (NumPy)."""
    base = getattr(grad, "base", None)
    if (isinstance(base, np.ndarray) and base.shape == shape and base.dtype == grad.dtype
            and grad.strides == base.strides[1:]
            and grad.__array_interface__["data"][0]
            == base.__array_interface__["data"][0] + t * base.strides[0]):
        return base
    return None


class Step(Function):
    """x[t] of an ``Unstacked`` x (a view). Backward writes grad into row t of the shared
    buffer; the first step visited returns that buffer (the later ones fill it in place
    and return nothing), so the parent gets one (T, ...) gradient, not T of them.

    When the first gradient is row t of a (T, ...) array (SequencerCriterion's gradInput,
    whose rows are the gradients of all the steps), that array is taken whole, not copied:
    a later step whose gradient is its own row then has nothing to do, any other gradient
    returns the difference (the engine adds it: the caller's array is never written).
    """

    is_view = True

    @staticmethod
    def forward(ctx, x, t, shared):
        ctx.args = x.shape, x.dtype, t, shared
        return x[t]

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, t, shared = ctx.args
        first = shared.array is None
        shared.visited.add(t)
        if first:
            whole = _row_of(grad, shape, t)
            shared.adopted = whole is not None
            if shared.adopted:
                shared.array = whole
                return whole, None, None
            shared.array = array_module(grad).zeros(shape, dtype)
        elif shared.adopted:
            if _row_of(grad, shape, t) is shared.array:
                return None, None, None
            delta = array_module(grad).zeros(shape, dtype)
            delta[t] = grad - shared.array[t]
            return delta, None, None
        shared.array[t] = grad
        return (shared.array if first else None), None, None


def unstack(x):
    """The T time steps x[0], ..., x[T-1] of a (T, ...) tensor, as views that share one
    gradient buffer in backward."""
    shared = _SharedGrad()
    whole = Unstacked.apply(x, shared)
    return [Step.apply(whole, t, shared) for t in range(x.shape[0])]
