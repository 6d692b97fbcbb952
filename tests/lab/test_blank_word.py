"""`minitorch7 lab blankword` on the Penn Treebank fixtures: the blank is never in the input,
both models train (the blank's training perplexity falls), the best model is saved and
scored on the test windows, and --resume continues exactly as an uninterrupted run."""

import re
import sys

import numpy as np
import pytest

from minitorch7 import cli, load
from minitorch7.lab import blank_word

FIXTURE = ["--datapath", "fixtures", "--context", "1", "--hiddensize", "8", "--batchsize", "4",
           "--trainsize", "100", "--startlr", "0.1"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the cli sets sys.argv


def run(capsys, tmp_path, *argv):
    capsys.readouterr()
    cli.main(["lab", "blankword", *FIXTURE, "--savepath", str(tmp_path), *map(str, argv)])
    return capsys.readouterr().out


def values(name, text):
    return [float(v) for v in re.findall(re.escape(name) + r"([-\d.e+]+|inf|nan)", text)]


def test_the_middle_word_is_replaced_by_the_blank_and_the_stream_is_untouched():
    ids = np.arange(10, 17)
    loader = blank_word.windows(ids, 2)
    assert loader.size() == 3 and list(loader.targets.numpy()) == [12, 13, 14]
    inputs, targets = loader.sub(0, 2)
    steps = blank_word.blanked(inputs, 99).numpy()
    np.testing.assert_array_equal(steps, [[10, 11], [11, 12], [99, 99], [13, 14], [14, 15]])
    assert list(targets.numpy()) == [12, 13]
    np.testing.assert_array_equal(ids, np.arange(10, 17))


def test_a_context_longer_than_a_set_is_refused():
    with pytest.raises(SystemExit, match="no window of 9 words: use a smaller --context"):
        blank_word.windows(np.arange(5), 4)


@pytest.mark.parametrize("leftonly", [False, True])
def test_both_models_train_save_and_score_the_test_windows(leftonly, tmp_path, capsys):
    out = run(capsys, tmp_path, "--maxepoch", 3, *(["--leftonly"] if leftonly else []))
    assert ("nn.BiSequencer" in out) != leftonly
    train_ppl = values("training perplexity = ", out)
    assert len(train_ppl) == 3 and train_ppl[2] < train_ppl[0]
    saved = load(tmp_path / "blankword.t7")
    assert saved["kind"] == "blankword" and saved["valid_ppl"] == pytest.approx(
        min(values("validation perplexity = ", out)), abs=0.01)
    side = "left context only" if leftonly else "both sides"
    accuracy = values(f"Test ({side}): accuracy = ", out)
    assert len(accuracy) == 1 and 0 <= accuracy[0] <= 1
    assert len(values("perplexity = ", out.splitlines()[-1])) == 1


def test_resume_continues_as_an_uninterrupted_run(tmp_path, capsys):
    whole = run(capsys, tmp_path / "whole", "--maxepoch", 3)
    run(capsys, tmp_path / "cut", "--maxepoch", 2)
    resumed = run(capsys, tmp_path / "cut", "--maxepoch", 3, "--resume",
                  tmp_path / "cut" / "blankword.checkpoint.t7")
    last = [line for line in whole.splitlines() if line.startswith("Epoch #3")]
    assert len(last) == 1
    assert re.sub(r"speed = \d+", "", last[0]) in re.sub(r"speed = \d+", "", resumed)
