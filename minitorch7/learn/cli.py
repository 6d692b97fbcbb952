"""``minitorch7 learn list | show | make | check``: the missing-pieces commands.

``add_subparser(subparsers)`` registers them under ``learn``; each sets ``func``, which takes
the parsed arguments and returns the exit status, and ``run(args, rest)``, which exits with it
(what ``minitorch7/cli.py`` calls).
"""

import argparse
import json
import os
import sys
from pathlib import Path

from . import check, make
from .regions import MarkerError
from .tasks import TASKS, task_key


def add_subparser(subparsers):
    """Register ``learn`` and its four commands on an argparse subparsers object."""
    learn = subparsers.add_parser(
        "learn", help="missing pieces: make a learner copy, check a task",
        description="Re-implement minitorch7's missing pieces: make a copy with holes, "
                    "then check each task against its tests.")
    commands = learn.add_subparsers(dest="learn_command", required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="the tasks and their status in a copy")
    listing.add_argument("--dir", help="the copy (default: here if it is one, else the "
                                       "package's own tree)")
    listing.add_argument("--json", action="store_true",
                         help="a JSON list, one task a line: id, title, chapter, status, and "
                              "regions (path, start, end: the marker lines in the complete "
                              "package)")
    listing.set_defaults(func=_list, run=_run)

    shower = commands.add_parser("show", help="one task: hint, holes, chapter section, tests")
    shower.add_argument("task", metavar="X.Y")
    shower.add_argument("--dir", help="the copy (default: here if it is one, else the "
                                      "package's own tree)")
    shower.set_defaults(func=_show, run=_run)

    maker = commands.add_parser("make", help="write a learner copy with tasks cut out")
    maker.add_argument("dir", help="a new or empty directory")
    which = maker.add_mutually_exclusive_group()
    which.add_argument("--from", dest="from_task", metavar="X.Y",
                       help="cut this task and every later one")
    which.add_argument("--only", action="append", default=[], metavar="X.Y",
                       help="cut just this task (repeatable)")
    maker.set_defaults(func=_make, run=_run)

    checker = commands.add_parser("check", help="run one task's tests against a copy")
    checker.add_argument("task", metavar="X.Y")
    checker.add_argument("--dir", help="the copy (default: here if it is one, else the "
                                       "package's own tree)")
    checker.set_defaults(func=_check, run=_run)
    return learn


def main(argv=None):
    """``python -m minitorch7.learn``: the same commands without the ``learn`` word."""
    parser = argparse.ArgumentParser(prog="python -m minitorch7.learn")
    subparsers = parser.add_subparsers(required=True, metavar="COMMAND")
    add_subparser(subparsers)
    args = parser.parse_args(["learn", *(sys.argv[1:] if argv is None else argv)])
    warn_if_not_the_copy()
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `python -m minitorch7.learn list --json | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def warn_if_not_the_copy():
    """Print one line on stderr when the current directory is inside a learner copy whose
    package is not the one running."""
    warning = make.wrong_package_warning(Path(__file__).resolve().parents[1])
    if warning:
        print(warning, file=sys.stderr)


def _run(args, rest=()):
    raise SystemExit(args.func(args))


def _list(args):
    if args.json:
        try:
            listing = check.task_listing(args.dir)
        except LookupError as error:
            print(f"learn list --json: {error}", file=sys.stderr)
            return 1
        print("[\n" + ",\n".join(json.dumps(entry) for entry in listing) + "\n]")
        return 0
    rows, errors = check.task_status(args.dir)
    print(check.format_status(rows, errors))
    return 1 if errors else 0


def _task(command, task_id):
    """The task with this id, or None after printing the valid ids on stderr."""
    try:
        return check.find_task(task_id)
    except ValueError as error:
        print(f"learn {command}: {error}", file=sys.stderr)
        return None


def _show(args):
    task = _task("show", args.task)
    if task is None:
        return 2
    print(check.describe(task, args.dir))
    return 0


def _make(args):
    try:
        cut = make.select(TASKS, args.from_task, args.only)
        missing = make.make_copy(args.dir, cut)
    except (ValueError, MarkerError, make.MakeError) as error:
        print(error, file=sys.stderr)
        return 2
    done = sorted(set(cut) - set(missing), key=task_key)
    print(f"wrote a learner copy to {args.dir} with {len(done)} task(s) cut: {' '.join(done)}")
    if missing:
        print(f"warning: no region marked for {' '.join(missing)}; nothing cut for them",
              file=sys.stderr)
    print(f"next: cd {args.dir} && python -m minitorch7 learn show "
          f"{done[0] if done else 'X.Y'}")
    return 0


def _check(args):
    if _task("check", args.task) is None:
        return 2
    result = check.run_task(args.task, args.dir)
    print(check.format_result(result))
    return 0 if result.ok else 1
