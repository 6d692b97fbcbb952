"""minitorch7.draw: the autograd graph as SVG, read back with xml.etree."""

import xml.etree.ElementTree as ET

import pytest

import minitorch7 as torch
from minitorch7.draw import Svg, draw

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(text):
    """(nodes: id -> (kind, label lines), edges: list of (from id, to id)) of a drawing."""
    root = ET.fromstring(text)
    nodes = {}
    for g in root.iterfind(".//s:g", NS):
        kind = g.get("class").split()[1]
        lines = [t.text for t in g.iterfind(".//s:tspan", NS)]
        nodes[int(g.get("data-id"))] = (kind, lines)
    edges = [(int(e.get("data-from")), int(e.get("data-to")))
             for e in root.iter() if e.get("class") == "edge"]
    return nodes, edges


def by_label(nodes, first_line):
    return [i for i, (_, lines) in nodes.items() if lines[0] == first_line]


def test_draws_ops_leaves_and_edges(tmp_path):
    x = torch.randn(4, 3, dtype="float64")
    w = torch.randn(3, 2, dtype="float64", requires_grad=True)
    b = torch.zeros(2, dtype="float64", requires_grad=True)
    loss = (x @ w + b).sigmoid().sum()
    path = tmp_path / "graph.svg"
    text = draw(loss, path, names={"x": x, "w": w, "b": b, "loss": loss})
    assert path.read_text() == text
    nodes, edges = parse(text)
    kinds = sorted(kind for kind, _ in nodes.values())
    assert kinds == ["leaf"] * 3 + ["op"] * 4 + ["output"]
    assert sorted(lines[0] for kind, lines in nodes.values() if kind == "op") == [
        "Add", "MatMul", "Sigmoid", "Sum"]
    assert sorted(lines for kind, lines in nodes.values() if kind == "leaf") == [
        ["b", "2"], ["w", "3x2"], ["x", "4x3"]]
    assert nodes[by_label(nodes, "loss")[0]] == ("output", ["loss", "scalar"])
    (matmul,), (add,), (sigmoid,), (total,) = (by_label(nodes, n) for n in
                                               ("MatMul", "Add", "Sigmoid", "Sum"))
    (xi,), (wi,), (bi,), (out,) = (by_label(nodes, n) for n in ("x", "w", "b", "loss"))
    assert sorted(edges) == sorted([(xi, matmul), (wi, matmul), (matmul, add), (bi, add),
                                    (add, sigmoid), (sigmoid, total), (total, out)])


def test_layers_run_down_the_page():
    a = torch.randn(3, dtype="float64", requires_grad=True)
    text = draw(a.exp().log().tanh().sum())
    root = ET.fromstring(text)
    ys = {}
    for g in root.iterfind(".//s:g", NS):
        shape = g.find("s:rect", NS) if "op" in g.get("class") else g.find("s:ellipse", NS)
        y = float(shape.get("y", shape.get("cy")))
        ys[g.find(".//s:tspan", NS).text] = y
    assert ys["3"] < ys["Exp"] < ys["Log"] < ys["Tanh"] < ys["Sum"] < ys["result"]


def test_constants_are_dashed_and_repeated_inputs_give_two_edges():
    x = torch.randn(2, dtype="float64")  # no requires_grad: a constant
    w = torch.randn(2, dtype="float64", requires_grad=True)
    text = draw(w * w + x, names={"w": w, "x": x})
    nodes, edges = parse(text)
    (mul,), (wi,), (xi,) = by_label(nodes, "Mul"), by_label(nodes, "w"), by_label(nodes, "x")
    assert edges.count((wi, mul)) == 2
    root = ET.fromstring(text)
    dashed = [g for g in root.iterfind(".//s:g", NS)
              if g.find("s:ellipse", NS) is not None
              and g.find("s:ellipse", NS).get("stroke-dasharray")]
    assert [int(g.get("data-id")) for g in dashed] == [xi]
    assert len(root.findall(".//s:path[@class='edge']", NS)) == 1  # the second w -> Mul


def test_a_leaf_alone_and_a_long_chain():
    nodes, edges = parse(draw(torch.ones(2, 3)))
    assert list(nodes.values()) == [("output", ["leaf", "2x3"])] and edges == []
    h = torch.zeros(2, dtype="float64", requires_grad=True)
    for _ in range(200):  # as deep as a BPTT unroll: no recursion
        h = (h * 0.5).tanh()
    nodes, edges = parse(draw(h))
    assert len(nodes) == 402 and len(edges) == 401


def test_only_svg_is_written(tmp_path):
    with pytest.raises(ValueError, match="SVG"):
        draw(torch.ones(2), tmp_path / "graph.png")


def test_svg_writer():
    svg = Svg()
    svg.rect(0, 0, 10, 10, cls="cell")
    svg.text(5, 5, "a < b & c\nline 2")
    svg.line(0, 0, 50, 20, stroke="red", arrow=True, dashed=True)
    svg.group(cls="box", data_x=1)
    svg.ellipse(30, 30, 5, 5)
    svg.curve(0, 0, 10, 10, 20, 0, arrow=True)
    svg.end()
    root = ET.fromstring(svg.to_string(title="t"))
    assert root.find("s:title", NS).text == "t"
    assert [t.text for t in root.iterfind(".//s:tspan", NS)] == ["a < b & c", "line 2"]
    assert len(root.findall(".//s:marker", NS)) == 2  # one arrow head per colour
    assert root.find(".//s:line", NS).get("marker-end") == "url(#arrow0)"
    assert root.find(".//s:g", NS).get("data-x") == "1"
    assert root.find(".//s:rect[@class='cell']", NS) is not None
    x0, y0, width, height = map(float, root.get("viewBox").split())
    assert x0 <= -10 + 1e-9 and x0 + width >= 60 and y0 + height >= 45  # margin 10
    assert torch.draw is draw
