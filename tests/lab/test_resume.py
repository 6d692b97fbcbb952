"""Checkpoints that resume exactly (minitorch7.checkpoint), on the tiny fixtures.

An interrupted run (Ctrl-C in the middle of an epoch, simulated by a hook or by a real
SIGINT to a child process) resumed with `--resume` prints the uninterrupted run's losses,
for the MLP with dropout and the RNN language model, with and without --epochsize /
--trainsize; the best model is written before the checkpoint that names it; the resumed run
takes the checkpoint's options and refuses a differing hyperparameter; a best model given
to --resume is refused; temporary files of an interrupted save are removed; checkpoints and
models of the version before (tests/fixtures/v1_checkpoints) still load and resume.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from lab_runs import minitorch7

from minitorch7 import checkpoint, cli, experiment, load, nn, serial
from minitorch7.dataload import loadMNIST
from minitorch7.random import generator, getRNGState, manualSeed, setRNGState

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "tests" / "fixtures" / "v1_checkpoints"
MLP = ["--datapath", "fixtures", "--batchsize", "3", "--hiddensize", "8", "--nlayer", "1",
       "--dropout", "--no-progress"]
RNNLM = ["--datapath", "fixtures", "--batchsize", "4", "--hiddensize", "8", "--lstm",
         "--dropout", "0.2", "--startlr", "0.5", "--validsize", "10", "--no-progress"]


def epochs(text):
    """{epoch: its line without the speed} of every epoch line printed."""
    lines = re.findall(r"^(Epoch #?(\d+) :.*)$", text, re.M)
    return {int(n): re.sub(r"speed = \d+ \w+/s, |, speed = \d+ examples/s", "", line)
            for line, n in lines}


def interrupt_at(monkeypatch, epoch, batch):
    """Ctrl-C in ``epoch`` once ``batch - 1`` of its batches have updated the model (the
    hook is the per-batch loss check, called before the batch's backward)."""
    check_loss = experiment.check_loss

    def hook(loss, e, b, *args):
        if (e, b) == (epoch, batch):
            raise KeyboardInterrupt
        return check_loss(loss, e, b, *args)

    monkeypatch.setattr(experiment, "check_loss", hook)
    return lambda: monkeypatch.setattr(experiment, "check_loss", check_loss)


def rising_accuracy(monkeypatch):
    """Make every epoch's validation accuracy a new maximum."""
    count = []

    def evaluate(*args, **kwargs):
        count.append(1)
        return SimpleNamespace(totalValid=len(count) / 100)

    monkeypatch.setattr(experiment, "evaluate_classifier", evaluate)


def interrupted_then_resumed(capsys, monkeypatch, script, argv, tmp_path, maxepoch=4):
    """(uninterrupted run's epoch lines, interrupted + resumed runs' epoch lines, the
    checkpoint left by the interruption)."""
    whole = epochs(minitorch7(capsys, "lab", script, *argv, "--maxepoch", maxepoch,
                              "--savepath", tmp_path / "whole"))
    restore = interrupt_at(monkeypatch, epoch=3, batch=2)
    with pytest.raises(SystemExit) as stop:
        minitorch7(capsys, "lab", script, *argv, "--maxepoch", maxepoch,
                   "--savepath", tmp_path / "cut")
    captured = capsys.readouterr()
    restore()
    assert stop.value.code == 130
    first = epochs(captured.out)
    ckpt = tmp_path / "cut" / f"{script}.checkpoint.t7"
    assert f"Interrupted during epoch 3: {ckpt} holds the state after epoch 2" in captured.err
    state = load(ckpt)
    assert state["epoch"] == 2 and sorted(first) == [1, 2]
    out = minitorch7(capsys, "lab", script, "--resume", ckpt)  # the checkpoint's options
    assert f"Resuming from {ckpt} after epoch 2" in out
    # beyond the printed digits: the logged losses are the same numbers, bit for bit
    logs = [[{k: v for k, v in row.items() if k != "speed"} for row in load(path)["log"]]
            for path in (tmp_path / "whole" / ckpt.name, ckpt)]
    assert logs[0] == logs[1]
    return whole, {**first, **epochs(out)}, state


@pytest.mark.parametrize("epochsize", [None, 7])
def test_mlp_with_dropout_resumes_exactly(epochsize, tmp_path, capsys, monkeypatch):
    argv = MLP + (["--epochsize", epochsize] if epochsize else [])
    whole, resumed, cut = interrupted_then_resumed(capsys, monkeypatch, "mlp", argv, tmp_path)
    assert sorted(whole) == [1, 2, 3, 4] and resumed == whole
    # 7 of 10 samples per epoch in batches of 3, 3, 1: epoch 3 starts at sample 4, not 0
    assert cut["data"]["train"] == {"start": 4 if epochsize else 0}


@pytest.mark.parametrize("trainsize", [None, 30])
def test_rnnlm_with_dropout_resumes_exactly(trainsize, tmp_path, capsys, monkeypatch):
    argv = RNNLM + (["--trainsize", trainsize] if trainsize else [])
    whole, resumed, _ = interrupted_then_resumed(capsys, monkeypatch, "rnnlm", argv, tmp_path)
    assert sorted(whole) == [1, 2, 3, 4] and resumed == whole
    assert "mean norm" not in "".join(whole.values())  # clipping off: no 'mean norm = nan'


@pytest.fixture
def ctrl_c_reaches_python():
    """Ctrl-C handled as in a terminal even when the test run ignores SIGINT (a shell's
    background job does: Python then keeps it ignored, and so does minitorch7)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _sigint_as_in_a_terminal():
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # in the child, before it execs Python


def test_a_real_sigint_then_resume_gives_the_uninterrupted_losses(tmp_path, capsys):
    """A child process gets SIGINT somewhere after its 3rd epoch; resumed to 2 more epochs
    than its checkpoint holds, the epochs match one uninterrupted run's."""
    argv = [*MLP, "--epochsize", "7", "--earlystop", "100000"]
    child = subprocess.Popen(
        [sys.executable, "-m", "minitorch7", "lab", "mlp", *argv, "--maxepoch", "100000",
         "--savepath", tmp_path / "cut"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=_sigint_as_in_a_terminal)
    lines = []
    for line in child.stdout:
        lines.append(line)
        if line.startswith("Epoch 3 "):
            child.send_signal(signal.SIGINT)
            break
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    ckpt = tmp_path / "cut" / "mlp.checkpoint.t7"
    done = int(re.search(r"holds the state after epoch (\d+)", err)[1])
    assert done >= 3 and load(ckpt)["epoch"] == done
    cut = {n: line for n, line in epochs("".join(lines) + out).items() if n <= done}
    resumed = epochs(minitorch7(capsys, "lab", "mlp", "--resume", ckpt, "--maxepoch", done + 2))
    whole = epochs(minitorch7(capsys, "lab", "mlp", *argv, "--maxepoch", done + 2,
                              "--savepath", tmp_path / "whole"))
    assert sorted(resumed) == [done + 1, done + 2] and {**cut, **resumed} == whole


def test_resume_takes_the_checkpoints_options_and_records_a_change(tmp_path, capsys):
    minitorch7(capsys, "lab", "mlp", *MLP, "--momentum", "0.5", "--maxepoch", 1,
               "--savepath", tmp_path)
    ckpt = tmp_path / "mlp.checkpoint.t7"
    out = minitorch7(capsys, "lab", "mlp", "--resume", ckpt, "--maxepoch", 2, "--no-progress")
    assert "changed on the command line: --maxepoch 1 -> 2" in out
    state = load(ckpt)
    assert state["opt"]["momentum"] == 0.5 and state["opt"]["maxepoch"] == 2
    assert state["resumes"] == [{"epoch": 1, "from": str(ckpt),
                                 "changed": {"maxepoch": [1, 2]}}]
    # --momentum 0.9 is the default, but typed: it differs from the checkpoint's 0.5
    for option in (["--momentum", "0.9"], ["--hiddensize", "16"], ["--seed", "1"]):
        with pytest.raises(SystemExit, match=f"checkpoint {option[0]} .*command line "
                                             f"{option[0]} "):
            minitorch7(capsys, "lab", "mlp", "--resume", ckpt, *option)
    assert load(ckpt)["epoch"] == 2  # refused before anything ran


def test_resume_refuses_a_best_model_and_another_scripts_checkpoint(tmp_path, capsys):
    minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 1, "--savepath", tmp_path)
    with pytest.raises(SystemExit, match=r"is a best model .*not a training checkpoint"):
        minitorch7(capsys, "lab", "mlp", "--resume", tmp_path / "mlp.t7")
    with pytest.raises(SystemExit, match="written by another script"):
        minitorch7(capsys, "lab", "cnn", "--resume", tmp_path / "mlp.checkpoint.t7")
    with pytest.raises(SystemExit, match="written by another script"):
        minitorch7(capsys, "lab", "rnnlm", "--resume", tmp_path / "mlp.checkpoint.t7")
    with pytest.raises(SystemExit, match="no such file"):
        minitorch7(capsys, "lab", "mlp", "--resume", tmp_path / "nothing.t7")
    serial.save(tmp_path / "x.t7", {"epoch": 1})
    with pytest.raises(SystemExit, match="not a minitorch7 training checkpoint"):
        minitorch7(capsys, "lab", "mlp", "--resume", tmp_path / "x.t7")


def test_the_best_model_is_written_before_the_checkpoint_that_names_it(tmp_path, capsys,
                                                                     monkeypatch):
    written, real_save = [], checkpoint.save

    def recording_save(path, obj):
        written.append((Path(path).name, obj["epoch"]))
        real_save(path, obj)

    monkeypatch.setattr(checkpoint, "save", recording_save)
    out = minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 3, "--savepath", tmp_path)
    best = {int(n) for n in re.findall(r"New maxima : [\d.]+ @ (\d+)", out)}
    expected = []
    for epoch in (1, 2, 3):
        expected += [("mlp.t7", epoch)] * (epoch in best) + [("mlp.checkpoint.t7", epoch)]
    assert 1 in best and written == expected

    # Ctrl-C inside the best model's save of epoch 2: the checkpoint stays at epoch 1 and
    # names the best model on disk
    def interrupted_save(path, obj):
        if Path(path).name == "mlp.t7" and obj["epoch"] == 2:
            raise KeyboardInterrupt
        real_save(path, obj)

    monkeypatch.setattr(checkpoint, "save", interrupted_save)
    rising_accuracy(monkeypatch)
    with pytest.raises(SystemExit):
        minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 3, "--savepath", tmp_path / "b")
    state = load(tmp_path / "b" / "mlp.checkpoint.t7")
    assert state["epoch"] == state["best_epoch"] == 1
    assert load(state["best_path"])["epoch"] == 1


