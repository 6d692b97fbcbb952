"""Suite-wide pytest setup: the CUDA simulator / gpu marker, and the per-task markers of the
lab's missing pieces.

``pytest -m task_1_2`` runs the tests of one task (``# BEGIN TASK 1.2`` in the code); the
markers are those of ``minitorch7.learn.tasks.TASKS``, the one task list.
Without an NVIDIA GPU the CUDA kernels run in Numba's CUDA simulator: NUMBA_ENABLE_CUDASIM=1
is set here, before anything imports numba (numba reads it once), unless the user set it.
"""

import os
import shutil

import pytest

# The op, nn, lab and docs tests run on the NumPy reference backend: tests/backends checks
# every Numba kernel against it (and one training step end to end), while compiling each
# kernel for every layout and dtype hypothesis draws would add minutes to every run.
os.environ.setdefault("MINITORCH7_BACKEND", "numpy_ref")

HAS_NVIDIA_GPU = os.path.exists("/dev/nvidiactl") or shutil.which("nvidia-smi") is not None
if not HAS_NVIDIA_GPU:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")


def pytest_configure(config):
    """Register ``task_x_y`` for every task of the registry, its title as the description
    (imported here, after the environment above is set: importing the package may import
    numba)."""
    from minitorch7.learn.tasks import TASKS

    for task in TASKS:
        config.addinivalue_line("markers", f"{task.marker}: Task {task.id}: {task.title}")


def pytest_collection_modifyitems(config, items):
    """Skip ``@pytest.mark.gpu`` tests, saying why, unless a real GPU runs the kernels."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") == "0" and HAS_NVIDIA_GPU:
        return
    why = ("no NVIDIA GPU (CUDA kernels are tested in the simulator instead)" if not HAS_NVIDIA_GPU
           else "NUMBA_ENABLE_CUDASIM=1 runs the CUDA kernels in the simulator, not on the GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=why))


def pytest_runtest_setup(item):
    """Skip ``@pytest.mark.data`` tests, saying why, unless ``-m data`` or
    MINITORCH7_DATA_TESTS=1 opts in (they need, and may download, the real datasets)."""
    opted_in = ("data" in (item.config.option.markexpr or "")
                or os.environ.get("MINITORCH7_DATA_TESTS") == "1")
    if item.get_closest_marker("data") is not None and not opted_in:
        pytest.skip("needs the real MNIST / PTB files (may download them): opt in with "
                    "-m data or MINITORCH7_DATA_TESTS=1")
