"""Check one task of a learner copy by running its tests; list, show and locate the tasks.

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

``format_result`` prints the task's hint once, where its holes are, and for each failing
test one line of diagnosis read from the traceback (``diagnose``): which op or module
failed, in its forward or its backward, at which ``file:line`` of the package (the
innermost frame inside it), or which check of the test failed; then the error's first lines
and hypothesis's falsifying example.

``task_places`` finds a task's regions in a tree as it is now (``file:line`` of each hole);
``original_regions`` gives their lines in the complete package (recorded in the copy's
``LEARNER_COPY`` by ``learn make``); ``marked_tests`` and ``chapter_section`` find a
task's tests and its section of the chapter page (``learn show``).
"""

import ast
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
_HOLE_MESSAGE = re.compile(r"Task (\d+\.\d+): ")
_BACKWARD = re.compile(r"backward|^(updateGradInput|accGradParameters|accUpdateGradParameters|"
                       r"_analytical_jacobian|_vjp)$", re.IGNORECASE)
_FORWARD = re.compile(r"forward|^updateOutput$", re.IGNORECASE)
# Package files that check results rather than compute them: an assertion raised there is
# a test's check failing, not an op failing.
_CHECKERS = ("testing.py", "autograd/gradcheck.py")


@dataclass
class Outcome:
    """One test: its pytest node id, status (one of ``_ORDER``) and message lines; for a
    failure, the exception's type name, its traceback frames inside the copy (dicts: path,
    line, function, code; outermost first) and hypothesis's falsifying example."""

    nodeid: str
    status: str
    message: str = ""
    exception: str = None
    frames: list = field(default_factory=list)
    example: str = None


@dataclass(frozen=True)
class Place:
    """A region of a task in a tree as it is now: ``path`` relative to the tree's root,
    marker lines ``start`` .. ``end``, whether it is a hole, and the function holding it."""

    path: str
    start: int
    end: int
    hole: bool
    function: str

    def __str__(self):
        where = (f"{self.path}:{self.start + 1}" if self.hole
                 else f"{self.path}:{self.start}-{self.end}")
        return f"{where} in {self.function}"

    @property
    def state(self):
        return "hole" if self.hole else "filled in"


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
    places: list = field(default_factory=list)
    package: str = "minitorch7"

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


def find_task(task_id, tasks=TASKS):
    """The task with this id; ValueError listing the valid ids otherwise."""
    for task in tasks:
        if task.id == task_id:
            return task
    raise ValueError(f"no task {task_id}; the tasks are {', '.join(t.id for t in tasks)}")


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
    task = find_task(task_id, tasks)
    places = task_places(root, task.id, package)
    files = task_test_files(root, task)
    if not files:
        return Result(task, root, 5, problem=f"no test in {root / 'tests'} is marked "
                                             f"{task.marker}", places=places, package=package)
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
            return Result(task, root, done.returncode, problem=f"pytest did not run:\n{tail}",
                          places=places, package=package)
        data = json.loads(report.read_text("utf-8"))
    result = Result(task, root, done.returncode, _outcomes(data["results"]),
                    data["package_file"], places=places, package=package)
    expected = root / package
    if result.package_file and not Path(result.package_file).resolve().is_relative_to(expected):
        result.problem = (f"the tests imported {package} from {result.package_file}, not from "
                          f"{expected}: another copy shadows it on the import path")
    elif done.returncode == 5 or not result.outcomes:
        result.problem = (f"pytest selected no test of task {task.id}: a test marked "
                          f"{task.marker} and a later task belongs to the later one")
    return result


