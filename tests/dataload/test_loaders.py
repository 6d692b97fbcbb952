"""TensorLoader, SequenceLoader and loadMNIST / loadPTB (on the shipped fixtures)."""

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitorch7.dataload import SequenceLoader, TensorLoader, loadMNIST, loadPTB, mnist, ptb
from minitorch7.dataload.sources import DataFile, Dataset
from minitorch7.random import manualSeed
from minitorch7.tensor import Tensor


def arrays(*tensors):
    assert all(isinstance(t, Tensor) for t in tensors)
    return [t.numpy() for t in tensors]


def counting_loader(n):
    """A loader whose input i is i and whose target i is 10 * i."""
    return TensorLoader(np.arange(n)[:, None], np.arange(n) * 10)


def test_tensor_loader_size_index_sub():
    loader = counting_loader(12)
    assert loader.size() == 12
    x, y = arrays(*loader.index([3, 0, 3]))
    np.testing.assert_array_equal(x[:, 0], [3, 0, 3])
    np.testing.assert_array_equal(y, [30, 0, 30])
    x, _ = arrays(*loader.sub(2, 5))
    x[0, 0] = -1  # sub gives views on the dataset
    assert loader.inputs.numpy()[2, 0] == -1
    with pytest.raises(IndexError, match=r"TensorLoader.index: indices must be in \[0, 12\)"):
        loader.index([12])
    with pytest.raises(ValueError, match="TensorLoader: 3 inputs but 2 targets"):
        TensorLoader(np.zeros((3, 1)), np.zeros(2))


def test_sample_is_uniform_with_replacement_and_seeded():
    loader = counting_loader(5)
    manualSeed(1)
    first = arrays(*loader.sample(1000))
    manualSeed(1)
    again = arrays(*loader.sample(1000))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], first[0][:, 0] * 10)  # pairs stay together
    counts = np.bincount(first[0][:, 0], minlength=5)
    assert counts.min() > 150  # each of 5 values about 200 times


def test_sampleiter_counts_and_last_batch():
    sizes = [(n, len(arrays(x)[0])) for n, x, _ in counting_loader(12).sampleiter(4, 10)]
    assert sizes == [(4, 4), (8, 4), (10, 2)]
    assert [n for n, _, _ in counting_loader(12).sampleiter(5)] == [5, 10, 12]


def test_subiter_remembers_and_wraps():
    loader = counting_loader(12)
    first = [(n, arrays(x)[0][:, 0].tolist()) for n, x, _ in loader.subiter(5, 7)]
    assert first == [(5, [0, 1, 2, 3, 4]), (7, [5, 6])]
    second = [(n, arrays(x)[0][:, 0].tolist()) for n, x, _ in loader.subiter(5, 7)]
    assert second == [(5, [7, 8, 9, 10, 11]), (7, [0, 1])]  # the end is not straddled
    loader.reset()
    assert next(loader.subiter(3))[1].numpy()[:, 0].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="subiter: batchsize must be a positive integer"):
        next(loader.subiter(0))


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 20), calls=st.lists(st.tuples(st.integers(1, 7), st.integers(-1, 30)),
                                               min_size=1, max_size=4))
def test_subiter_visits_samples_in_order_modulo_size(size, calls):
    loader = counting_loader(size)
    seen = []
    for batchsize, epochsize in calls:
        total = epochsize if epochsize > 0 else size
        count = 0
        for n, x, y in loader.subiter(batchsize, epochsize):
            x, y = arrays(x, y)
            assert 1 <= len(x) <= batchsize and n == count + len(x)
            np.testing.assert_array_equal(y, x[:, 0] * 10)
            count = n
            seen += x[:, 0].tolist()
        assert count == total
    np.testing.assert_array_equal(seen, np.arange(len(seen)) % size)


def test_sequence_loader_layout_and_subiter():
    loader = SequenceLoader(np.arange(23), 3)  # 23 // 3 = 7 steps, token 21, 22 dropped
    data = loader.data.numpy()
    assert data.shape == (7, 3) and data.dtype == np.int64 and loader.size() == 6
    np.testing.assert_array_equal(data[:, 1], np.arange(7, 14))  # contiguous columns
    batches = [(n, *arrays(x, y)) for n, x, y in loader.subiter(4)]
    assert [n for n, _, _ in batches] == [4, 6]
    np.testing.assert_array_equal(batches[0][1], data[0:4])
    np.testing.assert_array_equal(batches[0][2], data[1:5])
    np.testing.assert_array_equal(batches[1][2], data[5:7])
    n, x, y = next(loader.subiter(4, 2))  # wrapped around to step 0
    np.testing.assert_array_equal(arrays(x)[0], data[0:2])
    with pytest.raises(NotImplementedError, match="SequenceLoader cannot sample"):
        next(loader.sampleiter(2))
    with pytest.raises(ValueError, match="at least 2 x batchsize = 24 tokens"):
        SequenceLoader(np.arange(23), 12)


def local_dataset(name, directory, files):
    """A Dataset whose checksums are those of the fixture files."""
    specs = []
    for f in files:
        data = (directory / f.name).read_bytes()
        specs.append(DataFile(f.name, len(data), hashlib.sha256(data).hexdigest()))
    return Dataset(name, tuple(specs))


def test_load_mnist_on_fixtures(fixtures, cache_home, monkeypatch):
    monkeypatch.setattr(mnist, "MNIST", local_dataset("mnist", fixtures, mnist.FILES))
    train, valid, test = loadMNIST(fixtures)
    assert (train.size(), valid.size(), test.size()) == (10, 2, 6)
    x, y = arrays(train.inputs, train.targets)
    assert x.shape == (10, 1, 28, 28) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 1 and y.dtype == np.int64
    assert y[:5].tolist() == [5, 0, 4, 1, 9] and test.targets.numpy()[:3].tolist() == [7, 2, 1]
    inputs, targets = train.sample(32)
    assert inputs.size() == (32, 1, 28, 28) and targets.size() == (32,)


def test_load_ptb_on_fixtures(fixtures, cache_home, monkeypatch):
    monkeypatch.setattr(ptb, "PTB", local_dataset("ptb", fixtures, ptb.FILES))
    train, valid, test = loadPTB((2, 1, 1), fixtures)
    assert train.data.numpy().shape == (197 // 2, 2) and valid.data.numpy().shape == (16, 1)
    assert train.vocab is valid.vocab and len(train.ivocab) == 128
    words = [train.ivocab[i] for i in train.data.numpy()[:3, 0]]
    assert words == ["aer", "banknote", "berlitz"]
    n, inputs, targets = next(test.subiter(5))
    assert n == 5 and inputs.size() == (5, 1)
    assert [test.ivocab[i] for i in targets.numpy()[:, 0]] == ["researchers", "reported", "N",
                                                                "new", "deaths"]
    with pytest.raises(ValueError, match="loadPTB: batchsize must be an int or a triple"):
        loadPTB((2, 1))
