"""Finding, validating and cutting ``# BEGIN TASK`` / ``# END TASK`` regions."""

import ast
import textwrap

import pytest

from minitorch7.learn.regions import MarkerError, Region, cut, find_regions, is_hole

SOURCE = textwrap.dedent('''\
    """A module."""


    def add(a, b):
        """Sum."""
        # BEGIN TASK 7.1
        result = a + b
        return result
        # END TASK 7.1


    class Op:
        def backward(self, grad):
            """Backward."""
            if grad is None:
                # BEGIN TASK 7.2
                return 0
                # END TASK 7.2
            return grad

    TEXT = """
    # BEGIN TASK 9.9
    """
    ''')


def message(task_id):
    return {"7.1": 'Task 7.1: add. Hint: use "+"', "7.2": "Task 7.2: grad. Hint: h"}[task_id]


def test_find_regions_gives_tasks_lines_and_indentation_and_ignores_strings():
    assert find_regions(SOURCE, "m.py") == [Region("7.1", "m.py", 6, 9, "    "),
                                            Region("7.2", "m.py", 16, 18, "            ")]


def test_cut_replaces_only_the_body_with_a_raise_at_the_begin_indentation():
    out = cut(SOURCE, find_regions(SOURCE), message)
    old, new = SOURCE.split("\n"), out.split("\n")
    assert new[:6] == old[:6]  # signature and docstring kept, BEGIN kept
    assert new[6] == '    raise NotImplementedError("Task 7.1: add. Hint: use \\"+\\"")'
    assert new[7:] == old[8:16] + [
        '            raise NotImplementedError("Task 7.2: grad. Hint: h")'] + old[17:]
    namespace = {}
    exec(compile(out, "m.py", "exec"), namespace)
    with pytest.raises(NotImplementedError, match=r'Task 7.1: add\. Hint: use "\+"'):
        namespace["add"](1, 2)
    assert namespace["Op"]().backward(5) == 5  # code outside the region still runs
    assert namespace["add"].__doc__ == "Sum."


def test_cut_of_some_regions_leaves_the_others_and_keeps_line_endings():
    crlf = SOURCE.replace("\n", "\r\n")
    regions = find_regions(crlf)
    out = cut(crlf, [r for r in regions if r.task == "7.1"], message)
    assert out.count("\r\n") == crlf.count("\r\n") - 1  # one line for the two of the body
    assert "            return 0\r\n" in out
    assert 'raise NotImplementedError("Task 7.1: add. Hint: use \\"+\\"")\r\n' in out
    ast.parse(out)


def test_is_hole_tells_cut_regions_from_written_ones():
    out = cut(SOURCE, find_regions(SOURCE)[:1], message)
    first, second = find_regions(out)  # the markers stay, around the raise
    assert is_hole(first, out) and not is_hole(second, out)
    assert (first.begin, first.end) == (6, 8)


def _module(body):
    return textwrap.dedent(body)


@pytest.mark.parametrize("source, line, words", [
    (_module("""
        def f():
            # BEGIN TASK 1.1
            return 1
        """), 3, "BEGIN TASK 1.1 has no END TASK 1.1"),
    (_module("""
        def f():
            return 1
            # END TASK 1.1
        """), 4, "without a BEGIN TASK 1.1"),
    (_module("""
        def f():
            # BEGIN TASK 1.1
            x = 1
            # BEGIN TASK 1.1
            return x
            # END TASK 1.1
            # END TASK 1.1
        """), 5, "must not nest"),
    (_module("""
        def f():
            # BEGIN TASK 1.1
            x = 1
            # BEGIN TASK 1.2
            return x
            # END TASK 1.1
            # END TASK 1.2
        """), 5, "nest or overlap"),
    (_module("""
        def f():
            # BEGIN TASK 1.1
            x = 1
            # END TASK 1.2
        """), 5, "regions must not overlap"),
    (_module("""
        # BEGIN TASK 1.1
        x = 1
        # END TASK 1.1
        """), 2, "not inside a function body"),
    (_module("""
        class A:
            # BEGIN TASK 1.1
            def f(self):
                return 1
            # END TASK 1.1
        """), 3, "not inside a function body"),
    (_module("""
        def f():
            x = g(1,
            # BEGIN TASK 1.1
                  2)
            return x
            # END TASK 1.1
        """), 4, "cuts through the statement at lines 3-5"),
    (_module("""
        def f():
            # BEGIN TASK 1.1
            if x:
                return 1
                # END TASK 1.1
            return 2
        """), 6, "indented unlike its BEGIN"),
    (_module("""
        def f():
            return g(
                # BEGIN TASK 1.1
                1,
                # END TASK 1.1
            )
        """), 4, "wraps no whole statement"),
    (_module("""
        def f():
            # BEGIN TASK 1.1
            # END TASK 1.1
            return 1
        """), 3, "wraps no whole statement"),
    (_module("""
        def f():
                # BEGIN TASK 1.1
            return 1
                # END TASK 1.1
        """), 3, "indented 8 columns but the statements it wraps 4"),
    (_module("""
        def f():
            x = 1  # BEGIN TASK 1.1
            return x
        """), 3, "must be alone on its line"),
    (_module("""
        def f():
            # BEGIN TASK one
            return 1
        """), 3, "malformed task marker"),
])
def test_bad_markers_are_errors_naming_file_and_line(source, line, words):
    with pytest.raises(MarkerError) as error:
        find_regions(source, "pkg/mod.py")
    assert str(error.value).startswith(f"pkg/mod.py:{line}: ")
    assert words in str(error.value)


def test_regions_in_nested_blocks_and_functions_are_fine():
    source = _module("""
        def outer(x):
            def inner():
                # BEGIN TASK 1.1
                return 1
                # END TASK 1.1
            for i in range(3):
                try:
                    # BEGIN TASK 1.2
                    x += inner()
                    # END TASK 1.2
                except ValueError:
                    pass
            return x
        """)
    assert [(r.task, r.begin) for r in find_regions(source)] == [("1.1", 4), ("1.2", 9)]
