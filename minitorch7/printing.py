"""Torch7's way of printing a tensor: the values, then ``[torch.FloatTensor of size 2x3]``.

Matrices print as rows; 1-D tensors print one value per line; higher dims print each
trailing matrix under a header like ``(1,.,.) =``. Printing numbers positions from 1
exactly as Torch7 (and the lab's slides) did; indexing itself is 0-based. The text ends
with a newline, as Torch7's does, so ``print(a, b)`` starts ``b`` on a line of its own.
"""

import numpy as np


def _formatter(values):
    """One format for every element: integers when all are whole, else fixed or scientific."""
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return lambda v: f"{v}"
    biggest = float(np.max(np.abs(finite)))
    if values.dtype.kind in "iub" or np.all(finite == np.round(finite)) and biggest < 1e9:
        width = len(str(int(biggest))) + int(bool(np.any(finite < 0)))
        return lambda v: f"{int(v):{width}d}" if np.isfinite(v) else f"{v:>{width}}"
    if 1e-4 <= biggest < 1e5:
        width = len(str(int(biggest))) + 5 + int(bool(np.any(finite < 0)))
        return lambda v: f"{v:{width}.4f}"
    return lambda v: f"{v:11.4e}"


def _matrix(m, fmt):
    return "\n".join(" ".join(fmt(v) for v in row) for row in m)


def format_tensor(array: np.ndarray, type_name: str) -> str:
    if array.ndim == 0:
        return f"{array.item()}\n[{type_name} of size scalar]\n"
    if array.size == 0:
        return f"[{type_name} with no dimension]\n"
    fmt = _formatter(array)
    if array.ndim == 1:
        body = "\n".join(fmt(v) for v in array)
    elif array.ndim == 2:
        body = _matrix(array, fmt)
    else:
        blocks = []
        for index in np.ndindex(array.shape[:-2]):
            header = "(" + ",".join(str(i + 1) for i in index) + ",.,.) ="
            blocks.append(header + "\n" + _matrix(array[index], fmt))
        body = "\n\n".join(blocks)
    return f"{body}\n[{type_name} of size {'x'.join(map(str, array.shape))}]\n"
