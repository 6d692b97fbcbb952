"""``Serial``: dpnn's decorator that decides how much of a module ``minitorch7.save`` writes.

    model = nn.Serial(model).mediumSerial()
    minitorch7.save("cnn.t7", model)

heavySerial() (the default): everything, including ``output``, ``gradInput`` and the
momentum buffers. mediumSerial(): the architecture, parameters, gradients and buffers
(running statistics), without output, gradInput and momentum. lightSerial(): as medium,
and without gradWeight/gradBias either (loaded as zeros). It forwards to ``module``.
"""

from .container import Container

SERIAL_TYPES = ("heavy", "medium", "light")


class Serial(Container):
    """Serial(module): output = module(input); ``serialType`` says what ``save`` keeps."""

    def __init__(self, module):
        super().__init__()
        self.add(module)
        self.module = module
        self.serialType = "heavy"

    def heavySerial(self):
        self.serialType = "heavy"
        return self

    def mediumSerial(self):
        self.serialType = "medium"
        return self

    def lightSerial(self):
        self.serialType = "light"
        return self

    def updateOutput(self, input):
        return self._run(self.module, input)

    def __repr__(self):
        return "nn.Serial @ " + repr(self.module)


__all__ = ["Serial"]
