"""``Optimizer``: one update rule applied to each parameter of a module, with its own state."""

from ..nn.module import Module


class Optimizer:
    """Holds the parameters, a ``config`` dict (Torch7's option names) and one state dict per
    parameter. ``step()`` calls ``update(p.data, p.grad.data, config, state)`` for each
    parameter p; ``zero_grad()`` zeroes every ``p.grad`` (Torch7's zeroGradParameters).

    ``params``: a module (its ``parameters()``) or a list of tensors with ``.grad``.
    """

    def __init__(self, params, update, defaults, config):
        unknown = set(config) - set(defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown option(s) {sorted(unknown)}; "
                            f"expected some of {sorted(defaults)}")
        self.params = params.parameters()[0] if isinstance(params, Module) else list(params)
        self.config = {**defaults, **config}
        self.state = [{} for _ in self.params]
        self._update = update

    def step(self):
        """Update every parameter from its current gradient."""
        for p, state in zip(self.params, self.state):
            self._update(p.data, p.grad.data, self.config, state)
            p._bump_version()

    def zero_grad(self):
        for p in self.params:
            p.grad.data[...] = 0
