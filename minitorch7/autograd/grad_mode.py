"""Switch graph recording off and on: ``no_grad()`` and ``enable_grad()``.

Both work as context managers and as decorators::

    with no_grad():
        w.data -= lr * w.grad.data      # no graph is recorded here
"""

import contextlib

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when ops record the graph that ``backward`` walks."""
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    enabled: bool

    def __enter__(self):
        global _grad_enabled
        self._previous, _grad_enabled = _grad_enabled, self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous
        return False


class no_grad(_GradMode):
    """Ops inside record no graph; their results do not require grad."""

    enabled = False


class enable_grad(_GradMode):
    """Record the graph again, e.g. inside a ``no_grad`` block."""

    enabled = True
