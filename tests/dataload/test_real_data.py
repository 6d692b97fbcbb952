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
    train, valid, test = loadPTB((20, 1, 1))
    seconds = time.perf_counter() - start
    assert len(train.ivocab) == 10000 == len(train.vocab) and "<eos>" in train.vocab
    assert [valid.data.numpy().size, test.data.numpy().size] == [73760, 82430]
    assert sum(train.wordfreq.values()) == 929589
    assert train.data.numpy().shape == (929589 // 20, 20)
    # The lab's slide: the first words of the training text have (1-based) ids 238 808 ...
    assert train.data.numpy()[:5, 0].tolist() == [237, 807, 950, 1325, 1476]
    print(f"loadPTB from the cache: {seconds:.2f} s")
    assert seconds < 3