def test_a_ctrl_c_during_the_saves_waits_for_them(tmp_path, capsys, monkeypatch,
                                                  ctrl_c_reaches_python):
    real_save = checkpoint.save

    def save_with_a_sigint(path, obj):
        if obj["epoch"] == 2 and Path(path).name == "mlp.t7":
            signal.raise_signal(signal.SIGINT)  # delivered now; Python runs handlers here
        real_save(path, obj)

    monkeypatch.setattr(checkpoint, "save", save_with_a_sigint)
    rising_accuracy(monkeypatch)
    with pytest.raises(SystemExit) as stop:
        minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 3, "--savepath", tmp_path)
    assert stop.value.code == 130
    state = load(tmp_path / "mlp.checkpoint.t7")
    assert state["epoch"] == 2 and load(tmp_path / "mlp.t7")["epoch"] == state["best_epoch"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_temporary_files_of_an_interrupted_save_are_removed_at_start(tmp_path, capsys):
    stale = [tempfile.mkstemp(dir=tmp_path, prefix=f".{name}.", suffix=".tmp")[1]
             for name in ("mlp.t7", "mlp.checkpoint.t7")]  # as serial's atomic write names them
    kept = [tmp_path / ".cnn.t7.abcd1234.tmp", tmp_path / ".mlp.t7.notes.txt",
            tmp_path / "mlp.t7.abcd1234.tmp"]
    for path in kept:
        path.write_text("not ours")
    capsys.readouterr()
    cli.main(["lab", "mlp", *MLP, "--maxepoch", "1", "--savepath", str(tmp_path)])
    assert not any(map(os.path.exists, stale)) and all(p.exists() for p in kept)
    assert f"Removed {stale[0]}, left by an interrupted save" in capsys.readouterr().err


def test_maxepoch_0_and_a_diverging_run_save_nothing(tmp_path, capsys, monkeypatch):
    try:  # the options may refuse --maxepoch 0; if they take it, nothing is trained or saved
        out = minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 0, "--savepath", tmp_path)
        assert "nothing saved" in out and "model saved" not in out
    except SystemExit as refused:
        assert "maxepoch" in str(refused.code)
    assert not list(tmp_path.glob("*.t7"))
    with pytest.raises(SystemExit) as stop:  # refused by the options or by training
        minitorch7(capsys, "lab", "mlp", *MLP, "--learningrate", "nan", "--maxepoch", 2,
                   "--savepath", tmp_path)
    captured = capsys.readouterr()
    assert "nan" in str(stop.value.code) + captured.err and "New maxima" not in captured.out
    assert not list(tmp_path.glob("*.t7"))

    forward, calls = nn.ClassNLLCriterion.forward, []

    def nan_in_epoch_2(self, *args):  # 10 samples in batches of 3: 4 batches an epoch
        calls.append(1)
        return float("nan") if len(calls) == 6 else forward(self, *args)

    monkeypatch.setattr(nn.ClassNLLCriterion, "forward", nan_in_epoch_2)
    with pytest.raises(SystemExit, match=r"Epoch 2: the training loss is nan at batch 2: the "
                                         r"model diverged .*holds the state after epoch 1"):
        minitorch7(capsys, "lab", "mlp", *MLP, "--maxepoch", 3, "--savepath", tmp_path)
    assert "@ 2" not in capsys.readouterr().out
    assert load(tmp_path / "mlp.checkpoint.t7")["epoch"] == load(tmp_path / "mlp.t7")["epoch"] == 1


