"""``python -m minitorch7 ...``: the ``minitorch7`` command, run by this very package (in a
learner copy, run from the copy's root, that is the copy's)."""

from .cli import main

main()
