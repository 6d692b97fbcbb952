"""Every backend provides the interface written down in minitorch7/backends/interface.py, and
the default CPU backend follows the learner-copy mark."""

import importlib
import inspect
import types
from pathlib import Path

import pytest

from minitorch7 import backends
from minitorch7.backends import interface, numba_cpu, numba_teach, numpy_ref


@pytest.mark.parametrize("name, tier", [("numpy_ref", "reference"), ("numba_cpu", "fast"),
                                        ("numba_teach", "teaching")])
def test_every_cpu_backend_provides_the_interface(name, tier):
    assert name in backends.CPU_BACKENDS
    module = importlib.import_module(f"minitorch7.backends.{name}")
    assert interface.check(module) == []
    assert interface.missing(module) == []
    assert module.TIER == tier


def test_the_cuda_kernel_module_provides_the_interface():
    """Whatever module serves CUDA arrays (run in the simulator without a GPU)."""
    pytest.importorskip("numba.cuda")
    module = backends.cuda_backend()
    assert interface.check(module) == []


def test_the_interface_is_numpy_ref_s_public_functions():
    """The reference defines exactly the primitives: none is missing from the list."""
    public = {name for name, value in vars(numpy_ref).items()
              if inspect.isfunction(value) and value.__module__ == numpy_ref.__name__
              and not name.startswith("_")}
    assert public == set(interface.BY_NAME)
    for primitive in interface.PRIMITIVES:
        assert primitive.signature.startswith(primitive.name + "(") and primitive.doc


def test_check_names_every_difference():
    def matmul(a, b):
        pass

    def log_softmax(x, axis=-1):  # an extra parameter with a default is fine
        pass

    def log_softmax_backward(gy, y):  # swapped
        pass

    def conv2d_forward(x, w, b, stride, padding, groups):  # an extra required parameter
        pass

    fake = types.ModuleType("fake")
    fake.matmul, fake.log_softmax = matmul, log_softmax
    fake.log_softmax_backward, fake.conv2d_forward = log_softmax_backward, conv2d_forward
    fake.right_multiplier = 3
    fake.TIER = "quick"
    problems = interface.check(fake)
    text = "\n".join(problems)
    assert "fake: no maxpool2d_forward" in text and "fake: no TIER" not in text
    assert "fake.right_multiplier is not callable" in text
    assert "expected log_softmax_backward(y, gy), got log_softmax_backward(gy, y)" in text
    assert "expected conv2d_forward(x, w, b, stride, padding)" in text
    assert "fake.TIER is 'quick'" in text
    assert not any(p.startswith(("fake.matmul", "fake.log_softmax:")) for p in problems)
    assert interface.missing(fake)[:2] == ["conv2d_backward_input", "conv2d_backward_weight"]
    del fake.TIER
    assert interface.missing(fake)[-1] == "TIER"


def test_the_learner_copy_mark_chooses_the_default_cpu_backend(monkeypatch, tmp_path):
    mark = tmp_path / "LEARNER_COPY"
    monkeypatch.setattr(backends, "LEARNER_COPY_MARK", str(mark))
    monkeypatch.setattr(backends, "_cpu", None)
    monkeypatch.delenv("MINITORCH7_BACKEND", raising=False)
    assert not backends.is_learner_copy()
    assert backends.default_cpu_backend() == "numba_cpu"
    assert backends.get_cpu_backend() is numba_cpu
    mark.write_text("")
    monkeypatch.setattr(backends, "_cpu", None)
    assert backends.is_learner_copy()
    assert backends.default_cpu_backend() == "numba_teach"
    assert backends.get_cpu_backend() is numba_teach
    monkeypatch.setattr(backends, "_cpu", None)
    monkeypatch.setenv("MINITORCH7_BACKEND", "numpy_ref")  # the variable still overrides
    assert backends.get_cpu_backend() is numpy_ref


def test_the_mark_is_the_package_s_file():
    import minitorch7

    mark = Path(backends.LEARNER_COPY_MARK)
    assert mark.name == "LEARNER_COPY"
    assert mark.parent.resolve() == Path(minitorch7.__file__).resolve().parent
