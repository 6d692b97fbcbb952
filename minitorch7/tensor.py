"""``Tensor``: an n-dimensional array with Torch7's API and a place in the autograd graph.

A Tensor views memory: ``narrow``, ``select``, ``t``, ``transpose``, ``permute``, ``view``,
``expand`` and basic indexing return tensors that share it, so writing through a view
changes the original. Torch7's in-place methods (``fill``, ``uniform``, ``add``,
``addmm``, ...) change ``self`` and return it, so calls chain; they record no graph.
Math (``+``, ``exp``, ``sum``, ``@`` ...) returns new tensors and is differentiable.
Indices are 0-based. Torch7's tensor-math methods (``sort``, ``topk``, ``norm``, ``unfold``,
``cumsum``, ``repeatTensor``, ``maskedFill``, ``indexCopy``, ``sub``, ``storage``,
``typeAs``, ``mm``, ``mv``, ``dot``) live beside their ``torch.*`` forms in ``blas.py``,
which adds them to Tensor when the package is imported.
"""

import math

import numpy as np

from . import strides
from .autograd import Variable
from .device import array_module, kernels_for
from .ops import elementwise as ew
from .ops import index as index_ops
from .ops import linalg, nnfunc, reduce
from .ops import shape as shape_ops
from .printing import format_tensor
from .random import generator

TYPE_NAMES = {np.dtype(np.float32): "FloatTensor", np.dtype(np.float64): "DoubleTensor",
              np.dtype(np.int64): "LongTensor", np.dtype(np.int32): "IntTensor",
              np.dtype(np.uint8): "ByteTensor"}
CUDA_TYPE_NAMES = {np.dtype(np.float32): "CudaTensor", np.dtype(np.float64): "CudaDoubleTensor",
                   np.dtype(np.int64): "CudaLongTensor"}
DTYPES = {name: dtype for dtype, name in TYPE_NAMES.items()}
_default_dtype = np.dtype(np.float32)


def setdefaulttensortype(name: str) -> None:
    """Torch7's torch.setdefaulttensortype('torch.DoubleTensor'): the type of Tensor()."""
    global _default_dtype
    _default_dtype = _dtype_from_name(name)


def getdefaulttensortype() -> str:
    return "torch." + TYPE_NAMES[_default_dtype]


def get_default_dtype() -> np.dtype:
    return _default_dtype


def _dtype_from_name(name):
    key = name.removeprefix("torch.")
    if key not in DTYPES:
        raise ValueError(f"unknown tensor type {name!r}; expected one of "
                         f"{', '.join('torch.' + n for n in DTYPES)}")
    return DTYPES[key]


def _sizes(args):
    """Torch7 size arguments: Tensor(2, 3), Tensor((2, 3)) or Tensor(torch.Size)."""
    if len(args) == 1 and isinstance(args[0], tuple | list):
        args = tuple(args[0])
    return tuple(int(a) for a in args)


def _data(x):
    return x.data if isinstance(x, Variable) else x


def _fmt_size(shape):
    return "x".join(map(str, shape))


class NotOneElementError(RuntimeError, ValueError):
    """A tensor of more (or fewer) than one element used as one Python number (float(t),
    int(t), bool(t), t.item()). A RuntimeError as in PyTorch, and a ValueError."""


