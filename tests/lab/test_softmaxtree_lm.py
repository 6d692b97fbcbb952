"""`minitorch7 lab rnnlm --softmaxtree` on the tiny PTB fixtures: it trains, saves, resumes,
evaluates and samples; its perplexity is exp(mean -log p(word)) exactly as the full
softmax's, checked against the tree's probabilities of all words."""

import re

import numpy as np
import pytest
from lab_runs import minitorch7

from minitorch7 import dataload, load, manualSeed, nn, no_grad
from minitorch7.lab import evaluate_rnnlm, train_rnnlm
from minitorch7.tensor import Tensor

RNNLM = ["--datapath", "fixtures", "--batchsize", "4", "--hiddensize", "16", "--lstm",
         "--startlr", "0.5", "--softmaxtree"]


def values(name, text):
    return [float(v) for v in re.findall(re.escape(name) + r"([-\d.e+]+|inf|nan)", text)]


def test_trains_evaluates_samples_and_resumes(tmp_path, capsys):
    out = minitorch7(capsys, "lab", "rnnlm", *RNNLM, "--maxepoch", 3, "--savepath", tmp_path)
    assert "nn.SoftMaxTree(16 -> 128 leaves, 12 families)" in out  # 11 bins of 12 words
    train_ppl = values("training perplexity = ", out)
    assert len(train_ppl) == 3 and train_ppl[2] < train_ppl[0]
    saved = load(tmp_path / "rnnlm.t7")
    assert saved["opt"]["softmaxtree"] and saved["valid_ppl"] == pytest.approx(
        min(values("validation perplexity = ", out)), abs=0.01)

    ppl = values("Test PPL : ", minitorch7(capsys, "evaluate", tmp_path / "rnnlm.t7",
                                           "--datapath", "fixtures"))
    assert len(ppl) == 1 and 1 < ppl[0] < 128

    text = minitorch7(capsys, "sample", tmp_path / "rnnlm.t7", "--nsample", 12, "--seed", 3)
    assert len(text.split()) == 12 and set(text.split()) <= set(saved["ivocab"])
    assert minitorch7(capsys, "sample", tmp_path / "rnnlm.t7", "--nsample", 12,
                      "--seed", 3) == text

    out = minitorch7(capsys, "lab", "rnnlm", *RNNLM, "--maxepoch", 4, "--savepath", tmp_path,
                     "--resume", tmp_path / "rnnlm.checkpoint.t7")
    assert values("Epoch #", out) == [4]


def test_perplexity_is_that_of_the_full_word_distribution():
    """evaluate_perplexity through the tree (two families per word) equals exp of the mean
    -log p(word) read from the distribution over all V words, over the same stream."""
    manualSeed(1)
    _, validset, _ = dataload.loadPTB((1, 1, 1), "fixtures")
    trainset, _, _ = dataload.loadPTB((4, 1, 1), "fixtures")
    opt = train_rnnlm.options(["--lstm", "--hiddensize", "8", "--softmaxtree"])
    lm = train_rnnlm.build(opt, len(trainset.ivocab), train_rnnlm.word_counts(trainset))
    lm.remember("both")
    ppl = train_rnnlm.evaluate_perplexity(lm, train_rnnlm.make_criterion(lm), validset, 7)

    words = evaluate_rnnlm.WordLogProbabilities(lm)
    words.evaluate()
    words.forget()
    stream = validset.data.numpy().reshape(-1)  # T + 1 tokens, one sequence
    with no_grad():
        logp = words.forward(Tensor._wrap(stream[:-1].reshape(-1, 1))).numpy()
    assert logp.shape == (len(stream) - 1, 1, 128)
    np.testing.assert_allclose(np.exp(logp).sum(axis=-1), 1, rtol=1e-5)
    nll = -logp[np.arange(len(stream) - 1), 0, stream[1:]].mean()
    assert ppl == pytest.approx(float(np.exp(nll)), rel=1e-5)


def test_the_tree_bins_words_by_training_counts():
    trainset, _, _ = dataload.loadPTB((4, 1, 1), "fixtures")
    counts = train_rnnlm.word_counts(trainset)
    hierarchy, root = nn.frequency_tree(counts)
    bins = [hierarchy[b] for b in hierarchy[root]]
    assert len(bins) == 11 and sorted(np.concatenate(bins)) == list(range(128))
    for rarer, commoner in zip(bins, bins[1:]):
        assert max(counts[w] for w in rarer) <= min(counts[w] for w in commoner)
    opt = train_rnnlm.options(["--softmaxtree", "--hiddensize", "8"])
    tree = train_rnnlm.build(opt, 128, counts).get(1)
    assert tree.weight.shape == (128 + 11, 8) and list(tree.leafIds) == list(range(128))
