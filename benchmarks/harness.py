"""What the benchmarks share: the machine a table was measured on, and each side of a
comparison timed in its own process.

Why a process per side: after a call, a library's threads keep spinning on the cores for a
while (OpenBLAS's, PyTorch's OpenMP pool), and Numba's pool needs the same cores; timed in
one process, each side slows the other (PyTorch's MLP step took 7.8 ms after our steps and
0.88 ms alone). So a figure is made in three layers:

  worker     ``python benchmarks/x.py --worker SIDE ...`` builds one side (ours, NumPy's
             BLAS, PyTorch), calls each of its steps ``warmup`` times, then times ``repeat``
             calls and prints {figure: median seconds, ...} as JSON, its last line of output;
  measure    starts one worker, every library in it on the same number of threads
             (NUMBA_NUM_THREADS, OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, and ``--threads``,
             which the PyTorch workers pass to torch.set_num_threads), and reads that line;
  alternate  runs the sides' workers in turn, round after round (ours, reference, ours,
             reference, ...), so that load on the machine hits both alike, and keeps per
             figure the median over rounds of each side, and of the ratio ours / reference.

The tables print ``machine_banner()`` above them: machines differ between sessions, and a
ratio means little without the CPU, its vector features, caches and libraries.

A script run as ``python benchmarks/x.py`` has its folder first on sys.path: the
benchmarks ``import harness`` as a plain module.
"""

import argparse
import cProfile
import ctypes
import importlib
import importlib.util
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from functools import cache
from importlib import metadata

# The features a kernel's speed depends on, in the spelling of LLVM's feature names.
FEATURES = ("sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512vnni",
            "avx512bf16", "amx-tile", "neon", "sve")
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                    "MKL_NUM_THREADS")


# ---- the machine ------------------------------------------------------------------------------
def usable_cores():
    """The cores this process may run on (its affinity), else all of them."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cpu_features():
    """The host's features among FEATURES, as LLVM (so Numba) sees them."""
    from minitorch7.backends.cpu_target import host_features

    enabled = host_features()
    return [f for f in FEATURES if f in enabled]


def minitorch7_kernels():
    """The CPU backend minitorch7 runs on, and the variant and cache sizes its fast
    kernels are compiled and blocked for (minitorch7.backends.cpu_target)."""
    from minitorch7.backends import cpu_target, get_cpu_backend

    backend = get_cpu_backend().__name__.rsplit(".", 1)[-1]
    l1, l2 = cpu_target.cache_sizes()
    return (f"minitorch7 {backend} ({cpu_target.variant()} kernels)",
            f"L1d {l1 >> 10} KiB, L2 {l2 >> 10} KiB per core")


def numba_threading_layer():
    """The threading layer Numba will load, found without starting its threads
    (numba.threading_layer() answers only after a parallel launch): the one named by
    NUMBA_THREADING_LAYER, else the first of its priority list that imports."""
    from numba.core import config

    pools = {"tbb": "tbbpool", "omp": "omppool", "workqueue": "workqueue"}
    named = str(config.THREADING_LAYER).lower()
    for layer in [named] if named in pools else config.THREADING_LAYER_PRIORITY:
        try:
            importlib.import_module(f"numba.np.ufunc.{pools[layer]}")
            return layer
        except ImportError:
            continue
    return "none loadable"


def numpy_blas():
    """NumPy's BLAS: its name and version and, for OpenBLAS, the kernels it picked for this
    CPU at load (a DYNAMIC_ARCH build chooses them at run time; OPENBLAS_CORETYPE forces)."""
    import numpy

    try:
        blas = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except (TypeError, KeyError):  # NumPy < 1.26
        return f"NumPy {numpy.__version__}"
    core = openblas_core()
    return (f"NumPy {numpy.__version__} on {blas.get('name', '?')} {blas.get('version', '')}"
            + (f" ({core} kernels)" if core else ""))


