"""What the lab's training scripts share: options, progress, checkpoints, evaluation.

A script trains for epochs; each epoch prints a line as the lab did; the best model is
saved (atomically) when validation improves; a checkpoint of the latest state lets
``--resume`` continue; Ctrl-C saves that checkpoint and exits cleanly.
"""

import argparse
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from .autograd import no_grad
from .dataload import loadMNIST
from .optim import ConfusionMatrix
from .random import manualSeed
from .serial import load, save


def base_parser(description, savename):
    """Options every lab script takes (Torch7's -option becomes --option)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--savepath", default=str(Path.home() / "save"),
                        help="where models and checkpoints are written")
    parser.add_argument("--id", default=savename, help="file name of the saved experiment")
    parser.add_argument("--seed", type=int, default=0, help="random seed (reproducible runs)")
    parser.add_argument("--datapath", default=None,
                        help="a folder holding the dataset files, or 'fixtures' for the tiny "
                             "samples shipped with minitorch7")
    parser.add_argument("--resume", default=None, help="continue from this checkpoint")
    parser.add_argument("--quick", action="store_true", help="a demo of a few minutes")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction,
                        default=sys.stderr.isatty(),
                        help="show a progress bar (default when on a terminal)")
    parser.add_argument("--cuda", action="store_true", help="train on the GPU")
    return parser


def add_classifier_options(parser):
    """The training options the MNIST classifiers (MLP and CNN) share, with the lab's
    defaults."""
    parser.add_argument("--batchsize", type=int, default=32)
    parser.add_argument("--learningrate", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--maxnormout", type=float, default=-1,
                        help="max norm of each layer's output weights (-1: off)")
    parser.add_argument("--maxepoch", type=int, default=100)
    parser.add_argument("--earlystop", type=int, default=30,
                        help="stop after this many epochs without a new validation maximum")
    parser.add_argument("--epochsize", type=int, default=-1,
                        help="examples per epoch (-1: the whole training set)")
    parser.add_argument("--dropout", action="store_true", help="add Dropout layers")
    parser.add_argument("--dropoutprob", type=float, default=0.5)
    return parser


def parse_list(text, kind=int):
    """'16,32' or '{16,32}' -> [16, 32] (the lab passed Lua tables)."""
    return [kind(v) for v in "".join(str(text).split()).strip("{}").split(",") if v]


def parse_schedule(text):
    """The lab's '{[5]=0.5,[6]=0.25}' (or '5:0.5,6:0.25') -> {5: 0.5, 6: 0.25}."""
    schedule = {}
    for item in "".join(str(text).split()).strip("{}").split(","):
        if item:
            key, value = item.replace("[", "").replace("]", "").replace(":", "=").split("=")
            schedule[int(key)] = float(value)
    return schedule


def start(opt):
    """Seed, check the device, make the save folder; returns the experiment paths."""
    manualSeed(opt.seed)
    if opt.cuda:
        from .cuda import is_available, simulator_enabled

        if not (is_available() or simulator_enabled()):
            raise SystemExit("--cuda: no CUDA GPU is available (minitorch7.cuda.is_available() "
                             "is False); run without --cuda")
    folder = Path(opt.savepath)
    folder.mkdir(parents=True, exist_ok=True)
    print(kernels_line(opt.cuda), flush=True)
    return folder / f"{opt.id}.t7", folder / f"{opt.id}.checkpoint.t7"


def kernels_line(cuda=False):
    """"kernels: numba_teach (teaching tier)": the kernel module the run uses (the CPU
    backend, or the CUDA one with --cuda) and its TIER."""
    from . import backends

    module = backends.cuda_backend() if cuda else backends.get_cpu_backend()
    tier = getattr(module, "TIER", None)
    return f"kernels: {module.__name__.rsplit('.', 1)[-1]}" + (f" ({tier} tier)" if tier else "")


def progress(total, desc, enabled):
    """A tqdm bar showing the running loss and examples/second."""
    return tqdm(total=total, desc=desc, unit="ex", disable=not enabled, leave=False,
                dynamic_ncols=True)


@contextmanager
def saving_on_interrupt(checkpoint_path, state):
    """On Ctrl-C: write ``state()`` to the checkpoint, say how to resume, exit with 130."""
    try:
        yield
    except KeyboardInterrupt:
        save(checkpoint_path, state())
        print(f"\nInterrupted: checkpoint saved to {checkpoint_path}; continue with "
              f"--resume {checkpoint_path}", file=sys.stderr)
        raise SystemExit(130) from None


def resume_state(path):
    """The checkpoint dict written by a previous run (model, epoch, log, ...)."""
    state = load(path)
    if not isinstance(state, dict) or "model" not in state:
        raise SystemExit(f"--resume: {path} is not a minitorch7 training checkpoint")
    return state


