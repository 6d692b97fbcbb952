"""IDX parsing: shapes, types, gzip, and clear errors on truncated or corrupted files."""

import gzip
import os
import re
import sys
import tracemalloc
import zlib

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


# ---- bounded reading ------------------------------------------------------------------------
def idx_header(code: int, shape) -> bytes:
    return bytes([0, 0, code, len(shape)]) + np.asarray(shape, ">u4").tobytes()


def test_a_header_whose_sizes_overflow_int64_is_refused():
    """65536^4 x 4 bytes wraps to 0 in int64 arithmetic: the sizes multiply as Python ints."""
    with pytest.raises(DataFormatError, match=r"huge: IDX of shape \(65536, 65536, 65536, "
                                              r"65536\) needs 73786976294838206484 bytes, "
                                              r"file has 20 \(truncated\)"):
        parse_idx(idx_header(0x0D, [65536] * 4), "huge")


def test_a_plain_file_is_checked_against_its_size_before_its_values_are_read(tmp_path):
    path = tmp_path / "big-idx3-ubyte"
    path.write_bytes(idx_header(0x08, [4_000_000_000, 28, 28]) + bytes(100))
    with pytest.raises(DataFormatError, match="big-idx3-ubyte: IDX of shape .* needs "
                                              "3136000000016 bytes, file has 116 .truncated."):
        read_idx(path)


def gzip_of_zeros(header: bytes, mib: int) -> bytes:
    """A gzip file of ``header`` then ``mib`` MiB of zeros (two gzip members)."""
    return gzip.compress(header) + _zeros_member(mib)


def _zeros_member(mib: int) -> bytes:
    """A gzip member of ``mib`` MiB of zeros, about 1 KB per MiB: one deflated MiB ending
    with a full flush (so it stands alone) repeated, then a final block. Its trailer (CRC,
    size) is left zero: the reads below stop long before it."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = deflate.compress(bytes(1 << 20)) + deflate.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + one * mib + final + bytes(8)


@pytest.fixture
def bounded_memory():
    """Cap the address space at what is mapped now plus 512 MiB during the test and trace
    the peak of Python and NumPy allocations (skipped off Linux)."""
    resource = pytest.importorskip("resource")
    if not sys.platform.startswith("linux"):
        pytest.skip("needs /proc/self/status")
    limit = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        mapped = int(re.search(r"VmSize:\s+(\d+) kB", f.read()).group(1)) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mapped + (512 << 20), limit[1]))
    tracemalloc.start()
    result = {}
    yield result
    result["peak"] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    resource.setrlimit(resource.RLIMIT_AS, limit)
    assert result["peak"] < 8 << 20, f"peak {result['peak']} bytes"


def test_a_gzip_whose_header_declares_too_much_is_refused_before_inflating(tmp_path,
                                                                            bounded_memory):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip_of_zeros(idx_header(0x08, [1_000_000, 28, 28]), 8))
    with pytest.raises(DataFormatError, match=r"bomb-idx3-ubyte.gz: IDX of shape \(1000000, "
                                              r"28, 28\) would inflate to 784000000 bytes, "
                                              r"over the limit of 104857600"):
        read_idx(path, max_bytes=100 << 20)


def test_a_gzip_bomb_stops_at_the_size_its_header_declares(tmp_path, bounded_memory):
    """A 600 KB file declaring 10 labels but inflating to 600 MiB: read stops at 11 bytes."""
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_header(0x08, [10])) + _zeros_member(600))
    assert os.path.getsize(path) < 700_000
    with pytest.raises(DataFormatError, match=r"labels-idx1-ubyte.gz: IDX of shape \(10,\) "
                                              r"needs 18 bytes, file has more \(trailing data\)"):
        read_idx(path)


def test_gzipped_values_are_bounded_by_max_bytes(tmp_path):
    path = tmp_path / "t-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(to_idx(np.arange(100, dtype=np.uint8), 0x08)))
    assert read_idx(path, max_bytes=100).tolist() == list(range(100))
    with pytest.raises(DataFormatError, match="would inflate to 100 bytes, over the limit of 99"):
        read_idx(path, max_bytes=99)


def test_read_values_are_writable_and_native(tmp_path):
    path = tmp_path / "f-idx2-float"
    path.write_bytes(to_idx(np.arange(6, dtype=np.float32).reshape(2, 3), 0x0D))
    values = read_idx(path)
    assert values.dtype == np.float32 and values.dtype.isnative and values.flags.writeable
    values[0, 0] = 7
