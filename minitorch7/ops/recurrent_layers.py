"""The fast tier's fused recurrent layers: a FastLSTM, LSTM or GRU layer over a whole
sequence in ONE op. (The teaching tier steps ``ops.recurrent.LSTMCell`` and graph ops
through the graph instead: ``nn.recurrent._Gated.sequence`` chooses.)

``SequenceLayer`` holds what the cells share. The input's share of the gates comes in for
all steps at once (one product over all T x B rows, done by the caller); each recurrent
weight is packed for the gemm ONCE per sequence (``right_multiplier``), not at each step.
Forward steps through time and keeps a few H-wide values of each step; backward steps back
carrying the gradient of the state, and each recurrent weight's gradient is ONE product over
all T x B rows instead of T small ones. A cell (``LSTMLayer``, ``GRULayer``) gives one step
forward and one step back.
"""

from ..autograd import Function, size_text
from ..device import array_module, kernels_for
from .recurrent import _sigmoid


class SequenceLayer(Function):
    """A recurrent layer over a whole sequence: apply(gates_x, *weights, *states, *extras).

    gates_x (T, ..., G): the input's share of the gates at every step; weights: the cell's
    recurrent weights (k H, H) (``weight_heights`` gives each k; G = H times their sum);
    states: the ``n_states`` states before step 0 (..., H); extras: the cell's other inputs,
    each optional. (The batch ``...`` may be several dims, or none.) Returns the states after
    every step: (n_states, T, ..., H), or (T, ..., H) when there is one state.

    A cell gives, B the product of the batch dims, times[k](x) = x @ weights[k]^T in forward
    and x @ weights[k] in backward (each packed once):
      ``_step(xp, gx, prev, times, extras, state, cache)``: one step from gx (B, G) and prev
        (the states (B, H) before it); writes the new states into state (n_states, B, H) and
        what backward needs into cache (B, cache_width * H);
      ``_factors(xp, prev, out, cache, extras)``: the factors of backward that do not depend
        on the incoming gradient, for all steps at once (prev: each state before each step,
        (T, B, H); out (n_states, T, B, H));
      ``_step_back(xp, d, t, factors, times, extras, da, carry)``: from d (the gradients
        reaching the states after step t), writes dL/d gates into da (B, G) and returns the
        gradients of the states before step t (``carry`` False: not needed, at t = 0);
      ``_weight_rows(prev, cache, H)``: for each weight, (its columns of da, the (T, B, H)
        rows it multiplied): its gradient is da[..., columns]^T @ rows over all T*B rows;
      ``_extra_grads(xp, da, prev, out, extras, needs)``: the extras' gradients.
    """

    n_states = 1
    weight_heights = (1,)
    cache_width = 1
    signature = ""

    @classmethod
    def _expected(cls, T, batch, H):
        """The shapes of (gates_x, *weights, *states, *extras) for T steps of H units."""
        return [(T, *batch, sum(cls.weight_heights) * H),
                *((k * H, H) for k in cls.weight_heights), *((*batch, H),) * cls.n_states]

    @classmethod
    def _split(cls, args):
        n_w, n_s = len(cls.weight_heights), cls.n_states
        return args[:n_w], args[n_w:n_w + n_s], args[n_w + n_s:]

    @classmethod
    def forward(cls, ctx, gates_x, *args):
        weights, states, extras = cls._split(args)
        H = states[0].shape[-1] if states and states[0].ndim else -1
        T, batch = gates_x.shape[0] if gates_x.ndim else -1, gates_x.shape[1:-1]
        given, expected = [gates_x, *args], cls._expected(T, batch, H)
        if (gates_x.ndim < 2 or len(given) > len(expected) or len(states) < cls.n_states
                or any(a is not None and a.shape != shape
                       for a, shape in zip(given, expected))):
            got = ", ".join(size_text(a.shape) for a in given if a is not None)
            raise ValueError(f"{cls.__name__}: expected {cls.signature}, got {got}")
        xp, kernels = array_module(gates_x), kernels_for(gates_x)
        gx = gates_x.reshape(T, -1, gates_x.shape[-1])  # (T, B, G)
        B, S = gx.shape[1], cls.n_states
        out = xp.empty((S, T, B, H), gates_x.dtype)
        cache = xp.empty((T, B, cls.cache_width * H), gates_x.dtype)
        times = [kernels.right_multiplier(w.T) for w in weights]  # packed once, not per step
        prev = [s.reshape(B, H) for s in states]
        for t in range(T):
            cls._step(xp, gx[t], prev, times, extras, out[:, t], cache[t])
            prev = [out[k, t] for k in range(S)]
        ctx.save_for_backward(*args, out, cache)
        ctx.batch = batch
        shape = (T, *batch, H)
        return out.reshape(shape if S == 1 else (S, *shape))

    @classmethod
    def backward(cls, ctx, grad):
        *args, out, cache = ctx.saved_arrays
        weights, states, extras = cls._split(args)
        S, T, B, H = out.shape
        batch, n_w = ctx.batch, len(weights)
        xp, kernels = array_module(grad), kernels_for(grad)
        grad = grad.reshape(S, T, B, H)
        prev = [xp.concatenate([s.reshape(1, B, H), out[k, :-1]], axis=0)
                for k, s in enumerate(states)]
        factors = cls._factors(xp, prev, out, cache, extras)
        times = [kernels.right_multiplier(w) for w in weights]
        da = xp.empty((T, B, sum(cls.weight_heights) * H), grad.dtype)
        needs_state = any(ctx.needs_input_grad[1 + n_w:1 + n_w + S])
        d = [grad[k, T - 1] for k in range(S)]
        for t in range(T - 1, -1, -1):
            d = cls._step_back(xp, d, t, factors, times, extras, da[t], t > 0 or needs_state)
            if t > 0:
                d = [d[k] + grad[k, t - 1] for k in range(S)]
        grad_w = [kernels.matmul(da[..., cols].reshape(T * B, -1).T, rows.reshape(T * B, H))
                  if ctx.needs_input_grad[1 + k] else None
                  for k, (cols, rows) in enumerate(cls._weight_rows(prev, cache, H))]
        grad_s = [dk.reshape((*batch, H)) if needs_state else None for dk in d]
        grad_e = cls._extra_grads(xp, da, prev, out, extras,
                                  ctx.needs_input_grad[1 + n_w + S:])
        return (da.reshape((T, *batch, da.shape[-1])), *grad_w, *grad_s, *grad_e)

    @staticmethod
    def _extra_grads(xp, da, prev, out, extras, needs):
        return (None,) * len(extras)


