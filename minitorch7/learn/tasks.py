"""The missing-pieces curriculum: every task a learner re-implements, in lab order.

A task ``x.y`` owns one or more solution regions in the package, fenced by the comment
lines ``# BEGIN TASK x.y`` / ``# END TASK x.y``, and the tests marked
``@pytest.mark.task_x_y``. Ids are ordered numerically (``1.10`` comes after ``1.9``), and
a task's tests may rely on the earlier tasks only.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """One missing piece: ``id`` "x.y", a short ``title``, a ``hint`` that points the way
    without giving the code, and the lab ``chapter`` it belongs to (the name of its page in
    docs/, e.g. "cnn" for docs/cnn.md)."""

    id: str
    title: str
    hint: str
    chapter: str

    @property
    def key(self):
        """Sort key: "1.10" -> (1, 10)."""
        return task_key(self.id)

    @property
    def marker(self):
        """The pytest marker of the task's tests: "3.3" -> "task_3_3"."""
        return "task_" + self.id.replace(".", "_")


def task_key(task_id):
    """(part, number) of an id "x.y"; ValueError for anything else."""
    part, dot, number = task_id.partition(".")
    if not (dot and part.isdigit() and number.isdigit()):
        raise ValueError(f"task id {task_id!r} is not of the form x.y (e.g. 2.3)")
    return int(part), int(number)


