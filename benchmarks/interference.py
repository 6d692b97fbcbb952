"""Our kernels right after NumPy's BLAS in one process: how much the other's threads cost.

    python benchmarks/interference.py [--size 1024] [--repeat 15] [--rounds 3]

After a call, OpenBLAS keeps its threads spinning for about 0.1 s; our kernels need the same
cores (minitorch7/backends/thread_pools.py). Each row is one way a program can start, in a
fresh process (a worker):

    numpy first         imports NumPy, then minitorch7: OpenBLAS's threads spin after a call
    minitorch7 first    imports minitorch7 first: OPENBLAS_THREAD_TIMEOUT=4, they sleep at
                        once (minitorch7's command line and tests start this way)
    limit_blas_threads  NumPy first, then minitorch7.limit_blas_threads(): OpenBLAS on one
                        thread

and times, in that process, our n x n float32 product alone and right after a NumPy product
of the same size (a pause of 0.2 s before each pair, so that every pair starts from idle
threads), and NumPy's product alone and right after ours. Target: ours right after NumPy's
at most 1.3x its time alone.
"""

import argparse
import os
import statistics
import sys
import time

import harness

TARGET = 1.3
STARTS = ("numpy first", "minitorch7 first", "limit_blas_threads")


def pair_seconds(before, timed, repeat):
    """Median seconds of timed(), each call right after before() (if any), 0.2 s apart."""
    times = []
    for _ in range(repeat):
        time.sleep(0.2)
        if before:
            before()
        start = time.perf_counter()
        timed()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worker(args):
    start = STARTS[int(args.worker)]
    if start != "minitorch7 first":  # OpenBLAS's defaults, whatever the parent process set
        os.environ.pop("OPENBLAS_THREAD_TIMEOUT", None)
        import numpy  # noqa: F401 (loaded before minitorch7: OpenBLAS reads its variables now)
    import numpy as np

    import minitorch7
    from minitorch7.backends import numba_cpu

    if start == "limit_blas_threads":
        minitorch7.limit_blas_threads(1)
    n = 32 if args.smoke else args.size
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    ours, theirs = (lambda: numba_cpu.matmul(a, a)), (lambda: a @ a)
    ours(), theirs()
    return {"ours alone": pair_seconds(None, ours, args.repeat),
            "ours after NumPy": pair_seconds(theirs, ours, args.repeat),
            "NumPy alone": pair_seconds(None, theirs, args.repeat),
            "NumPy after ours": pair_seconds(ours, theirs, args.repeat)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_options(parser, repeat=15, rounds=3)
    parser.add_argument("--size", type=int, default=1024, help="n of the n x n products")
    args = harness.parse(parser, argv)
    if args.worker:
        return harness.report(worker(args))
    harness.print_heading(f"{args.size} x {args.size} float32 products, ours (minitorch7) and "
                          "NumPy's, in one process; one worker per way of starting", args)
    sides = [str(i) for i in range(len(STARTS))]
    medians, _ = harness.alternate(__file__, sides, argv, args.threads, args.rounds)
    print(f"{'start':>19} {'ours ms':>8} {'after NumPy':>12} {'NumPy ms':>9} "
          f"{'after ours':>11} {'target':>14}")
    for side, start in zip(sides, STARTS):
        m = {name: seconds * 1e3 for name, seconds in medians[side].items()}
        slowdown = m["ours after NumPy"] / m["ours alone"]
        print(f"{start:>19} {m['ours alone']:8.1f} {slowdown:11.2f}x {m['NumPy alone']:9.1f} "
              f"{m['NumPy after ours'] / m['NumPy alone']:10.2f}x "
              f"{harness.verdict(slowdown <= TARGET, f'<={TARGET}x'):>14}")


if __name__ == "__main__":
    main()