class LSTMLayer(SequenceLayer):
    """A FastLSTM layer, or with ``peephole`` an LSTM layer, over a whole sequence.

    apply(gates_x (T, ..., 4H), w_h (4H, H), h0, c0 (..., H)[, peephole (3, H)]) -> hc
    (2, T, ..., H): hc[0] = h[0..T-1], hc[1] = c[0..T-1]. gates_x[t] = i2g(x[t]), w_h is
    o2g's weight; gate order input, candidate, forget, output (``LSTMCell``'s); the peephole
    rows p_i, p_f, p_o (zero without peepholes). For t = 0 .. T-1:

      a = gates_x[t] + h[t-1] @ w_h^T                                       (B, 4H)
      i = sigmoid(a_i + p_i c[t-1]),  f = sigmoid(a_f + p_f c[t-1]),  g = tanh(a_g)
      c[t] = f * c[t-1] + i * g,  o = sigmoid(a_o + p_o c[t]),  h[t] = o * tanh(c[t])

    Backward, for t = T-1 .. 0, dh and dc the gradients reaching h[t] and c[t] (from
    outside, grad[0, t] and grad[1, t], and from step t+1):

      da_o = dh tanh(c) o(1-o),   dc += dh o (1 - tanh(c)^2) + da_o p_o
      da_i, da_g, da_f = dc g i(1-i), dc i (1-g^2), dc c[t-1] f(1-f)
      dc[t-1] = dc f + da_i p_i + da_f p_f,   dh[t-1] = da @ w_h

    and after the loop, over all T*B rows at once: d w_h = dA^T @ Hprev (Hprev = [h0,
    h[0..T-2]]), d p_i = sum da_i c[t-1], d p_f = sum da_f c[t-1], d p_o = sum da_o c[t].
    """

    n_states, weight_heights, cache_width = 2, (4,), 5  # cache: i, g, f, o, tanh(c)
    signature = "gates_x (T, ..., 4H), w_h (4H, H), h0 and c0 (..., H) [, peephole (3, H)]"

    @classmethod
    def _expected(cls, T, batch, H):
        return [*super()._expected(T, batch, H), (3, H)]

    @staticmethod
    def _step(xp, gx, prev, times, extras, state, cache):
        (h, c), p = prev, (extras[0] if extras else None)
        H = h.shape[-1]
        a = gx + times[0](h)
        if p is not None:
            a[:, :H] = a[:, :H] + p[0] * c
            a[:, 2 * H:3 * H] = a[:, 2 * H:3 * H] + p[1] * c
        cache[:, :4 * H] = _sigmoid(xp, a)  # i, f, o (g's slot overwritten)
        cache[:, H:2 * H] = xp.tanh(a[:, H:2 * H])
        i, g, f = cache[:, :H], cache[:, H:2 * H], cache[:, 2 * H:3 * H]
        c = f * c + i * g
        if p is not None:
            cache[:, 3 * H:4 * H] = _sigmoid(xp, a[:, 3 * H:] + p[2] * c)
        cache[:, 4 * H:] = xp.tanh(c)
        state[0] = cache[:, 3 * H:4 * H] * cache[:, 4 * H:]
        state[1] = c

    @staticmethod
    def _factors(xp, prev, out, cache, extras):
        H = out.shape[-1]
        i, g, f, o, tanh_c = (cache[..., k * H:(k + 1) * H] for k in range(5))
        return (o * (1 - tanh_c * tanh_c),                           # dc += dh * this
                xp.concatenate([g * i * (1 - i), i * (1 - g * g),      # da_ifg = dc * this
                                prev[1] * f * (1 - f)], axis=-1),
                tanh_c * o * (1 - o),                                # da_o = dh * this
                f)

    @staticmethod
    def _step_back(xp, d, t, factors, times, extras, da, carry):
        d_dh, d_da, d_do, f = factors
        (dh, dc), p = d, (extras[0] if extras else None)
        H = dh.shape[-1]
        da[:, 3 * H:] = dh * d_do[t]
        dc = dc + dh * d_dh[t]
        if p is not None:
            dc = dc + da[:, 3 * H:] * p[2]
        da[:, :3 * H] = xp.concatenate([dc, dc, dc], axis=-1) * d_da[t]
        dc = dc * f[t]
        if p is not None:
            dc = dc + da[:, :H] * p[0] + da[:, 2 * H:3 * H] * p[1]
        return (times[0](da) if carry else None), dc

    @staticmethod
    def _weight_rows(prev, cache, H):
        return [(slice(None), prev[0])]

    @staticmethod
    def _extra_grads(xp, da, prev, out, extras, needs):
        if not extras or extras[0] is None or not needs[0]:
            return (None,) * len(extras)
        H = out.shape[-1]

        def total(x):
            return xp.sum(x.reshape(-1, H), axis=0)
        return (xp.stack([total(da[..., :H] * prev[1]), total(da[..., 2 * H:3 * H] * prev[1]),
                          total(da[..., 3 * H:] * out[1])]),)


