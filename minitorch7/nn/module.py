"""``Module``: Torch7's contract for a differentiable transformation, over autograd.

``forward(input)`` computes ``output`` and records the graph; ``backward(input,
gradOutput)`` walks it back, returning ``gradInput`` and ADDING each parameter's gradient
into ``gradWeight``/``gradBias`` (the ``.grad`` buffer of ``weight``/``bias``) until
``zeroGradParameters()``. Subclasses only write ``updateOutput`` with differentiable ops;
their backward is autograd's.

Inputs and outputs are tensors or (nested) lists of tensors, Torch7's tables.
"""

import copy
import math

import numpy as np

from ..autograd import Variable, no_grad, run_backward, topological_order
from ..device import array_module
from ..ops.shape import to_device
from ..random import generator
from ..tensor import CUDA_TYPE_NAMES, TYPE_NAMES, Tensor, _dtype_from_name


def map_table(fn, table):
    """Apply ``fn`` to every tensor of a tensor or a nested list of tensors."""
    if isinstance(table, list | tuple):
        return [map_table(fn, t) for t in table]
    return fn(table)


def flatten_table(table):
    """The tensors of a (nested) table, depth first."""
    if isinstance(table, list | tuple):
        return [t for item in table for t in flatten_table(item)]
    return [table]


def dtype_text(tensor):
    """A tensor's dtype for an error message: NumPy's name and Torch7's type name,
    'uint8 (ByteTensor)', 'uint8 (CudaByteTensor)'; 'bool' (no Torch7 type)."""
    dtype = np.dtype(tensor.dtype)
    name = TYPE_NAMES.get(dtype)
    if name and getattr(tensor, "device", "cpu") != "cpu":
        name = CUDA_TYPE_NAMES.get(dtype, "Cuda" + name)  # Torch7's CudaByteTensor ...
    return f"{dtype} ({name})" if name else str(dtype)


def check_float_input(module, input):
    """Raise TypeError naming ``module`` and the dtype unless ``input`` is a tensor of
    float32 or float64 (FloatTensor or DoubleTensor, on the CPU or CUDA).

    Torch7's modules refuse other types too (their kernels exist for floats only); here an
    integer or boolean input would otherwise give wrong numbers (integer arithmetic,
    float16 results) or a kernel compile error. The cure is a conversion: nn.Convert() in
    the network, or ``.float()`` on the input. One dtype test: cheap enough for every
    forward.
    """
    dtype = getattr(input, "dtype", None)
    if dtype is None or dtype.char not in "fd":
        got = type(input).__name__ if dtype is None else dtype_text(input)
        raise TypeError(f"{module!r}: expected a float input (FloatTensor or DoubleTensor), "
                        f"got {got}; convert it with nn.Convert() or .float()")


def _graph_leaf(tensor):
    """The input as a fresh leaf: backward stops here and leaves gradInput in its grad."""
    leaf = tensor.detach()
    leaf.requires_grad = tensor.dtype.kind == "f"
    return leaf


