"""nn.SoftMaxTree, nn.TreeNLLCriterion and nn.frequency_tree: gradcheck over batches,
inputs and targets (leaves and inner nodes) on nnx's README tree and on frequency trees;
values against a NumPy walk up the tree computing every family's full log-softmax; the
probabilities of all words summing to 1; backward touching only the visited families;
dp's binning rule; the criterion's scaling; errors; save and load."""

import math

import numpy as np
import pytest
from helpers import check_module_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.tensor import Tensor
from minitorch7.testing import arrays

FAST = settings(max_examples=20, deadline=None)

# nnx's README example (ids 1..30, root 29), made 0-based
README_TREE = {p - 1: np.array(c) - 1 for p, c in {
    29: [30, 1, 2], 1: [3, 4, 5], 2: [6, 7, 8], 3: [9, 10, 11], 4: [12, 13, 14],
    5: [15, 16, 17], 6: [18, 19, 20], 7: [21, 22, 23], 8: [24, 25, 26, 27, 28]}.items()}
README_ROOT = 28
README_NODES = [n for c in README_TREE.values() for n in c]  # every node under the root


def log_softmax(z):
    z = z - z.max()
    return z - np.log(np.exp(z).sum())


def reference(module, hierarchy, root, x, targets):
    """log p(target | x) the slow way: walk up from each target, each family's full
    log-softmax from its own rows of weight and bias (in the hierarchy's order)."""
    w, b = module.weight.numpy(), module.bias.numpy()
    rows, start = {}, 0
    for parent, children in hierarchy.items():
        rows[parent] = slice(start, start + len(children))
        start += len(children)
    parent_of = {int(c): p for p, cs in hierarchy.items() for c in cs}
    out = np.zeros(len(targets))
    for n, node in enumerate(targets):
        while node != root:
            parent = parent_of[node]
            logp = log_softmax(w[rows[parent]] @ x[n] + b[rows[parent]])
            out[n] += logp[list(hierarchy[parent]).index(node)]
            node = parent
    return out


@FAST
@given(data=st.data(), batch=st.integers(1, 4), size=st.integers(1, 3))
def test_gradients_on_the_readme_tree(data, batch, size):
    targets = data.draw(st.lists(st.sampled_from(README_NODES), min_size=batch, max_size=batch))
    x = Tensor(data.draw(arrays((batch, size))), dtype=np.float64)
    module = nn.SoftMaxTree(size, README_TREE, README_ROOT)
    check_module_grads(module, [x, torch.LongTensor(targets)])


@FAST
@given(data=st.data(), vocab=st.integers(2, 12), size=st.integers(1, 3),
       shape=st.sampled_from([(3,), (2, 2)]))
def test_gradients_on_frequency_trees_with_leading_sizes(data, vocab, size, shape):
    counts = data.draw(st.lists(st.integers(1, 9), min_size=vocab, max_size=vocab))
    hierarchy, root = nn.frequency_tree(counts)
    targets = data.draw(arrays(shape, dtype=np.int64, low=0, high=vocab - 1))
    x = Tensor(data.draw(arrays((*shape, size))), dtype=np.float64)
    module = nn.SoftMaxTree(size, hierarchy, root)
    targets = Tensor(targets, dtype=np.int64)
    assert module.double().forward([x, targets]).shape == shape
    check_module_grads(module, [x, targets])


def test_values_against_the_walk_up_the_tree():
    module = nn.SoftMaxTree(5, README_TREE, README_ROOT).double()
    module.reset(1.0)  # large weights: families far from uniform
    x = np.random.default_rng(1).standard_normal((len(README_NODES), 5))
    out = module.forward([Tensor(x, dtype=np.float64), torch.LongTensor(README_NODES)])
    np.testing.assert_allclose(out.numpy(), reference(module, README_TREE, README_ROOT, x,
                                                      README_NODES), rtol=1e-12)


def test_two_level_word_probabilities_sum_to_one_and_agree_with_forward():
    counts = np.random.default_rng(2).integers(1, 1000, size=50)
    hierarchy, root = nn.frequency_tree(counts)
    module = nn.SoftMaxTree(6, hierarchy, root).double()
    module.reset(0.5)
    x = np.random.default_rng(3).standard_normal((4, 6))
    leaves = module.leafLogProbabilities(Tensor(x, dtype=np.float64)).numpy()
    assert leaves.shape == (4, 50) and list(module.leafIds) == list(range(50))
    np.testing.assert_allclose(np.exp(leaves).sum(axis=1), 1, rtol=1e-12)
    for word in (0, 17, 49):
        out = module.forward([Tensor(x, dtype=np.float64), torch.LongTensor([word] * 4)])
        np.testing.assert_allclose(out.numpy(), leaves[:, word], rtol=1e-12)


