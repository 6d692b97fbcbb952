"""Draw the autograd graph behind a tensor as an SVG picture, with no graphviz or other
program: the layout and the SVG text are written here.

    loss = ((x @ w + b).sigmoid() - t).pow(2).mean()
    minitorch7.draw(loss, "graph.svg", names={"x": x, "w": w, "b": b, "t": t})

Boxes are ops (named by their Function class), ellipses are leaves with their size (solid
when they require grad, dashed when they are constants), the double ellipse at the bottom
is the result; arrows go from each input to the op that used it, so data flows down the
page and backward runs up it. ``Svg`` is the small SVG writer the docs' diagrams share.
"""

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .autograd import Context, topological_order

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def text_width(text, size=12):
    """About how wide ``text`` is drawn at font ``size`` (no font metrics needed)."""
    return 0.6 * size * max((len(line) for line in str(text).split("\n")), default=0)


class Svg:
    """A tiny SVG writer: shapes are added in drawing order, the canvas grows to hold them.

    Colours and other presentation attributes are keyword arguments, with ``_`` for ``-``
    (``stroke_width=2``); ``cls`` sets the class attribute. ``group(cls)`` opens a <g> that
    shapes are added to until ``end()``.
    """

    def __init__(self, margin=10, font_size=12):
        self.parts, self.margin, self.font_size = [], margin, font_size
        self.box = [float("inf"), float("inf"), float("-inf"), float("-inf")]
        self.markers = {}
        self.depth = 0

    def _grow(self, x0, y0, x1, y1):
        b = self.box
        b[0], b[1], b[2], b[3] = min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)

    def _add(self, tag, attrs, body=None, close=True):
        text = " ".join(f"{_attr_name(k)}={quoteattr(_fmt(v))}"
                        for k, v in attrs.items() if v is not None)
        indent = "  " * (self.depth + 1)
        end = "/>" if close and body is None else ">"
        self.parts.append(f"{indent}<{tag} {text}{end}" + (
            "" if body is None else f"{body}</{tag}>"))

    def group(self, cls=None, **attrs):
        """Open a <g> (closed by ``end()``): what is drawn until then goes inside it."""
        self._add("g", dict(cls=cls, **attrs), close=False)
        self.depth += 1
        return self

    def end(self):
        self.depth -= 1
        self.parts.append("  " * (self.depth + 1) + "</g>")

    def rect(self, x, y, w, h, fill="white", stroke="black", **attrs):
        self._grow(x, y, x + w, y + h)
        self._add("rect", dict(x=x, y=y, width=w, height=h, fill=fill, stroke=stroke, **attrs))

    def ellipse(self, cx, cy, rx, ry, fill="white", stroke="black", **attrs):
        self._grow(cx - rx, cy - ry, cx + rx, cy + ry)
        self._add("ellipse", dict(cx=cx, cy=cy, rx=rx, ry=ry, fill=fill, stroke=stroke,
                                  **attrs))

    def text(self, x, y, text, size=None, anchor="middle", **attrs):
        """Text centred at (x, y) (``anchor`` start/middle/end); "\\n" breaks lines."""
        size = size or self.font_size
        lines = str(text).split("\n")
        width = text_width(text, size)
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        top = y - size * 0.6 * len(lines)
        self._grow(left, top, left + width, top + 1.2 * size * len(lines))
        first = y - 0.6 * size * (len(lines) - 1) + 0.35 * size
        body = "".join(f'<tspan x="{_fmt(x)}" y="{_fmt(first + 1.2 * size * i)}">'
                       f"{escape(line)}</tspan>" for i, line in enumerate(lines))
        self._add("text", dict(x=x, y=first, font_size=size, text_anchor=anchor,
                               font_family=FONT, **attrs), body)

    def line(self, x1, y1, x2, y2, stroke="black", arrow=False, dashed=False, **attrs):
        self._grow(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
        self._add("line", dict(x1=x1, y1=y1, x2=x2, y2=y2, stroke=stroke,
                               stroke_dasharray="5,3" if dashed else None,
                               marker_end=self._marker(stroke) if arrow else None, **attrs))

    def curve(self, x1, y1, cx, cy, x2, y2, stroke="black", arrow=False, dashed=False,
              **attrs):
        """A quadratic curve from (x1, y1) to (x2, y2) pulled towards (cx, cy)."""
        self._grow(min(x1, x2, cx), min(y1, y2, cy), max(x1, x2, cx), max(y1, y2, cy))
        self._add("path", dict(d=f"M {_fmt(x1)} {_fmt(y1)} Q {_fmt(cx)} {_fmt(cy)} "
                                 f"{_fmt(x2)} {_fmt(y2)}", fill="none", stroke=stroke,
                               stroke_dasharray="5,3" if dashed else None,
                               marker_end=self._marker(stroke) if arrow else None, **attrs))

    def _marker(self, colour):
        if colour not in self.markers:
            self.markers[colour] = f"arrow{len(self.markers)}"
        return f"url(#{self.markers[colour]})"

    def to_string(self, title=None):
        x0, y0, x1, y1 = self.box if self.parts else (0, 0, 0, 0)
        m = self.margin
        x0, y0, w, h = x0 - m, y0 - m, x1 - x0 + 2 * m, y1 - y0 + 2 * m
        head = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_fmt(w)}" '
                f'height="{_fmt(h)}" viewBox="{_fmt(x0)} {_fmt(y0)} {_fmt(w)} {_fmt(h)}">']
        if title:
            head.append(f"  <title>{escape(title)}</title>")
        if self.markers:
            head.append("  <defs>")
            for colour, name in self.markers.items():
                head.append(f'    <marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" '
                            f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                            f'<path d="M 0 0 L 10 5 L 0 10 z" fill={quoteattr(colour)}/>'
                            "</marker>")
            head.append("  </defs>")
        head.append(f'  <rect x="{_fmt(x0)}" y="{_fmt(y0)}" width="{_fmt(w)}" '
                    f'height="{_fmt(h)}" fill="white"/>')
        return "\n".join(head + self.parts + ["</svg>", ""])

    def save(self, path, title=None):
        Path(path).write_text(self.to_string(title))
        return path


