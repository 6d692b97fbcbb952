"""The backend interface, written down once: the primitives every kernel module provides.

A backend is a module of plain functions on arrays (NumPy arrays for the CPU backends,
CudaArrays for the CUDA one) that knows nothing of autograd; the ops in minitorch7.ops call
these functions and nothing else of it. Every backend has the same functions with the same
parameters, listed in PRIMITIVES, and says in TIER which tier it belongs to (TIERS).

Conventions: images are (B, C, H, W), conv weights (O, C, kH, kW); `stride`, `padding` and
`kernel` are an int or an (h, w) pair; Ho = (H + 2*pH - kH) // sH + 1 (floor mode), Wo
likewise. A gradient has the shape of the output it is the gradient of.

    check(module)    the problems of a module: primitives missing or not callable, different
                     parameters, TIER missing or unknown (an empty list: it conforms)
    missing(module)  just the names it lacks
"""

import inspect
from dataclasses import dataclass

TIERS = ("teaching", "fast", "reference")


@dataclass(frozen=True)
class Primitive:
    """One function of the interface: its `name`, its `parameters` in order, and `doc`,
    the shapes it takes and returns."""

    name: str
    parameters: tuple
    doc: str

    @property
    def signature(self):
        """The call as written: "matmul(a, b)"."""
        return f"{self.name}({', '.join(self.parameters)})"


PRIMITIVES = (
    Primitive("matmul", ("a", "b"),
              "a (..., n, k), b (..., k, m) -> (..., n, m); the leading dims broadcast as in "
              "np.matmul; float32/float64 (other dtypes as np.matmul does them)"),
    Primitive("right_multiplier", ("b",),
              "b (k, m) -> a function f with f(a) = matmul(a, b) for a (n, k): a product "
              "with one b many times (a backend may prepare b once)"),
    Primitive("conv2d_forward", ("x", "w", "b", "stride", "padding"),
              "x (B, C, H, W), w (O, C, kH, kW), b (O,) or None -> y (B, O, Ho, Wo), "
              "y[b,o,i,j] = b[o] + sum over c,u,v of w[o,c,u,v] * x[b, c, i*sH - pH + u, "
              "j*sW - pW + v] (zero outside the image)"),
    Primitive("conv2d_backward_input", ("gy", "w", "input_shape", "stride", "padding"),
              "gy (B, O, Ho, Wo), w (O, C, kH, kW), input_shape (B, C, H, W) -> "
              "gx (B, C, H, W), the gradient of conv2d_forward's x"),
    Primitive("conv2d_backward_weight", ("gy", "x", "weight_shape", "stride", "padding"),
              "gy (B, O, Ho, Wo), x (B, C, H, W), weight_shape (O, C, kH, kW) -> "
              "(gw (O, C, kH, kW), gb (O,)), the gradients of w and b"),
    Primitive("maxpool2d_forward", ("x", "kernel", "stride", "padding"),
              "x (B, C, H, W) -> (y (B, C, Ho, Wo), argmax int64 (B, C, Ho, Wo)): each "
              "window's max (padding is -inf, 0 <= padding <= kernel // 2) and its flat index "
              "h*W + w in its plane (the first max wins)"),
    Primitive("maxpool2d_backward", ("gy", "argmax", "input_shape"),
              "gy (B, C, Ho, Wo), argmax from maxpool2d_forward, input_shape (B, C, H, W) -> "
              "gx (B, C, H, W): each gy added at the cell its argmax names"),
    Primitive("avgpool2d_forward", ("x", "kernel", "stride", "padding"),
              "x (B, C, H, W) -> y (B, C, Ho, Wo): each zero-padded window's sum / (kH*kW) "
              "(count_include_pad, Torch7's default)"),
    Primitive("avgpool2d_backward", ("gy", "input_shape", "kernel", "stride", "padding"),
              "gy (B, C, Ho, Wo), input_shape (B, C, H, W) -> gx (B, C, H, W)"),
    Primitive("log_softmax", ("x",),
              "x (..., N) -> y (..., N): log softmax over the last axis"),
    Primitive("log_softmax_backward", ("y", "gy"),
              "y = log_softmax(x), gy = dL/dy, both (..., N) -> gx = dL/dx (..., N)"),
)

BY_NAME = {primitive.name: primitive for primitive in PRIMITIVES}


def missing(module):
    """The names of PRIMITIVES (and "TIER") that `module` does not have, in order."""
    names = [p.name for p in PRIMITIVES] + ["TIER"]
    return [name for name in names if not hasattr(module, name)]


def check(module):
    """Every way `module` differs from the interface, one line each ([] if it conforms).

    A primitive must be callable and take the interface's parameters, by those names and in
    that order; it may take more only if they have defaults (numba_cuda's log_softmax takes
    an axis). TIER must be one of TIERS.
    """
    where = getattr(module, "__name__", repr(module))
    problems = [f"{where}: no {name}" for name in missing(module)]
    for primitive in PRIMITIVES:
        function = getattr(module, primitive.name, None)
        if function is None:
            continue
        if not callable(function):
            problems.append(f"{where}.{primitive.name} is not callable")
            continue
        differs = _parameters_differ(function, primitive)
        if differs:
            problems.append(f"{where}.{primitive.name}: expected {primitive.signature}, "
                            f"{differs}")
    tier = getattr(module, "TIER", None)
    if tier is not None and tier not in TIERS:
        problems.append(f"{where}.TIER is {tier!r}, expected one of {TIERS}")
    return problems


def _parameters_differ(function, primitive):
    """How `function`'s parameters differ from `primitive`'s, or None."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return "its signature cannot be read"
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = list(signature.parameters.values())
    names = tuple(p.name for p in params[:len(primitive.parameters)] if p.kind in kinds)
    extra = [p.name for p in params[len(primitive.parameters):]
             if p.default is inspect.Parameter.empty
             and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    if names != primitive.parameters or extra:
        return f"got {primitive.name}{signature}"
    return None