def openblas_core():
    """The name of the kernels OpenBLAS runs here ("Haswell", "Zen", "SkylakeX", ...),
    asked of the library NumPy loaded (Linux only; None elsewhere or for another BLAS)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in paths:
        try:
            library = ctypes.CDLL(path)  # the copy already loaded: no second initialisation
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", ""):
                function = getattr(library, f"{prefix}openblas_get_corename{suffix}", None)
                if function is not None:
                    function.restype = ctypes.c_char_p
                    return function().decode()
    return None


def version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@cache
def machine_banner(threads=None):
    """Two lines for the top of a table: the CPU (name, cores, caches, features) and the
    software each side runs (minitorch7's kernel variant, Numba, NumPy's BLAS, PyTorch),
    with the ``threads`` every library of each side gets (if given)."""
    from minitorch7.backends.cpu_target import cpu_model

    kernels, caches = minitorch7_kernels()
    torch = version("torch")
    return (f"CPU: {cpu_model()} ({platform.machine()}); {usable_cores()} of "
            f"{os.cpu_count()} cores usable; {caches}; {' '.join(cpu_features()) or 'n/a'}\n"
            f"{f'{threads} threads each side; ' if threads else ''}{kernels}; "
            f"Numba {version('numba')} ({numba_threading_layer()}); {numpy_blas()}; "
            f"{f'PyTorch {torch}' if torch else 'no PyTorch'}")


def torch_installed():
    return importlib.util.find_spec("torch") is not None


# ---- options and tables -------------------------------------------------------------------------
def add_options(parser, repeat, rounds=5):
    """The options every comparing benchmark has; ``--worker`` is for measure alone."""
    parser.add_argument("--threads", type=int, default=usable_cores(),
                        help="threads of every library, each side (default: usable cores)")
    parser.add_argument("--repeat", type=int, default=repeat,
                        help="timed calls per figure in a worker (their median is kept)")
    parser.add_argument("--rounds", type=int, default=rounds,
                        help="workers per side, alternating (the median over them is kept)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the process CPU clock, not the wall clock (steadier "
                             "on a busy machine; use it with --threads 1)")
    parser.add_argument("--smoke", action="store_true",
                        help="one round of one call, tiny sizes: checks that the script "
                             "runs, measures nothing")
    parser.add_argument("--worker", help=argparse.SUPPRESS)


def parse(parser, argv):
    args = parser.parse_args(argv)
    if args.smoke:
        args.rounds = args.repeat = 1
    return args


def print_heading(title, args):
    """The banner, the table's title and how its figures are made (printed before they are
    measured: a table takes a while)."""
    clock = "CPU time" if args.cpu_time else "wall time"
    print(f"\n{machine_banner(args.threads)}\n{title}\n  {clock}; {args.rounds} rounds, each "
          f"a fresh process per side (ours first); a figure is the median over rounds of a "
          f"worker's median of {args.repeat} calls after warm-up; a ratio, the median over "
          f"rounds of ours / reference", flush=True)


def verdict(ok, target):
    return f"{target} {'ok' if ok else 'MISS'}"


# ---- the worker side ----------------------------------------------------------------------------
def timer(cpu_time):
    """The process's CPU clock (all its threads) or the wall clock."""
    return time.process_time if cpu_time else time.perf_counter


def median_seconds(step, repeat, cpu_time=False, warmup=1):
    """Median seconds of ``repeat`` calls step(), after ``warmup`` untimed calls (JIT
    compilation, the allocator's first pages)."""
    clock = timer(cpu_time)
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeat):
        start = clock()
        step()
        times.append(clock() - start)
    return statistics.median(times)


def report(figures):
    """A worker's answer: {name: number}, as JSON on the last line of its output."""
    print(json.dumps(figures), flush=True)


def profile(steps, repeat):
    """Print cProfile's top functions, by own time, of ``repeat`` calls of each of {name:
    step}; returns no figures (a worker's answer)."""
    for name, step in steps.items():
        step()
        profiler = cProfile.Profile()
        profiler.runcall(lambda: [step() for _ in range(repeat)])  # noqa: B023 (called here)
        print(f"\n--- {name}: our step, {repeat} calls")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)
    return {}


# ---- the parent side ----------------------------------------------------------------------------
def measure(script, side, argv, threads):
    """Run ``python script --worker side --threads threads *argv`` in a fresh process, every
    library in it on ``threads`` threads; return its figures (the JSON of its last line of
    output; the lines before it, a profile, are printed through)."""
    env = dict(os.environ, **{name: str(threads) for name in THREAD_VARIABLES})
    command = [sys.executable, script, "--worker", side, "--threads", str(threads), *argv]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[1:])} failed (exit {done.returncode}); its "
                           "error is printed above")
    *lines, last = done.stdout.splitlines() or [""]
    if lines:
        print("\n".join(lines))
    return json.loads(last)


def alternate(script, sides, argv, threads, rounds):
    """Each side's worker in turn, ``rounds`` times -> (medians, ratios): medians[side]
    [figure] is the median over rounds of that side's figure; with two sides, ratios[figure]
    is the median over rounds of sides[0]'s / sides[1]'s (figures both report)."""
    runs = {side: [] for side in sides}
    for _ in range(rounds):
        for side in sides:
            runs[side].append(measure(script, side, argv, threads))
    medians = {side: {name: statistics.median(run[name] for run in results)
                      for name in results[0]} for side, results in runs.items()}
    ratios = {}
    if len(sides) == 2:
        ours, reference = runs.values()
        ratios = {name: statistics.median(a[name] / b[name] for a, b in zip(ours, reference))
                  for name in ours[0] if name in reference[0]}
    return medians, ratios
