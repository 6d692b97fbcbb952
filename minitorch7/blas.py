"""Torch7's tensor math as function forms (``torch.addmm(M, A, B)``) and as methods.

The function forms return a new tensor and are differentiable (built from ``matmul`` and
the elementwise ops), or, given Torch7's optional result tensor first
(``torch.addmm(res, M, A, B)``), write into it and return it (no graph, as every in-place
method). Argument forms follow Torch7: ``addmm([res,] [v1,] M, [v2,] mat1, mat2)`` is
``v1 * M + v2 * mat1 @ mat2`` (numbers default to 1); ``addmv`` and ``addr`` likewise.

``install(Tensor)`` adds the methods below to ``Tensor`` (``sort``, ``topk``, ``norm``,
``unfold``, ``cumsum``, ``repeatTensor``, ``maskedFill``, ``indexCopy``, ``sub``,
``storage``, ``storageOffset``, ``typeAs``, ``mm``, ``mv``, ``dot``); minitorch7's
``__init__`` calls it once. Indices and dims are 0-based.
"""

import numbers

import numpy as np

from .autograd import Variable
from .ops import tensormath
from .tensor import Tensor, _data, _fmt_size, matmul

# Torch7's argument forms after the optional result tensor: t a tensor, n a number
_FORMS = {"ttt": "Mxy", "nttt": "aMxy", "tntt": "Mbxy", "ntntt": "aMbxy",
          "tt": "xy", "ntt": "bxy", "nntt": "abxy"}


def split_blas_args(name, args):
    """Torch7's ([res,] [v1,] M, [v2,] x, y) -> (res, v1, M, v2, x, y), numbers 1 when
    left out. M None when left out (the method forms then use self: ``M.addmm(A, B)``);
    without M, one number scales the product, two are (v1, v2)."""
    args = list(args)
    kinds = "".join("t" if isinstance(a, Variable) else
                    "n" if isinstance(a, numbers.Number) else "?" for a in args)
    res = None
    if kinds.count("t") == 4 and kinds.startswith("t"):
        res, args, kinds = args[0], args[1:], kinds[1:]
    if kinds not in _FORMS:
        raise TypeError(f"{name}: expected ([res,] [v1,] M, [v2,] x, y), got "
                        f"({', '.join(type(a).__name__ for a in args)})")
    got = dict(zip(_FORMS[kinds], args))
    return res, got.get("a", 1), got.get("M"), got.get("b", 1), got["x"], got["y"]


def _combine(name, res, v1, M, v2, product):
    if M is not None and M.shape != product.shape:
        raise ValueError(f"{name}: M is {_fmt_size(M.shape)} but the product is "
                         f"{_fmt_size(product.shape)}")
    out = v2 * product if M is None or v1 == 0 else v1 * M + v2 * product
    if res is None:
        return out
    if res.shape != out.shape:
        res.resize(*out.shape)
    return res._inplace(out.data)


def _check(name, x, xdim, y, ydim):
    if x.ndim != xdim or y.ndim != ydim or x.shape[-1] != y.shape[0]:
        raise ValueError(f"{name}: sizes {_fmt_size(x.shape)} and {_fmt_size(y.shape)} do "
                         "not fit")


def addmm(*args):
    """torch.addmm([res,] [v1,] M, [v2,] mat1, mat2) = v1 * M + v2 * mat1 @ mat2."""
    res, v1, M, v2, A, B = split_blas_args("addmm", args)
    _check("addmm", A, 2, B, 2)
    return _combine("addmm", res, v1, M, v2, matmul(A, B))


def addmv(*args):
    """torch.addmv([res,] [v1,] vec, [v2,] mat, vec2) = v1 * vec + v2 * mat @ vec2."""
    res, v1, M, v2, A, x = split_blas_args("addmv", args)
    _check("addmv", A, 2, x, 1)
    return _combine("addmv", res, v1, M, v2, matmul(A, x))


def addr(*args):
    """torch.addr([res,] [v1,] M, [v2,] vec1, vec2) = v1 * M + v2 * outer(vec1, vec2)."""
    res, v1, M, v2, x, y = split_blas_args("addr", args)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"addr: expects two vectors, got {_fmt_size(x.shape)} and "
                         f"{_fmt_size(y.shape)}")
    return _combine("addr", res, v1, M, v2, matmul(x.unsqueeze(1), y.unsqueeze(0)))


