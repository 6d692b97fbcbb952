"""``ConfusionMatrix``: Torch7's optim.ConfusionMatrix, counts of (target, prediction).

``mat[t][p]`` counts the examples of class t predicted as p (0-based classes). After
``updateValids()``:

    valids[t]      = mat[t][t] / sum_p mat[t][p]          (recall of class t)
    unionvalids[t] = mat[t][t] / (row t + column t - mat[t][t])   (VOC intersection/union)
    averageValid   = mean of the valids (classes never seen as targets left out)
    totalValid     = trace(mat) / sum(mat)                (accuracy)
"""

import math

import numpy as np

from ..autograd import Variable
from ..ops.shape import to_device


def _numpy(x):
    """A tensor, array, list or number as a NumPy array (copied to the host if needed)."""
    return np.asarray(to_device(x.data, "cpu") if isinstance(x, Variable) else x)


class ConfusionMatrix:
    """ConfusionMatrix(nclasses) or ConfusionMatrix(['cat', 'dog', ...])."""

    def __init__(self, nclasses, classes=None):
        if isinstance(nclasses, list | tuple):
            classes, nclasses = list(nclasses), len(nclasses)
        self.nclasses = int(nclasses)
        self.classes = list(classes) if classes is not None else list(range(self.nclasses))
        self.mat = np.zeros((self.nclasses, self.nclasses), np.int64)
        self.valids = np.zeros(self.nclasses)
        self.unionvalids = np.zeros(self.nclasses)
        self.totalValid = self.averageValid = self.averageUnionValid = 0.0

    def _check(self, indices, what):
        if indices.size and (indices.min() < 0 or indices.max() >= self.nclasses):
            bad = indices[(indices < 0) | (indices >= self.nclasses)][0]
            raise ValueError(f"ConfusionMatrix: {what} class {bad} out of range "
                             f"0..{self.nclasses - 1}")
        return indices

    def add(self, output, target):
        """Count one example. output: a class index or a score vector (argmax taken);
        target: a class index (or a one-element tensor, or a one-hot vector)."""
        prediction, target = _numpy(output).reshape(-1), _numpy(target).reshape(-1)
        p = prediction[0] if prediction.size == 1 else prediction.argmax()
        t = target[0] if target.size == 1 else target.argmax()
        p, t = self._check(np.array([p, t], np.int64), "predicted or target")
        self.mat[t, p] += 1

    def batchAdd(self, outputs, targets):
        """Count a batch. outputs: batch class indices (1-D) or batch x nclasses scores
        (row argmax); targets: batch class indices (or batch x nclasses one-hot rows)."""
        predictions, targets = _numpy(outputs), _numpy(targets)
        predictions = predictions.argmax(axis=1) if predictions.ndim == 2 else predictions
        targets = targets.argmax(axis=1) if targets.ndim == 2 else targets
        if predictions.ndim != 1 or predictions.shape != targets.shape:
            raise ValueError(f"ConfusionMatrix.batchAdd: expected batch x {self.nclasses} "
                             f"outputs (or batch indices) and batch targets, got outputs "
                             f"{_numpy(outputs).shape} and targets {_numpy(targets).shape}")
        np.add.at(self.mat, (self._check(targets.astype(np.int64), "target"),
                             self._check(predictions.astype(np.int64), "predicted")), 1)

    def zero(self):
        self.mat[...] = 0
        self.valids[...] = 0
        self.unionvalids[...] = 0
        self.totalValid = self.averageValid = self.averageUnionValid = 0.0

    def updateValids(self):
        """Compute valids, unionvalids, averageValid, averageUnionValid and totalValid."""
        diag = np.diag(self.mat).astype(np.float64)
        rows, cols = self.mat.sum(axis=1), self.mat.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.valids = diag / rows
            self.unionvalids = diag / (rows + cols - diag)
        total = self.mat.sum()
        self.totalValid = float(diag.sum() / total) if total else 0.0
        seen = ~np.isnan(self.valids)
        self.averageValid = float(self.valids[seen].mean()) if seen.any() else 0.0
        both = seen & ~np.isnan(self.unionvalids)
        self.averageUnionValid = float(self.unionvalids[both].mean()) if both.any() else 0.0

    def __str__(self):
        """Torch7's layout: each row of counts, its recall and class name, then averages."""
        self.updateValids()
        width = max(8, 1 + math.ceil(math.log10(max(int(self.mat.max()), 1) + 1)))
        lines = []
        for t in range(self.nclasses):
            counts = "".join(f"{int(c):{width}d}" for c in self.mat[t])
            opening = "[[" if t == 0 else " ["
            closing = "]]  " if t == self.nclasses - 1 else "]   "
            lines.append(f"{opening}{counts}{closing}{100 * self.valids[t]:.3f}% \t"
                         f"[class: {self.classes[t]}]")
        return ("ConfusionMatrix:\n" + "\n".join(lines) + "\n"
                f" + average row correct: {100 * self.averageValid:.3f}% \n"
                f" + average rowUcol correct (VOC measure): {100 * self.averageUnionValid:.3f}% \n"
                f" + global correct: {100 * self.totalValid:.3f}%")

    __repr__ = __str__
