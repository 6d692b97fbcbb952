"""``Context``: one recorded op, a node of the graph that backward walks.

Its ``parents`` are, per argument of the op: None (not a tensor), the leaf Variable
(whose ``.grad`` backward fills), or the Context of the op that made the argument.
"""


class Context:
    """What one op's forward leaves for its backward: saved arrays, inputs, flags."""

    __slots__ = ("function", "parents", "needs_input_grad", "saved", "saved_versions",
                 "freed", "retained", "__dict__")

    def __init__(self, function, parents=None, needs_input_grad=None):
        self.function = function
        self.parents = parents
        self.needs_input_grad = needs_input_grad
        self.saved = ()
        self.saved_versions = ()
        self.freed = False
        self.retained = None

    def save_for_backward(self, *arrays):
        """Keep arrays for backward; changing one of them in place is caught later."""
        self.saved = arrays

    @property
    def saved_arrays(self):
        if self.freed:
            raise RuntimeError(
                f"{self.function.__name__}: trying to backward through the graph a second "
                "time; its saved values were freed. Pass retain_graph=True to the first "
                "backward if you need to backward twice.")
        for counter, version, shape in self.saved_versions:
            if counter[0] != version:
                raise RuntimeError(
                    f"{self.function.__name__}: a tensor of size "
                    f"{'x'.join(map(str, shape))} that backward needs was modified "
                    f"in place after the forward (version {version}, now "
                    f"{counter[0]}). Use clone() before changing it.")
        return self.saved

    def free(self):
        """Drop the saved arrays so memory goes back once backward has used them."""
        self.saved = ()
        self.freed = True
