"""REINFORCE (dpnn): ReinforceNormal's samples and its backward against the formula of
dpnn's ReinforceNormal.lua (gradInput = -reward * (sample - mean) / stdev^2, the reward
broadcast per example, gradOutput ignored), its sign (a descent step moves the mean towards
a rewarded sample), the reward broadcast (``reinforce``), VRClassReward's loss, reward and
baseline gradient against NumPy, Constant, ParallelCriterion and ModuleCriterion."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.random import generator
from minitorch7.tensor import Tensor

FEW = settings(max_examples=8, deadline=None)


def tensor(array, dtype=np.float64):
    return Tensor._wrap(np.asarray(array, dtype))


@st.composite
def means(draw):
    """(batch, features, stdev, seed) for a batch x features mean."""
    return (draw(st.integers(1, 4)), draw(st.integers(1, 3)),
            draw(st.floats(0.05, 2.0)), draw(st.integers(0, 1000)))


@FEW
@given(means())
def test_reinforce_normal_samples_and_reinforce_rule(case):
    batch, features, stdev, seed = case
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal((batch, features))
    reward = rng.standard_normal(batch)
    module = nn.ReinforceNormal(stdev)
    torch.manualSeed(seed)
    sample = module.forward(tensor(mean)).data.copy()
    torch.manualSeed(seed)
    noise = generator().standard_normal((batch, features))
    np.testing.assert_allclose(sample, mean + stdev * noise, rtol=1e-12)
    module.reinforce(tensor(reward))
    grad_output = tensor(rng.standard_normal((batch, features)))  # ignored by REINFORCE
    grad = module.backward(tensor(mean), grad_output).data
    expected = -reward[:, None] * (sample - mean) / stdev ** 2
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-12)


def test_reinforce_normal_descent_moves_the_mean_towards_a_rewarded_sample():
    mean = nn.Sequential().add(nn.Add(3)).add(nn.ReinforceNormal(0.5))
    mean.get(0).bias.data[...] = 0
    torch.manualSeed(3)
    sample = mean.forward(tensor(np.zeros((1, 3)))).data.copy()
    nn.reinforce(mean, tensor([1.0]))  # a positive reward (above the baseline)
    mean.zeroGradParameters()
    mean.backward(tensor(np.zeros((1, 3))), tensor(np.zeros((1, 3))))
    mean.updateParameters(0.01)
    moved = mean.get(0).bias.data
    assert np.all(np.abs(sample[0] - moved) < np.abs(sample[0]))  # closer to the sample


def test_reinforce_normal_evaluation_is_the_mean_unless_stochastic():
    mean = tensor(np.arange(6.0).reshape(2, 3))
    module = nn.ReinforceNormal(1.0).evaluate()
    np.testing.assert_array_equal(module.forward(mean).data, mean.data)
    stochastic = nn.ReinforceNormal(1.0, True).evaluate()
    assert not np.allclose(stochastic.forward(mean).data, mean.data)


def test_reinforce_base_passes_input_and_gives_the_reward_broadcast():
    module = nn.Reinforce()
    x = tensor(np.ones((2, 3)))
    np.testing.assert_array_equal(module.forward(x).data, x.data)
    module.reinforce(tensor([2.0, -1.0]))
    grad = module.backward(x, tensor(np.zeros((2, 3)))).data
    np.testing.assert_array_equal(grad, [[2.0] * 3, [-1.0] * 3])


def test_reinforce_needs_a_reward_of_one_number_per_example():
    module = nn.ReinforceNormal(0.1)
    x = tensor(np.zeros((2, 2)))
    module.forward(x)
    with pytest.raises(RuntimeError, match="ReinforceNormal.*needs a reward"):
        module.backward(x, tensor(np.zeros((2, 2))))
    module.forward(x)
    module.reinforce(tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="one number per example"):
        module.backward(x, tensor(np.zeros((2, 2))))
    with pytest.raises(ValueError, match="stdev must be a positive number"):
        nn.ReinforceNormal(0)


def test_reinforce_reaches_every_reinforce_module_inside():
    inner = nn.ReinforceNormal(0.1)
    net = nn.Sequential().add(nn.Linear(2, 2)).add(
        nn.ConcatTable().add(nn.Sequential().add(inner)).add(nn.Identity()))
    reward = tensor([1.0])
    nn.reinforce(net, reward)
    assert inner.reward is reward


@FEW
@given(st.integers(1, 5), st.integers(2, 4), st.sampled_from([1.0, 2.5]),
       st.booleans(), st.integers(0, 100))
def test_vr_class_reward_against_numpy(batch, classes, scale, size_average, seed):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((batch, classes))
    baseline = rng.standard_normal((batch, 1))
    target = rng.integers(0, classes, batch)
    agent = nn.ReinforceNormal(0.1)
    criterion = nn.VRClassReward(agent, scale)
    criterion.sizeAverage = size_average
    reward = scale * (scores.argmax(1) == target)
    loss = criterion.forward([tensor(scores), tensor(baseline)], tensor(target, np.int64))
    divide = batch if size_average else 1
    assert loss == pytest.approx(-reward.sum() / divide)
    grads = criterion.backward([tensor(scores), tensor(baseline)], tensor(target, np.int64))
    np.testing.assert_array_equal(grads[0].data, np.zeros_like(scores))
    # the baseline learns R by MSE (its own sizeAverage: / batch)
    np.testing.assert_allclose(grads[1].data, 2 * (baseline - reward[:, None]) / batch)
    np.testing.assert_allclose(agent.reward.data, (reward - baseline[:, 0]) / divide)


def test_constant_replicates_over_a_batch_and_gives_no_gradient():
    constant = nn.Constant(1, 1)
    x = tensor(np.ones((4, 10)))
    out = constant.forward(x)
    np.testing.assert_array_equal(out.data, np.ones((4, 1)))
    np.testing.assert_array_equal(constant.backward(x, tensor(np.ones((4, 1)))).data,
                                  np.zeros((4, 10)))
    np.testing.assert_array_equal(nn.Constant(tensor([2.0, 3.0])).forward(x).data, [2, 3])
    baseline = nn.Sequential().add(nn.Constant(1, 1)).add(nn.Add(1))
    b = float(baseline.get(1).bias.data[0])
    baseline.double()
    np.testing.assert_allclose(baseline.forward(x).data, np.full((4, 1), 1 + b), rtol=1e-6)
    baseline.zeroGradParameters()
    baseline.backward(x, tensor(np.arange(4.0).reshape(4, 1)))
    assert baseline.get(1).gradBias.data[0] == pytest.approx(6.0)


def test_parallel_criterion_adds_weighted_losses_and_gradients():
    rng = np.random.default_rng(0)
    logp = tensor(np.log(rng.dirichlet(np.ones(3), 4)))
    value = tensor(rng.standard_normal((4, 2)))
    target = [tensor([0, 2, 1, 1], np.int64), tensor(rng.standard_normal((4, 2)))]
    criterion = nn.ParallelCriterion().add(nn.ClassNLLCriterion(), 0.5).add(nn.MSECriterion())
    nll = -logp.data[np.arange(4), target[0].data].mean()
    mse = ((value.data - target[1].data) ** 2).mean()
    assert criterion.forward([logp, value], target) == pytest.approx(0.5 * nll + mse)
    grads = criterion.backward([logp, value], target)
    expected = np.zeros((4, 3))
    expected[np.arange(4), target[0].data] = -0.5 / 4
    np.testing.assert_allclose(grads[0].data, expected)
    np.testing.assert_allclose(grads[1].data, 2 * (value.data - target[1].data) / 8)
    repeated = nn.ParallelCriterion(True).add(nn.ClassNLLCriterion()).add(nn.ClassNLLCriterion())
    assert repeated.forward([logp, logp], target[0]) == pytest.approx(2 * nll)


def test_module_criterion_is_its_criterion_behind_the_modules():
    rng = np.random.default_rng(1)
    scores = tensor(rng.standard_normal((3, 4)))
    target = tensor([1.0, 0.0, 3.0])  # floats: Convert keeps them whole-valued floats
    wrapped = nn.ModuleCriterion(nn.ClassNLLCriterion(), nn.LogSoftMax(), nn.Convert())
    plain = nn.CrossEntropyCriterion()
    assert wrapped.forward(scores, target) == pytest.approx(plain.forward(scores, target))
    np.testing.assert_allclose(wrapped.backward(scores, target).data,
                               plain.backward(scores, target).data, rtol=1e-6)
