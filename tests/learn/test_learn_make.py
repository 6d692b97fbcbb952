"""Writing learner copies of the toy project (see conftest.py)."""

import ast
import importlib
import json
import os
import sys

import pytest

from minitorch7.learn.make import (
    MakeError,
    apply_cuts,
    enclosing_copy,
    make_copy,
    read_marker,
    scan,
    select,
    wrong_package_warning,
)
from minitorch7.learn.regions import MarkerError


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def _import_toy(root):
    """toypkg imported from ``root`` (then forgotten again)."""
    sys.path.insert(0, str(root))
    try:
        for name in [m for m in sys.modules if m == "toypkg" or m.startswith("toypkg.")]:
            del sys.modules[name]
        return importlib.import_module("toypkg")
    finally:
        sys.path.remove(str(root))


def test_select_from_only_and_default(toy_tasks):
    assert select(toy_tasks, from_task="7.2") == {"7.2", "7.3"}
    assert select(toy_tasks, only=["7.1", "7.3"]) == {"7.1", "7.3"}
    assert select(toy_tasks) == {"7.1", "7.2", "7.3"}
    with pytest.raises(ValueError, match="not both"):
        select(toy_tasks, from_task="7.1", only=["7.2"])
    with pytest.raises(ValueError, match="no task 7.9; the tasks are 7.1, 7.2, 7.3"):
        select(toy_tasks, only=["7.9"])
    with pytest.raises(ValueError, match="not of the form x.y.*; the tasks are 7.1, 7.2, 7.3"):
        select(toy_tasks, from_task="7")


def test_only_cuts_that_task_and_keeps_every_other_byte(toy_root, toy_source, tmp_path):
    dest = tmp_path / "copy"
    missing = make_copy(dest, {"7.2"}, toy_source)
    assert missing == []
    before, after = _files(toy_root), _files(dest)
    marker = json.loads(after.pop("toypkg/LEARNER_COPY"))
    assert before.keys() == after.keys()  # nothing stripped, nothing added but the marker
    assert [rel for rel in before if before[rel] != after[rel]] == ["toypkg/ops.py"]
    assert marker["cut"] == ["7.2"] and marker["package"] == "toypkg"
    text = after["toypkg/ops.py"].decode()
    ast.parse(text)
    assert "result = a + b" in text and "return a * b" not in text
    assert ('    # BEGIN TASK 7.2\n    raise NotImplementedError("Task 7.2: mul. Hint: '
            'multiply them")\n    # END TASK 7.2\n') in text
    toy = _import_toy(dest)
    assert toy.add(2, 3) == 5 and toy.mul(0, 5) == 0  # before the region: still runs
    with pytest.raises(NotImplementedError, match=r"^Task 7\.2: mul\. Hint: multiply them$"):
        toy.square(3)
    assert toy.mul.__doc__ == "Product of a and b."


def test_from_cuts_every_later_task_and_reports_those_without_regions(toy_tasks, toy_source,
                                                                           tmp_path):
    missing = make_copy(tmp_path / "copy", select(toy_tasks, from_task="7.1"), toy_source)
    assert missing == ["7.3"]
    text = (tmp_path / "copy/toypkg/ops.py").read_text()
    assert 'raise NotImplementedError("Task 7.1: add. Hint: add the \\"two\\" numbers")' in text
    assert text.count("raise NotImplementedError") == 2


def test_the_destination_must_be_new_or_empty(toy_source, tmp_path):
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy/keep.txt").write_text("mine")
    with pytest.raises(MakeError, match="is not empty"):
        make_copy(tmp_path / "copy", {"7.1"}, toy_source)


def test_a_marker_of_an_unknown_task_is_an_error(toy_root, toy_tasks):
    with pytest.raises(MarkerError, match=r"^toypkg/ops.py:6: TASK 7.1 is not in the task reg"):
        scan(toy_root, toy_tasks[1:], package="toypkg")


def test_a_cut_that_breaks_the_import_is_caught(toy_root, toy_tasks, write_files, tmp_path):
    write_files(toy_root, {"toypkg/table.py": """
        def build():
            # BEGIN TASK 7.3
            return [1, 2]
            # END TASK 7.3


        TABLE = build()
        """})
    (toy_root / "toypkg/__init__.py").write_text("from . import table\n")
    source = scan(toy_root, toy_tasks, package="toypkg")
    with pytest.raises(MakeError, match=r"does not import:(.|\n)*Task 7\.3: div"):
        make_copy(tmp_path / "copy", {"7.3"}, source)


def test_apply_cuts_recuts_a_copy_in_place_and_restores_originals(toy_root, toy_source,
                                                                 tmp_path):
    dest = tmp_path / "copy"
    make_copy(dest, {"7.1", "7.2"}, toy_source, check_import=False)
    apply_cuts(dest, {"7.2"}, toy_source)
    assert "result = a + b" in (dest / "toypkg/ops.py").read_text()
    apply_cuts(dest, set(), toy_source)
    original, copied = toy_root / "toypkg/ops.py", dest / "toypkg/ops.py"
    assert copied.read_bytes() == original.read_bytes()
    assert os.stat(copied).st_mtime_ns == os.stat(original).st_mtime_ns  # numba cache stays


def test_the_marker_records_the_cut_and_the_complete_package_s_lines(toy_root, toy_source,
                                                                     tmp_path):
    (toy_root / "pyproject.toml").write_text('[project]\nname = "toy"\nversion = "1.2.3"\n')
    dest = tmp_path / "copy"
    make_copy(dest, {"7.1", "7.3"}, scan(toy_root, toy_source.tasks, package="toypkg"),
              check_import=False)
    marker = read_marker(dest, "toypkg")
    assert marker["cut"] == ["7.1"]  # 7.3 has no region: nothing was cut for it
    assert marker["version"] == "1.2.3" and marker["source"].startswith(str(toy_root))
    assert marker["regions"] == [
        {"task": "7.1", "path": "toypkg/ops.py", "start": 6, "end": 9},
        {"task": "7.2", "path": "toypkg/ops.py", "start": 16, "end": 18}]
    text = (toy_root / "toypkg/ops.py").read_text().splitlines()
    assert text[5] == text[8].replace("END", "BEGIN") == "    # BEGIN TASK 7.1"
    apply_cuts(dest, {"7.2"}, toy_source)  # re-cutting in place updates the record
    assert read_marker(dest, "toypkg")["cut"] == ["7.2"]
    assert read_marker(toy_root, "toypkg") is None


def test_a_copy_is_found_from_inside_it_and_another_package_is_named(toy_source, tmp_path):
    dest = tmp_path / "copy"
    make_copy(dest, {"7.1"}, toy_source, check_import=False)
    inside = dest / "tests"
    assert enclosing_copy(inside, "toypkg") == dest
    assert enclosing_copy(tmp_path, "toypkg") is None
    assert wrong_package_warning(dest / "toypkg", inside) is None
    other = tmp_path / "elsewhere/toypkg"
    other.mkdir(parents=True)
    warning = wrong_package_warning(other, inside)
    assert warning.count("\n") == 0
    assert str(other) in warning and f"from {dest}" in warning and "python -m toypkg" in warning
