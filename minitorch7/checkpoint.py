"""Training checkpoints that resume exactly: what the lab's scripts write for ``--resume``.

The design. A checkpoint is written at the end of every epoch, and only there: after the
epoch's validation, after the best model when the epoch is a new best (so a checkpoint never
names a best model that was not written), and with everything the next epoch depends on:

    model        the module, saved whole: parameters, gradients, momentum buffers, buffers
                 (BatchNorm statistics), the train/evaluate flag
    rng          minitorch7's generator (random.getRNGState): the next dropout masks
    data         each loader's position (DataLoader.getState): with --epochsize/--trainsize
                 an epoch does not start at sample 0
    opt          the options the run was started with (before the data filled in -1 sizes)
    epoch, log, best_* and, for the language model, the next epoch's learning rate
    resumes      per resume: after which epoch, and the options the command line changed

Ctrl-C never writes anything: the last end-of-epoch checkpoint stays as it is, the
interrupted epoch is dropped, and a resumed run reruns it from that state. So a run
interrupted and resumed prints the same losses as one run from start to end (on the same
backend, thread count and device: see ``resume_exactness`` below). Ctrl-C during the
end-of-epoch saves waits for them to finish (``deferred_interrupt``).

A resumed run takes the checkpoint's options. An option given on the command line that
differs from the checkpoint's is an error, except those of ``MAY_CHANGE`` (the change is
printed and recorded in ``resumes``). The checkpoint is refused when it is a best model
(``<id>.t7``, no optimizer state or data position), a file of another script, or not a
checkpoint at all. Files of an interrupted save (``.<name>.XXXXXXXX.tmp``, left by a
SIGKILL during ``minitorch7.save``) are removed when the next run starts.

Checkpoints written before this design (version 1: no ``format`` key, no RNG state, no
data position) still load and resume; the run says that it cannot be exact.
"""

import argparse
import contextlib
import math
import re
import signal
import sys
import threading
from pathlib import Path

from .random import getRNGState, setRNGState
from .serial import SerialError, load, save

FORMAT, VERSION = "minitorch7 checkpoint", 2

MAY_CHANGE = {  # options a resumed run may change: none of them changes what an epoch computes
    "maxepoch": "train up to another epoch",
    "earlystop": "stop after another number of epochs without a new best",
    "progress": "show the progress bar or not",
    "savepath": "write the models and checkpoints elsewhere",
    "id": "name the saved files differently",
    "datapath": "read the same data from another folder",
    "cuda": "train on the GPU (the same numbers to rounding, not to the last bit)",
}
PER_RUN = ("resume", "progress")  # always this command line's, never the checkpoint's
DERIVED = ("lr",)  # written into the options by a script while it trains (v1 files)

resume_exactness = (
    "A resumed run repeats an uninterrupted one to the last bit on the same backend, device "
    "and thread count. The Numba kernels that split a sum between threads (a matrix "
    "product whose inner dimension is over 512, a convolution's weight gradient) add it in "
    "an order that depends on NUMBA_NUM_THREADS, so with another thread count the results "
    "differ in the last bits, interrupted or not.")