def test_backward_touches_only_the_visited_families():
    hierarchy, root = nn.frequency_tree(np.arange(1, 100), binSize=11)  # 9 bins of 11
    assert root == 108 and list(hierarchy[99]) == list(range(11))
    module = nn.SoftMaxTree(3, hierarchy, root)
    targets = torch.LongTensor([0, 5, 98])  # the rarest bin twice, the most frequent once
    x = torch.randn(3, 3)
    out = module.forward([x, targets])
    module.backward([x, targets], torch.ones(3))
    touched = np.flatnonzero(np.abs(module.gradWeight.numpy()).sum(axis=1))
    assert list(touched) == [*range(0, 11), *range(88, 99), *range(99, 108)]
    assert np.array_equal(touched, np.flatnonzero(module.gradBias.numpy()))
    assert np.all(out.numpy() < 0)


def test_frequency_tree_follows_dps_binning():
    counts = [5, 1, 3, 3, 9, 2, 7, 1, 1, 4, 8, 6]
    hierarchy, root = nn.frequency_tree(counts)  # V = 12: bins of 4 (3 bins < 4)
    assert root == 15 and list(hierarchy) == [12, 13, 14, 15]
    assert [list(hierarchy[i]) for i in (12, 13, 14)] == [[1, 7, 8, 5], [2, 3, 9, 0],
                                                          [11, 6, 10, 4]]
    assert list(hierarchy[15]) == [12, 13, 14]
    deep, root = nn.frequency_tree(counts, binSize=3)  # 4 bins >= 3: binned again
    assert root == 18 and list(deep[16]) == [12, 13, 14] and list(deep[17]) == [15]
    assert list(deep[18]) == [16, 17]
    for vocab in (2, 10, 99, 100, 101, 10000):
        hierarchy, root = nn.frequency_tree(np.ones(vocab))
        assert len(hierarchy) == len(hierarchy[root]) + 1  # two levels
        assert max(len(c) for c in hierarchy.values()) <= math.isqrt(vocab) + 2


def test_tree_nll_criterion_is_the_negative_mean():
    criterion = nn.TreeNLLCriterion()
    logp = Tensor(np.array([-1.0, -2.0, -4.5]))
    assert criterion.forward(logp, None) == pytest.approx(7.5 / 3)
    np.testing.assert_allclose(criterion.backward(logp, None).numpy(), [-1 / 3] * 3)
    seq = nn.SequencerCriterion(nn.TreeNLLCriterion())  # the LM's: summed over time steps
    assert seq.forward(Tensor(np.array([[-1.0, -3.0], [-2.0, -2.0]])), [0, 1]) == 4.0


def test_initialisation_and_printing():
    module = nn.SoftMaxTree(10, README_TREE, README_ROOT)
    assert module.weight.shape == (29, 10) and module.bias.shape == (29,)
    bound = 1 / math.sqrt(29 * 10)
    assert np.abs(module.weight.numpy()).max() <= bound
    assert np.abs(module.bias.numpy()).max() > 0.5 * bound
    assert np.abs(module.reset(0.1).weight.numpy()).max() <= 0.1 * math.sqrt(3)
    assert repr(module) == "nn.SoftMaxTree(10 -> 21 leaves, 9 families)"


def test_save_and_load_keep_the_tree(tmp_path):
    hierarchy, root = nn.frequency_tree([3, 1, 4, 1, 5, 9, 2, 6])
    module = nn.SoftMaxTree(4, hierarchy, root)
    torch.save(tmp_path / "tree.t7", module)
    loaded = torch.load(tmp_path / "tree.t7")
    x, t = torch.randn(3, 4), torch.LongTensor([0, 5, 7])
    np.testing.assert_array_equal(loaded.forward([x, t]).numpy(), module.forward([x, t]).numpy())


def test_errors():
    with pytest.raises(ValueError, match="node 1 has more than one parent"):
        nn.SoftMaxTree(2, {3: np.array([0, 1]), 4: np.array([3, 1])}, 4)
    with pytest.raises(ValueError, match="node 2 is not reached from the root 4"):
        nn.SoftMaxTree(2, {2: np.array([0]), 4: np.array([3, 1])}, 4)
    with pytest.raises(ValueError, match="the root 5 has no children"):
        nn.SoftMaxTree(2, {4: np.array([0, 1])}, 5)
    with pytest.raises(ValueError, match="cycle"):
        nn.SoftMaxTree(2, {4: np.array([0, 5]), 5: np.array([4]), 6: np.array([1])}, 6)
    with pytest.raises(ValueError, match="accUpdate"):
        nn.SoftMaxTree(2, README_TREE, README_ROOT, True)
    module = nn.SoftMaxTree(2, README_TREE, README_ROOT)
    with pytest.raises(IndexError, match=r"target 28 is not a node under the root 28"):
        module.forward([torch.randn(1, 2), torch.LongTensor([28])])
    with pytest.raises(IndexError, match=r"target 30 is not"):
        module.forward([torch.randn(1, 2), torch.LongTensor([30])])
    with pytest.raises(ValueError, match=r"expected input of size batch x 2 and target of "
                                         r"size batch, got input 3x2 and target 2"):
        module.forward([torch.randn(3, 2), torch.LongTensor([1, 2])])
    with pytest.raises(TypeError, match="integer target ids"):
        module.forward([torch.randn(1, 2), torch.randn(1)])
    with pytest.raises(ValueError, match=r"the table \[input, target\]"):
        module.forward(torch.randn(1, 2))
