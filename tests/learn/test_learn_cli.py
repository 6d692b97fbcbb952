"""The ``learn`` commands: parsing, and make / list / show / check end to end on the real
package."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from minitorch7.learn import TASKS
from minitorch7.learn.check import marked_tests
from minitorch7.learn.cli import add_subparser, main
from minitorch7.learn.make import make_copy, package_root, scan

ROOT = package_root()


def _parse(*argv):
    parser = argparse.ArgumentParser(prog="minitorch7")
    add_subparser(parser.add_subparsers(required=True))
    return parser.parse_args(argv)


def test_the_three_commands_parse():
    args = _parse("learn", "make", "out", "--from", "2.1")
    assert (args.dir, args.from_task, args.only) == ("out", "2.1", [])
    assert _parse("learn", "make", "out", "--only", "1.2", "--only", "3.3").only == ["1.2", "3.3"]
    args = _parse("learn", "check", "1.2", "--dir", "copy")
    assert (args.task, args.dir) == ("1.2", "copy")
    assert _parse("learn", "list").dir is None and not _parse("learn", "list").json
    assert _parse("learn", "list", "--json").json
    assert _parse("learn", "show", "2.2", "--dir", "copy").task == "2.2"
    assert len({_parse("learn", c, *a).func for c, a in
                [("list", ()), ("make", ("d",)), ("check", ("1.1",)), ("show", ("1.1",))]}) == 4
    args = _parse("learn", "check", "9.9")
    with pytest.raises(SystemExit) as exited:  # minitorch7/cli.py calls run(args, rest)
        args.run(args, [])
    assert exited.value.code == 2


def test_from_and_only_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        _parse("learn", "make", "out", "--from", "2.1", "--only", "1.2")
    assert "not allowed with argument" in capsys.readouterr().err


def test_unknown_tasks_are_refused_with_the_valid_ids(tmp_path, capsys):
    valid = ", ".join(t.id for t in TASKS)
    for argv in (["check", "9.9"], ["show", "9.9"], ["make", str(tmp_path / "c"), "--only", "9.9"],
                 ["make", str(tmp_path / "c"), "--from", "9.9"], ["show", "9"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"{argv[-1]}" in err
        assert err.strip().endswith(f"the tasks are {valid}"), err
    assert not (tmp_path / "c").exists()


def test_list_shows_every_task(capsys):
    main(["list"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:len(TASKS) + 1]] == [t.id for t in TASKS]


@pytest.fixture(scope="module")
def source():
    """The real package's regions."""
    return scan()


def _a_task_with_regions(source):
    return next(t for t in TASKS if t.id in source.task_ids())


def test_make_writes_a_copy_of_the_real_package(tmp_path, capsys, source):
    task = _a_task_with_regions(source)
    assert main(["make", str(tmp_path / "copy"), "--only", task.id]) == 0
    out = capsys.readouterr().out
    assert f"with 1 task(s) cut: {task.id}" in out and f"learn show {task.id}" in out
    rel = next(rel for rel, (_, found) in source.files.items()
               if any(r.task == task.id for r in found))
    text = (tmp_path / "copy" / rel).read_text()
    assert f'raise NotImplementedError("Task {task.id}: {task.title}. Hint: ' in text
    assert (tmp_path / "copy/tests").is_dir() and (tmp_path / "copy/pyproject.toml").is_file()
    marker = json.loads((tmp_path / "copy/minitorch7/LEARNER_COPY").read_text())
    assert marker["cut"] == [task.id] and marker["version"]


def test_list_json_gives_the_complete_package_s_lines_in_a_checkout_and_in_a_copy(
        tmp_path, capsys, source):
    assert main(["list", "--json", "--dir", str(ROOT)]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [(t["id"], t["title"], t["chapter"]) for t in listing] == [
        (t.id, t.title, t.chapter) for t in TASKS]
    for entry in listing:
        for region in entry["regions"]:
            lines = (ROOT / region["path"]).read_text().splitlines()
            assert lines[region["start"] - 1].strip() == f"# BEGIN TASK {entry['id']}"
            assert lines[region["end"] - 1].strip() == f"# END TASK {entry['id']}"
    assert {e["id"] for e in listing if e["regions"]} == source.task_ids()
    make_copy(tmp_path / "copy", source.task_ids(), source, check_import=False)
    assert main(["list", "--json", "--dir", str(tmp_path / "copy")]) == 0
    in_copy = json.loads(capsys.readouterr().out)
    assert [e["regions"] for e in in_copy] == [e["regions"] for e in listing]
    assert {e["status"] for e in in_copy if e["regions"]} == {"hole"}


def test_list_json_refuses_holes_it_cannot_map_back(tmp_path, capsys, source):
    make_copy(tmp_path / "copy", source.task_ids(), source, check_import=False)
    (tmp_path / "copy/minitorch7/LEARNER_COPY").unlink()
    assert main(["list", "--json", "--dir", str(tmp_path / "copy")]) == 1
    assert "LEARNER_COPY" in capsys.readouterr().err


def test_show_gives_hint_holes_chapter_section_and_tests(tmp_path, capsys, source):
    task = _a_task_with_regions(source)
    make_copy(tmp_path / "copy", {task.id}, source, check_import=False)
    assert main(["show", task.id, "--dir", str(tmp_path / "copy")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Task {task.id}: {task.title}\nchapter: {task.chapter} "
                          f"(docs/{task.chapter}.md)\nhint: {task.hint}\n")
    assert "(a learner copy)" in out and "(hole)" in out
    for nodeid, _ in marked_tests(tmp_path / "copy", task):
        assert nodeid in out
    heading = f"### Task {task.id}: "
    if heading in (ROOT / f"docs/{task.chapter}.md").read_text():
        assert heading in out
    else:
        assert f"has no section '### Task {task.id}: ...'" in out


def test_python_m_minitorch7_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "minitorch7", "learn", "list"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()[1:len(TASKS) + 1]] == [
        t.id for t in TASKS]
    assert Path(ROOT / "minitorch7/__main__.py").is_file()
