"""Torch7's rnn package: modules that carry a hidden state from one time step to the next,
and the ``Sequencer`` that unrolls them over a sequence.

BPTT is plain autograd: a Sequencer call runs every step inside one graph, the hidden
state flowing from step to step through it, so ``backward`` goes back through time and
each shared parameter collects the sum of its per-step gradients. Between calls the state
is dropped (``forget``, the default) or kept DETACHED (``remember``): truncated BPTT.

    lm = nn.Sequencer(nn.Sequential()
                      :add(nn.FastLSTM(200, 200)):add(nn.Linear(200, 10000))
                      :add(nn.LogSoftMax()))             # Lua's ':' is Python's '.'
    outputs = lm.forward(inputs)     # a list of T (batch x 200) tensors -> T outputs
"""

import numpy as np

from ..creation import cat, stack
from ..device import array_module, kernels_for
from ..ops.recurrent import LSTMCell, unstack
from ..ops.recurrent_layers import GRULayer, LSTMLayer
from ..tensor import Tensor, _fmt_size, get_default_dtype
from .container import Container, Sequential
from .criterion import Criterion
from .dropout import Dropout
from .linear import Linear, LinearNoBias
from .module import check_float_input, flatten_table, map_table
from .transfer import LogSoftMax, ReLU, Sigmoid, SoftMax, Tanh

__all__ = ["GRU", "LSTM", "AbstractRecurrent", "FastLSTM", "Recurrence", "Recursor",
           "Sequencer", "SequencerCriterion"]

REMEMBER_MODES = ("both", "train", "eval", "neither")

# Modules whose output row depends only on the same input row: a Sequencer runs them once
# on all (time x batch) rows instead of once per step. (Linear covers LinearNoBias.)
ROWWISE = (Dropout, Linear, LogSoftMax, ReLU, Sigmoid, SoftMax, Tanh)


def _detach(state):
    """A state (None, a Tensor, or a table of Tensors such as the LSTM's (h, c)) cut from
    its graph: the same values, Tensors that have no history (``t.detach()``);
    ``map_table(fn, state)`` applies fn to every Tensor of a table."""
    # BEGIN TASK 6.2
    if state is None:
        return None
    return map_table(lambda t: t.detach(), state)
    # END TASK 6.2


def _stacked(seq):
    """A sequence (list of T steps, or a (T, ...) tensor) as one (T, ...) tensor."""
    return seq if isinstance(seq, Tensor) else stack(seq)


def _steps(seq):
    """A sequence as a list of T steps (views of a (T, ...) tensor)."""
    return seq if isinstance(seq, list | tuple) else unstack(seq)


def _over_rows(fn, stacked):
    """fn on all (time, batch) rows of stacked (T, ..., F) at once -> (T, ..., F')."""
    out = fn(stacked.reshape(-1, stacked.shape[-1]) if stacked.ndim > 2 else stacked)
    return out.reshape(*stacked.shape[:-1], out.shape[-1])


