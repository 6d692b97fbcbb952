"""The benchmarks cannot rot silently: the machine banner, the harness's worker processes
(fresh per side and round, alternating, thread settings, medians and ratios) and the
scripts' smoke runs (tiny sizes, one call: they measure nothing, they only run)."""

import argparse
import os
import pathlib
import re
import textwrap

import numba
import numpy
import pytest

from minitorch7.backends import cpu_target

BENCHMARKS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def harness(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import harness

    return harness


def test_machine_banner_names_the_cpu_and_the_libraries(harness):
    banner = harness.machine_banner(3)
    assert len(banner.splitlines()) == 2
    assert f"CPU: {cpu_target.cpu_model()} " in banner
    assert f"{harness.usable_cores()} of {os.cpu_count()} cores usable" in banner
    assert "3 threads each side" in banner
    assert f"Numba {numba.__version__}" in banner and f"NumPy {numpy.__version__}" in banner
    assert "threads each side" not in harness.machine_banner()


FAKE_WORKER = """
    import json, os, sys
    side = sys.argv[sys.argv.index("--worker") + 1]
    log = sys.argv[sys.argv.index("--log") + 1]
    with open(log, "a") as f:
        f.write(f"{side} {os.getpid()}\\n")
    if side == "boom":
        sys.exit(3)
    done = sum(1 for line in open(log) if line.startswith(side))
    seconds = {"ours": [3.0, 1.0, 2.0], "ref": [1.0, 1.0, 4.0]}[side][done - 1]
    print("a line before the figures")
    print(json.dumps({"t": seconds,
                      "argv threads": float(sys.argv[sys.argv.index("--threads") + 1]),
                      "env threads": float(os.environ["OPENBLAS_NUM_THREADS"]),
                      "numba threads": float(os.environ["NUMBA_NUM_THREADS"])}))
"""


def test_alternate_runs_each_side_in_a_fresh_process_in_turn(harness, tmp_path, capsys):
    script, log = tmp_path / "fake.py", tmp_path / "log"
    script.write_text(textwrap.dedent(FAKE_WORKER))
    medians, ratios = harness.alternate(str(script), ["ours", "ref"], ["--log", str(log)],
                                        threads=3, rounds=3)
    calls = [line.split() for line in log.read_text().splitlines()]
    assert [side for side, _ in calls] == ["ours", "ref"] * 3
    assert len({pid for _, pid in calls} | {str(os.getpid())}) == 7
    assert medians["ours"]["t"] == 2.0 and medians["ref"]["t"] == 1.0
    assert ratios["t"] == 1.0  # per round 3, 1 and 0.5: the median of the rounds' ratios
    for side in ("ours", "ref"):
        assert medians[side]["argv threads"] == 3
        assert medians[side]["env threads"] == 3 and medians[side]["numba threads"] == 3
    assert capsys.readouterr().out.count("a line before the figures") == 6


def test_measure_says_which_worker_failed(harness, tmp_path):
    script = tmp_path / "fake.py"
    script.write_text(textwrap.dedent(FAKE_WORKER))
    with pytest.raises(RuntimeError, match="--worker boom .* failed \\(exit 3\\)"):
        harness.measure(str(script), "boom", ["--log", str(tmp_path / "log")], 1)


def test_median_seconds_warms_up_then_times(harness):
    calls = []
    assert harness.median_seconds(lambda: calls.append(1), repeat=4, warmup=2) >= 0
    assert len(calls) == 6


def run_main(monkeypatch, capsys, script, *argv):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    module = __import__(script)
    module.main(["--smoke", "--threads", "1", *argv])
    return capsys.readouterr().out


def test_kernels_smoke_prints_the_banner_and_the_ratio_table(monkeypatch, capsys):
    out = run_main(monkeypatch, capsys, "kernels", "--only", "matmul")
    assert out.count("CPU: ") == 1 and "1 threads each side" in out
    for dtype in ("float32", "float64"):
        assert re.search(rf"square +{dtype} +64x64x64 .* \d+% +-$", out, re.M)
        assert re.search(rf"MLP x@W.T +{dtype} +32x784x200 .* \d+% +>=\d+% (ok|MISS)$", out,
                         re.M)


def test_rnnlm_smoke_reports_time_and_peak_memory(monkeypatch, capsys):
    out = run_main(monkeypatch, capsys, "rnnlm_step", "--cell", "gru", "--no-torch")
    assert re.search(r"^ +gru +\d+\.\d +- +- +-$", out, re.M)
    # GRU: per row the embedding, 2 layers of 5 x 200, scores and log-probs of 10000 words
    activations = 4 * 400 * (200 + 2 * 5 * 200 + 2 * 10000) / 2**20
    assert re.search(rf"^ +gru +\d+\.\d +{activations:.1f} +\d\.\d\dx +<=2x (ok|MISS)$", out,
                     re.M)


def test_lab_pytorch_times_an_epoch_of_each_run(harness, monkeypatch, capsys):
    script = str(BENCHMARKS / "lab_pytorch.py")
    figures = harness.measure(script, "ours", ["--smoke"], 1)
    assert set(figures) == {"mlp", "cnn", "rnnlm"} and min(figures.values()) > 0
    out = run_main(monkeypatch, capsys, "lab_pytorch", "--exercises", "mlp")
    ratio = r"\d+\.\d +\d+\.\d\dx" if harness.torch_installed() else "- +-"
    assert re.search(rf"^ +mlp +\d+\.\d +{ratio}  minitorch7 lab mlp --hiddensize 800", out,
                     re.M)


def test_lab_pytorch_builds_the_same_networks(monkeypatch):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (the yardstick side)")
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import lab_pytorch

    from minitorch7 import cli
    from minitorch7.lab import train_rnnlm

    args = argparse.Namespace(datapath="fixtures", smoke=True)
    for exercise in ("mlp", "cnn", "rnnlm"):
        opt = lab_pytorch.lab_options(exercise, args)
        if exercise == "rnnlm":
            ours = train_rnnlm.build(opt, 50)
            theirs = lab_pytorch.TorchLM(torch, opt, 50).modules
            extra = sum(4 * size for size in opt.hiddensize)  # nn.LSTM: two biases, FastLSTM one
        else:
            ours = cli.lab_module(exercise).build(opt)
            theirs = {"mlp": lab_pytorch.torch_mlp, "cnn": lab_pytorch.torch_cnn}[exercise](
                torch.nn, opt)
            extra = 0
        assert sum(p.nElement() for p in ours.parameters()[0]) + extra == sum(
            p.numel() for p in theirs.parameters()), exercise


def test_training_step_worker_times_every_network(harness):
    figures = harness.measure(str(BENCHMARKS / "training_step.py"), "ours", ["--smoke"], 1)
    assert set(figures) == {"MLP batch 32", "CNN batch 32", "CNN batch 128"}
    assert all(seconds > 0 for seconds in figures.values())
