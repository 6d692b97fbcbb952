"""The real MNIST and Penn Treebank (opt-in: -m data; fetches them into the cache if needed)."""

import time

import numpy as np
import pytest

from minitorch7.dataload import loadMNIST, loadPTB, mnist, ptb
from minitorch7.dataload.sources import fetch

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def fetched():
    """Fetch both datasets first, so the timed loads below read the cache."""
    fetch(mnist.MNIST)
    fetch(ptb.PTB)


def test_mnist(fetched):
    start = time.perf_counter()
    train, valid, test = loadMNIST()
    seconds = time.perf_counter() - start
    assert (train.size(), valid.size(), test.size()) == (50000, 10000, 10000)
    assert train.targets.numpy()[:5].tolist() == [5, 0, 4, 1, 9]
    assert valid.targets.numpy()[:1].tolist() == [3]  # official training image 50000
    assert test.targets.numpy()[:5].tolist() == [7, 2, 1, 0, 4]
    x = train.inputs.numpy()
    assert x.shape == (50000, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 1
    assert np.bincount(test.targets.numpy()).tolist() == [980, 1135, 1032, 1010, 982, 892,
                                                          958, 1028, 974, 1009]
    print(f"loadMNIST from the cache: {seconds:.2f} s")
    assert seconds < 2


def test_ptb(fetched):
    start = time.perf_counter()
    train, valid, test = loadPTB((3, 1, 1))
    seconds = time.perf_counter() - start
    assert len(train.ivocab) == 10000 == len(train.vocab) and "<eos>" in train.vocab
    assert [valid.data.numpy().size, test.data.numpy().size] == [73760, 82430]
    assert sum(train.wordfreq.values()) == 929589
    assert train.data.numpy().shape == (929589 // 3, 3)
    # The lab's slide "Batch of 3 sample sequences of length 5" (1-based ids there).
    n, inputs, targets = next(train.subiter(5))
    assert n == 5
    np.testing.assert_array_equal(inputs.numpy().T + 1, [[238, 808, 951, 1326, 1477],
                                                         [8311, 7671, 4749, 49, 2308],
                                                         [3660, 9800, 4765, 5375, 6018]])
    np.testing.assert_array_equal(targets.numpy().T + 1, [[808, 951, 1326, 1477, 1692],
                                                          [7671, 4749, 49, 2308, 9120],
                                                          [9800, 4765, 5375, 6018, 7523]])
    print(f"loadPTB from the cache: {seconds:.2f} s")
    assert seconds < 3
