"""IDX parsing: shapes, types, gzip, and clear errors on truncated or corrupted files."""

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitorch7.dataload.idx import DTYPES, parse_idx, read_idx
from minitorch7.dataload.sources import DataFormatError


def to_idx(array: np.ndarray, code: int) -> bytes:
    """Serialise ``array`` as IDX with type ``code`` (the inverse of parse_idx)."""
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(DTYPES[code]).tobytes()


@settings(max_examples=40, deadline=None)
@given(code=st.sampled_from(sorted(DTYPES)),
       shape=st.lists(st.integers(0, 4), min_size=1, max_size=3), seed=st.integers(0, 99))
def test_parse_roundtrip(code, shape, seed):
    array = np.random.default_rng(seed).integers(-100, 100, size=shape).astype(DTYPES[code])
    parsed = parse_idx(to_idx(array, code))
    assert parsed.shape == tuple(shape)
    assert parsed.dtype == np.dtype(DTYPES[code]).newbyteorder("=")
    np.testing.assert_array_equal(parsed, array)


def test_fixture_images_and_labels(fixtures):
    images = read_idx(fixtures / "train-images-idx3-ubyte.gz")
    labels = read_idx(fixtures / "train-labels-idx1-ubyte.gz")
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    assert labels.tolist()[:5] == [5, 0, 4, 1, 9]
    assert images.max() == 255 and images.min() == 0


def test_plain_file_equals_gzipped(fixtures, tmp_path):
    plain = tmp_path / "t10k-labels-idx1-ubyte"
    plain.write_bytes(gzip.decompress((fixtures / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    np.testing.assert_array_equal(read_idx(plain),
                                  read_idx(fixtures / "t10k-labels-idx1-ubyte.gz"))


@pytest.mark.parametrize("cut", [2, 10, 100, -1])
def test_truncated_raw_file_names_the_file(fixtures, tmp_path, cut):
    raw = gzip.decompress((fixtures / "t10k-images-idx3-ubyte.gz").read_bytes())
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(raw[:cut])
    with pytest.raises(DataFormatError, match="t10k-images-idx3-ubyte"):
        read_idx(path)


def test_truncated_gzip_names_the_file(fixtures, tmp_path):
    data = (fixtures / "train-images-idx3-ubyte.gz").read_bytes()
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="train-images-idx3-ubyte.gz.*cannot read"):
        read_idx(path)


def test_corrupted_gzip_names_the_file(fixtures, tmp_path):
    data = bytearray((fixtures / "train-images-idx3-ubyte.gz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="train-images-idx3-ubyte.gz"):
        read_idx(path)


def test_not_idx_and_too_long(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"hello world")
    with pytest.raises(DataFormatError, match="notes.txt: not an IDX file"):
        read_idx(path)
    with pytest.raises(DataFormatError, match=r"needs 9 bytes, file has 10"):
        parse_idx(to_idx(np.arange(1, dtype=np.uint8), 0x08) + b"\0")
