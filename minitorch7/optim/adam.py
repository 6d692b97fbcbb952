"""Adam (Kingma and Ba, 2015): Torch7's ``optim.adam`` closure and the ``Adam`` optimizer.

Per parameter tensor x with gradient g, at step t = 1, 2, ...:

    g <- g + weightDecay * x
    m <- beta1 * m + (1 - beta1) * g            (first moment, starts at 0)
    v <- beta2 * v + (1 - beta2) * g * g        (second moment, starts at 0)
    x <- x - lr_t * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)

with lr_t = learningRate / (1 + (t - 1) * learningRateDecay).
"""

from ..device import array_module
from .optimizer import Optimizer

ADAM_DEFAULTS = {"learningRate": 1e-3, "learningRateDecay": 0, "beta1": 0.9, "beta2": 0.999,
                 "epsilon": 1e-8, "weightDecay": 0}


def adam_step(x, dfdx, config, state):
    """Update the array ``x`` in place; ``state`` keeps ``t``, ``m`` and ``v``."""
    c = {**ADAM_DEFAULTS, **config}
    beta1, beta2 = c["beta1"], c["beta2"]
    if c["weightDecay"] != 0:
        dfdx = dfdx + c["weightDecay"] * x
    xp = array_module(x)
    t = state.get("t", 0)
    if t == 0:
        state["m"], state["v"] = xp.zeros_like(x), xp.zeros_like(x)
    clr = c["learningRate"] / (1 + t * c["learningRateDecay"])
    t = state["t"] = t + 1
    m, v = state["m"], state["v"]
    m *= beta1
    m += (1 - beta1) * dfdx
    v *= beta2
    v += (1 - beta2) * dfdx * dfdx
    step = clr * (1 - beta2 ** t) ** 0.5 / (1 - beta1 ** t)
    x -= step * m / (xp.sqrt(v) + c["epsilon"])


def adam(feval, x, config=None, state=None):
    """Torch7's optim.adam(opfunc, x, config, state); returns ``(x, [loss])``."""
    config = {} if config is None else config
    state = config if state is None else state
    fx, dfdx = feval(x)
    adam_step(x.data, dfdx.data, config, state)
    x._bump_version()
    return x, [fx]


class Adam(Optimizer):
    """Adam(module_or_params, learningRate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8,
    weightDecay=0, learningRateDecay=0) over a module's parameters."""

    def __init__(self, params, **config):
        super().__init__(params, adam_step, ADAM_DEFAULTS, config)
