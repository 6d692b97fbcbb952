"""Containers: modules made of modules. ``Sequential`` chains them; ``Concat``,
``ConcatTable`` and ``ParallelTable`` fan out."""

from ..creation import cat
from .module import Module

__all__ = ["Concat", "ConcatTable", "Container", "ParallelTable", "Sequential"]


class Container(Module):
    """Holds ``modules``; parameters, modes and types reach every one of them."""

    def __init__(self):
        super().__init__()
        self.modules = []

    def add(self, module):
        """Append a module; returns the container so adds chain."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add: expects an nn module, got "
                            f"{type(module).__name__}")
        self.modules.append(module)
        return self

    def get(self, index):
        return self.modules[index]

    def size(self):
        return len(self.modules)

    def __len__(self):
        return len(self.modules)

    def __getitem__(self, index):
        return self.modules[index]

    def children(self):
        return self.modules

    def _run(self, module, input):
        """Run a child inside this container's graph and keep its output visible."""
        module.output = module.updateOutput(input)
        return module.output

    def _repr_lines(self, header, arrow):
        lines = [f"nn.{type(self).__name__} {{"]
        if header:
            lines.append("  " + header)
        for i, m in enumerate(self.modules):
            child = repr(m).replace("\n", "\n  " + " " * len(arrow))
            lines.append(f"  ({i + 1}): {child}")
        lines.append("}")
        return "\n".join(lines)

    def _repr_branches(self):
        """Torch7's picture of modules side by side (ConcatTable, ParallelTable, Concat)."""
        lines = [f"nn.{type(self).__name__} {{", "  input"]
        for i, m in enumerate(self.modules):
            last = i == len(self.modules) - 1
            arrow, indent = ("   `-> ", "       ") if last else ("  |`-> ", "  |    ")
            child = repr(m).replace("\n", "\n  " + indent)
            lines.append(f"  {arrow}({i + 1}): {child}")
        lines += ["     ... -> output", "}"]
        return "\n".join(lines)


class Sequential(Container):
    """output = m_n(...m_2(m_1(input)))."""

    def updateOutput(self, input):
        for module in self.modules:
            input = self._run(module, input)
        return input

    def __repr__(self):
        chain = " -> ".join(["input", *(f"({i + 1})" for i in range(len(self.modules))),
                             "output"])
        return self._repr_lines(f"[{chain}]", "")


class ConcatTable(Container):
    """The same input through every module: output is the list of their outputs."""

    def updateOutput(self, input):
        return [self._run(m, input) for m in self.modules]

    def __repr__(self):
        return self._repr_branches()


class ParallelTable(Container):
    """Module i applied to element i of the input list."""

    def updateOutput(self, input):
        if len(input) != len(self.modules):
            raise ValueError(f"ParallelTable: input has {len(input)} elements but there are "
                             f"{len(self.modules)} modules")
        return [self._run(m, x) for m, x in zip(self.modules, input)]

    def __repr__(self):
        return self._repr_branches()


class Concat(Container):
    """The same input through every module, outputs joined along ``dimension``."""

    def __init__(self, dimension):
        super().__init__()
        self.dimension = dimension

    def updateOutput(self, input):
        return cat([self._run(m, input) for m in self.modules], self.dimension)

    def __repr__(self):
        return self._repr_branches()
