"""The command line: option types, checks, and how a bad option or a failure is reported.

Every option is checked before any work starts (no data read, no model built), and a bad
value stops the command with one line on stderr and exit status 2 (argparse's status for
bad usage); a failure once the work has started is one line and exit status 1:

    minitorch7 lab mlp: error: argument --batchsize: must be a positive integer, got -1 (see
    minitorch7 lab mlp --help)

``CommandParser`` is argparse's parser with that one-line error and a help that shows
every option's default. ``Parser``, the lab scripts', also records which options were
typed (``checkpoint.ArgumentParser``) and runs the checks of the options as a whole added
with ``add_check`` (the save location writable, the options consistent with each other).
The types (``positive_int``, ``finite_float``, ``int_list`` ...) check one value each.
``UsageError`` is a bad argument found outside a parser (``read_model``); the
``minitorch7`` command reports it in the same one line, with the same exit status, and
``error_line`` turns any other exception into its one line.
"""

import argparse
import math
import os
import tempfile
from pathlib import Path

from . import checkpoint

USAGE = 2  # exit status of bad usage (argparse's); a failure once work has started is 1


class UsageError(Exception):
    """An argument or option that cannot work, found before any work: exit status 2."""


def one_line(text):
    """``text`` on one line: its lines joined, runs of spaces collapsed."""
    return " ".join(str(text).split())


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                    argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default (argparse's own formatter leaves out the
    options without a help text); descriptions keep their line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("%(default)" not in text and action.default is not argparse.SUPPRESS
                and (action.option_strings or action.nargs in ("?", "*"))):
            text += (" " if text else "") + "(default: %(default)s)"
        return text


class CommandParser(argparse.ArgumentParser):
    """argparse's parser with a bad option as one line on stderr and exit status 2 (no
    usage block) and a help that shows every option's default."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        if kwargs.get("help") is None and any(str(a).startswith("-") for a in args):
            kwargs["help"] = "(default: %(default)s)"  # argparse prints no default without help
        return super().add_argument(*args, **kwargs)

    def error(self, message):
        self.exit(USAGE, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


class Parser(CommandParser, checkpoint.ArgumentParser):
    """The lab scripts' parser: a ``CommandParser`` that records which options were typed
    (``checkpoint.ArgumentParser``) and runs the checks added with ``add_check`` on the
    parsed options (after ``--help``, before any work)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.checks = []

    def add_check(self, check):
        """``check(opt)`` runs on the parsed options; it raises UsageError for bad ones."""
        self.checks.append(check)
        return check

    def parse_args(self, args=None, namespace=None):
        opt = super().parse_args(args, namespace)
        for check in self.checks:
            try:
                check(opt)
            except UsageError as error:
                self.error(str(error))
        return opt


# ---- one value ---------------------------------------------------------------------------
def _typed(kind, name, test, what):
    """An argparse type: ``kind(text)`` that passes ``test``, else an error saying ``what``."""

    def convert(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    convert.__name__ = name  # argparse names the type in some messages
    return convert


positive_int = _typed(int, "positive_int", lambda v: v > 0, "a positive integer")
count = _typed(int, "count", lambda v: v >= 0, "an integer >= 0")


def positive_int_or_minus_one(meaning):
    """An argparse type: a positive integer, or -1 (``meaning``: 'for all', ...)."""
    return _typed(int, "positive_int_or_minus_one", lambda v: v > 0 or v == -1,
                  f"a positive integer, or -1 {meaning}")


size_or_all = positive_int_or_minus_one("for all")
size_or_default = positive_int_or_minus_one("for the default")
finite_float = _typed(float, "finite_float", math.isfinite, "a finite number")
positive_float = _typed(float, "positive_float", lambda v: math.isfinite(v) and v > 0,
                        "a positive finite number")
nonnegative_float = _typed(float, "nonnegative_float", lambda v: math.isfinite(v) and v >= 0,
                           "a finite number >= 0")
fraction = _typed(float, "fraction", lambda v: 0 <= v < 1, "a number in [0, 1)")
positive_or_off = _typed(float, "positive_or_off",
                         lambda v: v == -1 or (math.isfinite(v) and v > 0),
                         "a positive finite number, or -1 for off")


def int_list(minimum=1):
    """An argparse type for the lab's lists ('16,32' or '{16,32}'): at least one integer,
    each >= ``minimum``; the text is kept as typed (``experiment.parse_list`` reads it)."""
    what = "positive integers" if minimum == 1 else f"integers >= {minimum}"

    def convert(text):
        from .experiment import parse_list

        try:
            values = parse_list(text)
        except ValueError:
            values = None
        if not values or any(v < minimum for v in values):
            raise argparse.ArgumentTypeError(
                f"must be {what} separated by commas, like '16,32', got {text!r}")
        return text

    convert.__name__ = "int_list"
    return convert


def schedule(text):
    """An argparse type for --schedule: '{[5]=0.5,[6]=0.25}' or '5:0.5,6:0.25', epochs
    positive, learning rates positive and finite; the text is kept as typed."""
    from .experiment import parse_schedule

    try:
        table = parse_schedule(text)
    except ValueError:
        table = None
    if table is None or not all(epoch > 0 and math.isfinite(lr) and lr > 0
                                for epoch, lr in table.items()):
        raise argparse.ArgumentTypeError(
            "must map epochs to learning rates, like '{[5]=0.5,[6]=0.25}' or '5:0.5,6:0.25' "
            f"(epochs >= 1, rates positive), got {text!r}")
    return text


def experiment_id(text):
    """An argparse type for --id: a file name (no folder: the files go in --savepath)."""
    if not text or text in (".", "..") or any(
            sep and sep in text for sep in ("/", "\\", os.sep, os.altsep)) or "\0" in text:
        raise argparse.ArgumentTypeError(
            f"must be a file name without a folder (the files go in --savepath), got {text!r}")
    return text


def datapath(text):
    """An argparse type for --datapath: 'fixtures' or an existing folder."""
    if text != "fixtures" and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(
            f"must be a folder holding the dataset files, or 'fixtures', got {text!r} "
            f"({'not a folder' if Path(text).exists() else 'no such folder'})")
    return text


# ---- the options as a whole --------------------------------------------------------------
def check_save_location(opt):
    """The files ``<savepath>/<id>.t7`` and ``<id>.checkpoint.t7`` can be written: the
    folder (or the nearest folder above it that exists, where it will be made) takes a new
    file, and neither name is a folder. Nothing is left behind."""
    folder = Path(opt.savepath)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"argument --savepath: {existing} is not a folder (it is a file)")
    for name in (f"{opt.id}.t7", f"{opt.id}.checkpoint.t7"):
        if (folder / name).is_dir():
            raise UsageError(f"argument --savepath: {folder / name} is a folder; the model "
                             "is written there: choose another --savepath or --id")
    try:
        handle, probe = tempfile.mkstemp(dir=existing, prefix=".minitorch7-write-test-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(f"argument --savepath: cannot write in {existing}: "
                         f"{error.strerror or error}") from None


