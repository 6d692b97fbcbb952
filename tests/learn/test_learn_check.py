"""``learn check`` and ``learn list`` on copies of the toy project (see conftest.py)."""

import pytest

from minitorch7.learn.check import (
    NOT_IMPLEMENTED,
    format_result,
    format_status,
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
