"""Criterions made of criterions: ``ParallelCriterion`` (one criterion per element of an
input table, losses added) and ``ModuleCriterion`` (a criterion behind modules that
prepare its input and target).

Both compose their children's ``forward`` and ``backward``, so a child whose gradient is
not the derivative of its loss (``VRClassReward``) works inside them.
"""

from ..tensor import Tensor
from .criterion import Criterion
from .module import map_table

__all__ = ["ModuleCriterion", "ParallelCriterion"]


class ParallelCriterion(Criterion):
    """ParallelCriterion(repeatTarget=False): criterion i sees element i of the input table
    (and of the target table, or the whole target when ``repeatTarget``);
    loss = sum_i weight_i * loss_i, gradInput = {weight_i * gradInput_i}.

        nn.ParallelCriterion(True).add(nn.ClassNLLCriterion()).add(nn.VRClassReward(agent))
    """

    def __init__(self, repeatTarget=False):
        super().__init__()
        self.repeatTarget = repeatTarget
        self.criterions, self.weights = [], []

    def add(self, criterion, weight=1):
        """Append ``criterion`` with ``weight``; returns self so adds chain."""
        if not isinstance(criterion, Criterion):
            raise TypeError(f"{self!r}.add: expects a criterion, got "
                            f"{type(criterion).__name__}")
        self.criterions.append(criterion)
        self.weights.append(weight)
        return self

    def _pairs(self, input, target):
        if not isinstance(input, list | tuple) or len(input) < len(self.criterions):
            got = len(input) if isinstance(input, list | tuple) else type(input).__name__
            raise ValueError(f"{self!r}: expected an input table of {len(self.criterions)} "
                             f"elements (one per criterion), got {got}")
        for i, criterion in enumerate(self.criterions):
            yield criterion, self.weights[i], input[i], target if self.repeatTarget else target[i]

    def forward(self, input, target):
        self.output = sum(w * c.forward(x, t) for c, w, x, t in self._pairs(input, target))
        return self.output

    updateOutput = forward

    def backward(self, input, target):
        grads = []
        for criterion, weight, x, t in self._pairs(input, target):
            grad = criterion.backward(x, t)
            grads.append(grad if weight == 1 else map_table(
                lambda g, w=weight: Tensor._wrap(g.data * w), grad))
        self.gradInput = grads
        return self.gradInput

    updateGradInput = backward

    def __repr__(self):
        return "nn.ParallelCriterion(" + ", ".join(repr(c) for c in self.criterions) + ")"


class ModuleCriterion(Criterion):
    """ModuleCriterion(criterion, inputModule=None, targetModule=None): loss =
    criterion(inputModule(input), targetModule(target)); gradInput goes back through
    ``inputModule`` (whose parameters are not trained here). E.g. with
    targetModule = nn.Convert() the targets take the input's type."""

    def __init__(self, criterion, inputModule=None, targetModule=None):
        super().__init__()
        self.criterion = criterion
        self.inputModule, self.targetModule = inputModule, targetModule
        self._last = None  # (input, target, prepared input, prepared target)

    def _prepared(self, input, target):
        """(inputModule(input), targetModule(target)), those of the last forward when
        called again with the same input and target."""
        last = self._last
        if last is None or last[0] is not input or last[1] is not target:
            x = input if self.inputModule is None else self.inputModule.forward(input)
            t = target if self.targetModule is None else self.targetModule.forward(target)
            self._last = last = (input, target, x, t)
        return last[2], last[3]

    def forward(self, input, target):
        self.output = self.criterion.forward(*self._prepared(input, target))
        return self.output

    updateOutput = forward

    def backward(self, input, target):
        grad = self.criterion.backward(*self._prepared(input, target))
        if self.inputModule is not None:
            grad = self.inputModule.backward(input, grad)
        self.gradInput = grad
        return self.gradInput

    updateGradInput = backward

    def __repr__(self):
        return f"nn.ModuleCriterion({self.criterion!r})"