class GRULayer(SequenceLayer):
    """Torch7's GRU layer over a whole sequence.

    apply(gates_x (T, ..., 3H), w_rz (2H, H), w_n (H, H), s0 (..., H)) -> s (T, ..., H).
    gates_x[t] = [i2g(x[t]) | i2h(x[t])], w_rz is o2g's weight, w_n is h2h's. Per step
    (the reset gate applies BEFORE the recurrent product, Torch7's order):

      r, z = sigmoid(gates_x[t][:2H] + s[t-1] @ w_rz^T)
      n = tanh(gates_x[t][2H:] + (r * s[t-1]) @ w_n^T),   s[t] = (1 - z) * n + z * s[t-1]

    Backward, for t = T-1 .. 0, ds the gradient reaching s[t] (from outside and from t+1):

      da_n = ds (1-z)(1-n^2),   drs = da_n @ w_n                  (the gradient of r * s[t-1])
      da_r = drs s[t-1] r(1-r),   da_z = ds (s[t-1] - n) z(1-z)
      ds[t-1] = ds z + drs r + [da_r | da_z] @ w_rz

    and after the loop, over all T*B rows at once: d w_rz = dA_rz^T @ Sprev (Sprev = [s0,
    s[0..T-2]]), d w_n = dA_n^T @ (R * Sprev).
    """

    weight_heights, cache_width = (2, 1), 4  # cache: r, z, n, r * s[t-1]
    signature = "gates_x (T, ..., 3H), w_rz (2H, H), w_n (H, H), s0 (..., H)"

    @staticmethod
    def _step(xp, gx, prev, times, extras, state, cache):
        (s,) = prev
        H = s.shape[-1]
        cache[:, :2 * H] = _sigmoid(xp, gx[:, :2 * H] + times[0](s))
        r, z = cache[:, :H], cache[:, H:2 * H]
        rs = r * s
        cache[:, 3 * H:] = rs
        n = xp.tanh(gx[:, 2 * H:] + times[1](rs))
        cache[:, 2 * H:3 * H] = n
        state[0] = (1 - z) * n + z * s

    @staticmethod
    def _factors(xp, prev, out, cache, extras):
        H = out.shape[-1]
        r, z, n = (cache[..., k * H:(k + 1) * H] for k in range(3))
        return ((1 - z) * (1 - n * n),                # da_n = ds * this
                prev[0] * r * (1 - r),                # da_r = drs * this
                (prev[0] - n) * z * (1 - z),          # da_z = ds * this
                r, z)

    @staticmethod
    def _step_back(xp, d, t, factors, times, extras, da, carry):
        d_n, d_r, d_z, r, z = factors
        (ds,) = d
        H = ds.shape[-1]
        da_n = ds * d_n[t]
        da[:, 2 * H:] = da_n
        drs = times[1](da_n)
        da[:, :H] = drs * d_r[t]
        da[:, H:2 * H] = ds * d_z[t]
        ds = ds * z[t] + drs * r[t]
        return [ds + times[0](da[:, :2 * H]) if carry else ds]

    @staticmethod
    def _weight_rows(prev, cache, H):
        return [(slice(0, 2 * H), prev[0]), (slice(2 * H, 3 * H), cache[..., 3 * H:])]
