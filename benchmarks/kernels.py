"""Benchmark the numba_cpu kernels against NumPy's BLAS and PyTorch CPU; prints tables.

    python benchmarks/kernels.py            # full run (several minutes)
    python benchmarks/kernels.py --quick    # fewer sizes and repeats
    python benchmarks/kernels.py --threads 1 --cpu-time --only conv   # on a loaded machine
    python benchmarks/kernels.py --smoke    # tiny sizes, one call: does it run?

Each side runs in its own processes, rounds alternating (benchmarks/harness.py), with the
same thread count for Numba, NumPy's BLAS (OPENBLAS_NUM_THREADS) and PyTorch; the machine
banner above each table says what it was measured on.
  matmul  GFLOP/s = 2*n*k*m / time; ours / BLAS in throughput. Targets: float32 >= 90%,
          float64 >= 80% of BLAS for squares >= 512 and the lab's shapes:
            MLP    x (32, 784) @ W.T, W (200, 784): nn.Linear's layout (Torch7 stores the
                   weight as out x in); other batches are printed without a target;
            LM     the decoder Linear(200, 10000) of the language model, W (10000, 200), on
                   seqlen 20 x batch 20 = 400 rows: forward x @ W.T (400x200x10000),
                   gradInput gy @ W (400x10000x200), gradWeight gy.T @ x (10000x400x200).
  conv2d  forward + backward to input + backward to weight and bias, the lab CNN's layers;
          reference: PyTorch (F.conv2d + autograd) if installed, else numpy_ref (im2col +
          BLAS). Target: ours / reference < 1.5x; < 1x on the 1-channel layer.
  compile a fresh process importing the backend and running every kernel once, warm cache.
"""

import argparse
import sys

import harness

DTYPES = ("float32", "float64")
MATMUL_TARGETS = {"float32": 0.9, "float64": 0.8}
CONV_LAYERS = ((1, 16, 28), (16, 32, 14))  # (in channels, out channels, image side)


# ---- matmul -------------------------------------------------------------------------------------
def matmul_cases(args):
    """[(label, n, k, m, layout, has target)]: layout "a@b" (both C-contiguous), "a@b.T" (b
    the transposed view of an (m, k) array) or "a.T@b" (a the view of a (k, n) one)."""
    if args.smoke:
        return [("square", 64, 64, 64, "a@b", False), ("MLP x@W.T", 32, 784, 200, "a@b.T", True)]
    squares = (512, 1024) if args.quick else (128, 512, 1024, 2048)
    batches = (32,) if args.quick else (32, 64, 128, 256)
    return ([("square", s, s, s, "a@b", s >= 512) for s in squares]
            + [("MLP x@W.T", b, 784, 200, "a@b.T", b == 32) for b in batches]
            + [("LM x@W.T", 400, 200, 10000, "a@b.T", True),
               ("LM gy@W", 400, 10000, 200, "a@b", True),
               ("LM gy.T@x", 10000, 400, 200, "a.T@b", True)])


def matmul_key(dtype, label, n, k, m):
    return f"{dtype} {label} {n}x{k}x{m}"


def matmul_worker(args, matmul):
    """{case: median seconds of matmul(a, b)} over every case and dtype; enough calls for
    about 20 GFLOP per figure, at least --repeat."""
    import numpy as np

    rng = np.random.default_rng(0)
    figures = {}
    for dtype in DTYPES:
        for label, n, k, m, layout, _ in matmul_cases(args):
            a = rng.standard_normal((k, n) if layout == "a.T@b" else (n, k)).astype(dtype)
            b = rng.standard_normal((m, k) if layout == "a@b.T" else (k, m)).astype(dtype)
            a, b = (a.T if layout == "a.T@b" else a), (b.T if layout == "a@b.T" else b)
            repeat = max(args.repeat, min(10 * args.repeat, int(2e10 / (2 * n * k * m))))
            figures[matmul_key(dtype, label, n, k, m)] = harness.median_seconds(
                lambda: matmul(a, b), repeat, args.cpu_time)  # noqa: B023 (called here)
    return figures


def matmul_ours(args):
    from minitorch7.backends import numba_cpu

    return matmul_worker(args, numba_cpu.matmul)


def matmul_blas(args):
    import numpy as np

    return matmul_worker(args, np.matmul)


def matmul_table(args, argv):
    harness.print_heading("matmul: ours = minitorch7 numba_cpu.matmul, BLAS = numpy.matmul; "
                          "GFLOP/s = 2 n k m / time; ours/BLAS in throughput", args)
    medians, ratios = harness.alternate(__file__, ["matmul-ours", "matmul-blas"], argv,
                                        args.threads, args.rounds)
    print(f"{'case':>10} {'dtype':>8} {'n x k x m':>16} {'ours GF/s':>10} {'BLAS GF/s':>10} "
          f"{'ours/BLAS':>9} {'target':>9}")
    for dtype in DTYPES:
        for label, n, k, m, _, has_target in matmul_cases(args):
            key = matmul_key(dtype, label, n, k, m)
            gflop, share = 2 * n * k * m / 1e9, 1 / ratios[key]
            target = MATMUL_TARGETS[dtype]
            mark = harness.verdict(share >= target, f">={target:.0%}") if has_target else "-"
            print(f"{label:>10} {dtype:>8} {f'{n}x{k}x{m}':>16} "
                  f"{gflop / medians['matmul-ours'][key]:10.1f} "
                  f"{gflop / medians['matmul-blas'][key]:10.1f} {share:9.0%} {mark:>9}")


