"""Exercise 4 (solution): evaluate a saved language model, or sample text from it.

The lab's evaluate-rnnlm.lua. Without ``--nsample``: the test perplexity, exp(mean NLL
per token), through the test set as one continuous sequence (batch size 1, the state
carried from one chunk to the next). With ``--nsample N``: N words generated from
``<eos>``, each drawn from the model's predicted distribution and fed back in.

    minitorch7 evaluate ~/save/rnnlm.t7
    minitorch7 sample ~/save/rnnlm.t7 --nsample 200 --temperature 0.8
"""

import argparse
import sys
import textwrap
from pathlib import Path

import minitorch7
from minitorch7 import dataload, nn
from minitorch7.lab.train_rnnlm import evaluate_perplexity  # the sibling solution's loop
from minitorch7.text import generate


def options(argv=None):
    parser = argparse.ArgumentParser(description="Evaluate or sample a saved language model")
    parser.add_argument("--xplogpath", default=str(Path.home() / "save" / "rnnlm.t7"),
                        help="a model saved by train_rnnlm.py")
    parser.add_argument("--datapath", default=None,
                        help="a folder holding ptb.*.txt, or 'fixtures'")
    parser.add_argument("--nsample", type=int, default=-1,
                        help="generate this many words instead of evaluating")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="below 1: likelier words; above 1: more surprising ones")
    parser.add_argument("--seqlen", type=int, default=100,
                        help="tokens per forward call when evaluating (the state carries "
                             "over, so the perplexity does not depend on it)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def load_xplog(path):
    """The dict saved by train_rnnlm.py; refuses anything else with a clear message."""
    xplog = minitorch7.load(path)
    if not isinstance(xplog, dict) or xplog.get("kind") != "rnnlm":
        raise SystemExit(f"evaluate_rnnlm: {path} is not a language model saved by "
                         "train_rnnlm.py")
    return xplog


def main(argv=None):
    opt = options(argv)
    minitorch7.manualSeed(opt.seed)
    xplog = load_xplog(opt.xplogpath)
    lm, ivocab = xplog["model"], xplog["ivocab"]
    print(f"Model from epoch {xplog['epoch']} (validation perplexity "
          f"{xplog['valid_ppl']:.2f})", file=sys.stderr)
    if opt.nsample > 0:
        text = " ".join(generate(lm, ivocab, opt.nsample, opt.temperature))
        print(textwrap.fill(text, width=100))
        return text
    _, _, testset = dataload.loadPTB((1, 1, 1), opt.datapath)
    if list(testset.ivocab) != list(ivocab):
        raise SystemExit(f"evaluate_rnnlm: the vocabulary of {opt.datapath or 'PTB'} differs "
                         "from the model's; use the --datapath it was trained on")
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())
    ppl = evaluate_perplexity(lm, criterion, testset, opt.seqlen)
    print(f"Test PPL : {ppl:.2f}")
    return ppl


if __name__ == "__main__":
    main()
