"""Torch7's optim: sgd and adam (closures over flat parameters, or optimizer objects over a
module), the lab's learning-rate schedules, and ConfusionMatrix.

    params, grads = model.getParameters()
    def feval(x):
        model.zeroGradParameters()
        loss = criterion.forward(model.forward(inputs), targets)
        model.backward(inputs, criterion.backward(model.output, targets))
        return loss, grads
    optim.sgd(feval, params, {"learningRate": 0.1, "momentum": 0.9})
"""

from .adam import Adam, adam
from .confusion import ConfusionMatrix
from .optimizer import Optimizer
from .schedule import EpochTable, LinearDecay, parse_table
from .sgd import SGD, sgd

__all__ = ["SGD", "Adam", "ConfusionMatrix", "EpochTable", "LinearDecay", "Optimizer", "adam",
           "parse_table", "sgd"]
