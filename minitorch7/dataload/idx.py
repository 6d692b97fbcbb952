"""The IDX file format of MNIST (LeCun's), plain or gzipped.

Layout (big-endian): two zero bytes, a type code, the number of dimensions ``k``, then
``k`` 4-byte sizes, then ``prod(sizes)`` values in C order. MNIST images are
``ubyte`` with sizes N x 28 x 28; labels are ``ubyte`` with size N.

Reading is bounded: the header is checked against the file's size (plain) or against
``max_bytes`` (gzipped, ``MAX_INFLATED_BYTES`` = 1 GiB by default) before the values are
read, and a gzipped file is inflated in chunks that stop at the size its header declares.
Every failure is a ``DataFormatError`` naming the file.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib

import numpy as np

from ..bounded_io import CHUNK as _CHUNK
from ..bounded_io import read_exact as _read_exact
from .sources import DataFormatError

DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_INFLATED_BYTES = 1 << 30   # what a gzipped IDX file may inflate to, by default


def read_idx(path: str | os.PathLike, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` is decompressed) into an array of its shape and type.

    ``max_bytes``: the most bytes of values a gzipped file may inflate to (default
    ``MAX_INFLATED_BYTES``); a plain file's values must fill the file exactly.
    Raises DataFormatError naming the file if it is truncated, too long, over the limit,
    or not IDX.
    """
    path = os.fspath(path)
    limit = MAX_INFLATED_BYTES if max_bytes is None else max_bytes
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return _read(f, path, None, limit)
        with open(path, "rb") as f:
            return _read(f, path, os.fstat(f.fileno()).st_size, limit)
    except (OSError, EOFError, zlib.error) as err:
        raise DataFormatError(f"{path}: cannot read ({err})") from err


def parse_idx(raw: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse IDX bytes; ``name`` is used in error messages."""
    return _read(io.BytesIO(raw), name, len(raw), len(raw))


def _read(f, name: str, size: int | None, limit: int) -> np.ndarray:
    """The IDX array in the stream ``f``: ``size`` is its length in bytes when known (a
    plain file), else None (gzip: its values may inflate to at most ``limit`` bytes)."""
    head = _read_exact(f, 4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in DTYPES:
        raise DataFormatError(f"{name}: not an IDX file (bad magic number {head.hex()})")
    dtype, ndim = np.dtype(DTYPES[head[2]]), head[3]
    header = 4 + 4 * ndim
    sizes = _read_exact(f, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataFormatError(f"{name}: truncated IDX header ({4 + len(sizes)} bytes, "
                              f"{ndim} dimensions need {header})")
    shape = tuple(int.from_bytes(sizes[4 * i:4 * i + 4], "big") for i in range(ndim))
    nbytes = math.prod(shape) * dtype.itemsize   # Python ints: no overflow
    expected = header + nbytes
    if size is not None and size != expected:
        raise DataFormatError(f"{name}: IDX of shape {shape} needs {expected} bytes, file has "
                              f"{size}" + (" (truncated)" if size < expected else ""))
    if size is None and nbytes > limit:
        raise DataFormatError(f"{name}: IDX of shape {shape} would inflate to {nbytes} bytes, "
                              f"over the limit of {limit} (read_idx(path, max_bytes=...) "
                              f"raises it)")
    values = bytearray()  # grows with what the stream really holds, never past nbytes
    while len(values) < nbytes:
        data = f.read(min(_CHUNK, nbytes - len(values)))
        if not data:
            raise DataFormatError(f"{name}: IDX of shape {shape} needs {expected} bytes, file "
                                  f"has {header + len(values)} (truncated)")
        values += data
    if f.read(1):
        raise DataFormatError(f"{name}: IDX of shape {shape} needs {expected} bytes, file "
                              f"has more (trailing data)")
    array = np.frombuffer(values, dtype).reshape(shape)  # writable: it views a bytearray
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array
