"""Benchmark the numba_cpu kernels against NumPy's BLAS and PyTorch CPU; prints tables.

    python benchmarks/kernels.py            # full run (a few minutes)
    python benchmarks/kernels.py --quick    # fewer sizes and repeats
    python benchmarks/kernels.py --threads 1 --cpu-time --only conv   # on a loaded machine

Every figure is a ratio measured in this one process, with the same thread count for
Numba, NumPy's BLAS (OPENBLAS_NUM_THREADS, set before NumPy loads) and PyTorch. Times are
the best of several runs, so a busy machine hurts the ratios less.
  matmul  GFLOP/s = 2*n*k*m / time; target: numba >= 60% of BLAS for sizes >= 512, >= 40% at
          the batch-32 MLP shape. Square: a @ b, both C-contiguous. MLP: x (batch, 784) @ W.T
          with W (200, 784), the nn.Linear layout (Torch7 stores weight as out x in).
  conv2d  forward + backward to input + backward to weight and bias, the lab CNN's layers;
          reference: PyTorch (F.conv2d + autograd) if importable, else numpy_ref
          (im2col + BLAS). Target: time <= 1.5x the reference; < 1x on the 1-channel layer.
  compile a fresh process importing the backend and running every kernel once, warm cache.
"""

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_every_kernel_once():
    """Call every numba_cpu primitive once, on tiny float32 and float64 inputs."""
    import numpy as np

    from minitorch7.backends import numba_cpu as k

    for dtype in (np.float32, np.float64):
        x, w = np.ones((2, 3, 6, 6), dtype), np.ones((4, 3, 3, 3), dtype)
        k.matmul(x[0, 0], x[0, 0].T)
        k.matmul(x, x)
        square = np.ones((40, 40), dtype)  # past SMALL_PRODUCT: the packed gemm
        k.matmul(square, square)
        k.right_multiplier(square)(square)
        k.log_softmax_backward(k.log_softmax(square), square)
        y = k.conv2d_forward(x, w, np.ones(4, dtype), (1, 1), (1, 1))
        k.conv2d_backward_input(y, w, x.shape, (1, 1), (1, 1))
        k.conv2d_backward_weight(y, x, w.shape, (1, 1), (1, 1))
        y, argmax = k.maxpool2d_forward(x, (2, 2), (2, 2), (0, 0))
        k.maxpool2d_backward(y, argmax, x.shape)
        y = k.avgpool2d_forward(x, (2, 2), (2, 2), (0, 0))
        k.avgpool2d_backward(y, x.shape, (2, 2), (2, 2), (0, 0))


CLOCK = time.perf_counter  # time.process_time with --cpu-time


def best_time(repeat, fn, *args):
    """Best of `repeat` timed calls fn(*args), after one warm-up call (on CLOCK)."""
    fn(*args)
    times = []
    for _ in range(repeat):
        t = CLOCK()
        fn(*args)
        times.append(CLOCK() - t)
    return min(times)


def bench_matmul(quick, repeat):
    import numpy as np

    from minitorch7.backends import numba_cpu

    squares = (128, 512) if quick else (128, 512, 1024, 2048)
    batches = (32, 256) if quick else (32, 64, 128, 256)
    shapes = [(s, s, s, "square", 0.6 if s >= 512 else None) for s in squares]
    shapes += [(b, 784, 200, "MLP", 0.4 if b == 32 else None) for b in batches]
    print(f"{'matmul':>8} {'dtype':>8} {'n x k x m':>16} {'numba GF/s':>11} {'BLAS GF/s':>10} "
          f"{'ratio':>6} {'target':>7}")
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for n, k, m, kind, target in shapes:
            a = rng.standard_normal((n, k)).astype(dtype)
            b = rng.standard_normal((k, m) if kind == "square" else (m, k)).astype(dtype)
            b = b if kind == "square" else b.T
            reps = max(repeat, min(10 * repeat, int(2e10 / (2 * n * k * m))))
            t_blas = best_time(reps, np.matmul, a, b)
            t_numba = best_time(reps, numba_cpu.matmul, a, b)
            gf = 2 * n * k * m / 1e9
            ratio = t_blas / t_numba
            mark = "" if target is None else f">={target:.0%} " + ("ok" if ratio >= target else
                                                                  "MISS")
            print(f"{kind:>8} {np.dtype(dtype).name:>8} {f'{n}x{k}x{m}':>16} "
                  f"{gf / t_numba:11.1f} {gf / t_blas:10.1f} {ratio:6.0%} {mark:>7}")