def format_result(result, tasks=TASKS):
    """The report ``learn check`` prints: the task, its hint and holes once, then each test
    (a failing one with its diagnosis, error lines and falsifying example), then a count."""
    task = result.task
    lines = [f"Task {task.id}: {task.title} (in {result.root})", f"  hint: {task.hint}"]
    lines += [f"  {p.state + ':':<10} {p}" for p in result.places] or [
        "  no region of this task in the copy (missing markers)"]
    width = max([len(s) for s in _ORDER])
    indent = " " * (width + 6)
    for outcome in result.outcomes:
        status = outcome.status if outcome.status == NOT_IMPLEMENTED else outcome.status.upper()
        lines.append(f"  {status:<{width}}  {outcome.nodeid}")
        if outcome.status == "passed":
            continue
        why = diagnose(outcome, task, tasks, result.package)
        body = [why] if why else []
        if outcome.status != NOT_IMPLEMENTED or not why:
            body += [line for line in outcome.message.splitlines() if line.strip()]
        if outcome.example and outcome.status != NOT_IMPLEMENTED:
            body += outcome.example.splitlines()
        lines.extend(indent + line for line in body)
    if result.problem:
        lines.append(f"problem: {result.problem}")
    counts = ", ".join(f"{result.count(s)} {s}" for s in _ORDER if result.count(s))
    lines.append(f"{len(result.outcomes)} tests: {counts or 'none ran'}" + (
        f" -> task {task.id} is done" if result.ok else ""))
    return "\n".join(lines)


def diagnose(outcome, task, tasks=TASKS, package="minitorch7"):
    """One line saying where a test that did not pass failed, read from its frames: the hole
    it reached (this task's, or an earlier task's to fill first), the op or module whose
    forward or backward raised (the innermost frame inside the package), gradcheck finding
    a wrong gradient, or the test's own check that failed. None when nothing is known."""
    frames = outcome.frames or []
    inside = [f for f in frames if f["path"].startswith(package + "/")]
    if outcome.status == NOT_IMPLEMENTED:
        at = (inside or frames or [None])[-1]
        where = f" at {_loc(at)} in {_short(at['function'])}" if at else ""
        phase = _phase(inside)
        during = f", during the {phase}" if phase and at is not None and not _same(
            phase, at) else ""
        found = _HOLE_MESSAGE.match(outcome.message)
        if found is None:
            return f"NotImplementedError{where}{during}"
        if found[1] == task.id:
            return f"reached this task's hole{where}{during}"
        other = {t.id: t for t in tasks}.get(found[1])
        name = f" ({other.title})" if other else ""
        return f"needs Task {found[1]}{name} first: reached its hole{where}{during}"
    if not frames:
        return None
    exception = outcome.exception or "error"
    innermost = frames[-1]
    tests = [f for f in frames if not f["path"].startswith(package + "/")]
    if exception == "GradcheckError" or (
            innermost["path"].endswith("autograd/gradcheck.py")
            and exception == "AssertionError"):
        at = f" (checked at {_loc(tests[-1])}: {tests[-1]['code']})" if tests else ""
        return ("backward wrong: gradcheck's finite differences disagree with the analytical "
                f"gradient{at}")
    if innermost["path"].endswith("autograd/gradcheck.py") and _short(
            innermost["function"]) in ("gradcheck", "_compare"):
        return (f"backward wrong: gradcheck could not compare the gradients "
                f"({_loc(innermost)}): {exception} (a gradient of the wrong shape?)")
    if innermost in inside and not (innermost["path"].endswith(_CHECKERS)
                                    and exception == "AssertionError"):
        phase = _phase(inside)
        what = ("failed" if phase is None
                else f"{phase.split(' of ')[0]} failed" if _same(phase, innermost)
                else f"{phase} failed")
        return (f"{what} in {_short(innermost['function'])} ({_loc(innermost)}): "
                f"{exception}")
    at = tests[-1] if tests else innermost
    if exception != "AssertionError":
        return f"{exception} in the test at {_loc(at)}: {at['code']}"
    text = f"{innermost['code']} {outcome.message}".lower()
    kind = ("forward result wrong" if "forward" in text
            else "gradient wrong (backward)" if re.search(r"grad|backward", text)
            else "result wrong")
    check = f"{innermost['code']}" + (f" (in {_short(innermost['function'])})"
                                       if innermost is not at else "")
    called = (f" (in {_short(at['function'])}, called at {_loc(tests[0])})"
              if tests and at is not tests[0] and at["path"] == tests[0]["path"] else "")
    return f"{kind}: the check at {_loc(at)}{called} failed: {check}"


