"""Is CUDA usable? ``is_available()``, ``simulator_enabled()`` and ``require()``.

minitorch7's CUDA kernels are numba.cuda kernels (package ``numba-cuda``). Without an NVIDIA
GPU they still run, slowly, in Numba's CUDA simulator: set ``NUMBA_ENABLE_CUDASIM=1`` before
numba is first imported (numba reads the variable once). Tests do this for you.
"""

from functools import cache

from numba import config


def simulator_enabled() -> bool:
    """True when numba runs CUDA kernels in its Python simulator (NUMBA_ENABLE_CUDASIM=1)."""
    return bool(config.ENABLE_CUDASIM)


@cache
def is_available() -> bool:
    """True only when a real NVIDIA GPU is usable; False in the simulator."""
    if simulator_enabled():
        return False
    from numba import cuda  # imported here: loading the CUDA driver bindings is slow

    try:
        return bool(cuda.is_available())
    except Exception:  # a broken driver install counts as "no GPU"
        return False


def require(what: str = "this operation") -> None:
    """Raise a RuntimeError saying why ``what`` cannot run, unless CUDA kernels can run
    (on a GPU, or in the simulator)."""
    if simulator_enabled() or is_available():
        return
    raise RuntimeError(
        f"{what} needs CUDA, but no usable NVIDIA GPU was found "
        "(numba.cuda.is_available() is False). Use a machine with an NVIDIA GPU and driver, "
        "or set NUMBA_ENABLE_CUDASIM=1 before importing minitorch7 to run the CUDA kernels "
        "in Numba's (slow) simulator.")


def _cuda_typed(name):
    def constructor(*args, requires_grad=False):
        """torch.cuda.{name}(sizes...) or (data): the CPU constructor's tensor, on the GPU."""
        from . import creation

        out = getattr(creation, name)(*args).cuda()
        return out.requires_grad_(requires_grad) if requires_grad else out

    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = constructor.__doc__.format(name=name)
    return constructor


# torch.cuda.FloatTensor(2, 3) as PyTorch spells it; torch.CudaTensor is Torch7's name
FloatTensor = _cuda_typed("FloatTensor")
DoubleTensor = _cuda_typed("DoubleTensor")
LongTensor = _cuda_typed("LongTensor")