# ---- which options the command line gave ----------------------------------------------
class Options(argparse.Namespace):
    """A parsed command line that also knows which options were given on it: ``given``
    (a frozenset of dests; None when unknown). ``given`` is a slot, not an option: it is
    not in ``vars(opt)``."""

    __slots__ = ("given",)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.given = None


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose namespace (``Options``) records the options given on the
    command line, so that ``--resume`` can tell an option typed now from a default."""

    def parse_known_args(self, args=None, namespace=None):
        if namespace is None:
            namespace = Options()
        opt, extras = super().parse_known_args(args, namespace)
        if isinstance(opt, Options):
            opt.given = self._given(args)
        return opt, extras

    def _given(self, args):
        """The dests set by ``args``: the same parse with every default suppressed."""
        actions = [(action, action.default) for action in self._actions]
        defaults, self._defaults = self._defaults, {}
        try:
            for action, _ in actions:
                action.default = argparse.SUPPRESS
            parsed, _ = argparse.ArgumentParser.parse_known_args(self, args,
                                                                argparse.Namespace())
        finally:
            for action, default in actions:
                action.default = default
            self._defaults = defaults
        return frozenset(vars(parsed))


# ---- reading a checkpoint ----------------------------------------------------------------
def is_best_model(obj):
    """A best-model file: the model wrapped in nn.Serial, no training log."""
    from .nn import Serial

    return isinstance(obj, dict) and (isinstance(obj.get("model"), Serial) or (
        "log" not in obj and ("valid_accuracy" in obj or "valid_ppl" in obj)))


def read(path):
    """The checkpoint dict at ``path``; SystemExit with the reason for anything else."""
    try:
        state = load(path)
    except FileNotFoundError:
        raise SystemExit(f"--resume: {path}: no such file") from None
    except (SerialError, OSError) as e:
        raise SystemExit(f"--resume: cannot read {path}: {e}") from None
    if is_best_model(state):
        epoch = state.get("epoch")
        raise SystemExit(
            f"--resume: {path} is a best model (the model saved at the validation maximum"
            f"{f', epoch {epoch}' if epoch is not None else ''}), not a training checkpoint: "
            f"it holds no optimizer state, log or data position. Resume from the checkpoint "
            f"written next to it (<id>.checkpoint.t7), or evaluate this model with "
            f"`minitorch7 evaluate {path}`")
    if not (isinstance(state, dict) and {"model", "epoch", "log", "opt"} <= state.keys()
            and isinstance(state["opt"], dict)):
        raise SystemExit(f"--resume: {path} is not a minitorch7 training checkpoint")
    if state.get("format", FORMAT) != FORMAT or not isinstance(state.get("version", 1), int):
        raise SystemExit(f"--resume: {path} is not a minitorch7 training checkpoint")
    if state.get("version", 1) > VERSION:
        raise SystemExit(f"--resume: {path} is a checkpoint of version {state['version']}, "
                         f"written by a newer minitorch7; this one reads versions 1 to "
                         f"{VERSION}")
    return state


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b or (
        isinstance(a, int | float) and isinstance(b, int | float)
        and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def _text(value):
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _flag(key, value=None):
    if value is None:
        return f"--{key}"
    if isinstance(value, bool):
        return f"--{key}" if value else f"--no-{key}"
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"--{key} {value}"


def reconcile(opt, saved, given):
    """Give ``opt`` the checkpoint's options ``saved``; returns {key: [old, new]} of the
    options the command line changed (only those of MAY_CHANGE; any other difference is a
    SystemExit). ``given``: the options typed on the command line (None: unknown, then
    every difference counts as typed)."""
    current = vars(opt)
    foreign = sorted(k for k in saved if k not in current and k not in DERIVED)
    if foreign:
        raise SystemExit("--resume: the checkpoint was written by another script (its options "
                         f"{', '.join(map(_flag, foreign))} are not this script's)")
    refused, changes = [], {}
    for key, old in saved.items():
        if key in PER_RUN or key not in current:
            continue
        new = current[key]
        typed = (key in given) if given is not None else not _same(new, old)
        if not typed or _same(new, old):
            setattr(opt, key, old)
        elif key in MAY_CHANGE:
            changes[key] = [old, new]
        else:
            refused.append(key)
    if refused:
        raise SystemExit(
            "--resume: a resumed run keeps the checkpoint's hyperparameters, and the command "
            "line differs: " + "; ".join(f"checkpoint {_flag(k, saved[k])}, command line "
                                         f"{_flag(k, current[k])}" for k in refused)
            + ". Drop those options (or start a new run without --resume). Options that may "
            "change on resume: " + ", ".join(map(_flag, MAY_CHANGE)))
    return changes


class Resumed:
    """The checkpoint a run resumes from: read and reconciled with the options by
    ``prepare``; ``state(kind)`` hands the training loop its state, ``restore(loaders)``
    puts the RNG and the data loaders where the checkpoint left them."""

    def __init__(self, path, state, changes):
        self.path, self.checkpoint, self.changes = Path(path), state, changes
        self.version = state.get("version", 1)

    @classmethod
    def prepare(cls, opt):
        """Read ``opt.resume`` and give ``opt`` its options (see ``reconcile``)."""
        state = read(opt.resume)
        changes = reconcile(opt, state["opt"], getattr(opt, "given", None))
        return cls(opt.resume, state, changes)

    def state(self, kind, options):
        """The training state to continue, its options ``options`` (the reconciled ones)
        and this resume recorded."""
        state = self.checkpoint
        if state.get("kind", kind) != kind:
            raise SystemExit(f"--resume: {self.path} is a checkpoint of a {state['kind']} "
                             f"run, not of a {kind} one")
        state.update(format=FORMAT, version=VERSION, opt=options)
        state.setdefault("best_path", str(self.path.with_name(
            self.path.name.removesuffix(".checkpoint.t7") + ".t7")))
        state.setdefault("resumes", []).append(
            {"epoch": state["epoch"], "from": str(self.path), "changed": self.changes})
        return state

    def restore(self, loaders):
        """The RNG and each loader (name -> DataLoader) as they were at the checkpoint."""
        if "rng" in self.checkpoint:
            setRNGState(self.checkpoint["rng"])
        for name, position in self.checkpoint.get("data", {}).items():
            if name in loaders:
                loaders[name].setState(position)

    def message(self):
        text = f"Resuming from {self.path} after epoch {self.checkpoint['epoch']}"
        if self.changes:
            text += "; changed on the command line: " + ", ".join(
                f"--{k} {_text(old)} -> {_text(new)}" for k, (old, new) in self.changes.items())
        if self.version < 2:
            text += (" (a checkpoint of an older minitorch7, without the random generator's "
                     "state or the data position: the run goes on, but not exactly as an "
                     "uninterrupted one would)")
        return text


class Paths(tuple):
    """``(best model path, checkpoint path)`` as ``experiment.start`` returns them, with
    ``resumed`` (a ``Resumed`` or None) and ``options`` (the options the run starts with)."""

    def __new__(cls, best, checkpoint, resumed=None, options=None):
        paths = super().__new__(cls, (best, checkpoint))
        paths.resumed, paths.options = resumed, options
        return paths


# ---- writing ---------------------------------------------------------------------------
def new_state(kind, model, options, **fields):
    """The state of a run that starts at epoch 0."""
    return {"format": FORMAT, "version": VERSION, "kind": kind, "model": model,
            "opt": options, "epoch": 0, "best_epoch": 0, "best_path": None, "log": [],
            "resumes": [], **fields}


def end_of_epoch(state, epoch, loaders):
    """Record in ``state`` what the next epoch starts from: the epoch number, the RNG and
    the loaders' positions."""
    state["epoch"] = epoch
    state["rng"] = getRNGState()
    state["data"] = {name: loader.getState() for name, loader in loaders.items()}