TASKS = (
    # 1 Tensors and autograd
    Task("1.1", "tensor views and strides",
         "narrow, select and transpose return views: index the storage with a slice or an "
         "integer along dim (or permute two dims) through the differentiable Index/Permute "
         "ops, never copying, and check dim and range first",
         "tensors"),
    Task("1.2", "elementwise backward",
         "each backward returns dL/dinput = dL/doutput * doutput/dinput, one per input: "
         "d(a*b)/da = b, d(a/b)/db = -a/b^2, d exp(a) = exp(a); reuse what forward saved",
         "tensors"),
    Task("1.3", "broadcasting gradients",
         "broadcasting copies an input along new leading dims and size-1 dims, so its "
         "gradient is the sum over exactly those dims: sum away the extra leading dims, "
         "then sum with keepdims where the input had size 1",
         "tensors"),
    Task("1.4", "matmul backward",
         "for C = A B: dA = dC B^T and dB = A^T dC (transpose the last two dims), then "
         "unbroadcast each to its input's shape; skip inputs that need no gradient",
         "tensors"),
    Task("1.5", "the topological sort",
         "depth-first search with an explicit stack of (node, children_done) pairs: push a "
         "node back as done before its parents, append it when popped as done, and keep a "
         "visited set so shared subgraphs are visited once (no recursion)",
         "tensors"),
    Task("1.6", "gradcheck itself",
         "central differences: for each element j of x, set x_j + eps, evaluate, set "
         "x_j - eps, evaluate, restore x_j; column j of the Jacobian is "
         "(f(x+eps) - f(x-eps)) / (2 eps)",
         "tensors"),
    # 2 Kernels
    Task("2.1", "Numba matmul kernel",
         "tiny products: c[i, j] = sum_k a[i, k] * b[k, j] in i-k-j order (the j loop runs "
         "along rows); large ones, tile by tile: for each k-block q and each pair of packed "
         "panels (ib, jb), tile_into puts one MR x NR tile into c at (ib*MR, jb*NR), adding "
         "to what is there after the first k-block",
         "cnn"),
    Task("2.2", "numba.cuda tiled matmul",
         "each block computes one TPB x TPB tile of c: loop over the k tiles, load one tile "
         "of a and one of b into cuda.shared.array, cuda.syncthreads(), accumulate, "
         "syncthreads again; guard loads and the store at the matrix edges",
         "cnn"),
    Task("2.3", "conv2d forward kernel",
         "y[b, o, i, j] = bias[o] + sum over c, u, v of w[o, c, u, v] * "
         "x[b, c, i*sH + u - pH, j*sW + v - pW], where positions outside x count as zero. Over "
         "the flattened padded image, window position r of pixel p is xflat[offsets[r] + p]: "
         "for each tile of MR channels by NR pixels and each k-block, tile_into reads "
         "the pixels straight from the image; the direct kernel adds w2[o, r] times the "
         "image shifted by offsets[r]",
         "cnn"),
    Task("2.4", "max pooling kernels",
         "forward: take the max over each kH x kW window (padding is -inf) and remember "
         "where it was (flat h*W + w, first max wins); backward: add each output gradient "
         "to the input cell its argmax names",
         "cnn"),
    Task("2.5", "conv2d backward",
         "every forward term w[o,c,u,v] * x[b,c,h,w] sends dy[b,o,i,j] back to both factors: "
         "gx[b,c,h,w] += w * dy, gw[o,c,u,v] += x * dy, and gb[o] is dy summed over b, i, j. "
         "gx is a forward convolution of dy (zero-spread when strided) with w flipped and its "
         "channels swapped; gw^T = im2col(x) @ dy^T, its rows read from the image at offsets[r]",
         "cnn"),
    # 3 Layers and training
    Task("3.1", "Linear",
         "y = x W^T + b, so dx = dy W, dW = dy^T x and db = dy summed over the batch; flatten "
         "the leading dims of x and dy to rows first",
         "logistic_regression"),
    Task("3.2", "transfer functions",
         "write each backward from the saved output where you can: sigmoid' = y (1 - y), "
         "tanh' = 1 - y^2, relu' = 1 where x > 0 else 0",
         "mlp"),
    Task("3.3", "LogSoftMax and ClassNLL",
         "log softmax = x - max - log(sum(exp(x - max))) for stability; its backward is "
         "dy - exp(y) * sum(dy). NLL picks -logp[i, target_i], averaged over the batch; its "
         "gradient is -1/B at those entries and 0 elsewhere",
         "logistic_regression"),
    Task("3.4", "BCE criterion",
         "loss = -sum[t log(x + eps) + (1 - t) log(1 - x + eps)], divided by the number of "
         "elements when size_average; dx = -(t / (x + eps) - (1 - t) / (1 - x + eps)) times "
         "the same scale",
         "logistic_regression"),
    Task("3.5", "dpnn momentum",
         "keep one velocity buffer per gradient: the first call copies the gradient, later "
         "calls do v = momFactor * v + (1 - momDamp) * g; then overwrite g with v (Nesterov: "
         "g += momFactor * v)",
         "logistic_regression"),
    Task("3.6", "Dropout",
         "in training, draw a Bernoulli(1 - p) mask, multiply the input by it and scale by "
         "1 / (1 - p) so the expected output is unchanged; in evaluation return the input",
         "mlp"),
    Task("3.7", "BatchNorm",
         "training: normalise with the batch mean and biased variance, x_hat = "
         "(x - mean) / sqrt(var + eps), y = gamma x_hat + beta, and update the running "
         "statistics with momentum (unbiased variance); evaluation uses the running ones",
         "cnn"),
    Task("3.8", "LookupTable",
         "forward is a row gather weight[index]; backward scatter-adds each gradient row into "
         "the row its index names (np.add.at: repeated indices must accumulate)",
         "rnn"),
    # 4 Recurrence
    Task("4.1", "Recurrence and BPTT",
         "h_t = f(x_t, h_{t-1}) with h_0 zeros: apply the step module once per time step, "
         "feeding back the previous output; autograd over the unrolled steps is BPTT",
         "rnn"),
    Task("4.2", "FastLSTM",
         "one Linear of [x_t, h_{t-1}] gives the four gates; i, f, o = sigmoid, g = tanh; "
         "c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t)",
         "rnn"),
    Task("4.3", "GRU",
         "z, r = sigmoid(W x + U h_{t-1}); candidate n = tanh(W x + U (r * h_{t-1})); "
         "h_t = (1 - z) * n + z * h_{t-1}",
         "rnn"),
    Task("4.4", "gradient clipping",
         "the norm is over all gradients together: sqrt(sum of g^2 over every parameter); "
         "when it exceeds cutoff, scale every gradient by cutoff / norm",
         "rnn"),
)

BY_ID = {task.id: task for task in TASKS}


def get(task_id):
    """The Task with this id; KeyError listing the known ids otherwise."""
    task_key(task_id)
    if task_id not in BY_ID:
        raise KeyError(f"no task {task_id}; the tasks are {', '.join(BY_ID)}")
    return BY_ID[task_id]


def tasks_from(task_id, tasks=TASKS):
    """The tasks at ``task_id`` and after it, in order."""
    start = task_key(task_id)
    return tuple(t for t in tasks if t.key >= start)
