"""Criterions: Torch7's losses. ``forward(input, target)`` returns the loss as a Python
float (also kept in ``output``); ``backward(input, target)`` returns ``gradInput`` =
d loss / d input, a tensor of the input's size, to hand to the model's ``backward``.

A criterion only writes ``updateOutput(input, target)``: the loss as a one-element tensor,
with differentiable ops. ``sizeAverage`` (default True) divides by the batch size
(ClassNLL) or the number of elements (BCE, MSE); set it to False for a plain sum.

Every criterion refuses, naming itself: a non-float input (TypeError), an empty batch
(ValueError: there is no loss of nothing), and values its formula has no meaning for
(ClassNLL: targets that are not whole class ids in range; BCE: inputs or targets outside
[0, 1]). The checks run on the host: on shapes and dtypes, and on targets, which are host
arrays (a CUDA target is copied to the host, as before). BCE's input range is checked with
one min/max pass on the CPU; on CUDA that pass would cost a host round trip per step, so
there the loss is checked instead: ``forward`` already brings it to the host, and an input
outside [0, 1] makes it NaN, which ``forward`` then explains (``_explain_nan``) with the
min/max pass, only then. (``backward`` without a ``forward`` skips that CUDA check.)
"""

import numpy as np

from ..autograd import run_backward, size_text
from ..ops.nnfunc import BCELoss, NLLLoss
from ..ops.shape import to_device
from ..tensor import Tensor
from .module import _grad_of, _graph_leaf, check_float_input, map_table

__all__ = ["BCECriterion", "ClassNLLCriterion", "Criterion", "CrossEntropyCriterion",
           "MSECriterion"]



def _array(target):
    """A target (Tensor, array, number or list) as a CPU NumPy array."""
    if isinstance(target, Tensor):
        return to_device(target.data, "cpu")
    return np.asarray(target)


class Criterion:
    """Base class of the losses. State: ``output`` (the last loss), ``gradInput``,
    ``sizeAverage``.

    The loss is computed from a fresh leaf copy of ``input``, so ``backward`` stops there:
    it never reaches the graph of the model that produced ``input`` (that is the model's
    own ``backward(input, gradInput)``).
    """

    def __init__(self, sizeAverage=True):
        self.sizeAverage = sizeAverage
        self.output = 0.0
        self.gradInput = None
        self._recorded = None  # (input, target, leaf, loss) of the last forward

    def updateOutput(self, input, target):
        """The loss as a one-element tensor, written with differentiable ops."""
        raise NotImplementedError(f"{type(self).__name__} does not define updateOutput")

    def _record(self, input, target):
        leaf = map_table(_graph_leaf, input)
        self._recorded = (input, target, leaf, self.updateOutput(leaf, target))
        return self._recorded[3]

    def forward(self, input, target):
        """The loss (a float); also stored in ``output``. A NaN loss is handed to
        ``_explain_nan``, which raises when the inputs explain it."""
        self.output = float(self._record(input, target).item())
        if self.output != self.output:
            self._explain_nan(input, target)
        return self.output

    def _explain_nan(self, input, target):
        """Raise a ValueError naming this criterion when (input, target) is outside what
        its formula takes, the reason ``forward`` gave NaN; by default nothing (a NaN
        input or a diverged model: the NaN loss is returned)."""

    def _check_input(self, input):
        """TypeError unless ``input`` is a float tensor, ValueError when it is empty."""
        check_float_input(self, input)
        if not input.data.size:
            raise ValueError(f"{self!r}: empty batch (input of size {size_text(input.shape)}):"
                             f" there is no loss of no examples")

    def __call__(self, input, target):
        return self.forward(input, target)

    def backward(self, input, target):
        """gradInput = d loss / d input (a tensor like ``input``). Reuses the graph of the
        last ``forward`` when called with the same input and target, else recomputes."""
        recorded = self._recorded
        if recorded is None or recorded[0] is not input or recorded[1] is not target:
            self._record(input, target)
        _, _, leaf, loss = self._recorded
        self._recorded = None  # backward frees the graph: a second call recomputes it
        run_backward([loss], [None])
        self.gradInput = map_table(_grad_of, leaf)
        return self.gradInput

    updateGradInput = backward

    def type(self, name=None):
        """Criterions hold no tensors: the target follows the input's type and device."""
        return self

    def float(self):
        return self

    def double(self):
        return self

    def cuda(self):
        return self

    def cpu(self):
        return self

    def __repr__(self):
        return "nn." + type(self).__name__


