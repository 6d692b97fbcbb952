"""The IDX file format of MNIST (LeCun's), plain or gzipped.

Layout (big-endian): two zero bytes, a type code, the number of dimensions ``k``, then
``k`` 4-byte sizes, then ``prod(sizes)`` values in C order. MNIST images are
``ubyte`` with sizes N x 28 x 28; labels are ``ubyte`` with size N.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

from .sources import DataFormatError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` is decompressed) into an array of its shape and type.

    Raises DataFormatError naming the file if it is truncated or not IDX.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if path.endswith(".gz"):
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DataFormatError(f"{path}: cannot read ({err})") from err
    return parse_idx(raw, path)


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes; ``name`` is used in error messages."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in DTYPES:
        raise DataFormatError(f"{name}: not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, ndim = np.dtype(DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFormatError(f"{name}: truncated IDX header ({len(raw)} bytes)")
    shape = tuple(int(n) for n in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataFormatError(
            f"{name}: IDX of shape {shape} needs {expected} bytes, file has {len(raw)}"
            + (" (truncated)" if len(raw) < expected else ""))
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=False)
