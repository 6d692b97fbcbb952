"""``learn check``, ``list`` and ``show`` on copies of the toy project (see conftest.py)."""

import importlib
import sys

import pytest

from minitorch7.learn.check import (
    NOT_IMPLEMENTED,
    _phase,
    chapter_section,
    describe,
    diagnose,
    format_result,
    format_status,
    hole_report,
    marked_tests,
    marker_expression,
    run_task,
    task_status,
)
from minitorch7.learn.make import make_copy


@pytest.fixture
def copy_of(toy_source, tmp_path):
    """``copy_of(cut)``: a toy learner copy with the tasks in ``cut`` cut."""
    def make(cut, name="copy"):
        make_copy(tmp_path / name, set(cut), toy_source, check_import=False)
        return tmp_path / name
    return make


def _statuses(result):
    return {o.nodeid.split("::")[1]: o.status for o in result.outcomes}


def test_a_test_belongs_to_the_last_task_it_is_marked_with(toy_tasks):
    assert marker_expression(toy_tasks[0], toy_tasks) == "task_7_1 and not (task_7_2 or task_7_3)"
    assert marker_expression(toy_tasks[2], toy_tasks) == "task_7_3"


def test_a_complete_copy_passes(copy_of, toy_tasks):
    root = copy_of([])
    result = run_task("7.2", root, toy_tasks, package="toypkg")
    assert _statuses(result) == {"test_mul": "passed", "test_mul_gradient": "passed",
                                 "test_add_then_square": "passed"}
    assert result.ok and result.problem is None
    assert result.package_file.startswith(str(root / "toypkg"))
    assert "3 tests: 3 passed -> task 7.2 is done" in format_result(result)


def test_a_hole_is_not_implemented_yet_with_title_and_hint(copy_of, toy_tasks):
    result = run_task("7.2", copy_of(["7.2"]), toy_tasks, package="toypkg")
    assert set(_statuses(result).values()) == {NOT_IMPLEMENTED}
    assert not result.ok
    assert {o.message for o in result.outcomes} == {"Task 7.2: mul. Hint: multiply them"}
    report = format_result(result)
    assert "not implemented yet  tests/test_toy.py::test_mul\n" in report
    assert "3 tests: 3 not implemented yet" in report


def test_an_earlier_hole_is_named_in_a_later_task_s_check(copy_of, toy_tasks):
    result = run_task("7.2", copy_of(["7.1"]), toy_tasks, package="toypkg")
    assert _statuses(result)["test_add_then_square"] == NOT_IMPLEMENTED
    assert [o.message for o in result.outcomes if o.status == NOT_IMPLEMENTED] == [
        'Task 7.1: add. Hint: add the "two" numbers']


def test_a_wrong_answer_fails_and_shows_gradcheck_s_numbers(copy_of, toy_tasks):
    root = copy_of([])
    ops = root / "toypkg/ops.py"
    ops.write_text(ops.read_text().replace("return a * b", "return a + b"))
    result = run_task("7.2", root, toy_tasks, package="toypkg")
    assert _statuses(result) == {"test_mul": "failed", "test_mul_gradient": "failed",
                                 "test_add_then_square": "failed"}
    messages = {o.nodeid.split("::")[1]: o.message for o in result.outcomes}
    assert messages["test_mul_gradient"] == (
        "AssertionError: gradcheck: Jacobian mismatch for input 0, input element (0,): "
        "numerical 1, analytical 2\nsecond line")
    assert "assert 5 == 6" in messages["test_mul"]
    assert "numerical 1, analytical 2" in format_result(result)


def test_a_task_without_tests_is_a_problem(copy_of, toy_tasks):
    result = run_task("7.3", copy_of([]), toy_tasks, package="toypkg")
    assert not result.ok and result.outcomes == []
    assert "no test in" in result.problem and "task_7_3" in result.problem


def test_a_package_imported_from_elsewhere_is_a_problem(copy_of, toy_tasks, write_files,
                                                        tmp_path):
    shadow = write_files(tmp_path / "shadow", {"toypkg/__init__.py": """
        def add(a, b):
            return a + b
        mul = square = None
        """})
    root = copy_of(["7.1"])
    write_files(root, {"tests/conftest.py": f"""
        import sys
        sys.path.insert(0, {str(shadow)!r})
        """})
    result = run_task("7.1", root, toy_tasks, package="toypkg")
    assert _statuses(result) == {"test_add": "passed"}
    assert not result.ok
    assert "not from" in result.problem and str(shadow) in result.problem


