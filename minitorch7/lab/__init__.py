"""The lab's solutions: one module per script, run by ``minitorch7 lab ...``,
``minitorch7 evaluate`` and ``minitorch7 sample`` (or ``python -m minitorch7.lab.train_mlp``).

They ship inside the package, so an installed minitorch7 (a wheel, not only a checkout)
runs the lab; the learners' starting scripts, with their TODOs, stay in exercises/.
"""