class Module:
    """Base class of layers and containers.

    State: ``output``, ``gradInput``, ``train`` (set by ``training()``/``evaluate()``);
    parameters are attributes named in ``_parameter_names`` (each a Tensor whose ``.grad``
    is ``grad<Name>``, e.g. ``gradWeight``), buffers (such as running statistics) are
    named in ``_buffer_names``.
    """

    def __new__(cls, *args, **kwargs):
        module = super().__new__(cls)
        module._init_args = (args, kwargs)  # to rebuild the architecture on load
        return module

    def __init__(self):
        self.output = None
        self.gradInput = None
        self.train = True
        self._parameter_names = []
        self._buffer_names = []
        self._graph_input = None
        self._momentum = None
        self._pending_grads = None

    # ---- parameters ----------------------------------------------------------------
    def register_parameter(self, name, tensor):
        """Make ``tensor`` a learned parameter with a zeroed gradient buffer."""
        tensor.requires_grad = True
        tensor.grad = Tensor._wrap(tensor.data * 0)
        setattr(self, name, tensor)
        if name not in self._parameter_names:
            self._parameter_names.append(name)
        return tensor

    def register_buffer(self, name, tensor):
        """State saved with the module that is not learned (running statistics)."""
        setattr(self, name, tensor)
        if name not in self._buffer_names:
            self._buffer_names.append(name)
        return tensor

    def __getattr__(self, name):
        # gradWeight, gradBias ...: the .grad of the parameter weight, bias ...
        if name.startswith("grad") and len(name) > 4:
            param = name[4].lower() + name[5:]
            if param in self.__dict__.get("_parameter_names", ()):
                return getattr(self, param).grad
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def children(self):
        """Direct submodules (containers override)."""
        return []

    def modules_depth_first(self):
        yield self
        for child in self.children():
            yield from child.modules_depth_first()

    def own_parameters(self):
        return [getattr(self, n) for n in self._parameter_names]

    def parameters(self):
        """(params, gradParams): every parameter and its gradient, depth first, no repeats."""
        params, seen = [], set()
        for module in self.modules_depth_first():
            for name in module._parameter_names:
                p = getattr(module, name)
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        return params, [p.grad for p in params]

    def getParameters(self):
        """(flatParams, flatGradParams): all parameters in one 1-D tensor (and gradients
        in another); every parameter becomes a view into it, so updating the flat
        tensor updates the module."""
        params, _ = self.parameters()
        total = sum(p.nElement() for p in params)
        dtype = params[0].dtype if params else np.float32
        xp = array_module(params[0].data) if params else np
        flat, flat_grad = xp.empty(total, dtype), xp.empty(total, dtype)
        offset = 0
        for p in params:
            n = p.nElement()
            flat[offset:offset + n] = p.data.ravel()
            flat_grad[offset:offset + n] = p.grad.data.ravel()
            p.data = flat[offset:offset + n].reshape(p.shape)
            p.grad.data = flat_grad[offset:offset + n].reshape(p.shape)
            offset += n
        return Tensor._wrap(flat), Tensor._wrap(flat_grad)

    def zeroGradParameters(self):
        """Set the gradient (``p.grad``, a Tensor) of every parameter p of
        ``self.parameters()[0]`` to zero, in place."""
        # BEGIN TASK 3.5
        for p in self.parameters()[0]:
            p.grad.data[...] = 0
        # END TASK 3.5

    def updateParameters(self, learningRate):
        """One plain gradient-descent step on every parameter p of
        ``self.parameters()[0]``, in place on ``p.data``, then ``p._bump_version()`` (the
        parameter changed: graphs that saved it must know)."""
        # BEGIN TASK 3.5
        for p in self.parameters()[0]:
            p.data -= learningRate * p.grad.data
            p._bump_version()
        # END TASK 3.5

    def updateGradParameters(self, momFactor, momDamp=None, momNesterov=False):
        """dpnn's momentum, applied to the gradients before ``updateParameters``.

        Per parameter, a velocity buffer (the list ``self._momentum``, None before the first
        call) starts as a copy of the first gradient, then follows dpnn's formula
        (docs/logistic_regression.md); the gradients (``self.parameters()[1]``, Tensors)
        are overwritten in place with the velocity, or with Nesterov momentum with the
        gradient plus momFactor times it. momDamp defaults to momFactor; momFactor <= 0
        does nothing.
        """
        # BEGIN TASK 3.4
        if momFactor <= 0:
            return
        momDamp = momFactor if momDamp is None else momDamp
        grads = self.parameters()[1]
        if self._momentum is None:
            self._momentum = [g.data.copy() for g in grads]
        elif momNesterov:
            for v, g in zip(self._momentum, grads):
                v *= momFactor
                v += (1 - momDamp) * g.data
        else:  # g is overwritten below, so (1 - momDamp) g is made in its own memory
            for v, g in zip(self._momentum, grads):
                g.data *= 1 - momDamp
                v *= momFactor
                v += g.data
        for v, g in zip(self._momentum, grads):
            if momNesterov:
                g.data += momFactor * v
            else:
                g.data[...] = v
        # END TASK 3.4

    def gradParamClip(self, cutoff):
        """Scale all gradients (``self.parameters()[1]``, Tensors, in place) together so
        that their global L2 norm (over every number of every gradient) is at most
        ``cutoff``. Returns the norm before clipping, a Python float."""
        # BEGIN TASK 6.6
        grads = self.parameters()[1]
        norm = math.sqrt(sum(float(array_module(g.data).vdot(g.data, g.data)) for g in grads))
        if norm > cutoff:
            for g in grads:
                g.data *= cutoff / norm
        return norm
        # END TASK 6.6

    def maxParamNorm(self, maxOutNorm):
        """Renormalise the rows (output units) of each weight matrix to norm <= maxOutNorm."""
        if maxOutNorm <= 0:
            return
        for p in self.parameters()[0]:
            if p.ndim > 1:
                rows = p.data.reshape(p.shape[0], -1)
                norms = np.sqrt((rows.astype(np.float64) ** 2).sum(axis=1, keepdims=True))
                rows *= np.where(norms > maxOutNorm, maxOutNorm / (norms + 1e-7), 1.0)
                p._bump_version()

    # ---- forward and backward ------------------------------------------------------
    def updateOutput(self, input):
        """output = f(input), written with differentiable ops. Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} does not define updateOutput")

    def forward(self, input):
        """Compute ``output`` and record the graph that ``backward`` walks.

        The graph of the previous forward is freed first (its saved values dropped, even
        if someone still holds its output): a module keeps one graph, its latest."""
        _free_graph(self.output)
        self._graph_input = map_table(_graph_leaf, input)
        self._pending_grads = None
        self.output = self.updateOutput(self._graph_input)
        return self.output

    def __call__(self, *args):
        """forward(input). On nngraph nodes it builds a graph instead: ``m()`` is an input
        node; ``m(node)``, ``m(node1, node2)`` or ``m([node1, node2])`` a node fed by them."""
        if not args:
            from .graph import Node  # nngraph builds on Module, so it is imported late
            return Node(self, [])
        nodes = args[0] if len(args) == 1 and isinstance(args[0], list) else args
        if nodes and hasattr(nodes[0], "connect"):
            return nodes[0].connect(self, list(nodes))
        if len(args) != 1:
            raise TypeError(f"{type(self).__name__}: expects one input (a tensor or a list)")
        return self.forward(args[0])

    def backward(self, input, gradOutput, scale=1):
        """gradInput = d(output)/d(input)^T gradOutput, and parameter gradients
        += scale * d(output)/d(params)^T gradOutput. Call after ``forward(input)``."""
        if scale != 1:
            self.updateGradInput(input, gradOutput)
            self.accGradParameters(input, gradOutput, scale)
            return self.gradInput
        self._backpropagate(gradOutput)
        return self.gradInput

    def updateGradInput(self, input, gradOutput):
        """Only gradInput: parameter gradients are held back for ``accGradParameters``."""
        grads = self.parameters()[1]
        before = [g.data.copy() for g in grads]
        self._backpropagate(gradOutput)
        self._pending_grads = [g.data - b for g, b in zip(grads, before)]
        for g, b in zip(grads, before):
            g.data[...] = b
        return self.gradInput

    def accGradParameters(self, input, gradOutput, scale=1):
        """Add scale * the parameter gradients of the last ``updateGradInput``."""
        if self._pending_grads is None:
            self.updateGradInput(input, gradOutput)
        for g, delta in zip(self.parameters()[1], self._pending_grads):
            g.data += scale * delta
        self._pending_grads = None

    def _backpropagate(self, gradOutput):
        if self._graph_input is None:
            raise RuntimeError(f"{type(self).__name__}: backward called before forward")
        outputs = flatten_table(self.output)
        grads = [g.data if isinstance(g, Variable) else g for g in flatten_table(gradOutput)]
        if len(grads) != len(outputs):
            raise ValueError(f"{type(self).__name__}: gradOutput has {len(grads)} tensors "
                             f"but output has {len(outputs)}")
        for out, g in zip(outputs, grads):
            if tuple(g.shape) != out.shape:
                raise ValueError(f"{type(self).__name__}: gradOutput has size "
                                 f"{'x'.join(map(str, g.shape))}, output has size "
                                 f"{'x'.join(map(str, out.shape))}")
        for leaf in flatten_table(self._graph_input):
            leaf.grad = None  # gradInput is this backward's, not a sum over calls
        pairs = [(o, g) for o, g in zip(outputs, grads) if o.requires_grad]
        if pairs:
            # the graph is kept (one per module: the next forward frees it), so backward
            # may be called again after one forward, adding to the gradients as in Torch7
            run_backward([o for o, _ in pairs], [g for _, g in pairs], retain_graph=True)
        self.gradInput = map_table(_grad_of, self._graph_input)

    # ---- recurrent state (Torch7's rnn gives every module these) -------------------
    def remember(self, mode="both"):
        """When the recurrent modules inside keep their state between Sequencer calls
        (detached): 'train', 'eval', 'both' or 'neither' (the default)."""
        for child in self.children():
            child.remember(mode)
        return self

    def forget(self):
        """Drop the hidden state of the recurrent modules inside: next step starts at zeros."""
        for child in self.children():
            child.forget()
        return self

    # ---- modes, types, copies ------------------------------------------------------
    def training(self):
        for m in self.modules_depth_first():
            m.train = True
        return self

    def evaluate(self):
        for m in self.modules_depth_first():
            m.train = False
        return self

    def _convert(self, fn):
        for m in self.modules_depth_first():
            for name in m._parameter_names:
                p = getattr(m, name)
                p.data, p.grad.data = fn(p.data), fn(p.grad.data)
            for name in m._buffer_names:
                buffer = getattr(m, name)
                if buffer is not None:
                    buffer.data = fn(buffer.data)
            m._momentum = None if m._momentum is None else [fn(v) for v in m._momentum]
            m.output = m.gradInput = m._graph_input = None
        return self

    def type(self, name):
        dtype = _dtype_from_name(name)
        return self._convert(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)

    def float(self):
        return self.type("torch.FloatTensor")

    def double(self):
        return self.type("torch.DoubleTensor")

    def cuda(self):
        return self._convert(lambda a: to_device(a, "cuda"))

    def cpu(self):
        return self._convert(lambda a: to_device(a, "cpu"))

    def clearState(self):
        """Drop output, gradInput and the recorded graph (to save memory)."""
        for m in self.modules_depth_first():
            m.output = m.gradInput = m._graph_input = None
            m._pending_grads = None
        return self

    def clone(self):
        """A deep copy with its own parameters."""
        self.clearState()
        return copy.deepcopy(self)

    def share(self, other, *names):
        """Use ``other``'s parameter tensors (and so their gradients) for ``names``."""
        for name in names or other._parameter_names:
            if name.startswith("grad"):
                continue  # a parameter's gradient travels with it
            setattr(self, name, getattr(other, name))
        return self

    def outside(self, size):
        """The output size for a random input of ``size`` (e.g. (1, 1, 28, 28))."""
        with no_grad():
            x = Tensor._wrap(generator().random(tuple(size)).astype(self._dtype()))
            return self.forward(x).shape

    def _dtype(self):
        params = self.parameters()[0]
        return params[0].dtype if params else np.float32

    def __repr__(self):
        return "nn." + type(self).__name__


def _free_graph(output):
    """Drop the saved values of the graph that made ``output`` (a tensor or a table)."""
    if output is None:
        return
    roots = [t._ctx for t in flatten_table(output)
             if isinstance(t, Variable) and t._ctx is not None]
    if roots:
        for ctx in topological_order(*roots):
            ctx.free()


def _grad_of(leaf):
    if not leaf.requires_grad:
        return None
    return Tensor._wrap(leaf.data * 0) if leaf.grad is None else leaf.grad
