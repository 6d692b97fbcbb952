"""The CPU the fast kernels are compiled for, and the shapes of work that suit it.

Two kinds of choice, made in two places:

  * Compile time: the register tile of the gemm (`tile_geometry`). Its vector width and its
    number of rows are baked into the machine code, so they follow the features Numba
    compiles for (`compile_features`): the host's, or NUMBA_CPU_NAME / NUMBA_CPU_FEATURES
    when those are set. Numba keys every cache entry on the same CPU name and features, so
    a cached kernel is never loaded with a tile chosen for another CPU.

        AVX-512            64-byte vectors, 32 registers: tiles of 8 rows x 2 vectors
        AVX2 (or AVX)      32-byte vectors, 16 registers: 6 rows x 2 vectors
        anything else      16-byte vectors (SSE2 on x86-64, NEON on ARM): 6 rows x 2
                           vectors with 16 registers, 8 rows with 32 (AArch64)

    A tile of MR x NV accumulators needs MR * NV + NV + 1 registers (the accumulators, one
    row of B, one broadcast number of A): 19 of 32, 15 of 16.

  * Run time: the cache blocking (`blocking`), from the sizes of this machine's caches
    (`cache_sizes`), passed to the kernels as arguments. One A panel (kb x MR) stays in L1
    while a task's B panels (kb x nc) stream from L2, so kb and nc shrink on a CPU with a
    small L1 or L2 (an Intel core's L2 of 512 KB holds half of what an AMD Zen 4's holds).

Force a variant by starting Python with Numba's own variables, e.g. the AVX2 code on an
AVX-512 machine: ``NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES=<VARIANTS["avx2"][1]>``, or the
generic path of non-x86 CPUs with ``NUMBA_CPU_NAME=generic`` (`variant_environment`).
"""

import os
import platform
import subprocess
from functools import cache

from llvmlite.binding import get_host_cpu_features
from numba.core import config

_X86_BASE = "+64bit,+cmov,+cx8,+fxsr,+mmx,+sse,+sse2"
_AVX2 = _X86_BASE + ",+avx,+avx2,+bmi,+bmi2,+cx16,+f16c,+fma,+lzcnt,+movbe,+popcnt,+sse3,+sse4.1," \
    "+sse4.2,+ssse3,+xsave"
VARIANTS = {  # name: (NUMBA_CPU_NAME, NUMBA_CPU_FEATURES)
    "avx512": ("skylake-avx512", _AVX2 + ",+avx512f,+avx512bw,+avx512cd,+avx512dq,+avx512vl"),
    "avx2": ("haswell", _AVX2),
    "generic": ("generic", ""),
}


def _enabled(text):
    """LLVM's feature string "+avx2,-avx512f,..." -> the set of enabled ones {"avx2", ...}."""
    return {f[1:] for f in text.split(",") if f.startswith("+")}


def host_features():
    """The set of features this CPU has (empty where LLVM cannot tell: the generic path)."""
    try:
        return _enabled(get_host_cpu_features().flatten())
    except RuntimeError:
        return set()


def compile_features():
    """The set of features Numba compiles for ({"avx2", "fma", ...}): NUMBA_CPU_FEATURES if
    set, else the host's (what numba.core.codegen does too)."""
    return host_features() if config.CPU_FEATURES is None else _enabled(config.CPU_FEATURES)


def variant(features=None):
    """"avx512", "avx2" or "generic": which tile the kernels are compiled with."""
    features = compile_features() if features is None else features
    if "avx512f" in features:
        return "avx512"
    return "avx2" if "avx" in features else "generic"


VECTOR_BYTES = {"avx512": 64, "avx2": 32, "generic": 16}


def vector_registers(name):
    """How many vector registers a variant's code may use: 32 with AVX-512 or on AArch64,
    16 otherwise."""
    arm = platform.machine().lower() in ("arm64", "aarch64")
    return 32 if name == "avx512" or arm else 16


def tile_geometry(features=None):
    """(vector bytes, MR rows, NV vectors per row) of the gemm's register tile: NV = 2, and
    MR as many rows as the registers hold (8 of 32 registers, 6 of 16)."""
    name = variant(features)
    return VECTOR_BYTES[name], 8 if vector_registers(name) == 32 else 6, 2


def host_variants():
    """The variants this machine can run (its own and every narrower one)."""
    order = list(VARIANTS)
    return order[order.index(variant(host_features())):]


def variant_environment(name):
    """Environment variables that make a fresh Python compile the kernels as `name`."""
    cpu, features = VARIANTS[name]
    return {"NUMBA_CPU_NAME": cpu, "NUMBA_CPU_FEATURES": features}


def cpu_model():
    """The CPU's name: /proc/cpuinfo's "model name", lscpu, macOS's sysctl, or platform's."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    for command, prefix in ((["lscpu"], "Model name:"),
                            (["sysctl", "-n", "machdep.cpu.brand_string"], "")):
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        for line in out.splitlines():
            if line.startswith(prefix) and line[len(prefix):].strip():
                return line[len(prefix):].strip()
    return platform.processor() or platform.machine()


@cache
def cache_sizes():
    """(L1 data, L2) cache bytes of one core: Linux's sysfs, macOS's sysctl, else 32 KB and
    512 KB (small enough for any x86 or ARM core of the last decade)."""
    l1, l2 = 32 << 10, 512 << 10
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(base)):
            with open(f"{base}/{index}/level") as f_level, open(f"{base}/{index}/type") as f_type, \
                    open(f"{base}/{index}/size") as f_size:
                level, kind, size = f_level.read().strip(), f_type.read().strip(), f_size.read()
            size = int(size.strip().rstrip("K")) << 10
            if (level, kind) == ("1", "Data"):
                l1 = size
            elif (level, kind) == ("2", "Unified"):
                l2 = size
    except (OSError, ValueError):
        if platform.system() == "Darwin":
            l1, l2 = (_sysctl(name) or default for name, default in
                      (("hw.l1dcachesize", l1), ("hw.l2cachesize", l2)))
    return l1, l2


def _sysctl(name):
    try:
        return int(subprocess.run(["sysctl", "-n", name], capture_output=True, text=True,
                                  timeout=5).stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def blocking(itemsize, mr, nr, kb_max=512):
    """(kb, nc): rows of a k-block and columns of c per task, for this machine's caches.

    An A panel of kb x MR numbers takes at most half of L1; the B panels a task streams
    (kb x nc numbers) at most half of L2; kb is at most kb_max (the tile's loop gains
    nothing past it), nc a multiple of NR.
    """
    l1, l2 = cache_sizes()
    kb = max(64, min(kb_max, l1 // 2 // (mr * itemsize)))
    nc = max(nr, l2 // 2 // (kb * itemsize) // nr * nr)
    return kb, nc
