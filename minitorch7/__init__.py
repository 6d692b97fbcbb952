"""minitorch7: the Torch7 deep-learning lab, rebuilt in Python to read and re-implement.

    import minitorch7 as torch
    a = torch.FloatTensor(2, 3).uniform(0, 1)
"""

from .backends import limit_blas_threads  # first: before NumPy loads (backends/thread_pools.py)

# isort: split
from . import blas, cuda, image
from .autograd import enable_grad, gradcheck, no_grad
from .blas import addmm, addmv, addr, cumsum, dot, mm, mv, norm, repeatTensor, sort, topk
from .creation import (
                       ByteTensor,
                       DoubleTensor,
                       FloatTensor,
                       IntTensor,
                       LongTensor,
                       arange,
                       cat,
                       eye,
                       from_numpy,
                       linspace,
                       ones,
                       rand,
                       randn,
                       range,
                       stack,
                       tensor,
                       where,
                       zeros,
)
from .draw import draw
from .random import manualSeed
from .serial import load, save
from .tensor import Tensor, getdefaulttensortype, matmul, setdefaulttensortype

blas.install(Tensor)
CudaTensor = cuda.FloatTensor
CudaDoubleTensor = cuda.DoubleTensor
CudaLongTensor = cuda.LongTensor

__all__ = ["ByteTensor", "CudaDoubleTensor", "CudaLongTensor", "CudaTensor", "DoubleTensor",
           "FloatTensor", "IntTensor", "LongTensor", "Tensor", "addmm", "addmv", "addr", "arange",
           "blas", "cat", "cuda", "cumsum", "dot", "draw", "enable_grad", "eye", "from_numpy",
           "getdefaulttensortype", "gradcheck", "image", "limit_blas_threads", "linspace", "load",
           "manualSeed", "matmul", "mm", "mv", "no_grad", "norm", "ones", "rand", "randn", "range",
           "repeatTensor", "save", "setdefaulttensortype", "sort", "stack", "tensor", "topk",
           "where", "zeros"]