def _loc(frame):
    return f"{frame['path']}:{frame['line']}"


def _short(qualname):
    """A qualified name without the ``<locals>`` of the functions around it."""
    return qualname.rsplit("<locals>.", 1)[-1]


def _same(phase, frame):
    """True when ``phase`` ("backward of Mul") is what ``frame`` (Mul.backward) runs."""
    kind, _, op = phase.partition(" of ")
    parts = _short(frame["function"]).split(".")
    return bool(op) and parts[-2:-1] == [op] and (
        "backward" if _BACKWARD.search(parts[-1]) else "forward") == kind


def _phase(frames):
    """"backward of Mul", "forward of Linear", "backward" or None: from the innermost frame
    named like a forward or a backward; the op is its class, or the class of the first
    method of the same kind further out."""
    phase = None
    for frame in reversed(frames):
        parts = _short(frame["function"]).split(".")
        kind = ("backward" if _BACKWARD.search(parts[-1])
                else "forward" if _FORWARD.search(parts[-1]) else None)
        if kind is None or (phase is not None and kind != phase):
            continue
        phase = kind
        if len(parts) > 1:
            return f"{kind} of {parts[-2]}"
    return phase


def hole_report(error, package_dir):
    """The lines ``minitorch7`` prints when a run reaches a hole: the hole's message and where
    it was raised (``file:line`` relative to the copy); None when ``error`` (or an exception
    it was raised from) is not a hole's ``NotImplementedError("Task x.y: ...")``."""
    hole = _find_hole(error, set())
    if hole is None:
        return None
    root = Path(package_dir).resolve().parent
    inside, tb = [], hole.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        rel = _relative(code.co_filename, root)
        if rel is not None:
            inside.append((rel, tb.tb_lineno, getattr(code, "co_qualname", code.co_name)))
        tb = tb.tb_next
    lines = [f"minitorch7: {hole}"]
    if inside:
        rel, line, name = inside[-1]
        lines.append(f"  raised at {rel}:{line} in {name}")
    task_id = _HOLE_MESSAGE.match(str(hole))[1]
    places = [p for p in task_places(root, task_id, Path(package_dir).name) if p.hole]
    if places and not any(f"{p.path}:{p.start + 1}" in lines[-1] for p in places):
        lines.append("  the hole: " + ", ".join(f"{p.path}:{p.start + 1}" for p in places))
    lines.append(f"  fill it in, then: python -m minitorch7 learn check {task_id} "
                 "(MINITORCH7_DEBUG=1 shows the traceback)")
    return "\n".join(lines)


def _find_hole(error, seen):
    if error is None or id(error) in seen:
        return None
    seen.add(id(error))
    if isinstance(error, NotImplementedError) and _HOLE_MESSAGE.match(str(error)):
        return error
    for inner in (*getattr(error, "exceptions", ()), error.__cause__, error.__context__):
        found = _find_hole(inner, seen)
        if found is not None:
            return found
    return None


def _relative(filename, root):
    try:
        return Path(filename).resolve().relative_to(root).as_posix()
    except (OSError, ValueError):
        return None


def task_places(root, task_id, package="minitorch7"):
    """The regions of task ``task_id`` in the tree ``root`` as its files are now."""
    places = []
    needle = f"TASK {task_id}"
    for path in make._python_files(Path(root), package):
        text = make._read(path)
        if needle not in text:
            continue
        rel = path.relative_to(root).as_posix()
        try:
            found = [r for r in find_regions(text, rel) if r.task == task_id]
        except (MarkerError, SyntaxError):
            continue
        if found:
            tree = ast.parse(text)
            places += [Place(rel, r.begin, r.end, is_hole(r, text),
                             _enclosing_function(tree, r.begin)) for r in found]
    return places


