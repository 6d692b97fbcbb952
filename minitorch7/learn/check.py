"""Check one task of a learner copy by running its tests, and list every task's status.

``run_task("1.2", dir)`` runs ``python -m pytest -m task_1_2`` inside the copy, with the
copy's package first on the import path, over the test files that name the marker; a small
plugin (``pytest_plugin.py``) reports each test. A test marked with several tasks belongs to
the last of them. A test counts as:

- ``passed``;
- ``not implemented yet`` when it met a ``NotImplementedError`` (the hole's message names
  the task, which may be an earlier one the test relies on);
- ``failed`` otherwise, with the first lines of the failure (gradcheck's message names the
  input, the element, and the numerical and analytical values);
- ``skipped`` (e.g. a GPU test on a machine without one), or ``error`` (setup, collection).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import make
from .regions import MarkerError, find_regions, is_hole
from .tasks import TASKS

NOT_IMPLEMENTED = "not implemented yet"
_ORDER = ("passed", "skipped", NOT_IMPLEMENTED, "failed", "error")
_PLUGIN = "_minitorch7_learn_plugin"
_MESSAGE_LINES = 6


@dataclass
class Outcome:
    """One test: its pytest node id, status (one of ``_ORDER``) and message lines."""

    nodeid: str
    status: str
    message: str = ""


@dataclass
class Result:
    """What ``run_task`` found. ``problem`` says why the run means nothing (no tests, wrong
    package, pytest crashed); ``ok`` is True only when every test ran and passed."""

    task: object
    root: Path
    returncode: int
    outcomes: list = field(default_factory=list)
    package_file: str = None
    problem: str = None

    @property
    def ok(self):
        return (self.problem is None and self.returncode == 0 and bool(self.outcomes)
                and all(o.status in ("passed", "skipped") for o in self.outcomes))

    def count(self, status):
        return sum(o.status == status for o in self.outcomes)


def default_dir():
    """The current directory when it holds a copy (``minitorch7/__init__.py``), else the
    checkout or copy that the running package comes from."""
    here = Path.cwd()
    return here if (here / "minitorch7" / "__init__.py").is_file() else make.package_root()


def task_test_files(root, task):
    """The test files under ``root/tests`` that name the task's marker."""
    pattern = re.compile(rf"\b{task.marker}\b")
    return sorted(p for p in (Path(root) / "tests").rglob("*.py")
                  if p.name.startswith("test_") and pattern.search(p.read_text("utf-8")))


def marker_expression(task, tasks=TASKS):
    """The ``-m`` expression selecting the tests of ``task``: marked with it and with no later
    task, since a test that also checks a later task cannot pass before that one is done."""
    later = [t.marker for t in tasks if t.key > task.key]
    return task.marker + (f" and not ({' or '.join(later)})" if later else "")


def run_task(task_id, root=None, tasks=TASKS, package="minitorch7", pytest_args=(),
             env=None, timeout=None):
    """Run the tests of task ``task_id`` in the copy ``root``; returns a Result.

    ``pytest_args`` go to pytest (e.g. ``("-x",)``); ``env`` entries are added to the
    environment of the run.
    """
    root = Path(root or default_dir()).resolve()
    task = {t.id: t for t in tasks}[task_id]
    files = task_test_files(root, task)
    if not files:
        return Result(task, root, 5, problem=f"no test in {root / 'tests'} is marked "
                                             f"{task.marker}")
    with tempfile.TemporaryDirectory(prefix="minitorch7-learn-") as tmp:
        shutil.copy(Path(__file__).with_name("pytest_plugin.py"), Path(tmp) / f"{_PLUGIN}.py")
        report = Path(tmp) / "report.json"
        run_env = _environment(root, tmp, package, tasks, report, env or {})
        cmd = [sys.executable, "-m", "pytest", "-m", marker_expression(task, tasks), "-p", _PLUGIN,
               "-p", "no:cacheprovider", "-q", *pytest_args,
               *(str(f.relative_to(root)) for f in files)]
        done = subprocess.run(cmd, cwd=root, env=run_env, capture_output=True, text=True,
                              timeout=timeout)
        if not report.exists():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
            return Result(task, root, done.returncode, problem=f"pytest did not run:\n{tail}")
        data = json.loads(report.read_text("utf-8"))
    result = Result(task, root, done.returncode, _outcomes(data["results"]),
                    data["package_file"])
    expected = root / package
    if result.package_file and not Path(result.package_file).resolve().is_relative_to(expected):
        result.problem = (f"the tests imported {package} from {result.package_file}, not from "
                          f"{expected}: another copy shadows it on the import path")
    elif done.returncode == 5 or not result.outcomes:
        result.problem = (f"pytest selected no test of task {task.id}: a test marked "
                          f"{task.marker} and a later task belongs to the later one")
    return result


