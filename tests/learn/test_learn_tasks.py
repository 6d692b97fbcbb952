"""The task registry, and docs/learn.md's table of it."""

import re
from pathlib import Path

import pytest

from minitorch7.learn.tasks import TASKS, get, task_key, tasks_from

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_registry_is_a_curriculum_in_lab_order():
    assert len(TASKS) >= 20
    keys = [t.key for t in TASKS]
    assert keys == sorted(set(keys))
    assert {t.id.split(".")[0] for t in TASKS} == {"1", "2", "3", "4"}
    for task in TASKS:
        assert task.title and task.hint and "\n" not in task.hint + task.title
        assert (DOCS / f"{task.chapter}.md").is_file(), task


def test_ids_markers_and_lookups():
    assert task_key("1.10") > task_key("1.9")
    assert get("3.3").marker == "task_" + "3_3"  # (not the literal: it would look marked)
    assert [t.id for t in tasks_from("4.2")] == ["4.2", "4.3", "4.4"]
    with pytest.raises(KeyError, match="no task 9.1"):
        get("9.1")
    with pytest.raises(ValueError, match="not of the form x.y"):
        get("3")


def test_docs_learn_md_lists_every_task_with_its_chapter():
    rows = re.findall(r"^\| (\d+\.\d+) \| (.+?) \| \[(\w+)\]\((\w+)\.md\) \|$",
                      (DOCS / "learn.md").read_text(), re.M)
    assert [(t.id, t.title, t.chapter, t.chapter) for t in TASKS] == rows