def _with_result(name, args, count):
    if len(args) == count + 1:
        return args[0], args[1:]
    if len(args) != count:
        raise TypeError(f"{name}: expected {count} tensors (after an optional result)")
    return None, args


def mm(*args):
    """torch.mm([res,] a, b): the matrix product (NumPy's matmul rules, as ``@``)."""
    res, (a, b) = _with_result("mm", args, 2)
    return _combine("mm", res, 0, None, 1, matmul(a, b))


def mv(*args):
    """torch.mv([res,] mat, vec): matrix times vector."""
    res, (A, x) = _with_result("mv", args, 2)
    _check("mv", A, 2, x, 1)
    return _combine("mv", res, 0, None, 1, matmul(A, x))


def dot(a, b):
    """torch.dot(a, b): the sum of the elementwise products (same number of elements), a
    0-d tensor."""
    if a.nElement() != b.nElement():
        raise ValueError(f"dot: {a.nElement()} and {b.nElement()} elements")
    return (a.reshape(-1) * b.reshape(-1)).sum()


def norm(x, p=2, dim=None, keepdim=False):
    """The p-norm (sum |x|^p)^(1/p) of all elements, or along ``dim``; p=0 counts the
    nonzeros (not differentiable)."""
    if p == 0:
        return Tensor._wrap(np.asarray(np.count_nonzero(_cpu(x, "norm(0)"), axis=dim),
                                       x.dtype))
    if p == 2:
        return (x * x).sum(dim, keepdim).sqrt()
    return (x.abs() ** p).sum(dim, keepdim) ** (1.0 / p)


def _cpu(x, name):
    if x.device != "cpu":
        raise RuntimeError(f"{name} runs on CPU tensors only here: call .cpu() first")
    return x.data


def sort(x, dim=-1, descending=False):
    """(values, indices) sorted along ``dim`` (ascending; stable), indices 0-based
    LongTensor; values are differentiable (a gather)."""
    data = _cpu(x, "sort")
    order = np.argsort(-data if descending else data, axis=dim, kind="stable")
    index = Tensor._wrap(order.astype(np.int64))
    return x.gather(dim, index), index


def topk(x, k, dim=-1, largest=False, sorted=True):
    """Torch7's topk(k, [dim], [dir], [sort]): the k smallest (dir false, Torch7's
    default) or largest along ``dim``, as (values, indices); sorted by that order."""
    if not 0 <= k <= x.shape[dim]:
        raise ValueError(f"topk: k={k} is out of range for dim {dim} of size {x.shape[dim]}")
    values, index = sort(x, dim, descending=largest)
    return values.narrow(dim, 0, k), index.narrow(dim, 0, k)


def cumsum(x, dim=0):
    """Running sums along ``dim`` (Torch7's default: the first dim)."""
    _cpu(x, "cumsum")
    x._check_dim("cumsum", dim)
    return tensormath.Cumsum.apply(x, dim % x.ndim)


def unfold(x, dim, size, step):
    """Every slice of ``size`` elements ``step`` apart along ``dim``, as a new last
    dimension: a view (it shares memory; windows may overlap)."""
    _cpu(x, "unfold")
    x._check_dim("unfold", dim)
    dim %= x.ndim
    if size < 1 or step < 1 or size > x.shape[dim]:
        raise ValueError(f"unfold: size {size} and step {step} do not fit dim {dim} of size "
                         f"{x.shape[dim]}")
    return tensormath.Unfold.apply(x, dim, size, step)


def repeatTensor(x, *sizes):
    """The tensor tiled ``sizes[i]`` times along dim i (more sizes than dims add leading
    dims), a copy; differentiable (an expand and a reshape)."""
    sizes = tuple(int(s) for s in (sizes[0] if len(sizes) == 1 and
                                   isinstance(sizes[0], tuple | list) else sizes))
    if len(sizes) < x.ndim:
        raise ValueError(f"repeatTensor: {len(sizes)} sizes for a {x.ndim}-D tensor")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    paired = [s for size in shape for s in (1, size)]
    target = [s for r, size in zip(sizes, shape) for s in (r, size)]
    return x.reshape(*paired).expand(*target).reshape(*(r * s for r, s in zip(sizes, shape)))


