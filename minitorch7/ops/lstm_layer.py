"""The fast tier's fused recurrence: ``LSTMLayer``, a FastLSTM layer over a whole sequence
in one op. Forward steps through time, backward steps back carrying dh and dc, and the
gradient of the recurrent weight is ONE matrix product over all T x B rows instead of T
small ones. (The teaching tier steps ``ops.recurrent.LSTMCell`` through the graph instead:
``nn.FastLSTM.sequence`` chooses.)
"""

from ..autograd import Function, size_text
from ..device import array_module, kernels_for
from .recurrent import _sigmoid


class LSTMLayer(Function):
    """A FastLSTM layer over a whole sequence, from the input projections.

    gates_x (T, B, 4H): i2g(x[t]) for every step (one matrix product, done by the caller);
    w_h (4H, H): the recurrent weight (o2g's); h0, c0 (B, H): the state before step 0.
    (B may be several dims, or none.) For t = 0 .. T-1, gate order input, candidate,
    forget, output (``LSTMCell``'s):

      a[t] = gates_x[t] + h[t-1] @ w_h^T                      (B, 4H)
      i, g, f, o = sigmoid(a_i), tanh(a_g), sigmoid(a_f), sigmoid(a_o)
      c[t] = f * c[t-1] + i * g,   h[t] = o * tanh(c[t])

    Returns hc (2, T, B, H): hc[0] = h[0..T-1], hc[1] = c[0..T-1] (contiguous halves).

    Backward, for t = T-1 .. 0, with dh, dc the gradients that reach h[t], c[t] from
    outside (grad[0, t], grad[1, t]) plus from step t+1:

      dc += dh * o * (1 - tanh(c)^2)
      da = [dc g i(1-i), dc i (1-g^2), dc c[t-1] f(1-f), dh tanh(c) o(1-o)]
      dc[t-1] = dc * f,   dh[t-1] = da @ w_h                  (carried to step t-1)

    and after the loop, ONE product over all T*B rows (not T products of B rows):
      d w_h = sum_t da[t]^T h[t-1] = dA (T*B, 4H)^T @ Hprev (T*B, H),  Hprev = [h0, h[0..T-2]]
    d gates_x = dA; d h0, d c0 = the carried dh, dc after step 0.
    """

    @staticmethod
    def forward(ctx, gates_x, w_h, h0, c0):
        T, G, H = gates_x.shape[0], gates_x.shape[-1], w_h.shape[1]
        if (gates_x.ndim < 2 or w_h.shape != (G, H) or G != 4 * H
                or h0.shape != gates_x.shape[1:-1] + (H,) or c0.shape != h0.shape):
            got = ", ".join(size_text(a.shape) for a in (gates_x, w_h, h0, c0))
            raise ValueError(f"LSTMLayer: expected gates_x (T, ..., 4H), w_h (4H, H), h0 and "
                             f"c0 (..., H), got {got}")
        batch = gates_x.shape[1:-1]
        xp, kernels = array_module(gates_x), kernels_for(gates_x)
        gx = gates_x.reshape(T, -1, G)        # (T, B, 4H), B the product of the batch dims
        B = gx.shape[1]
        hc = xp.empty((2, T, B, H), gates_x.dtype)
        cell = xp.empty((T, B, 5 * H), gates_x.dtype)  # i, g, f, o, tanh(c) of each step
        times_w_t = kernels.right_multiplier(w_h.T)  # prepared once, not at every step
        h, c = h0.reshape(B, H), c0.reshape(B, H)
        for t in range(T):
            a = gx[t] + times_w_t(h)
            s = _sigmoid(xp, a)                  # i, f, o (g's slot overwritten below)
            s[:, H:2 * H] = xp.tanh(a[:, H:2 * H])
            i, g, f, o = s[:, :H], s[:, H:2 * H], s[:, 2 * H:3 * H], s[:, 3 * H:]
            c = f * c + i * g
            tanh_c = xp.tanh(c)
            h = o * tanh_c
            cell[t, :, :4 * H] = s
            cell[t, :, 4 * H:] = tanh_c
            hc[0, t] = h
            hc[1, t] = c
        out = hc.reshape((2, T) + batch + (H,))
        ctx.save_for_backward(w_h, h0, c0, out, cell)
        return out

    @staticmethod
    def backward(ctx, grad):
        w_h, h0, c0, out, cell = ctx.saved_arrays
        T, H = out.shape[1], out.shape[-1]
        B, batch = cell.shape[1], out.shape[2:-1]
        hc = out.reshape(2, T, B, H)
        xp, kernels = array_module(grad), kernels_for(grad)
        grad = grad.reshape(2, T, B, H)
        i, g, f, o, tanh_c = (cell[..., k * H:(k + 1) * H] for k in range(5))
        c_prev = xp.concatenate([c0.reshape(1, B, H), hc[1, :-1]], axis=0)
        # the factors that do not depend on the carried gradients, for all steps at once
        d_dh = o * (1 - tanh_c * tanh_c)                         # dc += dh * d_dh
        d_da = xp.concatenate([g * i * (1 - i), i * (1 - g * g),   # da_ifg = dc * d_da
                               c_prev * f * (1 - f)], axis=-1)
        d_do = tanh_c * o * (1 - o)                              # da_o = dh * d_do
        dA = xp.empty((T, B, 4 * H), grad.dtype)
        dh, dc = grad[0, T - 1], grad[1, T - 1]
        times_w = kernels.right_multiplier(w_h)
        for t in range(T - 1, -1, -1):
            dc = dc + dh * d_dh[t]
            dA[t, :, :3 * H] = xp.concatenate([dc, dc, dc], axis=-1) * d_da[t]
            dA[t, :, 3 * H:] = dh * d_do[t]
            dc = dc * f[t]
            if t > 0 or ctx.needs_input_grad[2]:
                dh = times_w(dA[t])
            if t > 0:
                dh, dc = dh + grad[0, t - 1], dc + grad[1, t - 1]
        grad_w = None
        if ctx.needs_input_grad[1]:
            h_prev = xp.concatenate([h0.reshape(1, B, H), hc[0, :-1]], axis=0)
            grad_w = kernels.matmul(dA.reshape(T * B, 4 * H).T, h_prev.reshape(T * B, H))
        return (dA.reshape((T,) + batch + (4 * H,)), grad_w,
                dh.reshape(batch + (H,)) if ctx.needs_input_grad[2] else None,
                dc.reshape(batch + (H,)))
