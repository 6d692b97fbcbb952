"""The lab end to end on the tiny fixtures: every exercise trains (its loss falls), writes
its model and checkpoint, and `minitorch7 evaluate` / `sample` read them back; --resume
continues the epoch count; Ctrl-C saves a checkpoint and exits with 130; the starting
scripts run; `minitorch7 repl` starts. One opt-in test runs the README's main job on the
real MNIST."""

import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from minitorch7 import checkpoint, cli, dataload, experiment, load, save

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"
MLP = ["--datapath", "fixtures", "--batchsize", "5", "--hiddensize", "32"]
CNN = ["--datapath", "fixtures", "--batchsize", "5", "--channelsize", "4,8",
       "--hiddensize", "16", "--batchnorm"]
RNNLM = ["--datapath", "fixtures", "--batchsize", "4", "--hiddensize", "16", "--lstm",
         "--startlr", "0.5"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """The scripts set sys.argv and sys.path, and the rnnlm starter replaces the lab's
    train_rnnlm.build: undo it after each test."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in [m for m in sys.modules if m.startswith("minitorch7.lab.")]:
        del sys.modules[name]


def minitorch7(capsys, *argv):
    """Run ``minitorch7 argv...`` in this process; returns what it printed."""
    capsys.readouterr()
    cli.main([str(a) for a in argv])
    return capsys.readouterr().out


def values(name, text):
    """Every number printed after ``name`` (e.g. 'mean loss = ')."""
    return [float(v) for v in re.findall(re.escape(name) + r"([-\d.e+]+|inf|nan)", text)]


def test_logistic_regression_loss_falls_and_is_reproducible(capsys):
    out = minitorch7(capsys, "lab", "logreg", "--maxepoch", 6, "--nsample", 30)
    losses = values("mean loss = ", out)
    assert len(losses) == 6 and losses[-1] < 0.8 * losses[0]
    assert minitorch7(capsys, "lab", "logreg", "--maxepoch", 6, "--nsample", 30) == out
    nll = values("mean loss = ", minitorch7(capsys, "lab", "logreg", "--maxepoch", 6,
                                            "--nsample", 30, "--nll"))
    assert len(nll) == 6 and nll[-1] < 0.8 * nll[0]


def test_mlp_trains_saves_evaluates_and_resumes(tmp_path, capsys):
    out = minitorch7(capsys, "lab", "mlp", *MLP, "--quick", "--savepath", tmp_path)
    assert values("Epoch ", out) == [1, 2, 3]  # --quick: 3 epochs
    losses = values("mean loss = ", out)
    assert losses[2] < losses[1] < losses[0]
    saved = load(tmp_path / "mlp.t7")
    assert saved["kind"] == "classifier" and 1 <= saved["epoch"] <= 3

    out = minitorch7(capsys, "evaluate", tmp_path / "mlp.t7", "--datapath", "fixtures")
    assert "ConfusionMatrix" in out
    _, _, testset = dataload.loadMNIST("fixtures")
    accuracy = values("Test accuracy=", out)
    assert len(accuracy) == 1 and 0 <= accuracy[0] <= 1
    assert accuracy[0] * testset.size() == pytest.approx(round(accuracy[0] * testset.size()),
                                                         abs=1e-4)  # a count of digits

    checkpoint = tmp_path / "mlp.checkpoint.t7"
    out = minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 5, "--savepath", tmp_path,
                     "--resume", checkpoint)
    assert f"Resuming from {checkpoint} after epoch 3" in out
    assert values("Epoch ", out) == [4, 5]
    assert [row["epoch"] for row in load(checkpoint)["log"]] == [1, 2, 3, 4, 5]

    with pytest.raises(SystemExit) as stop:  # bad usage: one line, exit status 2
        minitorch7(capsys, "sample", tmp_path / "mlp.t7", "--nsample", 5)
    assert stop.value.code == 2 and "not a language model" in capsys.readouterr().err


def test_cnn_trains_and_evaluates(tmp_path, capsys):
    out = minitorch7(capsys, "lab", "cnn", *CNN, "--quick", "--savepath", tmp_path)
    assert "nn.SpatialBatchNormalization" in out and "Dense input size: 8x7x7" in out
    losses = values("mean loss = ", out)
    assert len(losses) == 2 and losses[1] < losses[0]  # --quick: 2 epochs
    out = minitorch7(capsys, "evaluate", tmp_path / "cnn.t7", "--datapath", "fixtures")
    assert len(values("Test accuracy=", out)) == 1


def test_ctrl_c_saves_the_checkpoint_and_resume_continues(tmp_path, capsys, monkeypatch):
    train_epoch = experiment.train_classifier_epoch

    def interrupted_in_epoch_2(model, criterion, trainset, opt, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return train_epoch(model, criterion, trainset, opt, epoch)

    monkeypatch.setattr(experiment, "train_classifier_epoch", interrupted_in_epoch_2)
    with pytest.raises(SystemExit) as stop:
        minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 3, "--savepath", tmp_path)
    assert stop.value.code == 130
    checkpoint = tmp_path / "mlp.checkpoint.t7"
    assert f"--resume {checkpoint}" in capsys.readouterr().err
    assert load(checkpoint)["epoch"] == 1

    monkeypatch.setattr(experiment, "train_classifier_epoch", train_epoch)
    out = minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 2, "--savepath", tmp_path,
                     "--resume", checkpoint)
    assert values("Epoch ", out) == [2]


def test_ctrl_c_writes_nothing_and_names_the_last_end_of_epoch_checkpoint(tmp_path, capsys):
    """Mid-epoch weights are never saved (tests/lab/test_resume.py: resumes are exact)."""
    checkpoints = checkpoint.Checkpoints(tmp_path / "x.t7")
    with pytest.raises(SystemExit) as stop:
        with experiment.saving_on_interrupt(checkpoints, lambda: 1):
            raise KeyboardInterrupt
    assert stop.value.code == 130 and not (tmp_path / "x.t7").exists()
    assert "during epoch 1: no epoch had finished, nothing was saved" in capsys.readouterr().err


def test_rnnlm_trains_evaluates_samples_and_resumes(tmp_path, capsys):
    out = minitorch7(capsys, "lab", "rnnlm", *RNNLM, "--maxepoch", 3, "--savepath", tmp_path)
    assert "nn.FastLSTM(16 -> 16)" in out
    train_ppl = values("training perplexity = ", out)
    assert len(train_ppl) == 3 and train_ppl[2] < train_ppl[0]
    saved = load(tmp_path / "rnnlm.t7")
    assert saved["kind"] == "rnnlm" and saved["valid_ppl"] == pytest.approx(
        min(values("validation perplexity = ", out)), abs=0.01)  # printed with 2 decimals

    ppl = values("Test PPL : ", minitorch7(capsys, "evaluate", tmp_path / "rnnlm.t7",
                                           "--datapath", "fixtures"))
    assert len(ppl) == 1 and 1 < ppl[0] < 2 * len(saved["ivocab"])

    text = minitorch7(capsys, "sample", tmp_path / "rnnlm.t7", "--nsample", 12, "--seed", 3)
    assert len(text.split()) == 12 and set(text.split()) <= set(saved["ivocab"])
    assert minitorch7(capsys, "sample", tmp_path / "rnnlm.t7", "--nsample", 12,
                      "--seed", 3) == text

    out = minitorch7(capsys, "lab", "rnnlm", *RNNLM, "--maxepoch", 4, "--savepath", tmp_path,
                     "--resume", tmp_path / "rnnlm.checkpoint.t7")
    assert values("Epoch #", out) == [4]


@pytest.mark.parametrize("exercise", sorted(cli.LAB_SCRIPTS))
def test_lab_help_shows_the_exercise_options(exercise, capsys):
    with pytest.raises(SystemExit) as stop:
        minitorch7(capsys, "lab", exercise, "--help")
    out = capsys.readouterr().out
    assert stop.value.code == 0 and f"minitorch7 lab {exercise}" in out and "--seed" in out


STARTERS = {  # script: (its options, what its output must show)
    "logistic_regression.py": ([], "nn.Linear(2 -> 1)"),
    "multi_layer_perceptron.py": ([], "Epoch 5 : mean loss"),
    "convolution_neural_network.py": ([], "Epoch 2 : mean loss"),
    "recurrent_language_model.py": (["--datapath", "fixtures", "--maxepoch", "1",
                                     "--batchsize", "4", "--hiddensize", "16"],
                                    "Epoch #1 : learning rate"),
}


@pytest.mark.parametrize("script", sorted(STARTERS))
def test_starting_scripts_run(script, tmp_path, capsys, monkeypatch):
    argv, expected = STARTERS[script]
    fixtures_mnist = dataload.loadMNIST("fixtures")
    monkeypatch.setattr(dataload, "loadMNIST", lambda datapath=None: fixtures_mnist)
    monkeypatch.chdir(tmp_path)  # they save under ./save
    monkeypatch.setattr(sys, "argv", [script, *argv, "--savepath", str(tmp_path)] if argv
                        else [script])
    runpy.run_path(str(EXERCISES / script), run_name="__main__")
    assert expected in capsys.readouterr().out


def test_repl_starts_with_torch_and_nn_imported():
    session = subprocess.run(
        [sys.executable, "-m", "minitorch7.cli", "repl"], cwd=ROOT, capture_output=True,
        text=True, timeout=120,
        input="print(torch.FloatTensor(2, 3).fill(1).sum().item(), nn.Linear(2, 1))\nexit()\n")
    assert session.returncode == 0, session.stderr
    assert "like Torch7's th" in session.stderr
    assert "6.0 nn.Linear(2 -> 1)" in session.stdout


@pytest.mark.data
def test_readme_main_job_on_real_mnist(tmp_path, capsys):
    """`minitorch7 lab mlp --quick` (the README's quick start) on the real MNIST."""
    out = minitorch7(capsys, "lab", "mlp", "--quick", "--savepath", tmp_path)
    assert values("Best validation accuracy ", out)[0] > 0.95
    out = minitorch7(capsys, "evaluate", tmp_path / "mlp.t7")
    assert values("Test accuracy=", out)[0] > 0.95


def test_a_checkpoint_that_is_not_one_is_refused(tmp_path, capsys):
    save(tmp_path / "x.t7", {"epoch": 1})
    with pytest.raises(SystemExit, match="not a minitorch7 training checkpoint"):
        minitorch7(capsys, "lab", "mlp", *MLP, "--savepath", tmp_path,
                   "--resume", tmp_path / "x.t7")