class AbstractRecurrent(Container):
    """Base of the recurrent modules: ``updateOutput(x[t])`` is ONE time step.

    A step reads the carried state (``initialState`` - zeros - at the first step), computes
    the output and the new state, and keeps the state for the next step. Inside a
    Sequencer call the state flows through the graph (BPTT); outside one, each call starts
    from the carried state detached, so stepping by hand (text generation) builds no graph
    across steps. Subclasses define ``initialState(input)`` and
    ``_step(input, state) -> (output, new state)``.

    Switching between ``training()`` and ``evaluate()`` forgets the state.
    """

    def __init__(self):
        super().__init__()
        self._state = None
        self._remember = "neither"
        self._unrolling = False  # True while a Sequencer runs this module's steps

    @property
    def train(self):
        return self._train

    @train.setter
    def train(self, mode):
        if mode != getattr(self, "_train", mode):
            self.forget()
        self._train = mode

    def initialState(self, input):
        raise NotImplementedError(f"{type(self).__name__} does not define initialState")

    def _step(self, input, state):
        raise NotImplementedError(f"{type(self).__name__} does not define _step")

    def updateOutput(self, input):
        """ONE time step: input x[t] -> output. The step starts from the carried state
        ``self._state`` (None: ``self.initialState(input)``), which flows through the graph
        while a Sequencer unrolls this module (``self._unrolling``) and is detached
        otherwise; ``self._step(input, state)`` gives (output, new state), and the new state
        is carried to the next step."""
        # BEGIN TASK 6.2
        state = self._state if self._unrolling else _detach(self._state)
        if state is None:
            state = self.initialState(input)
        output, self._state = self._step(input, state)
        return output
        # END TASK 6.2

    def sequence(self, seq):
        """The outputs (a list) for a sequence of T steps: a list or a (T, ...) tensor."""
        return [self.updateOutput(x) for x in _steps(seq)]

    def remember(self, mode="both"):
        if mode not in REMEMBER_MODES:
            raise ValueError(f"remember: mode must be one of {REMEMBER_MODES}, got {mode!r}")
        self._remember = mode
        return super().remember(mode)

    def forget(self):
        self._state = None
        return super().forget()

    def getHiddenState(self):
        """The state the next step starts from (None: zeros)."""
        return self._state

    def setHiddenState(self, state):
        """Start the next step from ``state`` (h, or (h, c) for the LSTMs)."""
        self._state = state
        return self

    def _startSequence(self):
        """Called by a Sequencer before its first step. The carried state is kept, detached
        (truncated BPTT: gradients stop at the sequence's start), when the remember mode
        (``self._remember``: 'both', 'train', 'eval' or 'neither') covers the current mode
        (``self.train``), and dropped (None) otherwise; then the module is unrolling."""
        # BEGIN TASK 6.2
        remembers = self._remember == "both" or self._remember == (
            "train" if self.train else "eval")
        self._state = _detach(self._state) if remembers else None
        self._unrolling = True
        # END TASK 6.2

    def _zeros(self, shape):
        """A zero state of ``shape``, with the dtype and on the device of the parameters."""
        params = self.parameters()[0]
        if not params:
            return Tensor._wrap(np.zeros(shape, get_default_dtype()))
        return Tensor._wrap(array_module(params[0].data).zeros(shape, params[0].dtype))


class Recurrence(AbstractRecurrent):
    """Recurrence(rm, outputSize, nInputDim): h[t] = rm({x[t], h[t-1]}), h[0] = 0.

    ``nInputDim`` is the number of dims of one non-batched x[t] (0 for word ids): an input
    with more dims is a batch, and h[0] is then batch x outputSize, else outputSize.
    """

    def __init__(self, rm, outputSize, nInputDim):
        super().__init__()
        self.rm, self.outputSize, self.nInputDim = rm, outputSize, nInputDim
        self.modules = [rm]

    def initialState(self, input):
        """The zero state h[0] for ``input`` (x[t], or a table whose first Tensor is x[t]):
        batch x outputSize when x has more than ``nInputDim`` dims, else outputSize;
        ``self._zeros(shape)`` makes it with the parameters' dtype and device."""
        # BEGIN TASK 6.2
        x = flatten_table(input)[0]
        batched = x.ndim > self.nInputDim
        return self._zeros((x.shape[0], self.outputSize) if batched else (self.outputSize,))
        # END TASK 6.2

    def _step(self, input, state):
        """(x[t], h[t-1]) -> (output, new state): both are rm's output for the table
        {x[t], h[t-1]}; ``self._run(module, input)`` runs a child module in the graph."""
        # BEGIN TASK 6.2
        h = self._run(self.rm, [input, state])
        return h, h
        # END TASK 6.2

    def __repr__(self):
        return self._repr_lines("[{input(t), output(t-1)} -> (1) -> output(t)]", "")