def check_cuda(opt):
    """--cuda needs a GPU (or the CUDA simulator)."""
    if getattr(opt, "cuda", False):
        from .cuda import is_available, simulator_enabled

        if not (is_available() or simulator_enabled()):
            raise UsageError("argument --cuda: no CUDA GPU is available "
                             "(minitorch7.cuda.is_available() is False); run without --cuda")


def read_model(path, kinds=("classifier", "rnnlm"), what="a model saved by minitorch7 lab"):
    """The dict a lab script saved at ``path`` (a best model or a checkpoint), its ``kind``
    one of ``kinds``; UsageError saying why for a missing file, a folder, a file that is
    not minitorch7's, or one that holds something else."""
    from . import nn
    from .serial import SerialError, load

    file = Path(path)
    if not file.exists():
        raise UsageError(f"{path}: no such file")
    if file.is_dir():
        raise UsageError(f"{path}: is a folder, not a model file")
    try:
        saved = load(file)
    except SerialError as error:
        raise UsageError(str(error).removeprefix("minitorch7.load: ")) from None
    except OSError as error:
        raise UsageError(f"{path}: cannot read it: {error.strerror or error}") from None
    kind = saved.get("kind", "classifier") if isinstance(saved, dict) else None
    if not isinstance(saved, dict) or not isinstance(saved.get("model"), nn.Module):
        if isinstance(saved, dict):
            held = (f"a dict whose 'model' is a {type(saved['model']).__name__}"
                    if "model" in saved else
                    f"a dict without a model (keys: {', '.join(map(str, saved)) or 'none'})")
        else:
            held = f"a {type(saved).__name__}"
        raise UsageError(f"{path}: holds {held}, not {what}")
    if kind not in kinds:
        raise UsageError(f"{path}: is a model of kind {kind!r}, not {what}")
    return saved


# ---- reporting ---------------------------------------------------------------------------
DEBUG_HINT = "MINITORCH7_DEBUG=1 shows the traceback"


def error_line(error, prog):
    """(exit status, the one line for stderr) of an exception that stopped ``prog``: 2 for
    a UsageError, 1 for anything else; an error that is no known failure (a bug, most
    likely) says how to see its traceback."""
    from .dataload.sources import DataFormatError, DataUnavailableError
    from .serial import SerialError

    if isinstance(error, UsageError):
        return USAGE, f"{prog}: error: {one_line(error)} (see {prog} --help)"
    if isinstance(error, OSError) and error.strerror:
        where = " -> ".join(str(f) for f in (error.filename, error.filename2) if f is not None)
        return 1, f"{prog}: error: {where + ': ' if where else ''}{error.strerror}"
    if isinstance(error, (OSError, SerialError, DataUnavailableError, DataFormatError)):
        return 1, f"{prog}: error: {one_line(error)}"
    if isinstance(error, MemoryError):
        return 1, f"{prog}: error: out of memory{': ' + one_line(error) if str(error) else ''}"
    text = one_line(error)
    return 1, (f"{prog}: error: {type(error).__name__}{': ' + text if text else ''} "
               f"({DEBUG_HINT})")
