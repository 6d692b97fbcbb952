"""The one random-number generator behind rand, randn, uniform, dropout masks and
parameter initialisation. ``manualSeed(n)`` makes a run reproducible."""

import numpy as np

_generator = np.random.default_rng()


def manualSeed(seed: int) -> None:
    """Reseed the generator (Torch7's torch.manualSeed)."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    return _generator