def to_device(tensor, opt):
    return tensor.cuda() if opt.cuda else tensor


def train_classifier_epoch(model, criterion, trainset, opt, epoch):
    """One pass over the training set: forward, backward, momentum, update, per batch.

    Returns (mean loss, examples per second).
    """
    model.training()
    total_loss, count, begin = 0.0, 0, time.perf_counter()
    bar = progress(opt.epochsize, f"epoch {epoch}", opt.progress)
    for nsampled, inputs, targets in trainset.subiter(opt.batchsize, opt.epochsize):
        inputs, targets = to_device(inputs, opt), to_device(targets, opt)
        outputs = model.forward(inputs)
        loss = criterion.forward(outputs, targets)
        model.zeroGradParameters()
        model.backward(inputs, criterion.backward(outputs, targets))
        model.updateGradParameters(opt.momentum)
        model.updateParameters(opt.learningrate)
        model.maxParamNorm(opt.maxnormout)
        total_loss, count = total_loss + loss, count + 1
        bar.update(len(targets))
        bar.set_postfix(loss=f"{total_loss / count:.4f}")
        if nsampled >= opt.epochsize:
            break
    bar.close()
    return total_loss / max(count, 1), count * opt.batchsize / (time.perf_counter() - begin)


def evaluate_classifier(model, dataset, opt, nclasses=10):
    """Accuracy on a dataset in batches, without recording a graph; returns the matrix."""
    model.evaluate()
    confusion = ConfusionMatrix(nclasses)
    with no_grad():
        for start_index in range(0, dataset.size(), opt.batchsize):
            inputs, targets = dataset.sub(start_index, min(start_index + opt.batchsize,
                                                           dataset.size()))
            outputs = model.forward(to_device(inputs, opt))
            confusion.batchAdd(outputs.cpu(), targets)
    confusion.updateValids()
    return confusion


def train_on_mnist(opt, build):
    """What the MLP and CNN scripts do: load MNIST, ``build(opt)`` the model, train it."""
    paths = start(opt)
    trainset, validset, _ = loadMNIST(opt.datapath)
    opt.epochsize = trainset.size() if opt.epochsize < 0 else opt.epochsize
    model = build(opt)
    if opt.cuda:
        model.cuda()
    print(model)
    return fit_classifier(model, opt, trainset, validset, paths)


def perplexity(mean_nll):
    return math.exp(min(mean_nll, 700.0))


def fit_classifier(model, opt, trainset, validset, paths):
    """The lab's training loop for MNIST classifiers (MLP and CNN).

    Each epoch trains, measures validation accuracy and prints a line; a new maximum is
    saved (through ``nn.Serial(...).mediumSerial()``) to ``paths[0]``; the latest state goes
    to the checkpoint ``paths[1]`` for ``--resume``; no new maximum for ``opt.earlystop``
    epochs stops the run. Returns the best validation accuracy.
    """
    from . import nn

    best_path, checkpoint_path = paths
    criterion = nn.ClassNLLCriterion()
    state = {"kind": "classifier", "model": model, "opt": vars(opt), "epoch": 0,
             "best_accuracy": 0.0, "best_epoch": 0, "log": []}
    if opt.resume:
        state.update(resume_state(opt.resume))
        model = state["model"]
        print(f"Resuming from {opt.resume} after epoch {state['epoch']}")
    with saving_on_interrupt(checkpoint_path, lambda: state):
        for epoch in range(state["epoch"] + 1, opt.maxepoch + 1):
            loss, speed = train_classifier_epoch(model, criterion, trainset, opt, epoch)
            accuracy = evaluate_classifier(model, validset, opt).totalValid
            print(f"Epoch {epoch} : mean loss = {loss:.6f}, validation accuracy = "
                  f"{accuracy:.6f}, speed = {speed:.0f} examples/s", flush=True)
            state["log"].append({"epoch": epoch, "loss": loss, "valid_accuracy": accuracy,
                                 "speed": speed})
            state["epoch"] = epoch
            if state["best_epoch"] == 0 or accuracy > state["best_accuracy"]:
                state["best_accuracy"], state["best_epoch"] = accuracy, epoch
                save(best_path, {"kind": "classifier", "opt": vars(opt), "epoch": epoch,
                                 "valid_accuracy": accuracy,
                                 "model": nn.Serial(model).mediumSerial()})
                print(f"New maxima : {accuracy:f} @ {epoch}", flush=True)
            save(checkpoint_path, state)
            if epoch - state["best_epoch"] > opt.earlystop:
                print(f"No new maxima for {opt.earlystop} epochs: early stopping")
                break
    print(f"Best validation accuracy {state['best_accuracy']:f} at epoch "
          f"{state['best_epoch']}; model saved to {best_path}")
    return state["best_accuracy"]
