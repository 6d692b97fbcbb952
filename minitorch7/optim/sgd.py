"""Stochastic gradient descent: Torch7's ``optim.sgd`` closure and the ``SGD`` optimizer.

One step, per parameter tensor x with gradient g (``config`` keys, Torch7's names):

    g  <- g + weightDecay * x                                   (L2 penalty)
    v  <- copy of g on the first step, then momentum * v + (1 - dampening) * g
    d  <- v, or g + momentum * v with nesterov                  (momentum > 0 only)
    x  <- x - learningRate / (1 + evalCounter * learningRateDecay) * d

``dampening`` defaults to ``momentum``: the damped momentum of dpnn's
``updateGradParameters`` (v = 0.9 v + 0.1 g), so ``SGD(momentum=0.9)`` steps exactly like
``module:updateGradParameters(0.9); module:updateParameters(lr)``. (Torch7's optim.sgd
insists on dampening 0 with Nesterov; here, as in dpnn, any dampening goes.)
"""

from .optimizer import Optimizer

SGD_DEFAULTS = {"learningRate": 1e-3, "learningRateDecay": 0, "weightDecay": 0,
                "momentum": 0, "dampening": None, "nesterov": False}


def sgd_step(x, dfdx, config, state):
    """Update the array ``x`` in place from its gradient ``dfdx`` (not modified).

    ``state`` (a dict) keeps ``evalCounter`` and the momentum buffer ``dfdx`` between calls.
    """
    lr = config.get("learningRate", SGD_DEFAULTS["learningRate"])
    lrd = config.get("learningRateDecay", 0)
    wd = config.get("weightDecay", 0)
    mom = config.get("momentum", 0)
    damp = config.get("dampening")
    damp = mom if damp is None else damp
    nevals = state.get("evalCounter", 0)
    if wd != 0:
        dfdx = dfdx + wd * x
    if mom != 0:
        if "dfdx" not in state:
            state["dfdx"] = dfdx.copy()
        else:
            v = state["dfdx"]
            v *= mom
            v += (1 - damp) * dfdx
        dfdx = dfdx + mom * state["dfdx"] if config.get("nesterov") else state["dfdx"]
    x -= lr / (1 + nevals * lrd) * dfdx
    state["evalCounter"] = nevals + 1


def sgd(feval, x, config=None, state=None):
    """Torch7's optim.sgd(opfunc, x, config, state) over a flat parameter tensor.

    ``feval(x)`` returns ``(loss, dloss_dx)``, usually over ``module.getParameters()``;
    ``state`` defaults to ``config`` (Torch7 keeps the momentum buffer there).
    Returns ``(x, [loss])`` with x updated in place.
    """
    config = {} if config is None else config
    state = config if state is None else state
    fx, dfdx = feval(x)
    sgd_step(x.data, dfdx.data, config, state)
    x._bump_version()
    return x, [fx]


class SGD(Optimizer):
    """SGD(module_or_params, learningRate=1e-3, learningRateDecay=0, weightDecay=0,
    momentum=0, dampening=momentum, nesterov=False): ``step()`` applies ``sgd_step`` to
    every parameter with its ``.grad``; ``zero_grad()`` zeroes the gradients."""

    def __init__(self, params, **config):
        super().__init__(params, sgd_step, SGD_DEFAULTS, config)
