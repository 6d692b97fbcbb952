"""``python -m minitorch7.learn list | make DIR | check X.Y``, run inside a learner copy."""

from .cli import main

raise SystemExit(main())
