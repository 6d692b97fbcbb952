"""GFLOP/s of minitorch7's numba.cuda matmuls (the fast tier's register-blocked kernel and
the teaching tier's textbook tiled one, task 1.4) against cuBLAS, on a real GPU.

    python benchmarks/cuda_matmul.py [--size 4096] [--repeat 10]

cuBLAS is reached through torch.matmul with TF32 off (so both sides do true float32 FMAs)
when torch with CUDA is importable, else through cupy; without either, only our figure is
printed. A matmul of n x n matrices costs 2 n^3 flops. Needs an NVIDIA GPU: the simulator
would take hours at this size.
"""

import argparse
import sys
import time

import harness
import numpy as np

from minitorch7 import cuda as mt_cuda


def gflops(n, seconds):
    return 2 * n ** 3 / seconds / 1e9


def time_ours(module, n, repeat):
    """Seconds per n x n float32 product of ``module.matmul`` (numba_cuda or
    numba_cuda_teach), after a warm-up whose result is checked."""
    from numba import cuda

    from minitorch7.backends.cuda_xp import from_numpy

    rng = np.random.default_rng(0)
    a = from_numpy(rng.standard_normal((n, n), dtype=np.float32))
    b = from_numpy(rng.standard_normal((n, n), dtype=np.float32))
    c = module.matmul(a, b)  # compile and warm up
    check = rng.integers(0, n, 8)
    want = a.to_numpy()[check] @ b.to_numpy()
    np.testing.assert_allclose(c.to_numpy()[check], want, rtol=1e-3, atol=1e-2)
    cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        module.matmul(a, b)
    cuda.synchronize()
    return (time.perf_counter() - start) / repeat


def time_cublas(n, repeat):
    """(library name, seconds per matmul), or None when neither torch nor cupy has CUDA."""
    try:
        import torch

        if torch.cuda.is_available():
            torch.backends.cuda.matmul.allow_tf32 = False
            a = torch.randn(n, n, device="cuda")
            b = torch.randn(n, n, device="cuda")
            torch.matmul(a, b)
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(repeat):
                torch.matmul(a, b)
            torch.cuda.synchronize()
            return "torch.matmul (cuBLAS, TF32 off)", (time.perf_counter() - start) / repeat
    except ImportError:
        pass
    try:
        import cupy
    except ImportError:
        return None
    a = cupy.random.standard_normal((n, n), dtype=cupy.float32)
    b = cupy.random.standard_normal((n, n), dtype=cupy.float32)
    a @ b
    cupy.cuda.Device().synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        a @ b
    cupy.cuda.Device().synchronize()
    return "cupy (cuBLAS)", (time.perf_counter() - start) / repeat


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    if not mt_cuda.is_available():
        sys.exit("cuda_matmul: no usable NVIDIA GPU (numba.cuda.is_available() is False, or "
                 "NUMBA_ENABLE_CUDASIM is set); this benchmark needs a real GPU.")
    from numba import cuda

    from minitorch7.backends import numba_cuda, numba_cuda_teach

    gpu = cuda.get_current_device().name
    print(f"{harness.machine_banner()}\nGPU: {gpu.decode() if isinstance(gpu, bytes) else gpu}")
    n = args.size
    ours = time_ours(numba_cuda, n, args.repeat)
    teach = time_ours(numba_cuda_teach, n, args.repeat)
    print(f"float32 {n}x{n} @ {n}x{n}")
    print(f"  numba.cuda fast matmul  : {ours * 1e3:8.2f} ms  {gflops(n, ours):9.1f} GFLOP/s")
    print(f"  teaching tiled (TPB {numba_cuda_teach.TPB:2d}) : {teach * 1e3:8.2f} ms  "
          f"{gflops(n, teach):9.1f} GFLOP/s")
    ref = time_cublas(n, args.repeat)
    if ref is None:
        print("  (no torch with CUDA and no cupy: no cuBLAS figure to compare with)")
        return
    name, seconds = ref
    print(f"  {name:24s}: {seconds * 1e3:8.2f} ms  {gflops(n, seconds):9.1f} GFLOP/s")
    print(f"  ratio fast / cuBLAS     : {seconds / ours:8.1%}")


if __name__ == "__main__":
    main()
