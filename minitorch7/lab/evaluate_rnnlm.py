"""Exercise 4 (solution): evaluate a saved language model, or sample text from it.

The lab's evaluate-rnnlm.lua. Without ``--nsample``: the test perplexity, exp(mean NLL
per token), through the test set as one continuous sequence (batch size 1, the state
carried from one chunk to the next). With ``--nsample N``: N words generated from
``<eos>``, each drawn from the model's predicted distribution and fed back in.

    minitorch7 evaluate ~/save/rnnlm.t7
    minitorch7 sample ~/save/rnnlm.t7 --nsample 200 --temperature 0.8
"""

import sys
import textwrap
from pathlib import Path

import minitorch7
from minitorch7 import cmdline, dataload, nn
from minitorch7.lab.train_rnnlm import (  # the sibling solution's loop
    evaluate_perplexity,
    has_tree,
    make_criterion,
)
from minitorch7.text import generate

WHAT = "a language model saved by minitorch7 lab rnnlm"


def make_parser():
    parser = cmdline.Parser(description="Evaluate or sample a saved language model")
    parser.add_argument("--xplogpath", default=str(Path.home() / "save" / "rnnlm.t7"),
                        help=f"{WHAT} (<savepath>/<id>.t7)")
    parser.add_argument("--datapath", default=None, type=cmdline.datapath,
                        help="a folder holding ptb.*.txt, or 'fixtures' (None: "
                             "$MINITORCH7_DATA, else the cache, else a download)")
    parser.add_argument("--nsample", type=cmdline.positive_int_or_minus_one("to evaluate"),
                        default=-1,
                        help="generate this many words instead of evaluating (-1: evaluate)")
    parser.add_argument("--temperature", type=cmdline.positive_float, default=1.0,
                        help="below 1: likelier words; above 1: more surprising ones")
    parser.add_argument("--seqlen", type=cmdline.positive_int, default=100,
                        help="tokens per forward call when evaluating (the state carries "
                             "over, so the perplexity does not depend on it)")
    parser.add_argument("--seed", type=cmdline.count, default=0,
                        help="random seed of the sampling")
    parser.add_check(read_model)
    return parser


def read_model(opt):
    """The saved model, checked, in ``opt.saved`` (UsageError for anything else)."""
    try:
        opt.saved = load_xplog(opt.xplogpath)
    except cmdline.UsageError as error:
        raise cmdline.UsageError(f"argument --xplogpath: {error}") from None


def options(argv=None):
    return make_parser().parse_args(argv)


def load_xplog(path):
    """The dict saved by train_rnnlm.py as its best model; UsageError for anything else
    (a training checkpoint included: it holds no vocabulary)."""
    return check_xplog(cmdline.read_model(path, ("rnnlm",), WHAT), path)


def check_xplog(xplog, path):
    """``xplog``, read from ``path``, if it is a best model (a training checkpoint holds no
    vocabulary): else UsageError."""
    if "ivocab" not in xplog:
        raise cmdline.UsageError(f"{path}: is a training checkpoint (for --resume), not the "
                                 "best model: evaluate <savepath>/<id>.t7")
    return xplog


class WordLogProbabilities(nn.Module):
    """A --softmaxtree language model as ``generate`` takes it: word ids -> the
    log-probabilities of all the words (the tree's leaves, ids 0..V-1), every family of
    the tree computed: V x hiddensize multiply-adds per word, as the full softmax's."""

    def __init__(self, lm):
        super().__init__()
        modules = list(lm.modules_depth_first())  # [ParallelTable[body, Identity], tree]
        self.body = next(m for m in modules if isinstance(m, nn.ParallelTable)).get(0)
        self.tree = next(m for m in modules if isinstance(m, nn.SoftMaxTree))

    def children(self):
        return [self.body, self.tree]

    def updateOutput(self, input):
        return self.tree.leafLogProbabilities(self.body.forward(input))


def main(argv=None):
    opt = options(argv)
    minitorch7.manualSeed(opt.seed)
    xplog = opt.saved
    lm, ivocab = xplog["model"], xplog["ivocab"]
    print(f"Model from epoch {xplog['epoch']} (validation perplexity "
          f"{xplog['valid_ppl']:.2f})", file=sys.stderr)
    if opt.nsample > 0:
        model = WordLogProbabilities(lm) if has_tree(lm) else lm
        text = " ".join(generate(model, ivocab, opt.nsample, opt.temperature))
        print(textwrap.fill(text, width=100))
        return text
    _, _, testset = dataload.loadPTB((1, 1, 1), opt.datapath)
    if list(testset.ivocab) != list(ivocab):
        raise SystemExit(f"the vocabulary of {opt.datapath or 'PTB'} differs "
                         "from the model's; use the --datapath it was trained on")
    ppl = evaluate_perplexity(lm, make_criterion(lm), testset, opt.seqlen)
    print(f"Test PPL : {ppl:.2f}")
    return ppl


if __name__ == "__main__":
    main()
