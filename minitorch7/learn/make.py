"""Write a learner copy: the package, tests, exercises and docs with chosen regions cut.

``make_copy(dest, cut)`` copies the tree, then rewrites the files holding a region of a
task in ``cut`` (see ``regions.cut``); every other file is copied byte for byte. The copy is
checked: every ``.py`` file parses and every module of the package imports.

The copy is marked by the file ``minitorch7/LEARNER_COPY`` (``MARKER``): JSON saying which
tasks are cut, from which package version and source, and where every region lies in the
complete package (``learn list --json`` reports those lines, since a hole is shorter than
the code it replaces). While it exists the package defaults to the teaching kernels
(``minitorch7.backends.is_learner_copy()``). ``enclosing_copy`` finds the copy around a
directory, so the commands can warn when they run another package than that copy's.
"""

import ast
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import regions as regions_mod
from .tasks import TASKS, task_key, tasks_from

MARKER = "LEARNER_COPY"
COPIED = ("{package}", "tests", "exercises", "docs", "pyproject.toml", "README.md")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc", ".pytest_cache",
                                 ".hypothesis", ".ruff_cache")


class MakeError(RuntimeError):
    """The copy could not be written, or it does not parse or import."""


@dataclass(frozen=True)
class Source:
    """The regions of a source tree: ``files`` maps a path relative to ``root`` to
    (its text, its regions); only files with regions are listed."""

    root: Path
    files: dict
    tasks: tuple
    package: str

    def message(self, task_id):
        """The NotImplementedError message of a task's hole."""
        task = {t.id: t for t in self.tasks}[task_id]
        return f"Task {task.id}: {task.title}. Hint: {task.hint}"

    def task_ids(self):
        """The ids of the tasks that have at least one region."""
        return {r.task for _, regions in self.files.values() for r in regions}

    def cut_text(self, rel, cut):
        """The text of file ``rel`` with the regions of the tasks in ``cut`` cut."""
        text, regions = self.files[rel]
        chosen = [r for r in regions if r.task in cut]
        return regions_mod.cut(text, chosen, self.message) if chosen else text


def package_root():
    """The directory holding the running ``minitorch7`` package (a checkout or a copy)."""
    return Path(__file__).resolve().parents[2]


def scan(root=None, tasks=TASKS, package="minitorch7"):
    """Find and check every region under the copied paths of ``root``.

    MarkerError for a badly placed marker or a task id missing from ``tasks``.
    """
    root = Path(root or package_root())
    known = {t.id for t in tasks}
    files = {}
    for path in _python_files(root, package):
        rel = path.relative_to(root).as_posix()
        text = _read(path)
        found = regions_mod.find_regions(text, rel)
        for region in found:
            if region.task not in known:
                raise regions_mod.MarkerError(
                    f"{rel}:{region.begin}: TASK {region.task} is not in the task registry "
                    "(minitorch7/learn/tasks.py)")
        if found:
            files[rel] = (text, found)
    return Source(root, files, tuple(tasks), package)


def select(tasks=TASKS, from_task=None, only=()):
    """The ids to cut: ``from_task`` and every later task, or just ``only``; all when neither
    is given. ValueError for both, or for an id not in ``tasks``."""
    if from_task and only:
        raise ValueError("learn make: give --from or --only, not both")
    known = {t.id for t in tasks}
    listed = ", ".join(sorted(known, key=task_key))
    for task_id in ([from_task] if from_task else []) + list(only):
        try:
            task_key(task_id)
        except ValueError as error:
            raise ValueError(f"learn make: {error}; the tasks are {listed}") from None
        if task_id not in known:
            raise ValueError(f"learn make: no task {task_id}; the tasks are {listed}")
    if only:
        return set(only)
    return {t.id for t in (tasks_from(from_task, tasks) if from_task else tasks)}


def make_copy(dest, cut, source=None, check_import=True):
    """Write a learner copy of ``source`` (default: ``scan()``) into the new or empty
    directory ``dest``, cutting the regions of the task ids in ``cut``.

    Returns the sorted ids of ``cut`` that have no region (nothing to cut for them).
    """
    source = source or scan()
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise MakeError(f"learn make: {dest} is not empty; give a new directory")
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        item = source.root / name.format(package=source.package)
        if item.is_dir():
            shutil.copytree(item, dest / item.name, ignore=IGNORED)
        elif item.is_file():
            shutil.copy2(item, dest / item.name)
    (dest / source.package / MARKER).unlink(missing_ok=True)
    apply_cuts(dest, cut, source)
    write_marker(dest, cut, source)
    _check_parse(dest, source.package)
    if check_import:
        check_imports(dest, source.package)
    return sorted(set(cut) - source.task_ids(), key=task_key)