class Tensor(Variable):
    """Tensor(2, 3) allocates (zeros) of the default type; Tensor(data) copies data;
    Tensor() is empty (no elements), as in Torch7."""

    __slots__ = ()

    def __init__(self, *args, dtype=None, requires_grad=False):
        dtype = np.dtype(dtype) if dtype is not None else _default_dtype
        if len(args) == 1 and not isinstance(args[0], int | np.integer | tuple):
            data = np.array(_data(args[0]), dtype=dtype)
        else:
            data = np.zeros(_sizes(args) if args else (0,), dtype=dtype)
        self.data, self.requires_grad, self.grad = data, requires_grad, None
        self._ctx, self._version = None, [0]

    # ---- size and type -------------------------------------------------------------
    def size(self, dim=None):
        """The sizes as a tuple, or the size of one dimension."""
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    ndim = property(dim)

    def nElement(self) -> int:
        return int(self.data.size)

    numel = nElement

    def stride(self, dim=None):
        """Steps in elements (not bytes) between neighbours along each dimension."""
        strides = tuple(s // self.data.itemsize for s in self.data.strides)
        return strides if dim is None else strides[dim]

    def isContiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

    def type(self, name=None):
        """'torch.FloatTensor' etc.; with a name, a converted copy (differentiable)."""
        if name is None:
            names = TYPE_NAMES if self.device == "cpu" else CUDA_TYPE_NAMES
            return "torch." + names[np.dtype(self.dtype)]
        return self._cast(_dtype_from_name(name))

    def _cast(self, dtype):
        if self.dtype == dtype:
            return self
        return shape_ops.Cast.apply(self, dtype)

    def float(self):
        return self._cast(np.dtype(np.float32))

    def double(self):
        return self._cast(np.dtype(np.float64))

    def long(self):
        return self._cast(np.dtype(np.int64))

    def int(self):
        return self._cast(np.dtype(np.int32))

    def byte(self):
        return self._cast(np.dtype(np.uint8))

    def cuda(self):
        """A copy on the GPU (differentiable: the gradient comes back to this device)."""
        return self if self.device == "cuda" else shape_ops.ToDevice.apply(self, "cuda")

    def cpu(self):
        return self if self.device == "cpu" else shape_ops.ToDevice.apply(self, "cpu")

    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared, not copied)."""
        if self.device != "cpu":
            raise RuntimeError("numpy: this tensor is on the GPU; call .cpu() first")
        return self.data

    def __array__(self, dtype=None, copy=None):
        return self.numpy() if dtype is None else self.numpy().astype(dtype)

    def item(self):
        """The one element as a Python number (float, int or bool), as in PyTorch."""
        return self._number("item")

    def _number(self, what):
        if self.data.size != 1:
            raise NotOneElementError(
                f"{what}: tensor has {self.data.size} elements, expected 1 (size "
                f"{_fmt_size(self.shape)}): only a one-element tensor is a Python number")
        return shape_ops.to_device(self.data, "cpu").reshape(()).item()

    # ---- Python numbers (docs/tensors.md): one-element tensors only, as in PyTorch ----
    def __float__(self):
        return float(self._number("float()"))

    def __int__(self):
        return int(self._number("int()"))

    def __index__(self):
        if self.dtype.kind not in "iub":
            raise TypeError(f"only integer tensors of a single element can be used as an "
                            f"index, not a tensor of {self.dtype} (convert with .long())")
        return int(self._number("index"))

    def __bool__(self):
        if self.data.size != 1:
            raise NotOneElementError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "reduce it to one element first (t.sum(), t.max(), ...)")
        return bool(self.item())

    def __format__(self, spec):
        if self.data.size == 1 and spec:
            return format(self._number("format"), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} for a tensor of "
                            f"{self.data.size} elements: only one-element tensors format "
                            "as numbers")
        return str(self)

    def tolist(self):
        return shape_ops.to_device(self.data, "cpu").tolist()

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self.select(0, i) for i in range(len(self)))

    # ---- views ---------------------------------------------------------------------
    def narrow(self, dim, start, length):
        """Elements start .. start+length-1 along dim (a view)."""
        self._check_dim("narrow", dim)
        if not (0 <= start and 0 <= length and start + length <= self.shape[dim]):
            raise IndexError(f"narrow: [{start}, {start + length}) is out of range for dim "
                             f"{dim} of size {self.shape[dim]}")
        return shape_ops.View.apply(self, strides.narrow, dim % self.ndim, start, length)

    def select(self, dim, index):
        """The slice at ``index`` along dim, with that dim removed (a view)."""
        self._check_dim("select", dim)
        if not -self.shape[dim] <= index < self.shape[dim]:
            raise IndexError(f"select: index {index} is out of range for dim {dim} of size "
                             f"{self.shape[dim]}")
        return shape_ops.View.apply(self, strides.select, dim % self.ndim,
                                    index % self.shape[dim])

    def transpose(self, dim0, dim1):
        """Swap two dims (a view: only the strides change)."""
        self._check_dim("transpose", dim0)
        self._check_dim("transpose", dim1)
        return shape_ops.View.apply(self, strides.transpose, dim0 % self.ndim, dim1 % self.ndim)

    def t(self):
        """The transpose of a 2-D tensor."""
        if self.ndim != 2:
            raise ValueError(f"t: expects a 2-D tensor, got size {_fmt_size(self.shape)}")
        return self.transpose(0, 1)

    def permute(self, *dims):
        dims = _sizes(dims)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute: {dims} is not a permutation of the {self.ndim} dims")
        return shape_ops.Permute.apply(self, dims)

    def view(self, *sizes):
        """The same memory with a new shape; needs a contiguous tensor."""
        if not self.isContiguous():
            raise RuntimeError(f"view: the tensor of size {_fmt_size(self.shape)} is not "
                               "contiguous; call contiguous() first (or use reshape)")
        return self.reshape(*sizes)

    def reshape(self, *sizes):
        sizes = _sizes(sizes)
        known = math.prod(s for s in sizes if s != -1)
        if sizes.count(-1) > 1 or (-1 in sizes and (known == 0 or self.nElement() % known)) \
                or (-1 not in sizes and known != self.nElement()):
            raise ValueError(f"view: cannot view a tensor of size {_fmt_size(self.shape)} "
                             f"({self.nElement()} elements) as {_fmt_size(sizes)}")
        return shape_ops.Reshape.apply(self, sizes)

    def viewAs(self, other):
        return self.view(*other.shape)

    def expand(self, *sizes):
        """Repeat size-1 dims to ``sizes`` without copying (-1 keeps a size)."""
        sizes = _sizes(sizes)
        lead = len(sizes) - self.ndim
        target = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        try:
            if strides.broadcast_shape(self.shape, target) != target:
                raise ValueError
        except ValueError:
            raise ValueError(f"expand: cannot expand size {_fmt_size(self.shape)} to "
                             f"{_fmt_size(target)}") from None
        return shape_ops.Expand.apply(self, target)

    def expandAs(self, other):
        return self.expand(*other.shape)

    def unsqueeze(self, dim):
        dim = dim if dim >= 0 else dim + self.ndim + 1
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim=None):
        """Drop size-1 dims (all, or only ``dim`` if it has size 1)."""
        if dim is None:
            shape = tuple(s for s in self.shape if s != 1)
        else:
            self._check_dim("squeeze", dim)
            dim %= self.ndim
            shape = self.shape[:dim] + self.shape[dim + 1:] if self.shape[dim] == 1 \
                else self.shape
        return self.reshape(*shape)

    def contiguous(self):
        return self if self.isContiguous() else shape_ops.Contiguous.apply(self)

    def clone(self):
        return shape_ops.Clone.apply(self)

    def __getitem__(self, index):
        return shape_ops.Index.apply(self, _index(index))

    def __setitem__(self, index, value):
        self.data[_index(index)] = _data(value)
        self._bump_version()

    def _check_dim(self, name, dim):
        if not -self.ndim <= dim < self.ndim:
            raise IndexError(f"{name}: dim {dim} is out of range for a {self.ndim}-D tensor")

    # ---- in-place Torch7 methods (return self; no graph) ----------------------------
    def _inplace(self, values):
        self.data[...] = values
        self._bump_version()
        return self

    def fill(self, value):
        return self._inplace(value)

    def zero(self):
        return self._inplace(0)

    def uniform(self, a=0.0, b=1.0):
        return self._inplace(self._random(generator().uniform(a, b, self.shape)))

    def normal(self, mean=0.0, std=1.0):
        return self._inplace(self._random(generator().normal(mean, std, self.shape)))

    def bernoulli(self, p=0.5):
        return self._inplace(self._random(generator().random(self.shape) < p))

    def _random(self, values):
        return shape_ops.to_device(np.asarray(values, self.dtype), self.device)

    def copy(self, source):
        """Copy ``source``'s values (same number of elements) into self."""
        source = _data(source)
        if source.size != self.data.size:
            raise ValueError(f"copy: source has {source.size} elements, destination "
                             f"{self.data.size}")
        return self._inplace(source.reshape(self.shape))

    def resize(self, *sizes):
        """Change the size in place, keeping the leading elements (Torch7's resize)."""
        sizes = _sizes(sizes)
        n = int(np.prod(sizes))
        if n == self.data.size and self.isContiguous():
            self.data = self.data.reshape(sizes)
        else:
            flat = np.zeros(n, self.dtype)
            keep = min(n, self.data.size)
            flat[:keep] = np.ravel(self.data)[:keep]
            self.data = flat.reshape(sizes)
        self._bump_version()
        return self

    def resizeAs(self, other):
        return self.resize(*other.shape)

    def add(self, value, other=None):
        """self += value, self += other (a tensor), or self += value * other."""
        if other is None:
            return self._inplace(self.data + _data(value))
        return self._inplace(self.data + value * _data(other))

    def mul(self, value):
        return self._inplace(self.data * value)

    def div(self, value):
        return self._inplace(self.data / value)

    def cmul(self, other):
        return self._inplace(self.data * _data(other))

    def cdiv(self, other):
        return self._inplace(self.data / _data(other))

    def addmm(self, *args):
        """self = beta * M + alpha * (A @ B): Torch7's ([beta,] [M,] [alpha,] A, B), M self when
        left out (``M:addmm(A, B)`` is M += A @ B)."""
        from .blas import split_blas_args

        _, beta, M, alpha, A, B = split_blas_args("addmm", args)
        A, B, M = _data(A), _data(B), _data(self if M is None else M)
        if A.ndim != 2 or B.ndim != 2:
            raise ValueError(f"addmm: expects 2-D matrices, got A {_fmt_size(A.shape)} and "
                             f"B {_fmt_size(B.shape)}")
        linalg._check_matmul("addmm", A, B)
        product = kernels_for(A).matmul(A, B)
        if M.shape != product.shape:
            raise ValueError(f"addmm: M is {_fmt_size(M.shape)} but A @ B is "
                             f"{_fmt_size(product.shape)}")
        if self.shape != product.shape:
            self.resize(*product.shape)
        return self._inplace(alpha * product if beta == 0 else beta * M + alpha * product)

    def addmv(self, *args):
        """self = beta * v + alpha * (M @ x). Forms: (v, M, x) or (beta, v, alpha, M, x)."""
        from .blas import split_blas_args

        _, beta, v, alpha, M, x = split_blas_args("addmv", args)
        v, M, x = (self if v is None else v), _data(M), _data(x)
        if M.ndim != 2 or x.ndim != 1 or M.shape[1] != x.shape[0]:
            raise ValueError(f"addmv: M is {_fmt_size(M.shape)} but x is "
                             f"{_fmt_size(x.shape)}")
        product = M @ x
        return self._inplace(alpha * product if beta == 0 else beta * _data(v) + alpha * product)

    def addr(self, *args):
        """self = beta * M + alpha * outer(x, y). Forms: (M, x, y) or (beta, M, alpha, x, y)."""
        from .blas import split_blas_args

        _, beta, M, alpha, x, y = split_blas_args("addr", args)
        M, x, y = (self if M is None else M), _data(x), _data(y)
        if x.ndim != 1 or y.ndim != 1 or self.shape != (x.size, y.size):
            raise ValueError(f"addr: self is {_fmt_size(self.shape)} but the outer product "
                             f"of x ({_fmt_size(x.shape)}) and y ({_fmt_size(y.shape)}) is "
                             f"{x.size}x{y.size}")
        product = np.outer(x, y)
        return self._inplace(alpha * product if beta == 0 else beta * _data(M) + alpha * product)

    # ---- differentiable math -------------------------------------------------------
    def __add__(self, other):
        return ew.Add.apply(self, other)

    __radd__ = __add__

    def __sub__(self, other):
        return ew.Sub.apply(self, other)

    def __rsub__(self, other):
        return ew.Sub.apply(other, self)

    def __mul__(self, other):
        return ew.Mul.apply(self, other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return ew.Div.apply(self, other)

    def __rtruediv__(self, other):
        return ew.Div.apply(other, self)

    def __pow__(self, other):
        return ew.Pow.apply(self, other)

    def __rpow__(self, other):
        return ew.Pow.apply(other, self)

    def __neg__(self):
        return ew.Neg.apply(self)

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    def pow(self, exponent):
        return ew.Pow.apply(self, exponent)

    def neg(self):
        return ew.Neg.apply(self)

    def exp(self):
        return ew.Exp.apply(self)

    def log(self):
        return ew.Log.apply(self)

    def sqrt(self):
        return ew.Sqrt.apply(self)

    def abs(self):
        return ew.Abs.apply(self)

    def tanh(self):
        return ew.Tanh.apply(self)

    def sigmoid(self):
        return ew.Sigmoid.apply(self)

    def relu(self):
        return ew.ReLU.apply(self)

    def clamp(self, min=None, max=None):
        return ew.Clamp.apply(self, min, max)

    def log_softmax(self, dim=-1):
        return nnfunc.LogSoftmax.apply(self, dim)

    def softmax(self, dim=-1):
        return nnfunc.Softmax.apply(self, dim)

    def sum(self, dim=None, keepdim=False):
        return reduce.Sum.apply(self, dim, keepdim)

    def mean(self, dim=None, keepdim=False):
        return reduce.Mean.apply(self, dim, keepdim)

    def max(self, dim=None, keepdim=False):
        """The largest value, or (values, indices) along ``dim``."""
        values = reduce.Max.apply(self, dim, keepdim)
        return values if dim is None else (values, self.argmax(dim, keepdim))

    def min(self, dim=None, keepdim=False):
        """The smallest value, or (values, indices) along ``dim``."""
        values = reduce.Min.apply(self, dim, keepdim)
        return values if dim is None else (values, self.argmin(dim, keepdim))

    def argmax(self, dim=None, keepdim=False):
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return self._arg("argmin", dim, keepdim)

    def _arg(self, name, dim, keepdim):
        xp = array_module(self.data)
        index = getattr(xp, name)(self.data, axis=dim)
        if isinstance(index, np.generic):  # over all elements NumPy gives a scalar
            index = np.asarray(index)
        if keepdim and dim is not None:
            index = xp.expand_dims(index, dim)
        return Tensor._wrap(index.astype(np.int64))

    def var(self, dim=None, keepdim=False, unbiased=True):
        """Variance: sum((x - mean)^2) / (n - 1), or / n when not ``unbiased``."""
        n = self.nElement() if dim is None else self.shape[dim]
        centered = self - self.mean(dim, keepdim=True)
        return (centered * centered).sum(dim, keepdim) / (n - 1 if unbiased else n)

    def std(self, dim=None, keepdim=False, unbiased=True):
        return self.var(dim, keepdim, unbiased).sqrt()

    def gather(self, dim, index):
        return index_ops.Gather.apply(self, dim, _data(index))

    def index_select(self, dim, index):
        return index_ops.IndexSelect.apply(self, dim, _data(index))

    index = index_select  # Torch7's name

    # comparisons give ByteTensors (0/1), as in Torch7; they are not differentiable
    def _compare(self, other, op):
        return Tensor._wrap(op(self.data, _data(other)).astype(np.uint8))

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    __hash__ = Variable.__hash__

    # ---- printing ------------------------------------------------------------------
    def __repr__(self):
        return format_tensor(shape_ops.to_device(self.data, "cpu"), self.type())

    __str__ = __repr__


def _index(index):
    """Turn Tensors inside an index into arrays."""
    if isinstance(index, tuple):
        return tuple(_data(i) for i in index)
    return _data(index)


def matmul(a, b):
    """a @ b with NumPy's rules: 1-D operands are promoted to matrices and squeezed back."""
    a_vector, b_vector = a.ndim == 1, b.ndim == 1
    if a_vector:
        a = a.unsqueeze(0)
    if b_vector:
        b = b.unsqueeze(1)
    out = linalg.MatMul.apply(a, b)
    if a_vector:
        out = out.squeeze(-2)
    if b_vector:
        out = out.squeeze(-1)
    return out