class ClassNLLCriterion(Criterion):
    """Negative log-likelihood of 0-based class targets, for log-probabilities (the output
    of LogSoftMax).

    input B x C with target of B class ids: loss = -(1/B) sum_i input[i, t_i] (no 1/B when
    not sizeAverage); input of C with a one-element target: loss = -input[t].
    """

    def updateOutput(self, input, target):
        return NLLLoss.apply(input, self._classes(input, target), self.sizeAverage)

    def _classes(self, input, target):
        """The target as int64 class ids on the input's device, after checking them and
        the input (float, not empty). Whole-valued float ids are accepted, as Torch7's."""
        self._check_input(input)
        t = _array(target)
        batch = input.shape[0] if input.ndim == 2 else 1
        if input.ndim not in (1, 2) or t.size != batch or (input.ndim == 2 and t.ndim > 1):
            raise ValueError(f"{self!r}: expected input of C or B x C scores with B class "
                             f"ids as target, got input {size_text(input.shape)} and target "
                             f"{size_text(t.shape)}")
        if t.dtype.kind not in "iuf":
            raise TypeError(f"{self!r}: targets must be class ids (a LongTensor, or whole "
                            f"numbers in a float tensor), got dtype {t.dtype}")
        if t.dtype.kind == "f" and not np.all(t == np.trunc(t)):  # NaN is not whole either
            bad = t[t != np.trunc(t)].flat[0]
            raise ValueError(f"{self!r}: targets must be whole class ids, got {bad}")
        t = t.reshape(-1).astype(np.int64, copy=False)
        classes = input.shape[-1]
        if t.size and (t.min() < 0 or t.max() >= classes):
            bad = t[(t < 0) | (t >= classes)][0]
            raise ValueError(f"{self!r}: class index {bad} is out of range for {classes} "
                             f"classes (targets are 0-based: 0..{classes - 1})")
        return to_device(t, input.device)


class CrossEntropyCriterion(ClassNLLCriterion):
    """LogSoftMax then ClassNLL, on raw scores: loss = -(1/B) sum_i log softmax(x_i)[t_i]."""

    def updateOutput(self, input, target):
        classes = self._classes(input, target)  # checked before the log-softmax runs
        return NLLLoss.apply(input.log_softmax(-1), classes, self.sizeAverage)


class BCECriterion(Criterion):
    """Binary cross-entropy for probabilities x in [0, 1] and targets t in {0, 1} (or
    [0, 1]), of the same size, with eps = 1e-12:

    loss = -sum[t log(x + eps) + (1 - t) log(1 - x + eps)] (/ nElement when sizeAverage).

    Inputs and targets outside [0, 1] (or NaN) are refused with a ValueError, as Torch7's
    BCECriterion asserts for the input: the targets on the host, the input with one
    min/max pass on the CPU and, on CUDA, only once the loss came back NaN (see the
    module's docstring).
    """

    def updateOutput(self, input, target):
        self._check_input(input)
        t = _array(target)
        if t.shape != input.shape:
            raise ValueError(f"{self!r}: target must have the input's size "
                             f"{size_text(input.shape)}, got {size_text(t.shape)}")
        if t.dtype.kind not in "biuf":
            raise TypeError(f"{self!r}: targets must be numbers in [0, 1], got dtype {t.dtype}")
        self._check_range("target", t)
        if input.device == "cpu":
            self._check_range("input", input.data)
            return BCELoss.apply(input, t.astype(input.dtype), self.sizeAverage)
        try:  # CUDA: the range is checked when the loss is NaN (``_explain_nan``)
            return BCELoss.apply(input, to_device(t.astype(input.dtype), "cuda"),
                                 self.sizeAverage)
        except ValueError:  # Numba's simulator runs math.log in Python: it raises where a
            self._explain_nan(input, target)  # GPU gives NaN ("math domain error")
            raise

    def _check_range(self, name, values):
        """ValueError naming this criterion unless every value is in [0, 1]: one min and
        one max (a NaN makes both NaN, and fails the test too)."""
        low, high = float(values.min()), float(values.max())
        if not (low >= 0 and high <= 1):
            found = "NaN" if low != low or high != high else f"min {low:g} and max {high:g}"
            hint = (" (probabilities: e.g. the output of nn.Sigmoid)" if name == "input"
                    else " (0 or 1, or a probability)")
            raise ValueError(f"{self!r}: {name} values must be in [0, 1]{hint}, got {found}")

    def _explain_nan(self, input, target):
        """The CUDA check of the input's range, run only when the loss is NaN."""
        self._check_range("input", to_device(input.data, "cpu"))


class MSECriterion(Criterion):
    """Mean squared error: loss = sum (x - t)^2 (/ nElement when sizeAverage); target of
    the input's size."""

    def updateOutput(self, input, target):
        self._check_input(input)
        t = _array(target)
        if t.shape != input.shape:
            raise ValueError(f"{self!r}: target must have the input's size "
                             f"{size_text(input.shape)}, got {size_text(t.shape)}")
        diff = input - Tensor._wrap(to_device(t.astype(input.dtype), input.device))
        loss = (diff * diff).sum()
        return loss / input.nElement() if self.sizeAverage else loss
