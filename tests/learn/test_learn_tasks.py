"""The task registry and the shape of the curriculum: the lab's chapter order, holes that
are whole functions of a learner's size on the teaching tier only, a test for every task,
and docs/learn.md's table of them."""

import ast
import re
import statistics
from pathlib import Path

import pytest

from minitorch7.learn.check import task_test_files
from minitorch7.learn.make import scan
from minitorch7.learn.tasks import CHAPTERS, TASKS, get, task_key, tasks_from

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
FAST_TIER = ("minitorch7/backends/numba_cpu.py", "minitorch7/backends/_numba_gemm.py",
             "minitorch7/backends/numba_cuda.py", "minitorch7/backends/numpy_ref.py",
             "minitorch7/ops/recurrent_layers.py")


@pytest.fixture(scope="module")
def source():
    return scan(ROOT)


def _code_lines(lines):
    """The lines that count as solution: neither blank nor a comment."""
    return [line for line in lines if line.strip() and not line.strip().startswith("#")]


def solution_lines(source):
    """{task id: number of solution lines over all its regions}."""
    counts = dict.fromkeys((t.id for t in TASKS), 0)
    for text, regions in source.files.values():
        lines = text.split("\n")
        for region in regions:
            counts[region.task] += len(_code_lines(lines[region.begin:region.end - 1]))
    return counts


def test_the_registry_is_the_labs_chapters_in_order():
    assert len(TASKS) >= 25
    keys = [t.key for t in TASKS]
    assert keys == sorted(set(keys))
    assert CHAPTERS == ("tensors", "autograd", "logistic_regression", "mlp", "cnn", "rnn")
    assert [t.chapter for t in TASKS] == sorted((t.chapter for t in TASKS), key=CHAPTERS.index)
    for task in TASKS:
        assert CHAPTERS[task.key[0] - 1] == task.chapter, task
        assert task.title and task.hint and "\n" not in task.hint + task.title
        assert (DOCS / f"{task.chapter}.md").is_file(), task


def test_every_task_has_a_region_of_a_learners_size(source):
    """At least 5 solution lines per task, a median of at least 10."""
    counts = solution_lines(source)
    small = {task: n for task, n in counts.items() if n < 5}
    assert not small, f"tasks with fewer than 5 solution lines: {small}"
    assert statistics.median(counts.values()) >= 10, counts


def test_every_hole_is_a_whole_function_body(source):
    """A region starts right after the function's docstring (or its signature) and ends with
    the function's last statement: the learner writes the whole body."""
    for rel, (text, regions) in source.files.items():
        functions = [node for node in ast.walk(ast.parse(text))
                     if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
        for region in regions:
            inside = [f for f in functions if f.lineno < region.begin <= f.end_lineno]
            function = max(inside, key=lambda f: f.lineno)  # the innermost
            body = function.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring stays: it is the contract
            where = f"{rel}:{region.begin} ({function.name})"
            assert body[0].lineno == region.begin + 1, f"{where}: code before the region"
            assert body[-1].end_lineno == region.end - 1, f"{where}: code after the region"
            assert ast.get_docstring(function), f"{where}: the hole has no contract"


def test_the_fast_tier_and_the_oracle_hold_no_task(source):
    assert not set(FAST_TIER) & set(source.files)
    for rel, (text, _) in source.files.items():
        assert "@intrinsic" not in text and "llvmlite" not in text, rel


def test_every_task_has_marked_tests():
    missing = [t.id for t in TASKS if not task_test_files(ROOT, t)]
    assert not missing, f"tasks without a test marked with them: {missing}"


def test_ids_markers_and_lookups():
    assert task_key("1.10") > task_key("1.9")
    assert get("3.3").marker == "task_" + "3_3"  # (not the literal: it would look marked)
    assert [t.id for t in tasks_from("6.4")] == ["6.4", "6.5", "6.6"]
    with pytest.raises(KeyError, match="no task 9.1"):
        get("9.1")
    with pytest.raises(ValueError, match="not of the form x.y"):
        get("3")


def test_docs_learn_md_lists_every_task_with_its_chapter():
    rows = re.findall(r"^\| (\d+\.\d+) \| (.+?) \| \[(\w+)\]\((\w+)\.md\) \|$",
                      (DOCS / "learn.md").read_text(), re.M)
    assert [(t.id, t.title, t.chapter, t.chapter) for t in TASKS] == rows