# ---- methods (in place ones return self and record no graph, as Torch7's) -------------
def _maskedFill(self, mask, value):
    """self[mask != 0] = value, in place (mask: a ByteTensor of self's size)."""
    mask = _data(mask)
    if tuple(mask.shape) != self.shape:
        raise ValueError(f"maskedFill: mask is {_fmt_size(mask.shape)}, tensor "
                         f"{_fmt_size(self.shape)}")
    self.data[np.asarray(mask) != 0] = value
    self._bump_version()
    return self


def _indexCopy(self, dim, index, source):
    """Copy source's slices along ``dim`` into self at ``index`` (0-based), in place."""
    index, source = np.asarray(_data(index)).reshape(-1), _data(source)
    self._check_dim("indexCopy", dim)
    if index.size and (index.min() < -self.shape[dim] or index.max() >= self.shape[dim]):
        raise IndexError(f"indexCopy: index out of range for dim {dim} of size "
                         f"{self.shape[dim]}")
    np.moveaxis(self.data, dim, 0)[index] = np.moveaxis(source, dim, 0)
    self._bump_version()
    return self


def _mm_method(self, a, b):
    """self = a @ b (Torch7's res:mm(a, b))."""
    return mm(self, a, b)


def _mv_method(self, A, x):
    return mv(self, A, x)


def _sub(self, *bounds):
    """Torch7's sub(d0s, d0e [, d1s, d1e ...]): a view of elements start..end (both
    included; a negative index counts from the end, -1 the last) in each leading dim."""
    if len(bounds) % 2 or len(bounds) // 2 > self.ndim:
        raise ValueError(f"sub: expects (start, end) pairs, at most {self.ndim}")
    out = self
    for dim in range(len(bounds) // 2):
        n = self.shape[dim]
        start, end = (b + n if b < 0 else b for b in bounds[2 * dim:2 * dim + 2])
        if not 0 <= start <= end < n:
            raise IndexError(f"sub: [{bounds[2 * dim]}, {bounds[2 * dim + 1]}] is out of "
                             f"range for dim {dim} of size {n}")
        out = out.narrow(dim, start, end - start + 1)
    return out


def _root(array):
    while isinstance(array.base, np.ndarray) or hasattr(array.base, "__array_interface__"):
        base = array.base
        array = base if isinstance(base, np.ndarray) else base.base
    return array


def _storage(self):
    """The flat storage behind this tensor: a 1-D tensor sharing the whole memory block
    every view of it reads (minitorch7.strides' View: element i lives at
    storage[storageOffset() + sum(i_k * stride(k))])."""
    root = _root(_cpu(self, "storage"))
    if not root.flags.c_contiguous:
        raise RuntimeError("storage: the memory is a non-contiguous NumPy array")
    return Tensor._wrap(root.reshape(-1))


def _storageOffset(self):
    """Where element (0, ..., 0) is in storage(), 0-based."""
    root = _root(_cpu(self, "storageOffset"))
    if self.data.size == 0:
        return 0
    return (self.data.__array_interface__["data"][0]
            - root.__array_interface__["data"][0]) // self.data.itemsize


def _typeAs(self, other):
    """This tensor converted to other's type and device (itself if they already match)."""
    out = self._cast(np.dtype(other.dtype))
    return out.cuda() if other.device == "cuda" else out.cpu()


def _topk(self, k, dim=-1, dir=False, sort=True):
    return topk(self, k, dim, dir, sort)


def _sort(self, dim=-1, descending=False):
    return sort(self, dim, descending)


METHODS = {"sort": _sort, "topk": _topk, "norm": norm, "unfold": unfold, "cumsum": cumsum,
           "repeatTensor": repeatTensor, "maskedFill": _maskedFill, "indexCopy": _indexCopy,
           "sub": _sub, "storage": _storage, "storageOffset": _storageOffset,
           "typeAs": _typeAs, "mm": _mm_method, "mv": _mv_method, "dot": dot}


def install(cls):
    """Add METHODS to ``cls`` (Tensor), which defines none of them itself."""
    for name, fn in METHODS.items():
        setattr(cls, name, fn)
