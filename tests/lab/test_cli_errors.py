"""The command line's errors: every option is checked before any work, and every error is
one line on stderr (named after the command, e.g. 'minitorch7 lab mlp: error: ...'), exit
status 2 for bad usage and 1 for a failure, no traceback unless MINITORCH7_DEBUG=1; --help
shows the program name and every option's default.

The probes run ``minitorch7`` in this process (cli.main): an exception other than
SystemExit escaping it would be a traceback. A few run a real ``python -m minitorch7`` to
see what reaches the terminal."""

import argparse
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import minitorch7
from minitorch7 import cli, dataload, experiment, save
from minitorch7.dataload.sources import DataUnavailableError

ROOT = Path(__file__).resolve().parents[2]
MLP = ["--datapath", "fixtures", "--batchsize", "5", "--hiddensize", "8", "--maxepoch", "1"]
CNN = ["--datapath", "fixtures", "--batchsize", "5", "--channelsize", "2,4", "--hiddensize",
       "8", "--maxepoch", "1"]
RNNLM = ["--datapath", "fixtures", "--batchsize", "4", "--hiddensize", "8", "--maxepoch", "1"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    """The lab scripts set sys.argv; no debugging traceback unless a test asks for one."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.delenv("MINITORCH7_DEBUG", raising=False)


def minitorch7_fails(capsys, *argv):
    """Run ``minitorch7 argv...`` in this process, expecting it to stop; returns (exit
    status, stdout, stderr) as a shell would see them."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    code = stop.value.code
    if isinstance(code, str):  # Python prints the message on stderr and exits with 1
        err, code = err + code + "\n", 1
    return code, out, err


def one_line(err, prog):
    """The single line of stderr, which names the command."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{prog}: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A folder with mlp.t7, rnnlm.t7 and their checkpoints, and files that are not models."""
    folder = tmp_path_factory.mktemp("models")
    argv = sys.argv
    try:
        cli.main(["lab", "mlp", *MLP, "--savepath", str(folder)])
        cli.main(["lab", "rnnlm", *RNNLM, "--savepath", str(folder)])
    finally:
        sys.argv = argv
    (folder / "garbage.t7").write_bytes(b"not a model at all")
    save(folder / "dict.t7", {"epoch": 1})
    save(folder / "tensor.t7", minitorch7.Tensor(2, 2))
    save(folder / "notmodule.t7", {"kind": "classifier", "model": 3})
    (folder / "folder.t7").mkdir()
    (folder / "afile").write_text("x")
    (folder / "clash" / "mlp.t7").mkdir(parents=True)
    return folder


POSITIVE = "must be a positive integer"
USAGE = [  # (argv, what stderr says); {m}: the models folder
    (["lab", "mlp", *MLP, "--batchsize", "-1"], f"argument --batchsize: {POSITIVE}, got -1"),
    (["lab", "mlp", *MLP, "--batchsize", "0"], f"argument --batchsize: {POSITIVE}, got 0"),
    (["lab", "mlp", *MLP, "--batchsize", "x"], f"argument --batchsize: {POSITIVE}, got 'x'"),
    (["lab", "mlp", *MLP, "--nlayer", "-1"], f"argument --nlayer: {POSITIVE}, got -1"),
    (["lab", "mlp", *MLP, "--nlayer", "0"], "argument --nlayer"),
    (["lab", "mlp", *MLP, "--nlayer", "3", "--hiddensize", "8,8"], "gives 2"),
    (["lab", "mlp", *MLP, "--hiddensize", "0"], "argument --hiddensize"),
    (["lab", "mlp", *MLP, "--hiddensize", "abc"], "argument --hiddensize"),
    (["lab", "mlp", *MLP, "--hiddensize=16,-3"], "argument --hiddensize"),
    (["lab", "mlp", *MLP, "--learningrate", "nan"], "argument --learningrate: must be a "
                                                    "positive finite number, got nan"),
    (["lab", "mlp", *MLP, "--learningrate", "inf"], "argument --learningrate"),
    (["lab", "mlp", *MLP, "--learningrate=-0.1"], "argument --learningrate"),
    (["lab", "mlp", *MLP, "--momentum", "1.5"], "argument --momentum"),
    (["lab", "mlp", *MLP, "--momentum=-0.5"], "argument --momentum"),
    (["lab", "mlp", *MLP, "--dropout", "--dropoutprob", "1"], "argument --dropoutprob"),
    (["lab", "mlp", *MLP, "--maxepoch=-1"], "argument --maxepoch"),
    (["lab", "mlp", *MLP, "--epochsize", "0"], "argument --epochsize"),
    (["lab", "mlp", *MLP, "--earlystop=-1"], "argument --earlystop"),
    (["lab", "mlp", *MLP, "--maxnormout", "nan"], "argument --maxnormout"),
    (["lab", "mlp", *MLP, "--maxnormout", "0"], "argument --maxnormout"),
    (["lab", "mlp", *MLP, "--seed=-1"], "argument --seed"),
    (["lab", "mlp", *MLP, "--id", "../x"], "argument --id: must be a file name without a "
                                           "folder"),
    (["lab", "mlp", *MLP, "--id", "a/b"], "argument --id"),
    (["lab", "mlp", *MLP, "--id", ""], "argument --id"),
    (["lab", "mlp", *MLP, "--id", ".."], "argument --id"),
    (["lab", "mlp", *MLP, "--savepath", "{m}/afile"], "afile is not a folder"),
    (["lab", "mlp", *MLP, "--savepath", "{m}/afile/sub"], "afile is not a folder"),
    (["lab", "mlp", *MLP, "--savepath", "{m}/clash"], "mlp.t7 is a folder"),
    (["lab", "mlp", *MLP, "--datapath", "{m}/nowhere"], "argument --datapath"),
    (["lab", "mlp", *MLP, "--datapath", "{m}/afile"], "argument --datapath"),
    (["lab", "mlp", *MLP, "--bogus"], "unrecognized arguments: --bogus"),
    (["lab", "cnn", *CNN, "--channelsize=4,-8"], "argument --channelsize"),
    (["lab", "cnn", *CNN, "--kernelsize", "0,5"], "argument --kernelsize"),
    (["lab", "cnn", *CNN, "--kernelsize", "40,40", "--no-padding"],
     "conv layer 1: its 40x40 kernel (--kernelsize) does not fit in its 28x28 input"),
    (["lab", "cnn", *CNN, "--kernelstride", "9,9"], "conv layer 2: its 2x2 pooling"),
    (["lab", "cnn", *CNN, "--kernelsize", "5"], "one value per conv layer"),
    (["lab", "cnn", *CNN, "--poolsize=-1,2"], "argument --poolsize"),
    (["lab", "cnn", *CNN, "--poolstride", "0,2"], "argument --poolstride"),
    (["lab", "rnnlm", *RNNLM, "--seqlen", "0"], "argument --seqlen"),
    (["lab", "rnnlm", *RNNLM, "--hiddensize", ""], "argument --hiddensize"),
    (["lab", "rnnlm", *RNNLM, "--schedule", "garbage"], "argument --schedule"),
    (["lab", "rnnlm", *RNNLM, "--schedule", "{[5]=nan}"], "argument --schedule"),
    (["lab", "rnnlm", *RNNLM, "--schedule", "{[0]=0.5}"], "argument --schedule"),
    (["lab", "rnnlm", *RNNLM, "--startlr", "nan"], "argument --startlr"),
    (["lab", "rnnlm", *RNNLM, "--lstm", "--gru"], "argument --gru: not allowed with argument "
                                                  "--lstm"),
    (["lab", "rnnlm", *RNNLM, "--dropout", "1.5"], "argument --dropout"),
    (["lab", "rnnlm", *RNNLM, "--batchsize", "0"], "argument --batchsize"),
    (["lab", "rnnlm", *RNNLM, "--saturate", "0"], "argument --saturate"),
    (["lab", "rnnlm", *RNNLM, "--inputsize", "0"], "argument --inputsize"),
    (["lab", "rnnlm", *RNNLM, "--trainsize", "0"], "argument --trainsize"),
    (["lab", "rnnlm", *RNNLM, "--validsize", "0"], "argument --validsize"),
    (["lab", "rnnlm", *RNNLM, "--cutoff", "nan"], "argument --cutoff"),
    (["lab", "rnnlm", *RNNLM, "--minlr=-1"], "argument --minlr"),
    (["lab", "rnnlm", *RNNLM, "--uniform", "nan"], "argument --uniform"),
    (["lab", "logreg", "--nsample", "0"], "argument --nsample"),
    (["lab", "logreg", "--maxepoch", "0"], "argument --maxepoch"),
    (["lab", "logreg", "--learningrate", "nan"], "argument --learningrate"),
    (["lab", "nonexistent"], "invalid choice: 'nonexistent'"),
    ([], "the following arguments are required"),
    (["repl", "extra"], "unrecognized arguments: extra"),
    (["evaluate", "{m}/missing.t7"], "missing.t7: no such file"),
    (["evaluate", "{m}/garbage.t7"], "garbage.t7: truncated or not a minitorch7 file"),
    (["evaluate", "{m}/dict.t7"], "dict.t7: holds a dict without a model"),
    (["evaluate", "{m}/tensor.t7"], "tensor.t7: holds a Tensor, not a model"),
    (["evaluate", "{m}/notmodule.t7"], "notmodule.t7: holds a dict whose 'model' is a int"),
    (["evaluate", "{m}/folder.t7"], "folder.t7: is a folder, not a model file"),
    (["evaluate", "{m}/rnnlm.checkpoint.t7"], "is a training checkpoint"),
    (["evaluate", "{m}/mlp.t7", "--datapath", "fixtures", "--batchsize", "-1"],
     f"argument --batchsize: {POSITIVE}, got -1"),
    (["evaluate", "{m}/mlp.t7", "--datapath", "fixtures", "--batchsize", "0"],
     "argument --batchsize"),
    (["evaluate", "{m}/mlp.t7", "--datapath", "{m}/nowhere"], "argument --datapath"),
    (["evaluate", "{m}/mlp.t7", "--bogus"], "unrecognized arguments: --bogus"),
    (["evaluate", "{m}/rnnlm.t7", "--datapath", "fixtures", "--seqlen", "0"],
     "argument --seqlen"),
    (["sample", "{m}/missing.t7"], "no such file"),
    (["sample", "{m}/mlp.t7"], "not a language model"),
    (["sample", "{m}/rnnlm.t7", "--nsample", "0"], "argument --nsample"),
    (["sample", "{m}/rnnlm.t7", "--nsample=-5"], "argument --nsample"),
    (["sample", "{m}/rnnlm.t7", "--temperature", "0"], "argument --temperature"),
    (["sample", "{m}/rnnlm.t7", "--temperature", "nan"], "argument --temperature"),
]


def _prog(argv):
    if argv[:1] == ["lab"] and len(argv) > 1 and argv[1] in cli.LAB_SCRIPTS:
        return f"minitorch7 lab {argv[1]}"
    if argv[:1] == ["lab"] or argv[:1] == ["evaluate"] or argv[:1] == ["sample"]:
        return f"minitorch7 {argv[0]}"
    return "minitorch7"


def _id(argv):
    """The probe's words, without the common options."""
    for common in (MLP, CNN, RNNLM):
        if argv[2:2 + len(common)] == common:
            return " ".join(argv[:2] + argv[2 + len(common):])
    return " ".join(argv) or "(nothing)"


@pytest.mark.parametrize("argv, says", USAGE, ids=[_id(a) for a, _ in USAGE])
def test_bad_usage_is_one_line_exit_2_before_any_work(argv, says, models, tmp_path, capsys):
    out_folder = tmp_path / "out"
    argv = [a.replace("{m}", str(models)) for a in argv]
    if argv[:1] == ["lab"] and "--savepath" not in argv and argv[1:2] != ["logreg"]:
        argv += ["--savepath", str(out_folder)]
    code, out, err = minitorch7_fails(capsys, *argv)
    line = one_line(err, _prog(argv))
    assert code == 2 and says in line, line
    assert line.endswith(f"(see {_prog(argv)} --help)")
    assert out == ""  # no work started: nothing printed, nothing written
    assert not out_folder.exists() and not (tmp_path / "x.t7").exists()


def test_an_unwritable_save_location_is_found_before_any_work(tmp_path, capsys, monkeypatch):
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes in a read-only folder,
        locked = Path("/sys")  # not in the kernel's file system
        if not locked.is_dir() or os.access(locked, os.W_OK) and _can_create_in(locked):
            pytest.skip("no folder that root cannot write in")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    monkeypatch.setattr(experiment, "loadMNIST", lambda *a: pytest.fail("data read"))
    for savepath in (locked, locked / "sub"):
        code, out, err = minitorch7_fails(capsys, "lab", "mlp", *MLP, "--savepath", savepath)
        assert code == 2 and f"cannot write in {locked}" in one_line(err, "minitorch7 lab mlp")
        assert out == ""


def _can_create_in(folder):
    try:
        (folder / ".minitorch7-probe").touch()
    except OSError:
        return False
    (folder / ".minitorch7-probe").unlink()
    return True


def test_a_save_location_that_does_not_exist_yet_is_made(tmp_path, capsys):
    cli.main(["lab", "mlp", *MLP, "--savepath", str(tmp_path / "new" / "folder")])
    assert (tmp_path / "new" / "folder" / "mlp.t7").is_file()
    assert not [p for p in (tmp_path / "new" / "folder").iterdir()
                if p.name.startswith(".minitorch7-write-test-")]


def test_a_failure_is_one_line_exit_1(models, tmp_path, capsys, monkeypatch):
    # a script's own message (SystemExit with text): one line named after the command
    code, _, err = minitorch7_fails(capsys, "lab", "mlp", *MLP, "--savepath", tmp_path,
                                    "--resume", models / "missing.t7")
    assert code == 1 and "--resume: " in one_line(err, "minitorch7 lab mlp")

    def unavailable(*args, **kwargs):
        raise DataUnavailableError("could not obtain the mnist files x.gz.\nTried:\n  a: no\n"
                                   "To supply them by hand, put them in /c. Expected:\n  x.gz")

    monkeypatch.setattr(experiment, "loadMNIST", unavailable)
    code, _, err = minitorch7_fails(capsys, "lab", "mlp", *MLP, "--savepath", tmp_path)
    line = one_line(err, "minitorch7 lab mlp")
    assert code == 1 and "could not obtain the mnist files x.gz. Tried: a: no" in line
    assert "MINITORCH7_DEBUG" not in line  # a known failure, no hint at a traceback

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/data/train.gz")

    monkeypatch.setattr(experiment, "loadMNIST", denied)
    code, _, err = minitorch7_fails(capsys, "lab", "mlp", *MLP, "--savepath", tmp_path)
    assert code == 1
    assert one_line(err, "minitorch7 lab mlp").endswith("/data/train.gz: Permission denied")


def test_an_unexpected_error_is_one_line_and_debug_shows_its_traceback(tmp_path, capsys,
                                                                       monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(dataload, "loadMNIST", broken)
    code, _, err = minitorch7_fails(capsys, "evaluate", _trained_mlp(tmp_path), "--datapath",
                                    "fixtures")
    line = one_line(err, "minitorch7 evaluate")
    assert code == 1 and "RuntimeError: something broke" in line
    assert "MINITORCH7_DEBUG=1 shows the traceback" in line
    monkeypatch.setenv("MINITORCH7_DEBUG", "1")
    with pytest.raises(RuntimeError, match="something"):
        cli.main(["evaluate", str(tmp_path / "mlp.t7"), "--datapath", "fixtures"])


def test_ctrl_c_before_training_is_one_line_exit_130(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiment, "loadMNIST", interrupted)
    code, _, err = minitorch7_fails(capsys, "lab", "mlp", *MLP, "--savepath", tmp_path)
    assert code == 130 and err == "minitorch7 lab mlp: interrupted\n"


def _trained_mlp(folder):
    argv = sys.argv
    try:
        cli.main(["lab", "mlp", *MLP, "--savepath", str(folder)])
    finally:
        sys.argv = argv
    return folder / "mlp.t7"


def _terminal(cwd, *argv, **env):
    """``python -m minitorch7 argv...`` in a child: what a terminal would show."""
    clean = {k: v for k, v in os.environ.items() if k != "MINITORCH7_DEBUG"}
    return subprocess.run([sys.executable, "-m", "minitorch7", *map(str, argv)], cwd=cwd,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_the_terminal_sees_one_line_and_debug_shows_the_traceback(models, tmp_path):
    for argv, status in ((["evaluate", models / "garbage.t7"], 2),
                         (["lab", "mlp", *MLP, "--savepath", tmp_path, "--resume",
                           models / "garbage.t7"], 1)):
        done = _terminal(tmp_path, *argv)
        assert done.returncode == status and done.stdout == ""
        assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
        debug = _terminal(tmp_path, *argv, MINITORCH7_DEBUG="1")
        assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr


HELP = {  # argv: what the usage line starts with
    ("lab", "logreg", "--help"): "usage: minitorch7 lab logreg ",
    ("lab", "mlp", "--help"): "usage: minitorch7 lab mlp ",
    ("lab", "cnn", "--help"): "usage: minitorch7 lab cnn ",
    ("lab", "rnnlm", "--help"): "usage: minitorch7 lab rnnlm ",
    ("evaluate", "--help"): "usage: minitorch7 evaluate ",
    ("sample", "--help"): "usage: minitorch7 sample ",
}


@pytest.mark.parametrize("argv", sorted(HELP), ids=" ".join)
def test_help_names_the_command_and_shows_every_default(argv, capsys):
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.main(list(argv))
    out = capsys.readouterr().out
    assert stop.value.code == 0 and out.startswith(HELP[argv]), out[:200]
    assert ".py" not in out.split("\n")[0]
    blocks = re.split(r"\n(?=  -)", out.split("\noptions:\n", 1)[1])
    options = [b for b in blocks if b.lstrip().startswith("--")]
    assert len(options) >= 3
    for block in options:
        assert "(default: " in " ".join(block.split()), block
    if argv[0] == "lab":
        assert re.search(r"--seed SEED\s+random seed \(reproducible runs\) \(default: 0\)", out)


def test_every_documented_lab_command_passes_the_checks(tmp_path):
    """The checks refuse no command that the docs show (they parse, nothing runs)."""
    pages = [*ROOT.glob("docs/*.md"), ROOT / "README.md", ROOT / "exercises/README.md"]
    text = "\n".join(p.read_text("utf-8") for p in pages).replace("\\\n", " ")
    commands = set(re.findall(r"minitorch7 lab (logreg|mlp|cnn|rnnlm)((?: +(?:--[\w-]+|"
                              r"'[^']*'|[^\s`|&#;)\[\]\"-][^\s`|&#;)\[\]\"]*))*)", text))
    assert len(commands) >= 10
    for exercise, rest in sorted(commands):
        argv = [a for a in shlex.split(rest) if a not in ("...", "--help")]
        if "--resume" in argv:  # the checkpoint is not there: parse the other options
            del argv[argv.index("--resume"):argv.index("--resume") + 2]
        if exercise != "logreg":
            argv += ["--savepath", str(tmp_path)]
        options = cli.lab_module(exercise).options(argv)
        assert isinstance(options, argparse.Namespace), (exercise, argv)