def test_rnnlm_prints_the_real_mean_norm_when_clipping(tmp_path, capsys):
    out = minitorch7(capsys, "lab", "rnnlm", *RNNLM, "--maxepoch", 1, "--cutoff", 5,
                     "--savepath", tmp_path)
    norm = re.findall(r"mean norm = ([\d.]+),", out)
    assert len(norm) == 1 and float(norm[0]) > 0


@pytest.mark.parametrize("script", ["mlp", "rnnlm"])
def test_checkpoints_and_models_of_the_version_before_still_load(script, tmp_path, capsys):
    old = load(V1 / f"{script}.checkpoint.t7")
    assert old["epoch"] == 2 and "format" not in old and "rng" not in old
    out = minitorch7(capsys, "lab", script, "--resume", V1 / f"{script}.checkpoint.t7",
                     "--maxepoch", 3, "--savepath", tmp_path)
    assert "after epoch 2" in out and "an older minitorch7" in out
    assert sorted(epochs(out)) == [3]
    new = load(tmp_path / f"{script}.checkpoint.t7")
    assert new["version"] == checkpoint.VERSION and [r["epoch"] for r in new["log"]] == [1, 2, 3]
    ppl_or_accuracy = minitorch7(capsys, "evaluate", V1 / f"{script}.t7",
                                 "--datapath", "fixtures")
    assert re.search(r"Test (accuracy=|PPL : )[\d.]+", ppl_or_accuracy)
    with pytest.raises(SystemExit, match="is a best model"):
        minitorch7(capsys, "lab", script, "--resume", V1 / f"{script}.t7")


def test_rng_state_and_loader_position_round_trip(tmp_path):
    manualSeed(5)
    state = getRNGState()
    first = generator().random(4)
    setRNGState(state)
    assert (generator().random(4) == first).all()
    serial.save(tmp_path / "s.t7", {"rng": state})
    setRNGState(load(tmp_path / "s.t7")["rng"])
    assert (generator().random(4) == first).all()
    trainset = loadMNIST("fixtures")[0]
    next(iter(trainset.subiter(3, 3)))
    assert trainset.getState() == {"start": 3}
    trainset.reset()
    trainset.setState({"start": 3})
    assert next(iter(trainset.subiter(3, 3)))[1].numpy().tolist() == \
        trainset.sub(3, 6)[0].numpy().tolist()
    with pytest.raises(ValueError):
        trainset.setState({"start": 10})
