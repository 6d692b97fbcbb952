"""Reverse-mode differentiation: order the graph, then push gradients from the output
back to the leaves.

The graph's nodes are the Contexts that ``Function.apply`` records; each knows its
parents (leaf Variables, or the Contexts of the ops that made its inputs). The order is
found with an explicit stack, not recursion, so a chain of 100,000 ops (a long BPTT
unroll) backpropagates without RecursionError.
"""

import numpy as np

from .context import Context


def topological_order(*roots):
    """The Contexts reachable from ``roots`` (Contexts), as a list in which each comes
    after every Context it depends on (its ``parents`` that are Contexts; other parents are
    leaf Variables and are not listed), each once. No recursion: a graph 100,000 ops deep
    must not raise RecursionError."""
    # BEGIN TASK 2.3
    order, visited = [], set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node.parents:
            if isinstance(parent, Context) and id(parent) not in visited:
                stack.append((parent, False))
    return order
    # END TASK 2.3


def run_backward(outputs, gradients, retain_graph=False):
    """Accumulate sum_k d(outputs[k])/d(leaf) * gradients[k] into ``leaf.grad``.

    A gradient may be None only for a one-element output (it is then 1).

    outputs: Variables; gradients: arrays of their shapes, or None (``_seed`` checks and
    fills them in). Walk the graph from the outputs' Contexts (``output._ctx``) in reverse
    ``topological_order``, so a Context runs ``ctx.function.backward(ctx, grad)`` once, with
    the sum of the gradients of every path through it. A Context's ``parents`` are Contexts
    or leaf Variables (or None), one per input of its backward's tuple (None gradients are
    skipped); a leaf that requires grad gets ``leaf._accumulate_grad(grad, fresh)``, with
    fresh = ``_is_fresh(...)``; a Context with ``retained`` set (a non-leaf asked to keep its
    .grad) gives it its gradient the same way. Unless ``retain_graph``, ``ctx.free()`` after
    its backward.
    """
    # BEGIN TASK 2.4
    grads = {}
    for output, gradient in zip(outputs, gradients):
        gradient = _seed(output, gradient)
        if output._ctx is None:
            output._accumulate_grad(gradient)
            continue
        key = id(output._ctx)
        grads[key] = grads[key] + gradient if key in grads else gradient
    roots = [o._ctx for o in outputs if o._ctx is not None]
    for ctx in reversed(topological_order(*roots)):
        grad = grads.pop(id(ctx), None)
        if grad is None:  # reachable, but no gradient flows through it
            continue
        if ctx.retained is not None:
            ctx.retained._accumulate_grad(grad)
        input_grads = ctx.function.backward(ctx, grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        borrowed = (grad, *ctx.saved)
        if not retain_graph:
            ctx.free()
        for parent, parent_grad in zip(ctx.parents, input_grads):
            if parent is None or parent_grad is None:
                continue
            if not isinstance(parent, Context):  # a leaf
                if not parent.requires_grad:
                    continue
                parent._accumulate_grad(parent_grad,
                                        _is_fresh(parent_grad, input_grads, borrowed))
            else:
                key = id(parent)
                grads[key] = grads[key] + parent_grad if key in grads else parent_grad
    # END TASK 2.4


def _is_fresh(array, input_grads, borrowed):
    """True when a leaf may keep ``array`` as its gradient without a copy: a new writeable
    NumPy array (not a view of another array), given to this input only, and not the
    incoming gradient or a saved array. Anything else is copied, so that changing one
    ``.grad`` in place never changes another tensor."""
    if not isinstance(array, np.ndarray) or isinstance(array.base, np.ndarray) \
            or not array.flags.writeable:
        return False
    for other in borrowed:
        if array is other:
            return False
    return [array is other for other in input_grads].count(True) == 1


def _seed(output, gradient):
    if not output.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no graph "
                           "(did you compute it under no_grad(), or from leaves without "
                           "requires_grad?)")
    if gradient is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"backward: a gradient must be given for a non-scalar output (size "
                f"{size_text(output.shape)}); backward() alone works for one-element outputs")
        return output.data.reshape(output.shape) * 0 + 1
    if tuple(gradient.shape) != output.shape:
        raise RuntimeError(f"backward: gradient has size {size_text(gradient.shape)} but the "
                           f"output has size {size_text(output.shape)}")
    return gradient


def size_text(shape):
    """A shape as error messages write it: 2x3, or (scalar) for ()."""
    return "x".join(map(str, shape)) or "(scalar)"
