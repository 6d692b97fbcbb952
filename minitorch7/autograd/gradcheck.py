"""``gradcheck``: compare backward's gradients with central finite differences.

Same contract as PyTorch's ``torch.autograd.gradcheck``: float64 inputs, each element
nudged by +-eps, numerical Jacobian column (f(x+eps) - f(x-eps)) / (2 eps), compared
with the analytical Jacobian that backward gives, elementwise:
``|analytical - numerical| <= atol + rtol * |numerical|``.
``fast_mode`` compares one random projection v^T J u per input instead of all of J.
"""

import numpy as np

from .grad_mode import no_grad
from .variable import Variable


class GradcheckError(AssertionError):
    """Backward disagrees with finite differences; the message names where and by how much."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=False, seed=0):
    """True when backward of ``fn(*inputs)`` matches finite differences, else GradcheckError.

    ``inputs``: a Variable or a tuple of arguments; those with ``requires_grad`` are checked
    and must be float64. ``fn`` returns a Variable or a tuple of Variables.
    """
    inputs = inputs if isinstance(inputs, tuple | list) else (inputs,)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Variable) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences "
                            "need float64 inputs (use .double())")
    outputs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed)
    for i in checked:
        x = inputs[i]
        if fast_mode:
            u = rng.standard_normal(x.shape)
            vs = [rng.standard_normal(o.shape) for o in outputs]
            numerical = _directional(fn, inputs, x, u, eps) @ np.concatenate(
                [v.ravel() for v in vs]) if vs else 0.0
            analytical = float(np.sum(_vjp(outputs, vs, inputs, x) * u))
            _compare(numerical, analytical, i, "projection v^T J u", atol, rtol, eps)
            continue
        numerical = _numerical_jacobian(fn, inputs, x, eps)
        analytical = _analytical_jacobian(outputs, inputs, x)
        for element in np.ndindex(numerical.shape):
            _compare(numerical[element], analytical[element], i,
                     f"output element {element[0]}, input element "
                     f"{tuple(map(int, np.unravel_index(element[1], x.shape)))}", atol, rtol,
                     eps)
    return True


def _outputs(fn, inputs):
    out = fn(*inputs)
    return out if isinstance(out, tuple | list) else (out,)


def _flat_outputs(fn, inputs):
    with no_grad():
        return np.concatenate([np.asarray(o.data, np.float64).ravel()
                               for o in _outputs(fn, inputs)])


def _numerical_jacobian(fn, inputs, x, eps):
    """The Jacobian of ``fn(*inputs)`` with respect to the input Variable ``x`` (one of
    ``inputs``, float64), by central differences with step ``eps``: an array of shape
    (number of outputs, x's number of elements), row k column j = d out_k / d x_j (x's
    elements in C order). Nudge ``x.data`` in place and restore it;
    ``_flat_outputs(fn, inputs)`` evaluates fn without a graph and returns every output
    flattened into one float64 vector."""
    # BEGIN TASK 2.1
    columns = []
    for index in np.ndindex(x.shape):
        original = x.data[index]
        x.data[index] = original + eps
        plus = _flat_outputs(fn, inputs)
        x.data[index] = original - eps
        minus = _flat_outputs(fn, inputs)
        x.data[index] = original
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1)
    # END TASK 2.1


def _directional(fn, inputs, x, u, eps):
    """The derivative of ``fn(*inputs)`` (all outputs flattened into one float64 vector,
    as ``_flat_outputs`` gives them) along the direction ``u`` (x's shape) in the input
    Variable ``x``, by a central difference with step ``eps``: J u, without forming J.
    Nudge ``x.data`` in place and restore it."""
    # BEGIN TASK 2.1
    original = x.data.copy()
    x.data[...] = original + eps * u
    plus = _flat_outputs(fn, inputs)
    x.data[...] = original - eps * u
    minus = _flat_outputs(fn, inputs)
    x.data[...] = original
    return (plus - minus) / (2 * eps)
    # END TASK 2.1


def _vjp(outputs, vs, inputs, x):
    """v^T J for input x: one backward per output with gradient v."""
    x.grad = None
    for out, v in zip(outputs, vs):
        if out.requires_grad:
            out.backward(v.astype(out.dtype), retain_graph=True)
    grad = np.zeros(x.shape) if x.grad is None else np.asarray(x.grad.data, np.float64)
    x.grad = None
    return grad


def _analytical_jacobian(outputs, inputs, x):
    rows = []
    for k, out in enumerate(outputs):
        for element in range(out.data.size):
            vs = [np.zeros(o.shape) for o in outputs]
            vs[k].flat[element] = 1.0
            rows.append(_vjp(outputs, vs, inputs, x).ravel())
    return np.stack(rows) if rows else np.zeros((0, x.data.size))


def _compare(numerical, analytical, input_index, where, atol, rtol, eps):
    if not abs(analytical - numerical) <= atol + rtol * abs(numerical):
        raise GradcheckError(
            f"gradcheck: Jacobian mismatch for input {input_index}, {where}: numerical "
            f"{numerical:.8g}, analytical {analytical:.8g} (eps={eps}, atol={atol}, "
            f"rtol={rtol})")