def _enclosing_function(tree, line):
    """The qualified name of the innermost function whose body holds ``line``."""
    best, stack = "?", [(tree, "")]
    while stack:
        node, prefix = stack.pop()
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                stack.append((child, prefix))
                continue
            if not child.lineno <= line <= child.end_lineno:
                continue
            name = prefix + child.name
            if not isinstance(child, ast.ClassDef):
                best = name
            stack.append((child, name + "."))
    return best


def original_regions(root=None, tasks=TASKS, package="minitorch7"):
    """{task id: [{"path", "start", "end"}]}: each region's marker lines in the COMPLETE
    package, for ``learn list --json``.

    In a learner copy they come from its ``LEARNER_COPY`` file (``learn make`` records them:
    holes are shorter than the code they replace, so the copy's own lines differ); in a tree
    without that file (a checkout) they are the tree's own lines, which must then have no
    hole. LookupError when neither works.
    """
    root = Path(root or default_dir())
    recorded = make.read_marker(root, package)
    if recorded is not None and isinstance(recorded.get("regions"), list):
        regions = {}
        for r in recorded["regions"]:
            regions.setdefault(r["task"], []).append(
                {"path": r["path"], "start": r["start"], "end": r["end"]})
        return regions
    regions, holes = {}, []
    for rel, region, hole in _all_regions(root, package)[0]:
        regions.setdefault(region.task, []).append(
            {"path": rel, "start": region.begin, "end": region.end})
        if hole:
            holes.append(f"{rel}:{region.begin + 1}")
    if holes:
        raise LookupError(f"{root} has holes ({', '.join(holes[:3])}{', ...' if holes[3:] else ''})"
                          f" but no {package}/{make.MARKER} recording the complete package's "
                          "lines: make the copy with `minitorch7 learn make`")
    return regions


def task_listing(root=None, tasks=TASKS, package="minitorch7"):
    """``learn list --json``: one dict per task: id, title, chapter, status (as in the table)
    and regions (path relative to the repository root, start and end: 1-based marker lines
    in the complete package)."""
    root = Path(root or default_dir())
    rows, _ = task_status(root, tasks, package)
    regions = original_regions(root, tasks, package)
    return [{"id": t.id, "title": t.title, "chapter": t.chapter, "status": status,
             "regions": regions.get(t.id, [])} for t, status, _ in rows]


def marked_tests(root, task, tasks=TASKS):
    """[(``file::name``, later task ids)] of the tests marked with ``task``, read from the test
    files' source (decorators, a class's decorators, ``pytestmark``); ``later``: the later
    tasks a test is also marked with (it belongs to the last of them)."""
    markers = {t.marker: t for t in tasks}
    found = []
    for path in task_test_files(root, task):
        rel = path.relative_to(root).as_posix()
        try:
            tree = ast.parse(path.read_text("utf-8"))
        except SyntaxError:
            continue
        module = _marks(_pytestmark(tree.body), markers)
        for node in tree.body:
            for name, marks in _test_functions(node, module, markers):
                if task.marker in marks:
                    later = sorted((markers[m] for m in marks if markers[m].key > task.key),
                                   key=lambda t: t.key)
                    found.append((f"{rel}::{name}", [t.id for t in later]))
    return found


def _test_functions(node, inherited, markers):
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
        yield node.name, inherited | _marks(node.decorator_list, markers)
    elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
        marks = inherited | _marks(node.decorator_list + _pytestmark(node.body), markers)
        for child in node.body:
            for name, inner in _test_functions(child, marks, markers):
                yield f"{node.name}::{name}", inner


def _pytestmark(body):
    return [n.value for n in body if isinstance(n, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets)]


