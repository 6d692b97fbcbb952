"""Bidirectional recurrences (Torch7's rnn package, with dpnn's table helpers): one rnn reads
the sequence forward, another reads it backward, and their outputs at each step are merged.

    brnn = nn.BiSequencer(nn.FastLSTM(10, 20))        # a list of T (batch x 10) steps
    outputs = brnn.forward(steps)                      # -> T steps of batch x 40 (fwd | bwd)
    brnn = nn.SeqBRNN(10, 20)                          # a T x batch x 10 tensor
    output = brnn.forward(x)                           # -> T x batch x 20 (fwd + bwd)

Output step t of the backward rnn has read steps T-1 ... t, so the merged output at t has
seen the WHOLE sequence: such a model must never be trained to predict x[t + 1] from step t
(it has read it). Reversals are tables or stacks of the same tensors: autograd carries the
gradients back through them (docs/rnn_bidirectional.md).
"""

from ..creation import stack
from .container import ConcatTable, Container, Sequential
from .module import Module
from .recurrent import FastLSTM, Sequencer
from .table import CAddTable, JoinTable, _check_table

__all__ = ["BiSequencer", "ReverseTable", "SeqBRNN", "SeqReverseSequence", "ZipTable"]


class ReverseTable(Module):
    """dpnn's ReverseTable(): a table {x_0, ..., x_{n-1}} -> {x_{n-1}, ..., x_0} (the same
    tensors); gradInput is gradOutput reversed."""

    def updateOutput(self, input):
        _check_table(self, input)
        return list(reversed(input))


class ZipTable(Module):
    """dpnn's ZipTable(): a table of n tables of m elements -> m tables of n elements,
    output[j][i] = input[i][j]: {{a1, a2}, {b1, b2}, {c1, c2}} -> {{a1, b1, c1}, {a2, b2, c2}}."""

    def updateOutput(self, input):
        _check_table(self, input)
        lengths = [len(t) if isinstance(t, list | tuple) else None for t in input]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError(f"{self!r}: expects a table of tables of one length, got "
                             f"lengths {lengths} (None: not a table)")
        return [list(column) for column in zip(*input)]


class SeqReverseSequence(Module):
    """SeqReverseSequence(dim): a tensor with the order of its slices along ``dim`` reversed
    (0-based; Torch7's dim 1 is dim 0 here): output.select(dim, i) = input.select(dim,
    n - 1 - i). Differentiable: the gradient is reversed the same way."""

    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def updateOutput(self, input):
        if not -input.ndim <= self.dim < input.ndim:
            raise ValueError(f"{self!r}: dim {self.dim} is out of range for a {input.ndim}-D "
                             f"input")
        dim = self.dim % input.ndim
        n = input.shape[dim]
        return stack([input.select(dim, n - 1 - i) for i in range(n)], dim)

    def __repr__(self):
        return f"nn.SeqReverseSequence({self.dim})"


def _fresh_copy(module):
    """Torch7's ``module:clone():reset()``: a deep copy whose parameters are drawn anew by
    every submodule that has a ``reset`` (Linear's; FastLSTM's are its Linears)."""
    copy = module.clone()
    for m in copy.modules_depth_first():
        if hasattr(m, "reset"):
            m.reset()
    return copy


