"""Find the solution regions of a source file and cut them into holes.

A region is fenced by two comment lines of the same indentation::

    def backward(ctx, grad):
        # BEGIN TASK 1.2
        a, b = ctx.saved_arrays
        return grad * b, grad * a
        # END TASK 1.2

and wraps whole statements of one block inside a function body. Cutting keeps the two
marker lines and replaces what lies between them with one line at the BEGIN line's
indentation, ``raise NotImplementedError("Task 1.2: <title>. Hint: <hint>")``; every other
byte of the file is kept. Markers are found with ``tokenize``, so text that only looks like
a marker inside a string is ignored.
"""

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass

_MARKER = re.compile(r"#\s*(BEGIN|END)\s+TASK\b")
_STRICT = re.compile(r"# (BEGIN|END) TASK (\d+\.\d+)")
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class MarkerError(ValueError):
    """A badly placed or malformed task marker; the message starts with ``file:line:``."""


@dataclass(frozen=True)
class Region:
    """The lines ``begin`` .. ``end`` (1-based, the marker lines included) of task ``task``
    in file ``path``; ``indent`` is the BEGIN line's leading whitespace."""

    task: str
    path: str
    begin: int
    end: int
    indent: str


def hole_line(task_id, message):
    """The statement a cut region becomes (without indentation)."""
    return f"raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"


def is_hole(region, text):
    """True when the region's body is the cut ``raise NotImplementedError("Task x.y: ...")``."""
    lines = text.split("\n")[region.begin:region.end - 1]
    prefix = f'raise NotImplementedError("Task {region.task}:'
    return any(line.strip().startswith(prefix) for line in lines)


def find_regions(text, path="<string>"):
    """Every region of a Python source ``text``, in file order.

    Raises MarkerError (naming ``path:line``) for a malformed marker, a marker that shares its
    line with code, an END without its BEGIN, a BEGIN without its END, nested or overlapping
    regions, and a region that is empty, cuts through a statement, mixes blocks, is indented
    unlike the statements it wraps, or is not inside a function body. SyntaxError when
    ``text`` does not parse.
    """
    if "TASK" not in text:
        return []
    tree = ast.parse(text, filename=path)
    regions = _pair(_markers(text, path), path)
    statements = list(_statements(tree.body, None, None))
    for region in regions:
        _check_placement(region, statements)
    return regions


def cut(text, regions, message_for):
    """``text`` with the body of each region replaced by its ``raise NotImplementedError``.

    ``message_for(task_id)`` gives the error message; the marker lines and everything outside
    the regions stay byte-identical (line endings included).
    """
    lines = text.split("\n")
    for region in sorted(regions, key=lambda r: r.begin, reverse=True):
        ending = "\r" if lines[region.begin - 1].endswith("\r") else ""
        statement = hole_line(region.task, message_for(region.task))
        lines[region.begin:region.end - 1] = [region.indent + statement + ending]
    return "\n".join(lines)


def _markers(text, path):
    """(kind, task id, line, column, indent) of each marker comment."""
    found = []
    lines = text.split("\n")
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type != tokenize.COMMENT or not _MARKER.match(token.string):
            continue
        line, column = token.start
        where = f"{path}:{line}"
        source_line = lines[line - 1]
        if source_line[:column].strip():
            raise MarkerError(f"{where}: a task marker must be alone on its line, found "
                              f"{source_line.strip()!r}")
        strict = _STRICT.fullmatch(token.string.rstrip())
        if not strict:
            raise MarkerError(f"{where}: malformed task marker {token.string!r}; write "
                              "'# BEGIN TASK x.y' or '# END TASK x.y'")
        found.append((strict[1], strict[2], line, column, source_line[:column]))
    return found


def _pair(markers, path):
    """Match each BEGIN with the next END of the same task; no nesting, no overlap."""
    regions, open_ = [], None
    for kind, task, line, _column, indent in markers:
        if kind == "BEGIN":
            if open_ is not None:
                what = "nest" if open_[0] == task else "nest or overlap"
                raise MarkerError(f"{path}:{line}: BEGIN TASK {task} while TASK {open_[0]} "
                                  f"(opened at line {open_[1]}) is still open: regions "
                                  f"must not {what}")
            open_ = (task, line, indent)
            continue
        if open_ is None:
            raise MarkerError(f"{path}:{line}: END TASK {task} without a BEGIN TASK {task} "
                              "before it")
        if open_[0] != task:
            raise MarkerError(f"{path}:{line}: END TASK {task} but the open region is TASK "
                              f"{open_[0]} (line {open_[1]}): regions must not overlap")
        if indent != open_[2]:
            raise MarkerError(f"{path}:{line}: END TASK {task} is indented unlike its BEGIN "
                              f"at line {open_[1]}")
        regions.append(Region(task, path, open_[1], line, open_[2]))
        open_ = None
    if open_ is not None:
        raise MarkerError(f"{path}:{open_[1]}: BEGIN TASK {open_[0]} has no END TASK "
                          f"{open_[0]}")
    return regions


def _statements(body, parent, function):
    """(statement, first line, its block, its parent statement, its enclosing function) for
    every statement, depth first. A class body is not a function body."""
    for node in body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        yield node, first, id(body), parent, function
        inner = node if isinstance(node, _FUNCTIONS) else (
            None if isinstance(node, ast.ClassDef) else function)
        for block in _blocks(node):
            yield from _statements(block, node, inner)


def _blocks(node):
    """The statement lists directly inside a compound statement."""
    for _name, value in ast.iter_fields(node):
        if not isinstance(value, list) or not value:
            continue
        if isinstance(value[0], ast.stmt):
            yield value
        elif isinstance(value[0], ast.excepthandler) or type(value[0]).__name__ == "match_case":
            for handler in value:
                yield handler.body


def _check_placement(region, statements):
    where = f"{region.path}:{region.begin}"
    name = f"TASK {region.task} (lines {region.begin}-{region.end})"
    inside = []
    for node, first, block, parent, function in statements:
        last = node.end_lineno
        starts_in = region.begin < first < region.end
        ends_in = region.begin < last < region.end
        # A compound statement may end inside the region: the region is then in its body.
        if (starts_in and not ends_in) or (ends_in and not starts_in and not any(_blocks(node))):
            raise MarkerError(f"{where}: region {name} cuts through the statement at lines "
                              f"{first}-{last}; fence whole statements")
        if starts_in:
            inside.append((node, block, parent, function))
    if not inside:
        raise MarkerError(f"{where}: region {name} wraps no whole statement (markers must sit "
                          "between statements, not inside an expression)")
    nodes = {id(node) for node, *_ in inside}
    top = [entry for entry in inside if id(entry[2]) not in nodes]
    if len({block for _, block, _, _ in top}) != 1:
        raise MarkerError(f"{where}: region {name} spans statements of different blocks")
    node, _, _, function = top[0]
    if function is None:
        raise MarkerError(f"{where}: region {name} is not inside a function body; fence the "
                          "statements inside one function (signature and docstring stay)")
    if len(region.indent) != node.col_offset:
        raise MarkerError(f"{where}: BEGIN TASK {region.task} is indented "
                          f"{len(region.indent)} columns but the statements it wraps "
                          f"{node.col_offset}")
