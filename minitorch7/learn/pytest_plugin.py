"""pytest plugin that ``learn check`` loads into the pytest run of a learner copy.

It records each test's outcome as JSON (path in ``MINITORCH7_LEARN_REPORT``): passed,
failed, skipped or error, the first lines of the failure, and the message of a
``NotImplementedError`` met on the way (a hole). For a failure it also records the frames
of the traceback that lie inside the run's root directory (the copy: its package and its
tests; path relative to the root, line, function's qualified name, source line), outermost
first, of the hole's ``NotImplementedError`` when there is one, else of the error itself,
and hypothesis's ``Falsifying example: ...`` lines. ``check.py`` turns the frames into
"forward of Mul failed in ...". It also records where the package named
``MINITORCH7_LEARN_PACKAGE`` was imported from, and registers the markers listed in
``MINITORCH7_LEARN_MARKERS``. It imports nothing from the package, so it works even when
the learner's package is broken; ``check.py`` copies it next to the run.
"""

import json
import linecache
import os
import re
import sys
from pathlib import Path

import pytest

_HOLE_TEXT = re.compile(r"NotImplementedError: (.*)")
# hypothesis's note on a failure: "Falsifying example: f(...)", "Failing test case: f(...)" in
# newer releases
_EXAMPLE_START = ("Falsifying example:", "Falsifying explicit example:", "Failing test case:")
_EXAMPLE = re.compile(r"^(?:E\s+)?((?:" + "|".join(map(re.escape, _EXAMPLE_START)) + r").*)$")
_MAX_FRAMES = 40
_MAX_EXAMPLE_LINES = 12
_RESULTS = []
_ROOT = []


def pytest_configure(config):
    _ROOT[:] = [Path(str(config.rootpath)).resolve()]
    for marker in filter(None, os.environ.get("MINITORCH7_LEARN_MARKERS", "").split(",")):
        config.addinivalue_line("markers", f"{marker}: a missing-pieces task")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and call.excinfo is not None:
        error = call.excinfo.value
        hole = _find_hole(error, set())
        report.learn_hole = None if hole is None else str(hole)
        shown = hole if hole is not None else _first_leaf(error)
        report.learn_exception = type(shown).__name__
        report.learn_frames = _frames(shown.__traceback__)
        report.learn_example = _example_from_notes(error, set())
        if shown is not error and hole is None:  # a group: say so, then its first error
            report.learn_message = (f"{type(error).__name__}: {error}; the first: "
                                    f"{type(shown).__name__}: {shown}")
    return report


def pytest_runtest_logreport(report):
    if report.when == "call" or report.failed or report.skipped:
        _record(report, "error" if report.failed and report.when != "call" else None)


def pytest_collectreport(report):
    if report.failed:
        _record(report, "error")


def pytest_sessionfinish(session, exitstatus):
    package = sys.modules.get(os.environ.get("MINITORCH7_LEARN_PACKAGE", "minitorch7"))
    with open(os.environ["MINITORCH7_LEARN_REPORT"], "w", encoding="utf-8") as out:
        json.dump({"package_file": getattr(package, "__file__", None),
                   "exitstatus": int(exitstatus), "results": _RESULTS}, out)


def _record(report, outcome):
    text = str(report.longrepr) if report.longrepr is not None else ""
    crash = getattr(report.longrepr, "reprcrash", None)
    if report.skipped and isinstance(report.longrepr, tuple):
        message = report.longrepr[2]
    elif outcome == "error" and report.when in (None, "collect"):
        message = "\n".join(text.strip().splitlines()[-6:])
    else:
        message = crash.message if crash is not None else text
    message = getattr(report, "learn_message", None) or message
    hole = getattr(report, "learn_hole", None)
    if hole is None and report.failed:
        found = _HOLE_TEXT.search(text)
        hole = found[1] if found else None
    example = getattr(report, "learn_example", None)
    if example is None and report.failed:
        example = _example_from_text(text)
    if example is not None:  # pytest adds the exception's notes to the message: drop them
        cut = [message.index("\n" + s) for s in _EXAMPLE_START if "\n" + s in message]
        message = message[:min(cut)] if cut else message
    _RESULTS.append({"nodeid": report.nodeid, "when": getattr(report, "when", "collect"),
                     "outcome": outcome or report.outcome, "message": message, "hole": hole,
                     "exception": getattr(report, "learn_exception", None),
                     "frames": getattr(report, "learn_frames", []), "example": example})


def _find_hole(error, seen):
    """The NotImplementedError in ``error``, its causes or its group, or None."""
    if error is None or id(error) in seen:
        return None
    seen.add(id(error))
    if isinstance(error, NotImplementedError):
        return error
    for inner in (*getattr(error, "exceptions", ()), error.__cause__, error.__context__):
        found = _find_hole(inner, seen)
        if found is not None:
            return found
    return None


def _first_leaf(error):
    """An exception group's first exception (hypothesis reports several bugs as a group)."""
    while getattr(error, "exceptions", None):
        error = error.exceptions[0]
    return error


def _frames(tb):
    """[{path, line, function, code}] of the traceback's frames inside the root, outermost
    first (the innermost ``_MAX_FRAMES``)."""
    root = _ROOT[0] if _ROOT else Path.cwd().resolve()
    frames = []
    while tb is not None:
        code = tb.tb_frame.f_code
        try:
            path = Path(code.co_filename).resolve()
            rel = path.relative_to(root).as_posix()
        except (OSError, ValueError):
            rel = None
        if rel is not None and not rel.startswith("_minitorch7_learn_plugin"):
            frames.append({"path": rel, "line": tb.tb_lineno,
                           "function": getattr(code, "co_qualname", code.co_name),
                           "code": linecache.getline(code.co_filename, tb.tb_lineno).strip()})
        tb = tb.tb_next
    return frames[-_MAX_FRAMES:]


def _example_from_notes(error, seen):
    """Hypothesis's "Falsifying example: ..." (or "Failing test case: ...") note on
    ``error`` or inside its group."""
    if error is None or id(error) in seen:
        return None
    seen.add(id(error))
    notes = [str(note) for note in getattr(error, "__notes__", ())]
    starts = [i for i, note in enumerate(notes) if note.startswith(_EXAMPLE_START)]
    if starts:  # the last example, then hypothesis's "Draw 1: ..." notes after it
        draws = [n for n in notes[starts[-1] + 1:] if n.startswith("Draw ")]
        return _clip("\n".join([notes[starts[-1]], *draws]).splitlines())
    for inner in getattr(error, "exceptions", ()):
        found = _example_from_notes(inner, seen)
        if found is not None:
            return found
    return None


def _example_from_text(text):
    """The "Falsifying example: ..." block of a failure's text (up to its closing bracket)."""
    block, depth = None, 0
    for line in text.splitlines():
        found = _EXAMPLE.match(line)
        if block is None and not found:
            continue
        body = found[1] if block is None else (line[1:] if line.startswith("E ") else line)
        block = (block or []) + [body.rstrip()]
        depth += body.count("(") - body.count(")")
        if depth <= 0:
            break
    return None if block is None else _clip(block)


def _clip(lines):
    if len(lines) > _MAX_EXAMPLE_LINES:
        lines = lines[:_MAX_EXAMPLE_LINES - 1] + ["    ..."]
    return "\n".join(lines)