def test_list_tells_complete_hole_and_missing_markers(copy_of, toy_tasks, write_files):
    root = copy_of(["7.2"])
    rows, errors = task_status(root, toy_tasks, package="toypkg")
    assert [(t.id, status, n) for t, status, n in rows] == [
        ("7.1", "complete", 1), ("7.2", "hole", 1), ("7.3", "missing markers", 0)]
    assert errors == []
    write_files(root, {"toypkg/bad.py": """
        # BEGIN TASK 7.3
        X = 1
        # END TASK 7.3
        """})
    rows, errors = task_status(root, toy_tasks, package="toypkg")
    assert errors == ["toypkg/bad.py:1: region TASK 7.3 (lines 1-3) is not inside a function "
                      "body; fence the statements inside one function (signature and docstring "
                      "stay)"]
    table = format_status(rows, errors)
    assert "7.2   hole" in table and table.endswith(errors[0])


OPS = '''
class Twice:
    """y = 2 x; the backward is wrong on purpose."""

    @staticmethod
    def forward(x):
        return 2 * x

    @staticmethod
    def backward(x, grad):
        return _unbroadcast(grad, x)


def _unbroadcast(grad, x):
    if x > 2:
        raise ValueError(f"cannot unbroadcast {x}")
    return 2 * grad


def apply(x):
    return Twice.backward(x, Twice.forward(x))
'''

OP_TESTS = '''
import pytest
from hypothesis import given, settings, strategies as st

from toypkg.fn import Twice, apply


@pytest.mark.task_7_2
@settings(database=None, derandomize=True)
@given(st.integers(0, 10))
def test_apply_everywhere(x):
    apply(x)


@pytest.mark.task_7_2
def test_forward_checked_in_the_test():
    y = Twice.forward(2)
    assert y == 5, "forward differs"


@pytest.mark.task_7_2
def test_gradient_checked_in_the_test():
    grad = Twice.backward(1, 1)
    assert grad == 3


@pytest.mark.task_7_2
def test_a_type_error_in_the_test():
    Twice.forward(2) + "s"
'''


def test_a_failure_names_the_op_the_phase_the_place_and_the_falsifying_example(
        copy_of, toy_tasks, write_files):
    root = copy_of([])
    write_files(root, {"toypkg/fn.py": OPS, "tests/test_fn.py": OP_TESTS})
    result = run_task("7.2", root, toy_tasks, package="toypkg")
    by_name = {o.nodeid.split("::")[1]: o for o in result.outcomes}
    everywhere = by_name["test_apply_everywhere"]
    assert diagnose(everywhere, toy_tasks[1], toy_tasks, "toypkg") == (
        "backward of Twice failed in _unbroadcast (toypkg/fn.py:15): ValueError")
    label = (everywhere.example or "").partition(" test_apply")[0]
    assert label in ("Falsifying example:", "Failing test case:")  # hypothesis renamed it
    assert everywhere.example == f"{label} test_apply_everywhere(\n    x=3,\n)"
    assert everywhere.message == "ValueError: cannot unbroadcast 3"
    assert diagnose(by_name["test_forward_checked_in_the_test"], toy_tasks[1], toy_tasks,
                    "toypkg") == ("forward result wrong: the check at tests/test_fn.py:17 "
                                  "failed: assert y == 5, \"forward differs\"")
    assert diagnose(by_name["test_gradient_checked_in_the_test"], toy_tasks[1], toy_tasks,
                    "toypkg") == ("gradient wrong (backward): the check at tests/test_fn.py:23 "
                                  "failed: assert grad == 3")
    assert diagnose(by_name["test_a_type_error_in_the_test"], toy_tasks[1], toy_tasks,
                    "toypkg").startswith("TypeError in the test at tests/test_fn.py:28: ")
    report = format_result(result, toy_tasks)
    assert report.count("Hint") == 0 and report.count("hint: multiply them") == 1
    assert "  filled in: toypkg/ops.py:16-18 in mul\n" in report
    assert ("  FAILED               tests/test_fn.py::test_apply_everywhere\n"
            "                         backward of Twice failed in _unbroadcast (toypkg/fn.py:15): "
            "ValueError\n"
            "                         ValueError: cannot unbroadcast 3\n"
            f"                         {label} test_apply_everywhere(\n"
            "                             x=3,\n"
            "                         )\n") in report


def test_the_hint_is_printed_once_and_each_hole_test_says_which_hole(copy_of, toy_tasks):
    report = format_result(run_task("7.2", copy_of(["7.1", "7.2"]), toy_tasks,
                                    package="toypkg"), toy_tasks)
    assert report.count("multiply them") == 1
    assert "  hole:      toypkg/ops.py:16 in mul\n" in report
    assert ("  not implemented yet  tests/test_toy.py::test_mul\n"
            "                         reached this task's hole at toypkg/ops.py:16 in mul\n"
            in report)
    assert ("needs Task 7.1 (add) first: reached its hole at toypkg/ops.py:7 in add"
            in report)


