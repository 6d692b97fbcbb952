"""CI proves the holes, on learner copies of the real package, for every task T:

(a) a copy with only T cut fails T's tests, and on T's own ``NotImplementedError``;
(b) a copy with only the tasks after T cut passes every test of T.

(b) is asked of T's tests alone. The tests of an earlier task S pass in S's own run (b),
where every task after S is cut, a superset of the tasks after T. Code never needs a later
task to be missing, so what passes with more tasks cut passes with fewer: together the runs
prove that with the tasks after T cut, T and every task before it pass.

A test marked with several tasks belongs to the last of them (see ``check.marker_expression``).
Each worker (pytest-xdist) builds one copy and re-cuts it in place for each run: only the
files holding regions are rewritten, so Numba's on-disk cache (keyed by file path and
timestamp, kept in the worker's tmp dir) keeps the kernels of the untouched files.
"""

import pytest

from minitorch7.learn.check import NOT_IMPLEMENTED, format_result, run_task
from minitorch7.learn.make import apply_cuts, make_copy, scan
from minitorch7.learn.tasks import TASKS

pytestmark = pytest.mark.learn_holes
RUN_TIMEOUT = 600


@pytest.fixture(scope="session")
def source():
    """The regions of the real package (fails on a badly placed marker)."""
    return scan()


@pytest.fixture(scope="session")
def run_cut(source, tmp_path_factory):
    """``run_cut(cut, task)``: the Result of task's tests on the copy with ``cut`` cut."""
    base = tmp_path_factory.mktemp("learn-holes")
    root = base / "copy"
    make_copy(root, set(), source, check_import=False)
    env = {"NUMBA_CACHE_DIR": str(base / "numba-cache"), "PYTHONDONTWRITEBYTECODE": "1"}

    def run(cut, task):
        apply_cuts(root, cut, source)
        return run_task(task.id, root, pytest_args=("-x",), env=env, timeout=RUN_TIMEOUT)
    return run


def _require_region(task, source):
    if task.id not in source.task_ids():
        pytest.fail(f"task {task.id} ({task.title}) has no region: fence its solution with "
                    f"'# BEGIN TASK {task.id}' / '# END TASK {task.id}'", pytrace=False)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_cutting_a_task_fails_its_tests(task, source, run_cut):
    _require_region(task, source)
    result = run_cut({task.id}, task)
    own = [o for o in result.outcomes
           if o.status == NOT_IMPLEMENTED and f"Task {task.id}:" in o.message]
    assert result.problem is None and own, (
        f"with only task {task.id} cut, its tests must fail on its hole:\n"
        f"{format_result(result)}")


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_cutting_only_later_tasks_keeps_a_task_passing(task, source, run_cut):
    _require_region(task, source)
    result = run_cut({t.id for t in TASKS if t.key > task.key}, task)
    assert result.ok and result.count("passed"), (
        f"with the tasks after {task.id} cut, every test of {task.id} must pass:\n"
        f"{format_result(result)}")