def apply_cuts(dest, cut, source):
    """Make the copy ``dest`` cut exactly the tasks in ``cut``: rewrite the region files whose
    text differs; a file that needs no cut gets the original back, its timestamp kept. The
    copy's ``LEARNER_COPY``, if any, is updated to list the new cut."""
    marker = read_marker(dest, source.package)
    if marker is not None:
        write_marker(dest, cut, source, marker)
    for rel in source.files:
        target = dest / rel
        text = source.cut_text(rel, cut)
        if target.exists() and _read(target) == text:
            continue
        if text == source.files[rel][0]:
            shutil.copy2(source.root / rel, target)
        else:
            target.write_bytes(text.encode("utf-8"))
        _parse(text, target)


def write_marker(dest, cut, source, previous=None):
    """Write ``dest/<package>/LEARNER_COPY``: the cut task ids, the source's version (its
    pyproject.toml) and git revision, and every region's lines in the source (the complete
    package), one region per line. ``previous`` (a marker read back) keeps its origin."""
    revision = _revision(source.root)
    info = {"about": f"a learner copy of {source.package}, written by `minitorch7 learn make`; "
                     "while this file exists the copy runs on the teaching kernels",
            "package": source.package,
            "version": _version(source.root),
            "source": f"{source.root}" + (f" (git {revision})" if revision else ""),
            "made": datetime.datetime.now().isoformat(timespec="seconds")}
    if previous is not None:
        info.update({k: previous[k] for k in info if k in previous})
    info["cut"] = sorted(set(cut) & source.task_ids(), key=task_key)
    regions = [{"task": r.task, "path": rel, "start": r.begin, "end": r.end}
               for rel, (_, found) in sorted(source.files.items()) for r in found]
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in info.items()]
    lines += ['  "regions": ['] + [
        f"    {json.dumps(r)}{',' if i + 1 < len(regions) else ''}"
        for i, r in enumerate(regions)] + ["  ]", "}", ""]
    (Path(dest) / source.package / MARKER).write_text("\n".join(lines), encoding="utf-8")


def read_marker(root, package="minitorch7"):
    """The ``LEARNER_COPY`` record of the copy ``root`` (a dict), or None when there is none;
    a file that is not JSON gives ``{}`` (still a copy, nothing recorded)."""
    path = Path(root) / package / MARKER
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def enclosing_copy(start=None, package="minitorch7"):
    """The nearest directory at or above ``start`` (default: the current one) that holds a
    learner copy (``<package>/LEARNER_COPY``), or None."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / package / MARKER).is_file():
            return folder
    return None


def wrong_package_warning(running_package_dir, start=None):
    """One line when the current directory lies inside a learner copy whose package is not
    the one running (e.g. the installed ``minitorch7`` command run in the copy); else None."""
    running = Path(running_package_dir).resolve()
    copy = enclosing_copy(start, running.name)
    if copy is None or (copy / running.name).resolve() == running:
        return None
    return (f"minitorch7: note: this runs the package in {running}, not the learner copy "
            f"{copy} around the current directory; to run the copy, use `python -m "
            f"{running.name} ...` from {copy}")


def _version(root):
    """The ``version = "..."`` of ``root/pyproject.toml`` ([project]), or None."""
    try:
        text = (Path(root) / "pyproject.toml").read_text("utf-8")
    except OSError:
        return None
    found = re.search(r'^\[project\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.M | re.S)
    return found[1] if found else None


def _revision(root):
    """``git describe --always --dirty`` of a checkout ``root``, or None."""
    if not (Path(root) / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def check_imports(dest, package="minitorch7"):
    """Import every module of ``package`` from ``dest`` in a fresh interpreter.

    MakeError with the error when one fails or when ``package`` comes from elsewhere.
    """
    code = (
        "import importlib, pkgutil, sys\n"
        f"sys.path.insert(0, {str(dest)!r})\n"
        f"import {package} as p\n"
        f"assert p.__file__.startswith({str(Path(dest) / package)!r}), p.__file__\n"
        "for m in pkgutil.walk_packages(p.__path__, p.__name__ + '.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=dest, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise MakeError(f"learn make: the copy in {dest} does not import:\n{tail}")


def _python_files(root, package):
    for name in COPIED:
        item = root / name.format(package=package)
        if item.is_dir():
            yield from sorted(p for p in item.rglob("*.py") if "__pycache__" not in p.parts)


def _check_parse(dest, package):
    for path in _python_files(dest, package):
        _parse(_read(path), path)


def _parse(text, path):
    try:
        ast.parse(text, filename=str(path))
    except SyntaxError as error:
        raise MakeError(f"learn make: {path}:{error.lineno}: does not parse after cutting: "
                        f"{error.msg}") from error


def _read(path):
    return Path(path).read_bytes().decode("utf-8")