def test_phase_comes_from_the_innermost_forward_or_backward_frame():
    def frames(*names):
        return [{"path": "p/x.py", "line": 1, "function": n, "code": ""} for n in names]

    assert _phase(frames("test_x", "Variable.backward", "run_backward", "Mul.backward",
                         "unbroadcast")) == "backward of Mul"
    assert _phase(frames("Module.forward", "Linear.updateOutput", "matmul")) == (
        "forward of Linear")
    assert _phase(frames("Conv.backward", "conv2d_backward_input")) == "backward of Conv"
    assert _phase(frames("run_backward", "topological_order")) == "backward"
    assert _phase(frames("helper", "f.<locals>.g")) is None


def test_marked_tests_reads_decorators_classes_and_pytestmark(tmp_path, write_files, toy_tasks):
    write_files(tmp_path, {"tests/test_marks.py": '''
        import pytest

        pytestmark = [pytest.mark.slow]


        @pytest.mark.task_7_2
        def test_plain():
            pass


        @pytest.mark.task_7_2
        @pytest.mark.task_7_3
        def test_also_later():
            pass


        @pytest.mark.task_7_2
        class TestGroup:
            def test_in_class(self):
                pass

            def helper(self):
                pass


        @pytest.mark.parametrize("x", [pytest.param(1, marks=pytest.mark.task_7_2)])
        def test_param(x):
            pass


        def test_unmarked():
            pass
        ''', "tests/test_module_mark.py": '''
        import pytest

        pytestmark = pytest.mark.task_7_2


        def test_by_module():
            pass
        '''})
    assert marked_tests(tmp_path, toy_tasks[1], toy_tasks) == [
        ("tests/test_marks.py::test_plain", []),
        ("tests/test_marks.py::test_also_later", ["7.3"]),
        ("tests/test_marks.py::TestGroup::test_in_class", []),
        ("tests/test_marks.py::test_param", []),
        ("tests/test_module_mark.py::test_by_module", [])]


def test_the_chapter_section_runs_to_the_next_heading_of_its_level(tmp_path, write_files,
                                                                   toy_tasks):
    write_files(tmp_path, {"docs/toy.md": '''
        # Toy

        ## Build it

        ### Task 7.1: add

        Add them.

        ```python
        # not a heading
        ```

        #### A detail

        More.

        ### Task 7.2: mul

        Multiply.

        ## Next part
        '''})
    page, section = chapter_section(tmp_path, toy_tasks[0])
    assert page == tmp_path / "docs/toy.md"
    assert section == ("### Task 7.1: add\n\nAdd them.\n\n```python\n# not a heading\n```\n\n"
                       "#### A detail\n\nMore.")
    assert chapter_section(tmp_path, toy_tasks[1])[1] == "### Task 7.2: mul\n\nMultiply."
    assert chapter_section(tmp_path, toy_tasks[2])[1] is None


def test_show_on_the_toy_copy(copy_of, toy_tasks, write_files):
    root = copy_of(["7.2"])
    write_files(root, {"docs/toy.md": "# Toy\n\n### Task 7.2: mul\n\nMultiply.\n"})
    text = describe(toy_tasks[1], root, toy_tasks, package="toypkg")
    assert text.splitlines()[:3] == ["Task 7.2: mul", "chapter: toy (docs/toy.md)",
                                     "hint: multiply them"]
    assert "(a learner copy):\n  toypkg/ops.py:17 in mul (hole)\n" in text
    assert "--- docs/toy.md ---\n### Task 7.2: mul\n\nMultiply.\n---" in text
    assert ("tests marked task_7_2: 3\n  tests/test_toy.py::test_mul\n"
            "  tests/test_toy.py::test_mul_gradient\n  tests/test_toy.py::test_add_then_square\n"
            in text)
    text = describe(toy_tasks[0], root, toy_tasks, package="toypkg")
    assert "docs/toy.md has no section '### Task 7.1: ...'" in text
    assert "test_add_then_square  (also marked 7.2: it runs with task 7.2)" in text


def test_hole_report_names_the_hole_and_where_it_was_raised(copy_of):
    root = copy_of(["7.2"])
    sys.path.insert(0, str(root))
    try:
        for name in [m for m in sys.modules if m == "toypkg" or m.startswith("toypkg.")]:
            del sys.modules[name]
        toy = importlib.import_module("toypkg")
        with pytest.raises(NotImplementedError) as caught:
            toy.square(3)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "toypkg" or m.startswith("toypkg.")]:
            del sys.modules[name]
    wrapped = RuntimeError("while training")
    wrapped.__cause__ = caught.value
    for error in (caught.value, wrapped):
        assert hole_report(error, root / "toypkg").splitlines() == [
            "minitorch7: Task 7.2: mul. Hint: multiply them",
            "  raised at toypkg/ops.py:17 in mul",
            "  fill it in, then: python -m minitorch7 learn check 7.2 (MINITORCH7_DEBUG=1 "
            "shows the traceback)"]
    assert hole_report(NotImplementedError("conv3d"), root / "toypkg") is None
    assert hole_report(ValueError("x"), root / "toypkg") is None
