"""dpnn's REINFORCE modules (Williams, 1992): stochastic units trained by a reward.

A ``Reinforce`` module samples its output (an action: where to look next); a sample has no
derivative, so its ``backward`` ignores gradOutput and returns the REINFORCE estimate of
the gradient of the expected reward instead. A reward criterion (``VRClassReward``) hands
every such module of a network the reward of each example through ``reinforce(network,
reward)`` (dpnn's Module:reinforce), between its own backward and the network's:

    output = agent.forward(images)
    loss = criterion.forward(output, targets)
    grad = criterion.backward(output, targets)   # VRClassReward calls reinforce(agent, r)
    agent.backward(images, grad)                 # the Reinforce modules use r

Here a Reinforce module is one graph op (``_Reinforced``) whose backward asks the module
for its rule, with the reward as it is at backward time. ``Constant`` feeds the learned
baseline that ``VRClassReward`` subtracts from the reward (variance reduction).
"""

import numpy as np

from ..autograd import Function, size_text
from ..device import array_module
from ..random import generator
from ..tensor import Tensor
from .criterion import Criterion, MSECriterion, _array
from .module import Module, check_float_input

__all__ = ["Constant", "Reinforce", "ReinforceNormal", "VRClassReward", "reinforce"]


def reinforce(module, reward):
    """dpnn's ``module:reinforce(reward)``: give ``reward`` (one number per example, a 1-D
    tensor) to every ``Reinforce`` module inside ``module``, for their next backward."""
    for m in module.modules_depth_first():
        if isinstance(m, Reinforce):
            m.reinforce(reward)
    return module


class _Reinforced(Function):
    """output = module's sample for input; backward: the module's REINFORCE rule (the
    incoming gradient is ignored: a sample has no derivative)."""

    @staticmethod
    def forward(ctx, input, module):
        output = module._sample(input)
        ctx.save_for_backward(input, output)
        ctx.module = module
        return output

    @staticmethod
    def backward(ctx, grad):
        input, output = ctx.saved_arrays
        return ctx.module._reinforceGrad(input, output), None


class Reinforce(Module):
    """Reinforce(stochastic=False): the base of REINFORCE modules.

    ``stochastic``: sample in evaluation mode too (False: only in training; in evaluation
    the output is the most likely action). ``reinforce(reward)`` stores the reward the next
    backward uses. This base passes its input through and its gradInput is the reward
    broadcast over each example (dpnn's Reinforce); subclasses define ``_sample(x)`` and
    ``_reinforceGrad(x, sample)`` on arrays.
    """

    def __init__(self, stochastic=False):
        super().__init__()
        self.stochastic = stochastic
        self.reward = None

    def reinforce(self, reward):
        self.reward = reward
        return self

    def updateOutput(self, input):
        check_float_input(self, input)
        return _Reinforced.apply(input, self)

    def _sample(self, x):
        return x

    def _reinforceGrad(self, x, sample):
        return self.rewardAs(x) * array_module(x).ones_like(x)

    def rewardAs(self, x):
        """The reward (one per example, 1-D) as an array that broadcasts over ``x`` (batch
        x ...): batch x 1 x ... x 1, in x's dtype. Refused when no reward was given or its
        length is not the batch size."""
        if self.reward is None:
            raise RuntimeError(f"{self!r}: backward needs a reward: a reward criterion (e.g. "
                               f"nn.VRClassReward) gives it through reinforce(reward)")
        reward = self.reward.data if isinstance(self.reward, Tensor) else self.reward
        if reward.ndim != 1 or x.ndim < 1 or reward.shape[0] != x.shape[0]:
            raise ValueError(f"{self!r}: expected a reward of one number per example "
                             f"({x.shape[0] if x.ndim else 1}), got size "
                             f"{size_text(reward.shape)}")
        return reward.astype(x.dtype, copy=False).reshape(-1, *([1] * (x.ndim - 1)))