# ---- conv2d -------------------------------------------------------------------------------------
def conv_cases(args):
    batches = (4,) if args.smoke else (32,) if args.quick else (32, 128)
    return [(c, o, h, bsz) for c, o, h in CONV_LAYERS for bsz in batches]


def conv_key(c, o, h, bsz):
    return f"{c}->{o} ch on {h}x{h}, batch {bsz}"


def conv_inputs(c, o, h, bsz):
    import numpy as np

    rng = np.random.default_rng(0)
    return (rng.standard_normal((bsz, c, h, h)).astype(np.float32),
            rng.standard_normal((o, c, 5, 5)).astype(np.float32),
            rng.standard_normal(o).astype(np.float32))


def conv_backend_worker(args, mod):
    """{layer: median seconds of forward + both backwards} through a backend module."""
    def step(x, w, b):
        y = mod.conv2d_forward(x, w, b, (1, 1), (2, 2))
        mod.conv2d_backward_input(y, w, x.shape, (1, 1), (2, 2))
        mod.conv2d_backward_weight(y, x, w.shape, (1, 1), (2, 2))

    figures = {}
    for case in conv_cases(args):
        inputs = conv_inputs(*case)
        figures[conv_key(*case)] = harness.median_seconds(
            lambda: step(*inputs), args.repeat, args.cpu_time)  # noqa: B023 (called here)
    return figures


def conv_ours(args):
    from minitorch7.backends import numba_cpu

    return conv_backend_worker(args, numba_cpu)


def conv_numpy_ref(args):
    from minitorch7.backends import numpy_ref

    return conv_backend_worker(args, numpy_ref)


def conv_torch(args):
    import torch

    torch.set_num_threads(args.threads)
    figures = {}
    for case in conv_cases(args):
        x, w, b = (torch.tensor(v, requires_grad=True) for v in conv_inputs(*case))

        def step():
            y = torch.nn.functional.conv2d(x, w, b, padding=2)  # noqa: B023 (called here)
            torch.autograd.grad(y, (x, w, b), y.detach())  # noqa: B023

        figures[conv_key(*case)] = harness.median_seconds(step, args.repeat, args.cpu_time)
    return figures


def conv_table(args, argv):
    reference = "conv-torch" if harness.torch_installed() else "conv-numpy_ref"
    name = reference.split("-")[1]
    harness.print_heading(f"conv2d 5x5 pad 2, float32: forward + backward input + backward "
                          f"weight; ours = numba_cpu, reference = {name}", args)
    medians, ratios = harness.alternate(__file__, ["conv-ours", reference], argv, args.threads,
                                        args.rounds)
    print(f"{'layer':>30} {'ours ms':>9} {f'{name} ms':>10} {'ours/ref':>8} {'target':>9}")
    for case in conv_cases(args):
        key, target = conv_key(*case), 1.0 if case[0] == 1 else 1.5
        ratio = ratios[key]
        print(f"{key:>30} {medians['conv-ours'][key] * 1e3:9.2f} "
              f"{medians[reference][key] * 1e3:10.2f} {ratio:7.2f}x "
              f"{harness.verdict(ratio < target, f'<{target:.1f}x'):>9}")


# ---- warm start ---------------------------------------------------------------------------------
def run_every_kernel_once():
    """Call every numba_cpu primitive once, on tiny float32 and float64 inputs."""
    import numpy as np

    from minitorch7.backends import numba_cpu as k

    for dtype in (np.float32, np.float64):
        x, w = np.ones((2, 3, 6, 6), dtype), np.ones((4, 3, 3, 3), dtype)
        k.matmul(x[0, 0], x[0, 0].T)
        k.matmul(x, x)
        square = np.ones((200, 200), dtype)  # large enough for the parallel gemm
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


def compile_worker(args):
    """Seconds to import numba_cpu and run every kernel once, in this fresh process."""
    clock = harness.timer(args.cpu_time)
    start = clock()
    run_every_kernel_once()
    return {"start": clock() - start}


def compile_table(args, argv):
    harness.print_heading("warm-cache start: import + every kernel once in a new process "
                          "(one call per worker, no reference)", args)
    harness.measure(__file__, "compile", argv, args.threads)  # fills the cache if cold
    medians, _ = harness.alternate(__file__, ["compile"], argv, args.threads, args.rounds)
    seconds = medians["compile"]["start"]
    print(f"{seconds:.2f} s (target < 1 s) {'ok' if seconds < 1 else 'MISS'}")


WORKERS = {"matmul-ours": matmul_ours, "matmul-blas": matmul_blas, "conv-ours": conv_ours,
           "conv-torch": conv_torch, "conv-numpy_ref": conv_numpy_ref,
           "compile": compile_worker}
TABLES = {"matmul": matmul_table, "conv": conv_table, "compile": compile_table}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_options(parser, repeat=5)
    parser.add_argument("--quick", action="store_true", help="fewer sizes, at most 3 rounds")
    parser.add_argument("--only", choices=TABLES, action="append",
                        help="run only these tables (repeatable)")
    args = harness.parse(parser, argv)
    if args.worker:
        return harness.report(WORKERS[args.worker](args))
    if args.quick:
        args.rounds = min(args.rounds, 3)
    for table in args.only or TABLES:
        TABLES[table](args, argv)


if __name__ == "__main__":
    main()
