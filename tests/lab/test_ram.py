"""`minitorch7 lab ram` on the tiny MNIST fixtures: the attention model trains (its NLL
falls), saves its best model, which `minitorch7 evaluate` reads, prints the best model's
test accuracy, and a resumed run repeats an uninterrupted one epoch for epoch."""

import re

import pytest
from lab_runs import minitorch7

from minitorch7 import cli, load

SMALL = ["--datapath", "fixtures", "--batchsize", "5", "--hiddensize", "16",
         "--imagehiddensize", "16", "--glimpsehiddensize", "8", "--locatorhiddensize", "8",
         "--rho", "3", "--learningrate", "0.1", "--momentum", "0", "--seed", "1",
         "--no-progress"]


def epochs(out):
    """{epoch: its line without the speed} of a run's output."""
    return {int(m.group(1)): m.group(2) for m in
            re.finditer(r"^Epoch (\d+) : (.*), speed = ", out, re.MULTILINE)}


def test_ram_trains_saves_evaluates_and_resumes(tmp_path, capsys):
    out = minitorch7(capsys, "lab", "ram", *SMALL, "--maxepoch", 3, "--savepath", tmp_path)
    first = epochs(out)
    nll = [float(re.search(r"mean nll = ([\d.]+)", first[e]).group(1)) for e in (1, 2, 3)]
    assert nll[2] < nll[1] < nll[0]
    assert "nn.RecurrentAttention {" in out and "nn.ReinforceNormal(0.22)" in out
    assert re.search(r"its test accuracy=[\d.]+ \(test error [\d.]+%\)", out)
    saved = load(tmp_path / "ram.t7")
    assert saved["kind"] == "classifier" and 1 <= saved["epoch"] <= 3

    evaluated = minitorch7(capsys, "evaluate", tmp_path / "ram.t7", "--datapath", "fixtures")
    assert re.search(r"Test accuracy=[\d.]+", evaluated)

    checkpoint = tmp_path / "ram.checkpoint.t7"
    resumed = minitorch7(capsys, "lab", "ram", *SMALL, "--maxepoch", 5, "--savepath", tmp_path,
                         "--resume", checkpoint)
    assert f"Resuming from {checkpoint} after epoch 3" in resumed
    straight = minitorch7(capsys, "lab", "ram", *SMALL, "--maxepoch", 5, "--savepath",
                          tmp_path / "straight")
    assert epochs(resumed) == {e: line for e, line in epochs(straight).items() if e > 3}
    assert [row["epoch"] for row in load(checkpoint)["log"]] == [1, 2, 3, 4, 5]


def test_ram_refuses_cuda_and_resampled_scales(capsys):
    for bad in (["--cuda"], ["--glimpsedepth", "2", "--glimpsescale", "3"]):
        with pytest.raises(SystemExit) as stop:
            cli.main(["lab", "ram", "--datapath", "fixtures", *bad])
        assert stop.value.code == 2
