"""minitorch7: the Torch7 deep-learning lab, rebuilt in Python to read and re-implement.

    import minitorch7 as torch
    a = torch.FloatTensor(2, 3).uniform(0, 1)
"""

from . import image
from .autograd import enable_grad, gradcheck, no_grad
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

mm = matmul

__all__ = ["ByteTensor", "DoubleTensor", "FloatTensor", "IntTensor", "LongTensor", "Tensor",
           "arange", "cat", "draw", "enable_grad", "eye", "from_numpy", "getdefaulttensortype",
           "gradcheck", "image", "linspace", "load", "manualSeed", "matmul", "mm", "no_grad",
           "ones", "rand", "randn", "range", "save", "setdefaulttensortype", "stack", "tensor",
           "where", "zeros"]
