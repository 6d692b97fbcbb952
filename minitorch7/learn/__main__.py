"""``python -m minitorch7.learn list | show X.Y | make DIR | check X.Y``, run inside a learner
copy (the same as ``python -m minitorch7 learn ...``)."""

from .cli import main

raise SystemExit(main())