class _Gated(AbstractRecurrent):
    """A cell whose input x[t] enters only through a linear map ``_project`` (i2g):
    a Sequencer applies it to all time steps in one matrix product, then runs the steps in
    one fused op (``_layer``, from ``ops.recurrent_layers``), or, on the teaching tier (a
    learner copy's kernels), steps ``_step`` through the graph: the learner's code runs."""

    def __init__(self, inputSize, outputSize):
        super().__init__()
        self.inputSize, self.outputSize = inputSize, outputSize

    def _project(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define _project")

    def _check(self, x, batch_dims):
        check_float_input(self, x)
        if x.ndim not in (batch_dims + 1, batch_dims + 2) or x.shape[-1] != self.inputSize:
            raise ValueError(f"{self!r}: expected input of size {self.inputSize} or batch x "
                             f"{self.inputSize} per step, got {_fmt_size(x.shape)}")

    def updateOutput(self, input):
        self._check(input, 0)
        return super().updateOutput(self._project(input))

    def sequence(self, seq):
        """The outputs for a sequence of T steps: the input's projections for all steps at
        once, then the fused op (a T x ... x H tensor; same results as stepping ``_step``)
        or, on the teaching tier, the steps (a list)."""
        stacked = _stacked(seq)
        self._check(stacked, 1)
        projected = _over_rows(self._project, stacked)
        if getattr(kernels_for(self.o2g.weight.data), "TIER", None) == "teaching":
            return [AbstractRecurrent.updateOutput(self, p) for p in unstack(projected)]
        state = self._state if self._unrolling else _detach(self._state)
        if state is None:
            state = self.initialState(projected[0])
        output, self._state = self._layer(projected, state)
        return output

    def _layer(self, projected, state):
        """(projected (T, ..., G), state) -> (outputs (T, ..., H), state after step T-1)."""
        raise NotImplementedError(f"{type(self).__name__} does not define _layer")

    def initialState(self, projected):
        return self._zeros((*projected.shape[:-1], self.outputSize))

    def __repr__(self):
        return f"nn.{type(self).__name__}({self.inputSize} -> {self.outputSize})"


class FastLSTM(_Gated):
    """FastLSTM(inputSize, outputSize): an LSTM layer without peepholes.

    gates = i2g(x[t]) + o2g(h[t-1]), with i2g = Linear(inputSize, 4H) and o2g =
    LinearNoBias(H, 4H), split in the order input i, candidate g, forget f, output o:
    c[t] = f * c[t-1] + i * g, h[t] = o * tanh(c[t]) (fused in ``ops.recurrent.LSTMCell``).
    State: (h, c), zeros at the first step.
    """

    def __init__(self, inputSize, outputSize):
        super().__init__(inputSize, outputSize)
        self.i2g = Linear(inputSize, 4 * outputSize)
        self.o2g = LinearNoBias(outputSize, 4 * outputSize)
        self.modules = [self.i2g, self.o2g]

    def _project(self, x):
        return self._run(self.i2g, x)

    def initialState(self, projected):
        return super().initialState(projected), super().initialState(projected)

    def _layer(self, projected, state, *peephole):
        hc = LSTMLayer.apply(projected, self.o2g.weight, *state, *peephole)
        last = projected.shape[0] - 1
        return hc[0], (hc[0][last], hc[1][last])

    def _step(self, gates_x, state):
        h_prev, c_prev = state
        hc = LSTMCell.apply(gates_x + self._run(self.o2g, h_prev), c_prev)
        H = self.outputSize
        h = hc.narrow(-1, 0, H)
        return h, (h, hc.narrow(-1, H, H))


class LSTM(FastLSTM):
    """LSTM(inputSize, outputSize): FastLSTM plus diagonal peepholes (``peephole``, 3 x H,
    rows for the input, forget and output gates): i and f also see c[t-1], o sees c[t]:

    i = sigmoid(a_i + p_i * c[t-1]), f = sigmoid(a_f + p_f * c[t-1]), g = tanh(a_g),
    c[t] = f * c[t-1] + i * g, o = sigmoid(a_o + p_o * c[t]), h[t] = o * tanh(c[t]).
    """

    def __init__(self, inputSize, outputSize):
        super().__init__(inputSize, outputSize)
        stdv = 1 / np.sqrt(outputSize)
        self.register_parameter("peephole", Tensor(3, outputSize).uniform(-stdv, stdv))

    def _layer(self, projected, state):
        return super()._layer(projected, state, self.peephole)

    def _step(self, gates_x, state):
        """(gates_x = i2g(x[t]) (..., 4H), state (h[t-1], c[t-1])) -> (h[t], (h[t], c[t])),
        in graph ops (Tensor methods: narrow, select, sigmoid, tanh, *, +), the
        peepholes ``self.peephole`` (3 x H) as in the class docstring."""
        # BEGIN TASK 6.3
        h_prev, c_prev = state
        H = self.outputSize
        gates = gates_x + self._run(self.o2g, h_prev)
        a_i, a_g, a_f, a_o = (gates.narrow(-1, k * H, H) for k in range(4))
        p_i, p_f, p_o = (self.peephole.select(0, k) for k in range(3))
        i = (a_i + p_i * c_prev).sigmoid()
        f = (a_f + p_f * c_prev).sigmoid()
        c = f * c_prev + i * a_g.tanh()
        h = (a_o + p_o * c).sigmoid() * c.tanh()
        return h, (h, c)
        # END TASK 6.3


class GRU(_Gated):
    """GRU(inputSize, outputSize): gated recurrent unit.

    r, z = sigmoid(i2g(x[t]) + o2g(s[t-1])) (i2g = Linear(in, 2H), o2g = LinearNoBias(H,
    2H), chunks r then z); candidate h~ = tanh(i2h(x[t]) + h2h(r * s[t-1])) (i2h =
    Linear(in, H), h2h = LinearNoBias(H, H)); s[t] = (1 - z) * h~ + z * s[t-1].
    """

    def __init__(self, inputSize, outputSize):
        super().__init__(inputSize, outputSize)
        self.i2g = Linear(inputSize, 2 * outputSize)
        self.o2g = LinearNoBias(outputSize, 2 * outputSize)
        self.i2h = Linear(inputSize, outputSize)
        self.h2h = LinearNoBias(outputSize, outputSize)
        self.modules = [self.i2g, self.o2g, self.i2h, self.h2h]

    def _project(self, x):
        return cat([self._run(self.i2g, x), self._run(self.i2h, x)], -1)

    def _step(self, projected, s_prev):
        """(projected = [i2g(x[t]) | i2h(x[t])] (..., 3H), s[t-1] (..., H)) -> (s[t], s[t])
        in graph ops, with ``self._run(self.o2g, ...)`` and ``self._run(self.h2h, ...)`` for
        the recurrent products, as in the class docstring."""
        # BEGIN TASK 6.4
        H = self.outputSize
        rz = (projected.narrow(-1, 0, 2 * H) + self._run(self.o2g, s_prev)).sigmoid()
        r, z = rz.narrow(-1, 0, H), rz.narrow(-1, H, H)
        candidate = (projected.narrow(-1, 2 * H, H) + self._run(self.h2h, r * s_prev)).tanh()
        s = (1 - z) * candidate + z * s_prev
        return s, s
        # END TASK 6.4

    def _layer(self, projected, s_prev):
        s = GRULayer.apply(projected, self.o2g.weight, self.h2h.weight, s_prev)
        return s, s[projected.shape[0] - 1]


class Recursor(Container):
    """Recursor(module): ``module`` stepped one time step per call; the recurrent modules
    inside keep their state between calls. The Sequencer wraps non-recurrent modules in it."""

    def __init__(self, module):
        super().__init__()
        self.module = module
        self.modules = [module]

    def updateOutput(self, input):
        return self._run(self.module, input)

    def __repr__(self):
        return f"nn.Recursor @ {self.module!r}"


class Sequencer(Container):
    """Sequencer(module): ``module`` applied at every time step of a sequence, one set of
    parameters shared by all steps.

    Input: a list of T steps (e.g. from SplitTable) or a T x batch x ... tensor; the output
    has the same form. The steps run in one graph, so ``backward`` is BPTT over the
    sequence. Between calls the hidden state is forgotten unless ``remember(...)``.

    When ``module`` is a recurrent layer, or a Sequential of recurrent layers and row-wise
    ones (Linear, transfer functions, Dropout), it runs layer by layer: each recurrent
    layer goes through time (FastLSTM/LSTM/GRU: the input projections for all steps at
    once, then one fused op on the fast tier), each row-wise layer runs ONCE on all T x
    batch rows (the 200 -> 10000 decoder is one matrix product, not T). Same results as
    stepping the whole module (Dropout: the same distribution, masks drawn in another
    order); ``fast = False`` forces stepping.
    """

    def __init__(self, module):
        super().__init__()
        if not isinstance(module, AbstractRecurrent | Recursor):
            module = Recursor(module)
        self.module = module
        self.modules = [module]
        self.fast = True

    def _layers(self):
        """The layers to run one by one over the whole sequence, or None."""
        inner = self.module.module if isinstance(self.module, Recursor) else self.module
        layers = inner.modules if type(inner) is Sequential else [inner]
        if all(isinstance(m, (AbstractRecurrent, *ROWWISE)) for m in layers):
            return layers
        return None

    def updateOutput(self, input):
        if not isinstance(input, list | tuple | Tensor):
            raise ValueError(f"{self!r}: expected a list of time steps or a T x batch x ... "
                             f"tensor, got {type(input).__name__}")
        layers = self._layers() if self.fast else None
        tensors = isinstance(input, Tensor) or all(isinstance(x, Tensor) for x in input)
        recurrent = _recurrent_modules(self)
        for m in recurrent:
            m._startSequence()
        try:
            if layers is not None and tensors and len(input):
                seq = input
                for layer in layers:
                    if isinstance(layer, AbstractRecurrent):
                        seq = layer.sequence(seq)
                        layer.output = Tensor._wrap(seq[-1].data if isinstance(seq, list)
                                                    else seq.data[-1])
                    else:
                        seq = _over_rows(lambda rows, m=layer: self._run(m, rows),
                                         _stacked(seq))
                        # as when stepping, the layer's output is that of the last step
                        # (a copy: the T x batch rows go as soon as the next layer is done)
                        layer.output = Tensor._wrap(seq.data[-1].copy())
            else:
                seq = [self._run(self.module, x) for x in _steps(input)]
        finally:
            for m in recurrent:
                m._unrolling = False
        return _steps(seq) if isinstance(input, list | tuple) else _stacked(seq)

    def __repr__(self):
        return f"nn.Sequencer @ {self.module!r}"


def _recurrent_modules(module):
    return [m for m in module.modules_depth_first() if isinstance(m, AbstractRecurrent)]


class SequencerCriterion(Criterion):
    """SequencerCriterion(criterion): ``criterion`` at every time step, SUMMED over time
    (no average over steps). Input and target: lists of T steps or T x ... tensors;
    gradInput has the input's form."""

    def __init__(self, criterion):
        super().__init__()
        self.criterion = criterion

    def updateOutput(self, input, target):
        """input: T steps (a list, or a T x ... Tensor: ``_steps`` gives the list), target:
        T targets (indexable by t) -> the total loss, a Tensor in the graph: the sum over t
        of ``self.criterion.updateOutput(input[t], target[t])``. ValueError naming this
        criterion when the two lengths differ."""
        # BEGIN TASK 6.5
        steps = _steps(input)
        if len(steps) != len(target):
            raise ValueError(f"{self!r}: input has {len(steps)} time steps but target has "
                             f"{len(target)}")
        losses = [self.criterion.updateOutput(x, target[t]) for t, x in enumerate(steps)]
        total = losses[0]
        for loss in losses[1:]:
            total = total + loss
        return total
        # END TASK 6.5

    def backward(self, input, target):
        """gradInput: for a list of T steps of one size, the T rows of ONE T x ... array
        (the steps' gradients are added into them). When the steps are a Sequencer's
        output, its backward then takes that array whole, without a copy
        (``ops.recurrent.Step``)."""
        recorded = self._recorded
        if recorded is None or recorded[0] is not input or recorded[1] is not target:
            self._record(input, target)
        leaves = self._recorded[2]
        if (isinstance(leaves, list | tuple) and leaves
                and all(isinstance(x, Tensor) and x.requires_grad and x.shape == leaves[0].shape
                        and x.dtype == leaves[0].dtype for x in leaves)):
            first = leaves[0].data
            rows = array_module(first).zeros((len(leaves), *first.shape), first.dtype)
            for t, leaf in enumerate(leaves):
                leaf.grad = Tensor._wrap(rows[t])
        return super().backward(input, target)

    updateGradInput = backward

    def _record(self, input, target):
        if not len(input):  # the loss of no steps: refused before updateOutput sums them
            raise ValueError(f"{self!r}: empty sequence (no time steps): there is no loss "
                             f"of no steps")
        return super()._record(input, target)

    def _explain_nan(self, input, target):
        """A NaN total: each step's criterion explains its own step (BCE on CUDA)."""
        for t, x in enumerate(_steps(input)):
            self.criterion._explain_nan(x, target[t])

    def __repr__(self):
        return f"nn.SequencerCriterion({self.criterion!r})"
