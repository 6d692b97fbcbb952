"""Fixtures for the missing-pieces tests: a tiny synthetic project ("toypkg") with two
marked tasks and their tests, what ``learn make`` and ``learn check`` see in miniature; and
the ``learn_holes`` marker of the real-package hole proof."""

import textwrap
from pathlib import Path

import pytest

from minitorch7.learn.make import scan
from minitorch7.learn.tasks import Task

TOY_TASKS = (
    Task("7.1", "add", 'add the "two" numbers', "toy"),
    Task("7.2", "mul", "multiply them", "toy"),
    Task("7.3", "div", "a task without a region", "toy"),
)

TOY_FILES = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        markers = ["task_7_1: add", "task_7_2: mul", "task_7_3: div"]
        """,
    "README.md": "A toy project.\n",
    "docs/index.md": "# Toy\n",
    "toypkg/__init__.py": """
        from .ops import add, mul, square
        """,
    "toypkg/ops.py": '''
        """Toy ops, each a task."""


        def add(a, b):
            """Sum of a and b."""
            # BEGIN TASK 7.1
            result = a + b
            return result
            # END TASK 7.1


        def mul(a, b):
            """Product of a and b."""
            if a == 0:
                return 0
            # BEGIN TASK 7.2
            return a * b
            # END TASK 7.2


        def square(a):
            """a squared, through mul."""
            return mul(a, a)
        ''',
    "tests/test_toy.py": '''
        import pytest

        from toypkg import add, mul, square


        @pytest.mark.task_7_1
        def test_add():
            assert add(2, 3) == 5


        @pytest.mark.task_7_2
        def test_mul():
            assert mul(2, 3) == 6


        @pytest.mark.task_7_2
        def test_mul_gradient():
            numerical = (mul(3.0 + 1e-6, 2.0) - mul(3.0 - 1e-6, 2.0)) / 2e-6
            if abs(numerical - 2.0) > 1e-4:
                raise AssertionError(
                    f"gradcheck: Jacobian mismatch for input 0, input element (0,): "
                    f"numerical {numerical:.6g}, analytical 2\\nsecond line")


        @pytest.mark.task_7_1
        @pytest.mark.task_7_2
        def test_add_then_square():
            assert square(add(1, 2)) == 9


        def test_unmarked():
            assert True
        ''',
}


def write_tree(root, files):
    """Write ``files`` (relative path -> dedented text) under ``root``."""
    for rel, text in files.items():
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return Path(root)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "learn_holes: proves every task's hole on learner copies of the real "
                   "package (slow: one pytest run per task and copy)")


@pytest.fixture
def toy_tasks():
    """The toy registry: 7.1 add and 7.2 mul have regions, 7.3 div has none."""
    return TOY_TASKS


@pytest.fixture
def write_files():
    """``write_files(root, {relative path: text})`` writes dedented files under root."""
    return write_tree


@pytest.fixture
def toy_root(tmp_path):
    """A fresh toy project: toypkg with tasks 7.1 and 7.2, their tests, docs."""
    return write_tree(tmp_path / "toy", TOY_FILES)


@pytest.fixture
def toy_source(toy_root):
    """The toy project's regions, as ``make.scan`` finds them."""
    return scan(toy_root, TOY_TASKS, package="toypkg")
