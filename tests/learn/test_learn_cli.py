"""The ``learn`` commands: parsing, and make / list / check end to end on the real package."""

import argparse

import pytest

from minitorch7.learn import TASKS
from minitorch7.learn.cli import add_subparser, main


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
    assert _parse("learn", "list").dir is None
    assert len({_parse("learn", c, *a).func for c, a in
                [("list", ()), ("make", ("d",)), ("check", ("1.1",))]}) == 3
    args = _parse("learn", "check", "9.9")
    with pytest.raises(SystemExit) as exited:  # minitorch7/cli.py calls run(args, rest)
        args.run(args, [])
    assert exited.value.code == 2


def test_from_and_only_exclude_each_other(capsys):
    with pytest.raises(SystemExit):
        _parse("learn", "make", "out", "--from", "2.1", "--only", "1.2")
    assert "not allowed with argument" in capsys.readouterr().err


def test_unknown_tasks_are_refused(tmp_path, capsys):
    assert main(["check", "9.9"]) == 2
    assert main(["make", str(tmp_path / "copy"), "--only", "9.9"]) == 2
    assert "no task 9.9" in capsys.readouterr().err


def test_list_shows_every_task(capsys):
    main(["list"])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:len(TASKS) + 1]] == [t.id for t in TASKS]


def test_make_writes_a_copy_of_the_real_package(tmp_path, capsys):
    assert main(["make", str(tmp_path / "copy"), "--only", "1.5"]) == 0
    assert "with 1 task(s) cut: 1.5" in capsys.readouterr().out
    engine = (tmp_path / "copy/minitorch7/autograd/engine.py").read_text()
    assert 'raise NotImplementedError("Task 1.5: the topological sort. Hint: ' in engine
    assert (tmp_path / "copy/tests").is_dir() and (tmp_path / "copy/pyproject.toml").is_file()
