"""Write a learner copy: the package, tests, exercises and docs with chosen regions cut.

``make_copy(dest, cut)`` copies the tree, then rewrites the files holding a region of a
task in ``cut`` (see ``regions.cut``); every other file is copied byte for byte. The copy is
checked: every ``.py`` file parses and every module of the package imports.
"""

import ast
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import regions as regions_mod
from .tasks import TASKS, task_key, tasks_from

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
    for task_id in ([from_task] if from_task else []) + list(only):
        task_key(task_id)
        if task_id not in known:
            raise ValueError(f"learn make: no task {task_id}; the tasks are "
                             f"{', '.join(sorted(known, key=task_key))}")
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
    apply_cuts(dest, cut, source)
    _check_parse(dest, source.package)
    if check_import:
        check_imports(dest, source.package)
    return sorted(set(cut) - source.task_ids(), key=task_key)


def apply_cuts(dest, cut, source):
    """Make the copy ``dest`` cut exactly the tasks in ``cut``: rewrite the region files whose
    text differs; a file that needs no cut gets the original back, its timestamp kept."""
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
