"""nngraph: modules wired into a directed acyclic graph, then run as one module.

Calling a module on nodes builds the graph instead of computing::

    x1, x2 = nn.Identity()(), nn.Identity()()     # input nodes
    h = nn.Tanh()(nn.Linear(10, 20)(x1))
    y = nn.CAddTable()(h, x2)                       # several parents: a table input
    g = nn.gModule([x1, x2], [y])                   # g.forward([a, b]) -> a tensor

A node with one parent feeds its module that parent's output; with several, the list of
their outputs. ``gModule`` runs the nodes in topological order (parents first).
"""

from .container import Container
from .table import SelectTable

__all__ = ["Node", "gModule"]


class Node:
    """One use of a module in a graph: ``module`` applied to the outputs of ``parents``
    (none for an input node)."""

    def __init__(self, module, parents):
        self.module, self.parents = module, parents

    def connect(self, module, nodes):
        """The node of ``module`` fed by ``nodes`` (called by ``Module.__call__``)."""
        for node in nodes:
            if not isinstance(node, Node):
                raise TypeError(f"{module!r}: called on graph nodes, every argument must be a "
                                f"node, got {type(node).__name__}")
        return Node(module, list(nodes))

    def split(self, n):
        """n nodes selecting elements 0..n-1 of this node's output table."""
        return [SelectTable(i)(self) for i in range(n)]

    def __repr__(self):
        return f"nngraph.Node({self.module!r})"


def _topological_order(inputs, outputs):
    """Every node the outputs depend on, parents before children, the inputs first (in
    their order). An explicit stack, not recursion, so long chains are fine."""
    order = list(inputs)
    seen = {id(node) for node in inputs}
    stack = [(node, False) for node in reversed(outputs)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((parent, False) for parent in reversed(node.parents)
                     if id(parent) not in seen)
    return order


class gModule(Container):
    """gModule(inputs, outputs): the graph from the input nodes to the output nodes as one
    module. Its input is a tensor (or table) for one input node, else a list with one
    entry per input node; its output likewise."""

    def __init__(self, inputs, outputs):
        super().__init__()
        self.inputs, self.outputs = list(inputs), list(outputs)
        for node in self.inputs + self.outputs:
            if not isinstance(node, Node):
                raise TypeError(f"nn.gModule: inputs and outputs must be graph nodes, got "
                                f"{type(node).__name__}")
        for node in self.inputs:
            if node.parents:
                raise ValueError(f"nn.gModule: input {node!r} has parents; make inputs with "
                                 "nn.Identity()()")
        self.nodes = _topological_order(self.inputs, self.outputs)
        for node in self.nodes:
            if not node.parents and not any(node is i for i in self.inputs):
                raise ValueError(f"nn.gModule: {node!r} has no parents but is not one of the "
                                 f"{len(self.inputs)} inputs")
        for node in self.nodes:
            if all(node.module is not m for m in self.modules):
                self.modules.append(node.module)

    def updateOutput(self, input):
        if len(self.inputs) > 1 and (not isinstance(input, list | tuple)
                                     or len(input) != len(self.inputs)):
            got = f"a table of {len(input)}" if isinstance(input, list | tuple) else "a tensor"
            raise ValueError(f"nn.gModule: expects a table of {len(self.inputs)} inputs, got "
                             f"{got}")
        given = [input] if len(self.inputs) == 1 else list(input)
        values = {}
        for node in self.nodes:
            if node.parents:
                parents = [values[id(p)] for p in node.parents]
                node_input = parents[0] if len(parents) == 1 else parents
            else:
                node_input = given[next(i for i, n in enumerate(self.inputs) if n is node)]
            values[id(node)] = self._run(node.module, node_input)
        outputs = [values[id(node)] for node in self.outputs]
        return outputs[0] if len(outputs) == 1 else outputs

    def __repr__(self):
        number = {id(node): i + 1 for i, node in enumerate(self.nodes)}
        lines = ["nn.gModule {"]
        for node in self.nodes:
            if node.parents:
                source = ", ".join(f"({number[id(p)]})" for p in node.parents)
            else:
                k = next(i for i, n in enumerate(self.inputs) if n is node)
                source = "input" if len(self.inputs) == 1 else f"input[{k}]"
            child = repr(node.module).replace("\n", "\n  ")
            lines.append(f"  ({number[id(node)]}): {child} <- {source}")
        lines.append("  output <- " + ", ".join(f"({number[id(n)]})" for n in self.outputs))
        lines.append("}")
        return "\n".join(lines)
