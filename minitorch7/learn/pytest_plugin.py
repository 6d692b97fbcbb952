"""pytest plugin that ``learn check`` loads into the pytest run of a learner copy.

It records each test's outcome as JSON (path in ``MINITORCH7_LEARN_REPORT``): passed,
failed, skipped or error, the first lines of the failure, and the message of a
``NotImplementedError`` met on the way (a hole). It also records where the package named
``MINITORCH7_LEARN_PACKAGE`` was imported from, and registers the markers listed in
``MINITORCH7_LEARN_MARKERS``. It imports nothing from the package, so it works even when
the learner's package is broken; ``check.py`` copies it next to the run.
"""

import json
import os
import re
import sys

import pytest

_HOLE_TEXT = re.compile(r"NotImplementedError: (.*)")
_RESULTS = []


def pytest_configure(config):
    for marker in filter(None, os.environ.get("MINITORCH7_LEARN_MARKERS", "").split(",")):
        config.addinivalue_line("markers", f"{marker}: a missing-pieces task")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and call.excinfo is not None:
        report.learn_hole = _hole(call.excinfo.value, set())
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
    hole = getattr(report, "learn_hole", None)
    if hole is None and report.failed:
        found = _HOLE_TEXT.search(text)
        hole = found[1] if found else None
    _RESULTS.append({"nodeid": report.nodeid, "when": getattr(report, "when", "collect"),
                     "outcome": outcome or report.outcome, "message": message, "hole": hole})


def _hole(error, seen):
    """The message of the NotImplementedError in ``error``, its causes or its group."""
    if error is None or id(error) in seen:
        return None
    seen.add(id(error))
    if isinstance(error, NotImplementedError):
        return str(error)
    for inner in (*getattr(error, "exceptions", ()), error.__cause__, error.__context__):
        found = _hole(inner, seen)
        if found is not None:
            return found
    return None