def _attr_name(key):
    return "class" if key == "cls" else key.rstrip("_").replace("_", "-")


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.1f}".removesuffix(".0")
    return str(value)


# ---------------------------------------------------------------- the autograd graph
ROW = 70          # vertical distance between layers
GAP = 24          # horizontal gap between nodes of one layer
HEIGHT = 30       # box height; ellipses are as tall


def _size_text(shape):
    return "x".join(map(str, shape)) or "scalar"


def graph_of(tensor, names=None):
    """The graph behind ``tensor`` as (nodes, edges): nodes are dicts with ``kind`` ("op",
    "leaf" or "output"), ``label`` and ``layer``; edges are (input node, output node) index
    pairs, one per argument (x * x gives two). Layers: an op is one below its lowest input
    op, a leaf one above the first op that uses it, the output below its op."""
    names = {id(t): name for name, t in (names or {}).items()}
    ops = topological_order(tensor._ctx) if tensor._ctx is not None else []
    nodes, index, edges = [], {}, []

    def node(key, kind, label):
        if key not in index:
            index[key] = len(nodes)
            nodes.append(dict(kind=kind, label=label, layer=0, dashed=False))
        return index[key]

    def leaf(v):
        label = _size_text(v.shape)
        if id(v) in names:
            label = f"{names[id(v)]}\n{label}"
        i = node(id(v), "leaf", label)
        nodes[i]["dashed"] = not v.requires_grad
        return i

    for ctx in ops:
        me = node(id(ctx), "op", ctx.function.__name__)
        for parent in ctx.parents:
            if isinstance(parent, Context):
                edges.append((index[id(parent)], me))
                nodes[me]["layer"] = max(nodes[me]["layer"], nodes[index[id(parent)]]["layer"] + 1)
            elif parent is not None:
                edges.append((leaf(parent), me))
        nodes[me]["layer"] = max(nodes[me]["layer"], 1)
    name = names.get(id(tensor), "result" if ops else "leaf")
    out = node("output", "output", f"{name}\n{_size_text(tensor.shape)}")
    if ops:
        edges.append((index[id(tensor._ctx)], out))
        nodes[out]["layer"] = nodes[index[id(tensor._ctx)]]["layer"] + 1
    for i, n in enumerate(nodes):
        if n["kind"] == "leaf":
            n["layer"] = min(nodes[b]["layer"] for a, b in edges if a == i) - 1
    return nodes, edges


