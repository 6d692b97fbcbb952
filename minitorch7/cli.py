"""The ``minitorch7`` command.

    minitorch7 lab logreg|mlp|cnn|rnnlm [options]   run an exercise's solution
    minitorch7 evaluate MODEL                       test accuracy or perplexity
    minitorch7 sample MODEL --nsample 200           generate text from a language model
    minitorch7 export MODEL OUT.safetensors         its weights under PyTorch's names
    minitorch7 repl                                 Python with minitorch7 and nn imported
    minitorch7 learn list|show|make|check           the missing-pieces tooling

Every error is one line on stderr, without a traceback: exit status 2 for bad usage (an
option or argument that cannot work, found before any work starts: see minitorch7.cmdline),
1 for a failure once the work has started, 130 for Ctrl-C; MINITORCH7_DEBUG=1 shows the
traceback. ``--help`` after a command shows its options and their defaults.

``python -m minitorch7 ...`` is the same command. In a learner copy, run it from the copy's
root: Python then imports the copy's package (the current directory comes first on the
path), and ``lab`` runs the copy's lab (minitorch7/lab/) on the copy's code. A run that
reaches a hole stops with the hole's message and where it was raised (exit status 1;
MINITORCH7_DEBUG=1 shows the traceback). Run inside a copy whose package is not the one
running, the command says so on stderr.
"""

import argparse
import code
import importlib
import os
import sys
import traceback
from pathlib import Path

import minitorch7

from . import cmdline, nn, optim
from .learn.check import hole_report
from .learn.cli import add_subparser as add_learn_subparser
from .learn.make import wrong_package_warning

LAB_SCRIPTS = {  # the exercise: its module in minitorch7/lab/
    "logreg": "logistic_regression",
    "mlp": "train_mlp",
    "cnn": "convolution_neural_network",
    "rnnlm": "train_rnnlm",
    "ram": "recurrent_attention",
    "blankword": "blank_word",
}


def run_script(name: str, argv: list[str], prog: str):
    """Run the lab module minitorch7.lab.<name>: its ``main(argv)``, its options' help
    naming ``prog`` (argparse's program name comes from sys.argv[0])."""
    module = importlib.import_module(f"{__package__}.lab.{name}")
    sys.argv = [prog, *argv]
    return module.main(argv)


def lab_module(exercise: str):
    """The lab script that ``minitorch7 lab <exercise>`` runs: minitorch7.lab.<module>."""
    return importlib.import_module(f"{__package__}.lab.{LAB_SCRIPTS[exercise]}")


def _lab(args, rest):
    run_script(LAB_SCRIPTS[args.exercise], [*args.options, *rest],
               f"minitorch7 lab {args.exercise}")


EVALUATORS = {"classifier": ("evaluate_mlp", "--modelpath"),
              "rnnlm": ("evaluate_rnnlm", "--xplogpath")}


def _evaluate(args, rest):
    saved = cmdline.read_model(args.model)
    kind = saved.get("kind", "classifier")
    if kind == "rnnlm":
        from .lab.evaluate_rnnlm import check_xplog

        check_xplog(saved, args.model)
    script, flag = EVALUATORS[kind]
    run_script(script, [flag, args.model, *rest], "minitorch7 evaluate")


def _sample(args, rest):
    from .lab.evaluate_rnnlm import load_xplog

    load_xplog(args.model)
    run_script("evaluate_rnnlm", ["--xplogpath", args.model, "--nsample",
                                  str(args.nsample), *rest], "minitorch7 sample")


def _export(args, rest):
    from . import interop

    saved = cmdline.read_model(args.model)
    out = Path(args.out)
    if out.is_dir():
        raise cmdline.UsageError(f"{args.out}: is a folder, not a file to write")
    if not out.parent.is_dir():
        raise cmdline.UsageError(f"{args.out}: its folder {out.parent} does not exist")
    try:
        tensors = interop.state_dict(saved["model"])
    except interop.InteropError as error:
        raise cmdline.UsageError(f"{args.model}: {error}") from None
    interop.write_safetensors(out, tensors, {"format": "pt", "producer": "minitorch7",
                                             "kind": str(saved.get("kind", "classifier"))})
    print(f"{args.out}: {len(tensors)} tensors under torch.nn's names "
          f"({', '.join(list(tensors)[:3])}{' ...' if len(tensors) > 3 else ''})")


def _repl(args, rest):
    banner = ("minitorch7 - like Torch7's th.\n"
              "Imported: torch (minitorch7), nn, optim. Try: torch.FloatTensor(2, 3).fill(1)")
    code.interact(banner=banner, local={"torch": minitorch7, "minitorch7": minitorch7,
                                        "nn": nn, "optim": optim}, exitmsg="")


