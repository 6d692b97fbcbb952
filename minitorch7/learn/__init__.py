"""The missing pieces: learner copies with holes, and per-task checks.

tasks   the curriculum (id, title, hint, lab chapter)
regions find ``# BEGIN TASK x.y`` / ``# END TASK x.y`` regions and cut them into holes
make    write a learner copy with chosen tasks cut (marked by minitorch7/LEARNER_COPY)
check   run one task's tests against a copy and diagnose its failures; list every task's
        status; show a task (hint, holes, chapter section, tests)
cli     the ``minitorch7 learn`` commands
"""

from .tasks import TASKS, Task

__all__ = ["TASKS", "Task"]