@contextlib.contextmanager
def deferred_interrupt():
    """Ctrl-C (SIGINT) in the block waits for its end, then raises KeyboardInterrupt; a
    second Ctrl-C raises at once. Only in the main thread with Python's default handler
    (elsewhere the block runs as it is)."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    received = []

    def handler(signum, frame):
        received.append(signum)
        if len(received) > 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


class Checkpoints:
    """Writes a run's end-of-epoch checkpoint (the best model first) and knows which
    checkpoint holds the run's latest finished epoch, for the Ctrl-C message."""

    def __init__(self, path, resumed=None):
        self.path = Path(path)
        self.latest = (resumed.path, resumed.checkpoint["epoch"]) if resumed else None

    def save(self, state, best=None):
        """``best``: (path, object) to write before the checkpoint, or None."""
        with deferred_interrupt():
            if best is not None:
                save(*best)
            save(self.path, state)
            self.latest = (self.path, state["epoch"])

    def interrupted(self, epoch):
        """What to say on Ctrl-C during ``epoch``."""
        if self.latest is None:
            return (f"\nInterrupted during epoch {epoch}: no epoch had finished, nothing was "
                    f"saved")
        path, finished = self.latest
        if finished >= epoch:  # Ctrl-C during the end-of-epoch saves: they were finished
            return (f"\nInterrupted after epoch {finished}: {path} holds the state after "
                    f"epoch {finished}; continue with --resume {path}")
        return (f"\nInterrupted during epoch {epoch}: {path} holds the state after epoch "
                f"{finished} (checkpoints are written at the end of each epoch; the "
                f"unfinished epoch is dropped and reruns on resume); continue with "
                f"--resume {path}")

    def holds(self):
        """Where the latest finished epoch is saved, for an error message."""
        if self.latest is None:
            return "no epoch was saved"
        return f"{self.latest[0]} holds the state after epoch {self.latest[1]}"


def remove_stale_temp_files(*paths, out=None):
    """Delete the temporary files that an interrupted ``save`` of one of ``paths`` left
    (``.<name>.XXXXXXXX.tmp`` next to it: a save killed by SIGKILL or a power cut never
    reached its clean-up). Returns the paths removed."""
    removed = []
    for path in map(Path, paths):
        pattern = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")
        if not path.parent.is_dir():
            continue
        for candidate in sorted(path.parent.iterdir()):
            if pattern.fullmatch(candidate.name) and candidate.is_file():
                with contextlib.suppress(FileNotFoundError):
                    candidate.unlink()
                    removed.append(candidate)
                    print(f"Removed {candidate}, left by an interrupted save",
                          file=out or sys.stderr)
    return removed


def begin(kind, opt, paths, loaders, model=None, **fields):
    """(state, Checkpoints) of a training run: the resumed checkpoint's state, with the RNG
    and ``loaders`` (name -> DataLoader) put where it left them, when ``paths.resumed`` (or
    ``opt.resume``) names one; else a new state around ``model`` with ``fields`` (e.g. the
    best score so far)."""
    resumed = getattr(paths, "resumed", None)
    if resumed is None and getattr(opt, "resume", None):
        resumed = Resumed.prepare(opt)
    options = getattr(paths, "options", None) or dict(vars(opt))
    if resumed is not None:
        state = resumed.state(kind, options)
        resumed.restore(loaders)
        print(resumed.message(), flush=True)
    else:
        state = new_state(kind, model, options, **fields)
    return state, Checkpoints(paths[1], resumed)