class BiSequencer(Container):
    """BiSequencer(forward, backward=None, merge=None): a bidirectional rnn over a table
    (list) of T steps -> a list of T merged steps.

    fwd = Sequencer(forward) reads x_0 ... x_{T-1}; bwd = Sequencer(backward) reads
    x_{T-1} ... x_0 and its outputs are put back in time order; output[t] =
    merge({fwd[t], bwd[t]}). ``backward`` defaults to a copy of ``forward`` with fresh
    parameters; ``merge`` to JoinTable(0, 1) (Torch7's JoinTable(1, 1): the feature dim of
    a 1-D step or of a batch x features step, so output[t] is [fwd[t] | bwd[t]]); a number n
    means JoinTable(0, n). Built as rnn's BiSequencer: Sequential(ConcatTable(fwdSeq,
    Sequential(ReverseTable, bwdSeq, ReverseTable)), ZipTable, Sequencer(merge)).

    As with any Sequencer the hidden states are forgotten between calls; a ``remember()``
    must not reach the backward rnn (it would carry a state from the future).
    """

    def __init__(self, forward, backward=None, merge=None):
        super().__init__()
        if not isinstance(forward, Module):
            raise TypeError(f"BiSequencer: expects an nn module as forward, got "
                            f"{type(forward).__name__}")
        backward = _fresh_copy(forward) if backward is None else backward
        if not isinstance(backward, Module):
            raise TypeError(f"BiSequencer: expects an nn module as backward, got "
                            f"{type(backward).__name__}")
        if merge is None or isinstance(merge, int):
            merge = JoinTable(0, 1 if merge is None else merge)
        elif not isinstance(merge, Module):
            raise TypeError(f"BiSequencer: expects an nn module or a number as merge, got "
                            f"{type(merge).__name__}")
        self.forwardModule, self.backwardModule, self.mergeModule = forward, backward, merge
        self._init_args = ((forward, backward, merge), {})  # save names the modules made here
        self.fwdSeq, self.bwdSeq = Sequencer(forward), Sequencer(backward)
        self.mergeSeq = Sequencer(merge)
        reversed_seq = Sequential().add(ReverseTable()).add(self.bwdSeq).add(ReverseTable())
        self.module = (Sequential().add(ConcatTable().add(self.fwdSeq).add(reversed_seq))
                       .add(ZipTable()).add(self.mergeSeq))
        self.modules = [self.module]

    def updateOutput(self, input):
        if not isinstance(input, list | tuple) or not input:
            raise ValueError(f"BiSequencer: expects a non-empty table (list) of time steps, "
                             f"got {type(input).__name__}")
        return self._run(self.module, input)

    def __repr__(self):
        return "nn.BiSequencer @ " + repr(self.module)


class SeqBRNN(Container):
    """SeqBRNN(inputSize, outputSize, batchFirst=False, merge=None): a bidirectional LSTM
    over a seqlen x batch x inputSize tensor (batch x seqlen x inputSize with
    ``batchFirst``) -> seqlen x batch x outputSize (batch first likewise).

    ``forwardModule``, an LSTM (FastLSTM: no peepholes, as rnn's SeqLSTM), reads the
    sequence; ``backwardModule``, another, reads it reversed along time
    (``SeqReverseSequence(0)``) and its output is reversed back; output = merge({fwd, bwd}),
    CAddTable (their sum) by default. Each LSTM runs under a Sequencer (BPTT over the whole
    sequence, the fused FastLSTM op); the children are the two LSTMs and ``merge``.
    """

    def __init__(self, inputSize, outputSize, batchFirst=False, merge=None):
        super().__init__()
        self.inputSize, self.outputSize, self.batchFirst = inputSize, outputSize, batchFirst
        self.forwardModule = FastLSTM(inputSize, outputSize)
        self.backwardModule = FastLSTM(inputSize, outputSize)
        self.merge = CAddTable() if merge is None else merge
        self.modules = [self.forwardModule, self.backwardModule, self.merge]
        self._fwdSeq, self._bwdSeq = Sequencer(self.forwardModule), Sequencer(self.backwardModule)
        self._reverse = SeqReverseSequence(0)

    def updateOutput(self, input):
        if input.ndim != 3 or input.shape[-1] != self.inputSize:
            layout = "batch x seqlen" if self.batchFirst else "seqlen x batch"
            raise ValueError(f"nn.SeqBRNN({self.inputSize} -> {self.outputSize}): expected a "
                             f"{layout} x {self.inputSize} input, got "
                             f"{'x'.join(map(str, input.shape))}")
        x = input.transpose(0, 1) if self.batchFirst else input
        fwd = self._run(self._fwdSeq, x)
        bwd = self._reverse.updateOutput(self._run(self._bwdSeq, self._reverse.updateOutput(x)))
        output = self._run(self.merge, [fwd, bwd])
        return output.transpose(0, 1) if self.batchFirst else output

    def __repr__(self):
        return (f"nn.SeqBRNN({self.inputSize} -> {self.outputSize}"
                f"{', batchFirst' if self.batchFirst else ''}) {{\n"
                f"  fwd: {self.forwardModule!r} over x[0] ... x[T-1]\n"
                f"  bwd: {self.backwardModule!r} over x[T-1] ... x[0]\n"
                f"  merge: {self.merge!r}\n}}")
