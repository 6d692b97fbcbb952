"""Fused recurrent cells: one Function per time step with a hand-written backward,
instead of a dozen small ops (the step is the hot loop of a language model)."""

from ..autograd import Function
from ..device import array_module


def _sigmoid(xp, x):
    return 0.5 * xp.tanh(0.5 * x) + 0.5


class LSTMCell(Function):
    """One LSTM step from the 4H gate pre-activations (B, 4H) and c[t-1] (B, H).

    Gate order (Torch7's FastLSTM): input i, candidate g, forget f, output o:
      i = sigmoid(a_i), g = tanh(a_g), f = sigmoid(a_f), o = sigmoid(a_o)
      c = f * c[t-1] + i * g,  h = o * tanh(c)
    Returns [h | c] as one (B, 2H) array; the caller takes the two halves as views.
    """

    @staticmethod
    def forward(ctx, gates, c_prev):
        # BEGIN TASK 4.2
        xp = array_module(gates)
        H = c_prev.shape[-1]
        i = _sigmoid(xp, gates[:, :H])
        g = xp.tanh(gates[:, H:2 * H])
        f = _sigmoid(xp, gates[:, 2 * H:3 * H])
        o = _sigmoid(xp, gates[:, 3 * H:])
        c = f * c_prev + i * g
        tanh_c = xp.tanh(c)
        h = o * tanh_c
        # END TASK 4.2
        ctx.save_for_backward(c_prev)
        ctx.cell = i, g, f, o, tanh_c
        return xp.concatenate([h, c], axis=1)

    @staticmethod
    def backward(ctx, grad):
        # BEGIN TASK 4.2
        xp = array_module(grad)
        (c_prev,) = ctx.saved_arrays
        i, g, f, o, tanh_c = ctx.cell
        H = c_prev.shape[-1]
        grad_h, grad_c = grad[:, :H], grad[:, H:]
        grad_c = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
        grad_gates = xp.concatenate([
            grad_c * g * i * (1 - i),                 # input gate
            grad_c * i * (1 - g * g),                 # candidate
            grad_c * c_prev * f * (1 - f),            # forget gate
            grad_h * tanh_c * o * (1 - o),            # output gate
        ], axis=1)
        return grad_gates, grad_c * f
        # END TASK 4.2
