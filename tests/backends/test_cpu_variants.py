"""Every variant of the fast kernels this machine can run, forced, against the reference.

The gemm's register tile is compiled for the CPU Numba targets (cpu_target). On this
machine the native variant is what every other test runs; here each narrower one (AVX2 on
an AVX-512 machine, and the generic 16-byte path that non-x86 CPUs take) is forced in a
fresh Python through Numba's NUMBA_CPU_NAME / NUMBA_CPU_FEATURES, its machine code is
checked to hold no wider vectors than the variant allows, and the fast-tier kernel tests
(test_cpu_kernels.py) run against numpy_ref under it.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from minitorch7.backends import cpu_target

HERE = Path(__file__).parent
NATIVE = cpu_target.variant(cpu_target.host_features())
FORCED = [name for name in cpu_target.host_variants() if name != NATIVE]

PROBE = """
import numpy as np
from minitorch7.backends import _numba_gemm as g, cpu_target, numba_cpu
a = np.ones((70, 50), np.float32)
assert (numba_cpu.matmul(a, a.T) == 50).all()
asm = "".join(g._gemm_packed.inspect_asm().values())
print(cpu_target.variant(), g.VEC_BYTES, *(r for r in ("zmm", "ymm") if r in asm))
"""


def _run(args, name):
    env = {**os.environ, **cpu_target.variant_environment(name)}
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          timeout=1200, cwd=HERE.parent.parent)


def test_the_native_variant_follows_the_cpu():
    vec_bytes, mr, nv = cpu_target.tile_geometry(cpu_target.host_features())
    assert vec_bytes == cpu_target.VECTOR_BYTES[NATIVE]
    assert mr * nv + nv + 1 <= cpu_target.vector_registers(NATIVE)  # accumulators, B row, A
    assert cpu_target.variant({"avx", "avx2", "fma"}) == "avx2"
    assert cpu_target.variant(set()) == "generic"
    assert "avx512f" not in cpu_target._enabled("+avx2,-avx512f")  # disabled is not had


def test_blocking_fits_the_caches():
    l1, l2 = cpu_target.cache_sizes()
    for itemsize, nr in ((4, 32), (8, 16)):
        kb, nc = cpu_target.blocking(itemsize, 8, nr)
        assert kb * 8 * itemsize <= l1 // 2 or kb == 64
        assert kb * nc * itemsize <= l2 // 2 or nc == nr
        assert nc % nr == 0 and kb <= 512


def test_cpu_model_is_the_name_the_system_gives():
    name = cpu_target.cpu_model()
    assert name and name == name.strip()
    if os.path.exists("/proc/cpuinfo"):
        names = re.findall(r"^model name\s*:\s*(.*)$", Path("/proc/cpuinfo").read_text(), re.M)
        if names:
            assert name == names[0].strip()


@pytest.mark.skipif(not FORCED, reason=f"this CPU ({NATIVE}) runs no narrower variant")
@pytest.mark.parametrize("name", FORCED)
def test_forced_variant_compiles_narrow_code(name):
    probe = _run(["-c", PROBE], name)
    assert probe.returncode == 0, probe.stderr[-3000:]
    variant, vec_bytes, *wide = probe.stdout.split()
    assert (variant, int(vec_bytes)) == (name, cpu_target.VECTOR_BYTES[name])
    wider = {"avx512": [], "avx2": ["zmm"], "generic": ["zmm", "ymm"]}[name]
    assert not set(wide) & set(wider), f"{name} code uses {wide} registers"


@pytest.mark.skipif(not FORCED, reason=f"this CPU ({NATIVE}) runs no narrower variant")
@pytest.mark.parametrize("name", FORCED)
def test_forced_variant_passes_the_fast_kernel_tests(name):
    run = _run(["-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                str(HERE / "test_cpu_kernels.py"), "-k", "not warm_cache"], name)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
