"""The ``minitorch7`` command.

    minitorch7 lab logreg|mlp|cnn|rnnlm [options]   run an exercise's solution
    minitorch7 evaluate MODEL                       test accuracy or perplexity
    minitorch7 sample MODEL --nsample 200           generate text from a language model
    minitorch7 repl                                 Python with minitorch7 and nn imported
    minitorch7 learn list|show|make|check           the missing-pieces tooling

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
from pathlib import Path

import minitorch7

from . import nn, optim
from .learn.check import hole_report
from .learn.cli import add_subparser as add_learn_subparser
from .learn.make import wrong_package_warning
from .serial import load

LAB_SCRIPTS = {  # the exercise: its module in minitorch7/lab/
    "logreg": "logistic_regression",
    "mlp": "train_mlp",
    "cnn": "convolution_neural_network",
    "rnnlm": "train_rnnlm",
}


def run_script(name: str, argv: list[str], prog: str):
    """Run the lab module minitorch7.lab.<name>: its ``main(argv)``, its options' help
    naming ``prog`` (argparse's program name comes from sys.argv[0])."""
    module = importlib.import_module(f"{__package__}.lab.{name}")
    sys.argv = [prog, *argv]
    return module.main(argv)


def _lab(args, rest):
    run_script(LAB_SCRIPTS[args.exercise], [*args.options, *rest],
               f"minitorch7 lab {args.exercise}")


EVALUATORS = {"classifier": ("evaluate_mlp", "--modelpath"),
              "rnnlm": ("evaluate_rnnlm", "--xplogpath")}


def _evaluate(args, rest):
    saved = load(args.model)
    kind = saved.get("kind", "classifier") if isinstance(saved, dict) else "classifier"
    script, flag = EVALUATORS[kind]
    run_script(script, [flag, args.model, *rest], "minitorch7 evaluate")


def _sample(args, rest):
    run_script("evaluate_rnnlm", ["--xplogpath", args.model, "--nsample",
                                  str(args.nsample), *rest], "minitorch7 sample")


def _repl(args, rest):
    banner = ("minitorch7 - like Torch7's th.\n"
              "Imported: torch (minitorch7), nn, optim. Try: torch.FloatTensor(2, 3).fill(1)")
    code.interact(banner=banner, local={"torch": minitorch7, "minitorch7": minitorch7,
                                        "nn": nn, "optim": optim}, exitmsg="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minitorch7", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    lab = commands.add_parser("lab", help="run an exercise's solution (options pass through; "
                                          "add --help after the exercise for them)")
    lab.add_argument("exercise", choices=sorted(LAB_SCRIPTS))
    lab.add_argument("options", nargs=argparse.REMAINDER,
                     help="the exercise's options, --help included")
    lab.set_defaults(run=_lab)
    evaluate = commands.add_parser("evaluate", help="evaluate a saved model on the test set")
    evaluate.add_argument("model")
    evaluate.set_defaults(run=_evaluate)
    sample = commands.add_parser("sample", help="generate text from a saved language model")
    sample.add_argument("model")
    sample.add_argument("--nsample", type=int, default=200)
    sample.set_defaults(run=_sample)
    repl = commands.add_parser("repl", help="an interactive prompt, like Torch7's th")
    repl.set_defaults(run=_repl)
    add_learn_subparser(commands)
    return parser


def main(argv=None) -> None:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command not in ("lab", "evaluate", "sample") and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    package_dir = Path(minitorch7.__file__).resolve().parent
    warning = wrong_package_warning(package_dir)
    if warning:
        print(warning, file=sys.stderr)
    try:
        args.run(args, rest)
    except BrokenPipeError:  # e.g. `minitorch7 learn list --json | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except Exception as error:  # a hole reached: its message, not a traceback
        report = None if os.environ.get("MINITORCH7_DEBUG") == "1" else hole_report(
            error, package_dir)
        if report is None:
            raise
        print(report, file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
