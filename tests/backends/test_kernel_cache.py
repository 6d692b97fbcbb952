"""The Numba kernel cache across processes: no crash in any order of first calls.

A cached jitted function that called a parallel one was cached without the note that
launches Numba's threading layer when the callee had come from the cache, and a later
process that loaded it first jumped to address 0 (see _numba_gemm's docstring). Here
fresh processes share one fresh NUMBA_CACHE_DIR, so that each finds what the earlier ones
compiled: the first caches only the packing kernel, the second compiles the products over
it, and the rest start with each kernel in turn, loading what the others wrote.
"""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from numba.core.caching import NullCache
from numba.core.dispatcher import Dispatcher

from minitorch7.backends import _numba_gemm, numba_cpu

ROOT = Path(__file__).resolve().parents[2]

# One process runs its kernels in this order, each on float32 and float64, on C-contiguous
# and transposed operands, and checks them against NumPy (numpy_ref for the convolution).
CHILD = r"""
import sys
import numpy as np
from minitorch7.backends import _numba_gemm as g, numba_cpu as k, numpy_ref

def panels(x, width, kb):  # _pack's panels, by NumPy
    rows, cols = -(-x.shape[0] // kb) * kb, -(-x.shape[1] // width) * width
    p = np.zeros((rows, cols), x.dtype)
    p[:x.shape[0], :x.shape[1]] = x
    return p.reshape(rows // kb, kb, cols // width, width).transpose(0, 2, 1, 3)

def close(got, want):
    tol = 1e-4 if got.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())

def run(name, dtype, rng):
    w = rng.standard_normal((200, 50)).astype(dtype)  # the issue's w
    a = rng.standard_normal((24, 200)).astype(dtype)
    for b in (w, w.T.copy().T):  # C-contiguous and transposed (F) operands
        if name == "pack":
            assert np.array_equal(g._pack(b.T, 32, 50), panels(b.T, 32, 50))
            assert np.array_equal(g._pack(b, 8, 200), panels(b, 8, 200))
        elif name == "pack_right":
            width = g.NV * g.VEC_BYTES // b.itemsize
            assert np.array_equal(g.pack_right(b.T), panels(b.T, width, 50))
        elif name == "gemm":
            close(g.gemm(a, b, 2), a @ b)
            close(k.matmul(a, b), a @ b)
        elif name == "right_multiplier":
            close(k.right_multiplier(b)(a), a @ b)
        elif name == "conv":  # its weights go through _pack, transposed
            x = rng.standard_normal((2, 3, 9, 9)).astype(dtype)
            wc = b.reshape(-1)[:216].reshape(8, 3, 3, 3)
            close(k.conv2d_forward(x, wc, None, 1, 1),
                  numpy_ref.conv2d_forward(x, wc, None, 1, 1))

rng = np.random.default_rng(0)
for name in sys.argv[1:]:
    for dtype in (np.float32, np.float64):
        run(name, dtype, rng)
print("ok")
"""

ALL = ("pack", "pack_right", "gemm", "right_multiplier", "conv")
ORDERS = [
    ("pack",),  # the cache holds the parallel packing kernel only
    ("pack_right", "gemm"),  # the products compiled over it, partly loaded
    *[(first,) + tuple(n for n in ALL if n != first) for first in ALL],  # each kernel first
]


def test_fresh_processes_in_every_order_of_first_calls(tmp_path):
    """Each process must exit 0 (a crash is -11, SIGSEGV) and match NumPy."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for order in ORDERS:
        out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", CHILD, *order],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0 and out.stdout.strip() == "ok", (
            f"order {order}: exit code {out.returncode}\n{out.stderr[-3000:]}")


def _jitted_callees(function, seen):
    """The Numba dispatchers that the Python source of `function` names, and theirs in turn
    (inline helpers included): the functions whose code its compiled code contains."""
    code_objects, names = [function.__code__], set()
    while code_objects:
        code = code_objects.pop()
        names.update(code.co_names)
        code_objects += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    for name in names:
        callee = function.__globals__.get(name)
        if isinstance(callee, Dispatcher) and callee not in seen:
            seen.add(callee)
            _jitted_callees(callee.py_func, seen)
    return seen


@pytest.mark.parametrize("module", [_numba_gemm, numba_cpu])
def test_no_cached_serial_function_calls_a_parallel_one(module):
    """The rule that keeps every cache entry complete: a cached jitted function either is
    parallel itself (its own compile notes the threading layer) or reaches no parallel
    function. Parallel kernels are called from Python."""
    inlined = _jitted_callees(_numba_gemm._gemm_packed.py_func, set())
    assert {_numba_gemm._panels, _numba_gemm.tile_into} <= inlined  # the walk sees helpers
    for name, f in vars(module).items():
        if (isinstance(f, Dispatcher) and not isinstance(f._cache, NullCache)
                and not f.targetoptions.get("parallel")):
            parallel = [c.py_func.__name__ for c in _jitted_callees(f.py_func, set())
                        if c.targetoptions.get("parallel")]
            assert not parallel, f"{module.__name__}.{name} (cached) calls {parallel}"