def _options_text(script, skip, heading):
    """The help of a lab script's options under ``heading``, but those in ``skip`` (what
    the command sets itself)."""
    parser = importlib.import_module(f"{__package__}.lab.{script}").make_parser()
    formatter = parser._get_formatter()
    formatter.start_section(heading)
    formatter.add_arguments([a for a in parser._actions if a.option_strings
                             and not set(a.option_strings) & {"-h", "--help", *skip}])
    formatter.end_section()
    return formatter.format_help()


def build_parser() -> argparse.ArgumentParser:
    parser = cmdline.CommandParser(prog="minitorch7", description=__doc__.split("\n\n")[1],
                                   epilog="'minitorch7 COMMAND --help' shows a command's "
                                          "options and their defaults.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lab = commands.add_parser(
        "lab", help="run an exercise's solution (options pass through; add --help after the "
                    "exercise for them)",
        description="Run an exercise's solution (minitorch7/lab/): logreg (exercise 1), mlp\n"
                    "(2), cnn (3), rnnlm (4). 'minitorch7 lab mlp --help' shows its options\n"
                    "and their defaults.")
    lab.add_argument("exercise", choices=sorted(LAB_SCRIPTS), metavar="EXERCISE",
                     help="one of " + ", ".join(sorted(LAB_SCRIPTS)))
    lab.add_argument("options", nargs=argparse.REMAINDER,
                     help="the exercise's options, --help included")
    lab.set_defaults(run=_lab)
    evaluate = commands.add_parser(
        "evaluate", help="evaluate a saved model on the test set",
        description="Evaluate a saved model on its test set: the accuracy of a classifier\n"
                    "(minitorch7 lab mlp, cnn), the perplexity of a language model\n"
                    "(minitorch7 lab rnnlm).",
        epilog=_options_text("evaluate_mlp", {"--modelpath"},
                             "options after MODEL, for a classifier")
        + "\n" + _options_text("evaluate_rnnlm", {"--xplogpath", "--nsample", "--temperature",
                                           "--seed"}, "options after MODEL, for a language model"))
    evaluate.add_argument("model", metavar="MODEL",
                          help="a model saved by minitorch7 lab: <savepath>/<id>.t7")
    evaluate.set_defaults(run=_evaluate)
    sample = commands.add_parser(
        "sample", help="generate text from a saved language model",
        description="Generate text from a language model saved by minitorch7 lab rnnlm.",
        epilog=_options_text("evaluate_rnnlm", {"--xplogpath", "--nsample", "--seqlen",
                                                "--datapath"}, "more options after MODEL"))
    sample.add_argument("model", metavar="MODEL",
                        help="a language model saved by minitorch7 lab rnnlm: "
                             "<savepath>/<id>.t7")
    sample.add_argument("--nsample", type=cmdline.positive_int, default=200,
                        help="words to generate")
    sample.set_defaults(run=_sample)
    export = commands.add_parser(
        "export", help="write a saved model's weights for PyTorch (safetensors)",
        description="Write a saved model's parameters and buffers to a safetensors file,\n"
                    "under the names state_dict() gives them in the equivalent torch.nn\n"
                    "model (see minitorch7.interop). A GRU is refused: Torch7's computes\n"
                    "something else than torch.nn.GRU.")
    export.add_argument("model", metavar="MODEL",
                        help="a model saved by minitorch7 lab: <savepath>/<id>.t7")
    export.add_argument("out", metavar="OUT.safetensors", help="the file to write")
    export.set_defaults(run=_export)
    repl = commands.add_parser("repl", help="an interactive prompt, like Torch7's th")
    repl.set_defaults(run=_repl)
    add_learn_subparser(commands)
    return parser


def _prog(args):
    """The command's name in its messages: 'minitorch7 lab mlp', 'minitorch7 evaluate'."""
    words = ["minitorch7", args.command]
    if args.command == "lab":
        words.append(args.exercise)
    elif args.command == "learn" and getattr(args, "learn_command", None):
        words.append(args.learn_command)
    return " ".join(words)


def main(argv=None) -> None:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command not in ("lab", "evaluate", "sample") and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    package_dir = Path(minitorch7.__file__).resolve().parent
    warning = wrong_package_warning(package_dir)
    if warning:
        print(warning, file=sys.stderr)
    prog, debug = _prog(args), os.environ.get("MINITORCH7_DEBUG") == "1"
    try:
        args.run(args, rest)
    except BrokenPipeError:  # e.g. `minitorch7 learn list --json | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except SystemExit as stop:  # a script's own message: one line, named after the command
        if not isinstance(stop.code, str):
            raise
        if debug:
            traceback.print_exc()
            raise
        raise SystemExit(f"{prog}: error: {cmdline.one_line(stop.code)}") from None
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:  # one line (a hole reached: its message), no traceback
        if debug:
            raise
        report = hole_report(error, package_dir)
        status, line = (1, report) if report is not None else cmdline.error_line(error, prog)
        print(line, file=sys.stderr)
        raise SystemExit(status) from None


if __name__ == "__main__":
    main()
