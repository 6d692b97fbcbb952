"""The missing-pieces curriculum: every task a learner re-implements, in the lab's order
(tensors, autograd, logistic regression, MLP, CNN, RNN). This is the one list: the test
suite registers its markers from it.

A task ``x.y`` owns one or more solution regions in the package, fenced by the comment
lines ``# BEGIN TASK x.y`` / ``# END TASK x.y``, and the tests marked
``@pytest.mark.task_x_y``. Ids are ordered numerically (``1.10`` comes after ``1.9``), and
a task's tests may rely on the earlier tasks only.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """One missing piece: ``id`` "x.y", a short ``title``, a ``hint`` that points the way
    without giving the code, and the lab ``chapter`` it belongs to (one of ``CHAPTERS``,
    the name of its page in docs/, e.g. "cnn" for docs/cnn.md; x is the chapter's
    number)."""

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


CHAPTERS = ("tensors", "autograd", "logistic_regression", "mlp", "cnn", "rnn")

TASKS = (
    # 1 Tensors: storage, strides, views, broadcasting, the matrix product (BLAS, CUDA)
    Task("1.1", "storage, strides and views",
         "a view is (offset, sizes, strides) over one flat storage: narrow and select move "
         "the offset by start (or index) times the dim's stride, select drops the dim, "
         "transpose swaps two sizes and two strides; contiguous strides are products of "
         "the sizes to the right",
         "tensors"),
    Task("1.2", "broadcasting",
         "align the shapes on the right, pad the shorter with 1s on the left; a pair of "
         "sizes must be equal or hold a 1; expanding a dim of size 1 (or a new one) gives "
         "it stride 0",
         "tensors"),
    Task("1.3", "the matrix product as a Numba kernel",
         "c[i, j] = sum over p of a[i, p] * b[p, j]: one prange over the rows i, then the "
         "p loop, then the j loop innermost (it walks rows of b and c contiguously)",
         "tensors"),
    Task("1.4", "the matrix product as a numba.cuda kernel",
         "a TPB x TPB block computes one tile of c: per k-tile, each thread loads one "
         "element of a and one of b into shared memory (0 outside the matrices), "
         "syncthreads, adds its row-times-column of the tiles, syncthreads again; store if "
         "inside c",
         "tensors"),
    # 2 Autograd: gradcheck, the graph, the backward loop, each op's backward
    Task("2.1", "gradcheck by central differences",
         "for each element j of x: save it, set x_j + eps, evaluate, set x_j - eps, "
         "evaluate, restore; column j is (f(x + eps) - f(x - eps)) / (2 eps). The "
         "directional version nudges all of x along u at once",
         "autograd"),
    Task("2.2", "unbroadcast",
         "broadcasting copied the input along the dims it added on the left and along its "
         "size-1 dims: the gradient of a copy is the sum of the copies' gradients, so sum "
         "over exactly those dims (keepdims for the size-1 ones) and reshape",
         "autograd"),
    Task("2.3", "topological order",
         "depth-first search with an explicit stack of (node, children_done): push a node "
         "back as done before pushing its Context parents, append it when it is popped as "
         "done; a visited set so that shared subgraphs are walked once",
         "autograd"),
    Task("2.4", "the backward loop",
         "seed the outputs' gradients, then visit the Contexts in reverse topological "
         "order: a Context's gradient is the sum of what its consumers sent; call its "
         "backward, then send each input's gradient to its parent Context or leaf",
         "autograd"),
    Task("2.5", "elementwise backward",
         "dL/dinput = dL/doutput * doutput/dinput for each input, reusing what forward "
         "saved; an input that was broadcast gets its gradient through unbroadcast",
         "autograd"),
    Task("2.6", "matmul backward",
         "C = A B: perturb A and see how C moves; the gradients are products of the "
         "incoming gradient with the other factor, transposed in its last two dims, then "
         "unbroadcast over batch dims",
         "autograd"),
    # 3 Logistic regression: Linear, Sigmoid, BCE, dpnn momentum and the update
    Task("3.1", "Linear",
         "flatten the leading dims of x to rows; y = x W^T + b through the kernels' "
         "matmul; the backward is the matmul backward of that product, and the bias "
         "gradient sums over rows",
         "logistic_regression"),
    Task("3.2", "Sigmoid",
         "compute it without exp overflow (through tanh: sigmoid(a) = (tanh(a/2) + 1) / 2), "
         "save the output: the derivative is a function of the output alone",
         "logistic_regression"),
    Task("3.3", "BCE criterion",
         "the mean (size_average) or sum of -[t log(x + eps) + (1 - t) log(1 - x + eps)]; "
         "differentiate each term with respect to x and keep the same scale",
         "logistic_regression"),
    Task("3.4", "dpnn momentum",
         "the first call copies each gradient into a velocity buffer; later calls decay "
         "the velocity by momFactor and add (1 - momDamp) times the gradient; then the "
         "gradient becomes the velocity (Nesterov: gradient + momFactor * velocity)",
         "logistic_regression"),
    Task("3.5", "the parameter update",
         "zero every gradient in place; a step moves each parameter against its gradient, "
         "in place, and bumps its version",
         "logistic_regression"),
    # 4 MLP: Tanh and ReLU, log-softmax kernels, ClassNLL, Dropout
    Task("4.1", "Tanh and ReLU",
         "save the output in forward; tanh' and relu' can both be written from the output",
         "mlp"),
    Task("4.2", "log-softmax kernels",
         "per row: subtract the max before exp (stability), y = x - max - log(sum exp(x - "
         "max)); backward: softmax = exp(y), gx = gy - softmax * (sum of gy over the row)",
         "mlp"),
    Task("4.3", "ClassNLL",
         "pick -logp[i, target_i] with take_along_axis and average (size_average) or sum; "
         "the gradient is zero except at the picked entries",
         "mlp"),
    Task("4.4", "Dropout",
         "in training draw keep ~ Bernoulli(1 - p), scale the kept units by 1 / (1 - p) "
         "(inverted dropout) and multiply in the graph; in evaluation return the input",
         "mlp"),
    # 5 CNN: convolution and pooling kernels, BatchNorm
    Task("5.1", "convolution forward kernel",
         "y[b, o, i, j] = bias[o] + sum over c, u, v of w[o, c, u, v] * x[b, c, i*sH + u - "
         "pH, j*sW + v - pW], where positions outside x count as zero: loop, skip the "
         "outside ones",
         "cnn"),
    Task("5.2", "convolution backward: the input gradient",
         "every forward term w[o,c,u,v] * x[b,c,h,w] sends gy[b,o,i,j] * w[o,c,u,v] back to "
         "x[b,c,h,w]: loop over the same terms as forward and accumulate into gx (parallel "
         "over the (b, c) planes of gx, so that no two threads write one cell)",
         "cnn"),
    Task("5.3", "convolution backward: weight and bias gradients",
         "the same terms send gy[b,o,i,j] * x[b,c,h,w] to w[o,c,u,v]: accumulate over b, i, "
         "j (parallel over the (o, c) planes of gw); the bias gradient sums gy over b, i, j",
         "cnn"),
    Task("5.4", "max pooling forward with argmax",
         "for each output cell scan its kH x kW window (outside the image counts as -inf), "
         "keep the first largest value and its flat input index h * W + w",
         "cnn"),
    Task("5.5", "max pooling backward",
         "each output gradient goes to the one input cell its argmax names; windows may "
         "overlap, so add (one thread per (b, c) plane: no races)",
         "cnn"),
    Task("5.6", "BatchNorm",
         "training: mean and biased variance per feature over the batch (and positions), "
         "normalise, update the running averages under no_grad with the unbiased variance; "
         "evaluation: normalise with the running ones",
         "cnn"),
    # 6 RNN: LookupTable, Recurrence and BPTT, LSTM, GRU, SequencerCriterion, clipping
    Task("6.1", "LookupTable",
         "the forward gathered rows weight[index]; the backward scatter-adds each gradient "
         "row into the row its index names, so repeated indices accumulate (np.add.at, on "
         "a view with dim moved to the front)",
         "rnn"),
    Task("6.2", "Recurrence, BPTT and truncation",
         "h[t] = step(x[t], h[t-1]) with h[0] zeros; inside a Sequencer the state flows "
         "through the graph (autograd over the unrolled steps is BPTT), between sequences "
         "it is detached when remembered, dropped otherwise",
         "rnn"),
    Task("6.3", "the LSTM cell",
         "forward: the four gates from their quarters of the pre-activations, c = f c' + "
         "i g, h = o tanh(c); backward: dc gets dh's share through tanh, each gate's "
         "pre-activation gradient is dc (or dh) times the other factor times the gate's "
         "derivative, dc' = dc f",
         "rnn"),
    Task("6.4", "GRU",
         "r and z from one sigmoid over their 2H pre-activations, the candidate from the "
         "reset state r * s' (Torch7's order), s = (1 - z) n + z s'",
         "rnn"),
    Task("6.5", "SequencerCriterion",
         "one criterion call per time step on (input[t], target[t]); the loss is their sum "
         "(a graph op, so backward reaches every step)",
         "rnn"),
    Task("6.6", "gradient clipping",
         "the norm is over all gradients together: sqrt of the sum of every squared "
         "number; when it exceeds cutoff, scale every gradient by cutoff / norm",
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