def _marks(expressions, markers):
    return {n.attr for e in expressions for n in ast.walk(e)
            if isinstance(n, ast.Attribute) and n.attr in markers}


def chapter_section(root, task):
    """(path of the chapter page, the text under its ``### Task x.y: ...`` heading up to the
    next heading of the same or a higher level, or None when the page or heading is
    missing). Headings inside fenced code blocks do not count."""
    page = Path(root) / "docs" / f"{task.chapter}.md"
    if not page.is_file():
        return page, None
    heading = re.compile(rf"^###\s+Task\s+{re.escape(task.id)}\s*:")
    section, fence = None, None
    for line in page.read_text("utf-8").splitlines():
        fenced = re.match(r"^\s*(```|~~~)", line)
        if fence is None and section is not None and re.match(r"^#{1,3}\s", line):
            break
        if section is not None:
            section.append(line)
        elif fence is None and heading.match(line):
            section = [line]
        if fenced:
            fence = None if fence == fenced[1] else fence or fenced[1]
    return page, None if section is None else "\n".join(section).strip()


def describe(task, root=None, tasks=TASKS, package="minitorch7"):
    """What ``learn show`` prints: title, chapter, hint, the regions' ``file:line`` in
    ``root``, the chapter page's section for the task, and the tests marked with it."""
    root = Path(root or default_dir()).resolve()
    page, section = chapter_section(root, task)
    rel_page = page.relative_to(root).as_posix() if page.is_relative_to(root) else str(page)
    lines = [f"Task {task.id}: {task.title}", f"chapter: {task.chapter} ({rel_page})",
             f"hint: {task.hint}", "",
             f"in {root}" + (" (a learner copy)" if make.read_marker(root, package) is not None
                             else "") + ":"]
    places = task_places(root, task.id, package)
    lines += [f"  {p} ({p.state})" for p in places] or [
        f"  no region of task {task.id} (missing markers)"]
    lines.append("")
    if section is None:
        lines.append(f"{rel_page} has no section '### Task {task.id}: ...'"
                     + ("" if page.is_file() else f" ({rel_page} does not exist)"))
    else:
        lines += [f"--- {rel_page} ---", section, "---"]
    lines.append("")
    tests = marked_tests(root, task, tasks)
    lines.append(f"tests marked {task.marker}: {len(tests)}")
    for nodeid, later in tests:
        lines.append(f"  {nodeid}" + (f"  (also marked {', '.join(later)}: it runs with task "
                                      f"{later[-1]})" if later else ""))
    lines.append(f"run them: python -m minitorch7 learn check {task.id}")
    return "\n".join(lines)


def task_status(root=None, tasks=TASKS, package="minitorch7"):
    """[(task, status, number of regions)] for the copy ``root``, and the marker errors.

    status: ``complete`` (regions present, none cut), ``hole`` (a region is a
    ``raise NotImplementedError``), ``missing markers`` (no region).
    """
    root = Path(root or default_dir())
    found, errors = _all_regions(root, package)
    regions = {}
    for _rel, region, hole in found:
        regions.setdefault(region.task, []).append(hole)
    rows = []
    for task in tasks:
        holes = regions.get(task.id, [])
        status = "missing markers" if not holes else "hole" if any(holes) else "complete"
        rows.append((task, status, len(holes)))
    return rows, errors


def _all_regions(root, package):
    """[(path relative to root, Region, is a hole)] of every region under ``root``, and the
    marker errors."""
    found, errors = [], []
    for path in make._python_files(Path(root), package):
        text = make._read(path)
        rel = path.relative_to(root).as_posix()
        try:
            regions = find_regions(text, rel)
        except (MarkerError, SyntaxError) as error:
            errors.append(str(error))
            continue
        found += [(rel, region, is_hole(region, text)) for region in regions]
    return found, errors


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
            merged[record["nodeid"]] = Outcome(
                record["nodeid"], status, message, record.get("exception"),
                record.get("frames") or [], record.get("example"))
    return list(merged.values())