def format_result(result):
    """The report ``learn check`` prints."""
    lines = [f"Task {result.task.id}: {result.task.title} (in {result.root})"]
    width = max([len(s) for s in _ORDER])
    for outcome in result.outcomes:
        status = outcome.status if outcome.status == NOT_IMPLEMENTED else outcome.status.upper()
        lines.append(f"  {status:<{width}}  {outcome.nodeid}")
        lines.extend(f"  {'':<{width}}    {line}" for line in outcome.message.splitlines())
    if result.problem:
        lines.append(f"problem: {result.problem}")
    counts = ", ".join(f"{result.count(s)} {s}" for s in _ORDER if result.count(s))
    lines.append(f"{len(result.outcomes)} tests: {counts or 'none ran'}" + (
        f" -> task {result.task.id} is done" if result.ok else ""))
    return "\n".join(lines)


def task_status(root=None, tasks=TASKS, package="minitorch7"):
    """[(task, status, number of regions)] for the copy ``root``, and the marker errors.

    status: ``complete`` (regions present, none cut), ``hole`` (a region is a
    ``raise NotImplementedError``), ``missing markers`` (no region).
    """
    root = Path(root or default_dir())
    regions, errors = {}, []
    for path in make._python_files(root, package):
        text = path.read_bytes().decode("utf-8")
        try:
            found = find_regions(text, path.relative_to(root).as_posix())
        except (MarkerError, SyntaxError) as error:
            errors.append(str(error))
            continue
        for region in found:
            regions.setdefault(region.task, []).append(is_hole(region, text))
    rows = []
    for task in tasks:
        holes = regions.get(task.id, [])
        status = "missing markers" if not holes else "hole" if any(holes) else "complete"
        rows.append((task, status, len(holes)))
    return rows, errors


def format_status(rows, errors):
    """The table ``learn list`` prints."""
    lines = [f"{'task':<5} {'status':<16} {'regions':>7}  {'chapter':<20} title"]
    lines += [f"{t.id:<5} {status:<16} {n:>7}  {t.chapter:<20} {t.title}"
              for t, status, n in rows]
    lines += [f"marker error: {e}" for e in errors]
    return "\n".join(lines)


def _environment(root, plugin_dir, package, tasks, report, extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT_TEST"))}
    path = [str(root), plugin_dir] + [p for p in [env.get("PYTHONPATH")] if p]
    env.update({"PYTHONPATH": os.pathsep.join(path), "MINITORCH7_LEARN_REPORT": str(report),
                "MINITORCH7_LEARN_PACKAGE": package,
                "MINITORCH7_LEARN_MARKERS": ",".join(t.marker for t in tasks)})
    env.update(extra)
    return env


def _outcomes(records):
    """One Outcome per node id: the worst of its reports."""
    merged = {}
    for record in records:
        status = record["outcome"]
        if record["hole"] is not None and status in ("failed", "error"):
            status, message = NOT_IMPLEMENTED, record["hole"]
        else:
            message = "\n".join(record["message"].strip().splitlines()[:_MESSAGE_LINES])
        if status == "passed" and record["when"] != "call":
            continue
        old = merged.get(record["nodeid"])
        if old is None or _ORDER.index(status) > _ORDER.index(old.status):
            merged[record["nodeid"]] = Outcome(record["nodeid"], status, message)
    return list(merged.values())
