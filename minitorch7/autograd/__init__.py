"""Reverse-mode automatic differentiation: Function, the graph, backward, gradcheck."""

from .context import Context
from .engine import run_backward, size_text, topological_order
from .function import Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .gradcheck import GradcheckError, gradcheck
from .variable import Variable

__all__ = ["Context", "Function", "GradcheckError", "Variable", "enable_grad", "gradcheck",
           "is_grad_enabled", "no_grad", "run_backward", "size_text", "topological_order"]