class ReinforceNormal(Reinforce):
    """ReinforceNormal(stdev, stochastic=False): input = the means mu of normal
    distributions (any shape, batch first); output = a sample x ~ N(mu, stdev^2) per
    element (in evaluation without ``stochastic``: x = mu).

    backward (REINFORCE, gradOutput ignored): gradInput = -r * d ln f(x; mu, s)/d mu =
    -r * (x - mu) / s^2, with r the reward of each example; gradient DESCENT on it moves mu
    towards the samples that were rewarded above the baseline.
    """

    def __init__(self, stdev, stochastic=False):
        super().__init__(stochastic)
        if isinstance(stdev, bool) or not isinstance(stdev, int | float) or not stdev > 0:
            raise ValueError(f"nn.ReinforceNormal: stdev must be a positive number, got "
                             f"{stdev!r}")
        self.stdev = stdev

    def _sample(self, mean):
        if not (self.stochastic or self.train):
            return mean.copy()
        noise = generator().standard_normal(mean.shape, dtype=np.dtype(mean.dtype))
        return mean + self.stdev * array_module(mean).asarray(noise)

    def _reinforceGrad(self, mean, sample):
        return -self.rewardAs(mean) * (sample - mean) / (self.stdev * self.stdev)

    def __repr__(self):
        return f"nn.ReinforceNormal({self.stdev:g})"


class Constant(Module):
    """Constant(value, nInputDim=None): outputs ``value`` (a number or a tensor), whatever
    the input; when the input has more than ``nInputDim`` dims (a batch), batch x value's
    size, one copy per example. gradInput is zero. In the attention model,
    Constant(1, 1) then Add(1) is the learned baseline b: a batch x 1 of b."""

    def __init__(self, value, nInputDim=None):
        super().__init__()
        self.value = value
        self.nInputDim = nInputDim

    def updateOutput(self, input):
        value = _array(self.value).astype(input.dtype)
        value = value.reshape(1) if value.ndim == 0 else value
        if self.nInputDim is not None and input.ndim > self.nInputDim:
            value = np.broadcast_to(value, (input.shape[0], *value.shape))
        xp = array_module(input.data)
        return Tensor._wrap(xp.asarray(np.ascontiguousarray(value)))


class VRClassReward(Criterion):
    """VRClassReward(module, scale=1, criterion=MSECriterion()): the variance-reduced
    classification reward of the attention model.

    input = {class scores (batch x C), baseline b (batch x 1)}, target = class ids. The
    reward is R_i = scale when the arg-max class is right, else 0; the loss is
    -sum_i R_i (/ batch when sizeAverage). ``backward`` gives every Reinforce module of
    ``module`` the reward (R_i - b_i) (/ batch when sizeAverage), and returns {zeros: no
    gradient for the scores, d criterion(b, R) / d b: the baseline learns to predict R}.
    Its gradient is not the derivative of its loss: a Criterion that writes its own
    backward.
    """

    def __init__(self, module, scale=1, criterion=None):
        super().__init__()
        self.module, self.scale = module, scale
        self.criterion = MSECriterion() if criterion is None else criterion
        self.reward = None

    def _split(self, input):
        if not isinstance(input, list | tuple) or len(input) != 2:
            raise ValueError(f"{self!r}: expected input {{scores, baseline}}, got "
                             f"{type(input).__name__}")
        scores, baseline = input
        self._check_input(scores)
        if scores.ndim != 2 or baseline.nElement() != scores.shape[0]:
            raise ValueError(f"{self!r}: expected batch x C scores and a baseline of one "
                             f"number per example, got {size_text(scores.shape)} and "
                             f"{size_text(baseline.shape)}")
        return scores, baseline

    def forward(self, input, target):
        scores, _ = self._split(input)
        predicted = array_module(scores.data).argmax(scores.data, axis=1)
        right = _array(predicted) == _array(target).reshape(-1)
        self.reward = right.astype(scores.dtype) * scores.dtype.type(self.scale)
        self.output = -float(self.reward.sum())
        if self.sizeAverage:
            self.output /= scores.shape[0]
        return self.output

    updateOutput = forward

    def backward(self, input, target):
        scores, baseline = self._split(input)
        if self.reward is None or len(self.reward) != scores.shape[0]:
            self.forward(input, target)
        b = baseline.data.reshape(-1)
        advantage = self.reward - (b if isinstance(b, np.ndarray) else _array(b))
        if self.sizeAverage:
            advantage = advantage / scores.shape[0]
        xp = array_module(scores.data)
        reinforce(self.module, Tensor._wrap(xp.asarray(advantage)))
        target_reward = Tensor._wrap(xp.asarray(self.reward.reshape(baseline.shape)))
        self.criterion.forward(baseline, target_reward)
        self.gradInput = [Tensor._wrap(xp.zeros_like(scores.data)),
                          self.criterion.backward(baseline, target_reward)]
        return self.gradInput

    updateGradInput = backward

    def __repr__(self):
        return f"nn.VRClassReward({self.scale:g})"
