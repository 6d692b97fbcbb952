"""The hierarchical log-softmax of ``nn.SoftMaxTree`` (Torch7 nnx's SoftMaxTree.c).

A tree of words: each parent node has a family of children, and each family its own rows
of a weight matrix and a bias vector. The log-probability of a node given x is the sum,
over the families on its path from the root, of log softmax(W_f x + b_f)[child]. Only the
families on the path are computed: for V words in a two-level tree of about sqrt(V) bins,
O(sqrt(V)) rows per example instead of V.
"""

from ..autograd import Function
from ..device import array_module, kernels_for


class TreeLogLikelihood(Function):
    """out[n] = sum over the families f that example n visits of
    log softmax(x[n] W_f^T + b_f)[c], c the child of f on n's path.

    x (N, D), weight (R, D), bias (R,); ``groups``: one (start, size, examples, children)
    per family visited in the batch: the family's rows are weight[start:start+size] and
    bias[start:start+size], ``examples`` the ids n visiting it (each at most once) and
    ``children`` the index c in the family of each one's child. Output (N,).

    Backward, per family, with p = softmax(z) and g = dL/dout[examples]:
    dz = g (onehot(c) - p); dx[examples] += dz W_f; dW_f += dz^T x[examples];
    db_f += sum of dz over the examples. Rows of families no example visited get zero.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, groups):
        xp, kernels = array_module(x), kernels_for(x)
        out = xp.zeros(x.shape[0], x.dtype)
        logps = []
        for start, size, examples, children in groups:
            z = kernels.matmul(x[examples], weight[start:start + size].T)
            z += bias[start:start + size]
            logp = kernels.log_softmax(z)
            out[examples] += logp[xp.arange(len(examples)), children]
            logps.append(logp)
        ctx.save_for_backward(x, weight)
        ctx.args = bias.shape, groups, logps
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_arrays
        bias_shape, groups, logps = ctx.args
        xp, kernels = array_module(grad), kernels_for(grad)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        grad_x = xp.zeros_like(x) if need_x else None
        grad_w = xp.zeros_like(weight) if need_w else None
        grad_b = xp.zeros(bias_shape, grad.dtype) if need_b else None
        for (start, size, examples, children), logp in zip(groups, logps):
            g = grad[examples]
            dz = xp.exp(logp)
            dz *= -g[:, None]
            dz[xp.arange(len(examples)), children] += g
            if need_x:
                grad_x[examples] += kernels.matmul(dz, weight[start:start + size])
            if need_w:
                grad_w[start:start + size] += kernels.matmul(dz.T, x[examples])
            if need_b:
                grad_b[start:start + size] += dz.sum(axis=0)
        return grad_x, grad_w, grad_b, None