def bench_conv(quick, repeat):
    import numpy as np

    from minitorch7.backends import numba_cpu, numpy_ref

    try:
        import torch
    except ImportError:
        torch = None

    def step(mod, x, w, b):
        y = mod.conv2d_forward(x, w, b, (1, 1), (2, 2))
        mod.conv2d_backward_input(y, w, x.shape, (1, 1), (2, 2))
        mod.conv2d_backward_weight(y, x, w.shape, (1, 1), (2, 2))

    def torch_step(x, w, b):
        y = torch.nn.functional.conv2d(x, w, b, padding=2)
        torch.autograd.grad(y, (x, w, b), y.detach())

    ref_name = "torch" if torch is not None else "numpy_ref"
    print(f"\n{'conv2d 5x5 pad 2':>22} {'batch':>6} {'numba ms':>9} {f'{ref_name} ms':>10} "
          f"{'ratio':>6} {'target':>7}   (forward + backward input + backward weight, float32)")
    rng = np.random.default_rng(0)
    for c, o, h in ((1, 16, 28), (16, 32, 14)):
        for bsz in (32,) if quick else (32, 128):
            x = rng.standard_normal((bsz, c, h, h)).astype(np.float32)
            w = rng.standard_normal((o, c, 5, 5)).astype(np.float32)
            b = rng.standard_normal(o).astype(np.float32)
            t_numba = best_time(repeat, step, numba_cpu, x, w, b)
            if torch is not None:
                xt, wt, bt = (torch.tensor(v, requires_grad=True) for v in (x, w, b))
                t_ref = best_time(repeat, torch_step, xt, wt, bt)
            else:
                t_ref = best_time(repeat, step, numpy_ref, x, w, b)
            target = 1.0 if c == 1 else 1.5
            ratio = t_numba / t_ref
            mark = f"<{target:.1f}x " + ("ok" if ratio < target else "MISS")
            print(f"{f'{c}->{o} ch on {h}x{h}':>22} {bsz:>6} {t_numba * 1e3:9.2f} "
                  f"{t_ref * 1e3:10.2f} {ratio:5.2f}x {mark:>7}")


def bench_compile():
    """Seconds for a fresh process to import numba_cpu and run every kernel (warm cache)."""
    script = ("import time; t = time.perf_counter();"
              "from benchmarks.kernels import run_every_kernel_once; run_every_kernel_once();"
              "print(time.perf_counter() - t)")
    cmd = [sys.executable, "-c", script]
    subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)  # fills the cache if cold
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True)
    seconds = float(out.stdout.strip().splitlines()[-1])
    verdict = "ok" if seconds < 1 else "MISS"
    print(f"\nwarm-cache start: import + every kernel once in a new process: {seconds:.2f} s "
          f"(target < 1 s) {verdict}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing (best kept)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with process CPU time, not wall time (a loaded machine; "
                        "meant for --threads 1)")
    parser.add_argument("--only", choices=("matmul", "conv", "compile"), action="append",
                        help="run only these tables (repeatable)")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # before NumPy loads OpenBLAS
    sys.path.insert(0, ROOT)
    import numba

    numba.set_num_threads(args.threads)
    try:
        import torch

        torch.set_num_threads(args.threads)
        torch_info = f"torch {torch.__version__}"
    except ImportError:
        torch_info = "torch not installed"
    import numpy as np

    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    clock = "CPU time" if args.cpu_time else "wall time"
    print(f"threads: {args.threads} each for numba, BLAS and torch; {clock}; "
          f"numpy {np.__version__}, numba {numba.__version__}, {torch_info}; "
          f"OPENBLAS_CORETYPE {coretype}\n")
    repeat = 3 if args.quick else args.repeat
    tables = args.only or ("matmul", "conv", "compile")
    if "matmul" in tables:
        bench_matmul(args.quick, repeat)
    if "conv" in tables:
        bench_conv(args.quick, repeat)
    if "compile" in tables:
        bench_compile()


if __name__ == "__main__":
    main()