def layout(nodes, edges):
    """x, y and size of every node: layers are rows; within a row, nodes are ordered by the
    mean position of their neighbours (two sweeps), starting from the topological order."""
    for n in nodes:
        n["w"] = max(56, text_width(n["label"]) + (28 if n["kind"] != "op" else 18))
        n["h"] = HEIGHT + 14 * n["label"].count("\n")
    layers = {}
    for i, n in enumerate(nodes):
        layers.setdefault(n["layer"], []).append(i)
    neighbours = {i: [] for i in range(len(nodes))}
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)

    def place():
        widest = max(sum(nodes[i]["w"] for i in row) + GAP * (len(row) - 1)
                     for row in layers.values())
        for layer, row in layers.items():
            width = sum(nodes[i]["w"] for i in row) + GAP * (len(row) - 1)
            x = (widest - width) / 2
            for i in row:
                nodes[i]["x"], nodes[i]["y"] = x + nodes[i]["w"] / 2, layer * ROW
                x += nodes[i]["w"] + GAP

    place()
    for _ in range(2):
        for layer in sorted(layers):
            row = layers[layer]
            row.sort(key=lambda i: (sum(nodes[j]["x"] for j in neighbours[i])
                                    / len(neighbours[i])) if neighbours[i] else nodes[i]["x"])
            place()


def _around(nodes, p, q, x1, y1, x2, y2):
    """Where an arrow from p to q should cross half-way so that it misses the nodes of the
    layers between them: (x1 + x2) / 2 when the straight line already does."""
    blocking = []
    for n in nodes:
        if p["layer"] < n["layer"] < q["layer"]:
            x = x1 + (x2 - x1) * (n["y"] - y1) / (y2 - y1)
            if abs(x - n["x"]) < n["w"] / 2 + 8:
                blocking.append(n)
    if not blocking:
        return (x1 + x2) / 2
    if (x1 + x2) / 2 < sum(n["x"] for n in blocking) / len(blocking):
        return min(n["x"] - n["w"] / 2 for n in blocking) - 16
    return max(n["x"] + n["w"] / 2 for n in blocking) + 16


def render(nodes, edges, svg=None):
    """Draw a laid-out graph (``graph_of`` + ``layout``) on ``svg`` (a new Svg if None)."""
    svg = svg or Svg()
    seen = {}
    for a, b in edges:
        p, q = nodes[a], nodes[b]
        x1, y1, x2, y2 = p["x"], p["y"] + p["h"] / 2, q["x"], q["y"] - q["h"] / 2
        repeat = seen.get((a, b), 0)
        seen[(a, b)] = repeat + 1
        attrs = dict(cls="edge", data_from=a, data_to=b, arrow=True)
        middle = (x1 + x2) / 2  # where the arrow crosses half-way down
        if repeat:  # the same input used twice by one op: bend the second arrow
            middle += 30 * (1 if repeat % 2 else -1) * ((repeat + 1) // 2)
        else:
            middle = _around(nodes, p, q, x1, y1, x2, y2)
        if middle == (x1 + x2) / 2:
            svg.line(x1, y1, x2, y2, **attrs)
        else:  # a quadratic curve passes half-way at (P0 + 2 C + P2) / 4
            svg.curve(x1, y1, 2 * middle - (x1 + x2) / 2, (y1 + y2) / 2, x2, y2, **attrs)
    for i, n in enumerate(nodes):
        svg.group(cls=f"node {n['kind']}", data_id=i)
        x, y, w, h = n["x"], n["y"], n["w"], n["h"]
        if n["kind"] == "op":
            svg.rect(x - w / 2, y - h / 2, w, h, fill="#dbe8f7", rx=4)
        else:
            fill = "#fdf1d6" if n["kind"] == "leaf" else "#e3f2df"
            svg.ellipse(x, y, w / 2, h / 2, fill=fill,
                        stroke_dasharray="4,3" if n["dashed"] else None)
            if n["kind"] == "output":
                svg.ellipse(x, y, w / 2 - 3, h / 2 - 3, fill="none")
        svg.text(x, y, n["label"])
        svg.end()
    return svg


def draw(tensor, path=None, names=None):
    """The autograd graph that ``tensor.backward()`` would walk, as SVG text; written to
    ``path`` when given. Only SVG is written (``.svg``): rasterising text needs fonts,
    which minitorch7 does not carry; a browser or ``rsvg-convert`` turns it into a PNG.

    ``names``: a dict of name -> tensor; those leaves (and the result) are labelled with
    their name above their size. A tensor without a graph (a leaf) draws as one node.
    """
    if path is not None and Path(path).suffix.lower() != ".svg":
        raise ValueError(f"draw: only SVG files are written (got {str(path)!r}); open the "
                         "SVG in a browser, or convert it with rsvg-convert")
    nodes, edges = graph_of(tensor, names)
    layout(nodes, edges)
    text = render(nodes, edges).to_string(title="autograd graph")
    if path is not None:
        Path(path).write_text(text)
    return text
