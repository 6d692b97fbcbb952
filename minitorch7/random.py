"""The one random-number generator behind rand, randn, uniform, dropout masks and
parameter initialisation. ``manualSeed(n)`` makes a run reproducible; ``getRNGState()`` and
``setRNGState(state)`` (Torch7's names) save and restore where it is, e.g. in a training
checkpoint, so that a resumed run draws the same dropout masks as an uninterrupted one."""

import numpy as np

_generator = np.random.default_rng()


def manualSeed(seed: int) -> None:
    """Reseed the generator (Torch7's torch.manualSeed)."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    return _generator


def getRNGState() -> dict:
    """The generator's state: a dict of plain numbers and strings (NumPy's bit-generator
    state, e.g. {'bit_generator': 'PCG64', 'state': {...}, ...}) that ``minitorch7.save``
    can write."""
    return _generator.bit_generator.state


def setRNGState(state: dict) -> None:
    """Put the generator back where ``getRNGState()`` was taken: the draws that follow are
    the ones that followed then."""
    global _generator
    if not isinstance(state, dict) or "bit_generator" not in state:
        raise ValueError(f"setRNGState: expected a dict from getRNGState(), got {state!r:.80}")
    name = state["bit_generator"]
    if type(_generator.bit_generator).__name__ != name:
        bit_generator = getattr(np.random, str(name), None)
        if not (isinstance(bit_generator, type)
                and issubclass(bit_generator, np.random.BitGenerator)):
            raise ValueError(f"setRNGState: unknown bit generator {name!r}")
        _generator = np.random.Generator(bit_generator())
    _generator.bit_generator.state = state
