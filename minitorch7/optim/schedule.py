"""Learning-rate schedules of the lab's recurrent language model, per epoch.

Both are callables: ``lr = schedule(epoch)`` gives the learning rate once ``epoch`` epochs
are done (epoch 0: the start). The lab applies them at the end of each epoch:

    for epoch in range(1, maxepoch + 1):
        train_one_epoch(lr)
        lr = schedule(epoch)
"""

import re


class EpochTable:
    """EpochTable(table, startlr, minlr=0): the lab's ``--schedule '{[5]=0.5,[6]=0.25}'``.

    After epoch e the learning rate becomes ``table[e]`` when e is a key, and otherwise
    stays what it was (the value of the largest key <= e, or startlr); never below minlr.
    ``table`` is a dict {epoch: learning rate} or its Lua/Python text.
    """

    def __init__(self, table, startlr, minlr=0.0):
        self.table = parse_table(table) if isinstance(table, str) else dict(table)
        self.startlr, self.minlr = startlr, minlr

    def __call__(self, epoch):
        done = [e for e in self.table if e <= epoch]
        lr = self.table[max(done)] if done else self.startlr
        return max(self.minlr, lr)


class LinearDecay:
    """LinearDecay(startlr, minlr, saturate): from startlr down to minlr in ``saturate``
    epochs, then minlr: lr = max(minlr, startlr + (minlr - startlr) * epoch / saturate)."""

    def __init__(self, startlr, minlr, saturate):
        if saturate <= 0:
            raise ValueError(f"LinearDecay: saturate must be > 0, got {saturate}")
        self.startlr, self.minlr, self.saturate = startlr, minlr, saturate

    def __call__(self, epoch):
        lr = self.startlr + (self.minlr - self.startlr) * epoch / self.saturate
        return max(self.minlr, lr)


_ENTRY = re.compile(r"\[?\s*(\d+)\s*\]?\s*[=:]\s*([-+0-9.eE]+)")


def parse_table(text):
    """'{[5]=0.5,[6]=0.25}' (Lua) or '{5: 0.5, 6: 0.25}' (Python) -> {5: 0.5, 6: 0.25}.
    Parsed, never evaluated."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ValueError(f"parse_table: expected '{{[epoch]=lr, ...}}', got {text!r}")
    entries = [e for e in body[1:-1].split(",") if e.strip()]
    table = {}
    for entry in entries:
        match = _ENTRY.fullmatch(entry.strip())
        if match is None:
            raise ValueError(f"parse_table: cannot read entry {entry.strip()!r} of {text!r}")
        table[int(match[1])] = float(match[2])
    return table
