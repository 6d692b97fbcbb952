"""What the lab's training scripts share: options, progress, checkpoints, evaluation.

A script trains for epochs; each epoch prints a line as the lab did; the best model is
saved (atomically) when validation improves; at the end of every epoch a checkpoint of the
whole training state lets ``--resume`` continue exactly as if the run had not stopped;
Ctrl-C keeps the last end-of-epoch checkpoint and exits cleanly (see minitorch7.checkpoint).
"""

import argparse
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from . import checkpoint, cmdline
from .autograd import no_grad
from .dataload import loadMNIST
from .optim import ConfusionMatrix
from .random import manualSeed


def base_parser(description, savename):
    """Options every lab script takes (Torch7's -option becomes --option), each checked
    before any work (see minitorch7.cmdline): a bad one stops the script with one line on
    stderr and exit status 2, and so does a save location that cannot be written."""
    parser = cmdline.Parser(description=description)  # knows what was typed
    parser.add_argument("--savepath", default=str(Path.home() / "save"),
                        help="the folder where models and checkpoints are written (made if "
                             "missing)")
    parser.add_argument("--id", default=savename, type=cmdline.experiment_id,
                        help="file name of the saved experiment: <savepath>/<id>.t7 and "
                             "<id>.checkpoint.t7")
    parser.add_argument("--seed", type=cmdline.count, default=0,
                        help="random seed (reproducible runs)")
    parser.add_argument("--datapath", default=None, type=cmdline.datapath,
                        help="a folder holding the dataset files, or 'fixtures' for the tiny "
                             "samples shipped with minitorch7 (None: $MINITORCH7_DATA, else "
                             "the cache ~/.cache/minitorch7, else a download)")
    parser.add_argument("--resume", default=None,
                        help="continue from this checkpoint (<id>.checkpoint.t7), with its "
                             "options; only " + ", ".join(
                                 f"--{k}" for k in checkpoint.MAY_CHANGE) + " may change")
    parser.add_argument("--quick", action="store_true", help="a demo of a few minutes")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction,
                        default=sys.stderr.isatty(),
                        help="show a progress bar (default when on a terminal)")
    parser.add_argument("--cuda", action="store_true", help="train on the GPU")
    parser.add_check(cmdline.check_cuda)
    parser.add_check(cmdline.check_save_location)
    return parser


def add_classifier_options(parser):
    """The training options the MNIST classifiers (MLP and CNN) share, with the lab's
    defaults."""
    parser.add_argument("--batchsize", type=cmdline.positive_int, default=32,
                        help="examples per batch")
    parser.add_argument("--learningrate", type=cmdline.positive_float, default=0.1,
                        help="learning rate of SGD")
    parser.add_argument("--momentum", type=cmdline.fraction, default=0.9,
                        help="momentum (dpnn's updateGradParameters), in [0, 1)")
    parser.add_argument("--maxnormout", type=cmdline.positive_or_off, default=-1,
                        help="max norm of each layer's output weights (-1: off)")
    parser.add_argument("--maxepoch", type=cmdline.count, default=100,
                        help="epochs to train at most (0: none)")
    parser.add_argument("--earlystop", type=cmdline.count, default=30,
                        help="stop after this many epochs without a new validation maximum")
    parser.add_argument("--epochsize", type=cmdline.size_or_all, default=-1,
                        help="examples per epoch (-1: the whole training set)")
    parser.add_argument("--dropout", action="store_true", help="add Dropout layers")
    parser.add_argument("--dropoutprob", type=cmdline.fraction, default=0.5,
                        help="probability that Dropout zeroes a unit, in [0, 1)")
    return parser


def parse_list(text, kind=int):
    """'16,32' or '{16,32}' -> [16, 32] (the lab passed Lua tables); ValueError for text
    that is not such a list."""
    return [kind(v) for v in "".join(str(text).split()).strip("{}").split(",") if v]


def parse_schedule(text):
    """The lab's '{[5]=0.5,[6]=0.25}' (or '5:0.5,6:0.25') -> {5: 0.5, 6: 0.25}; ValueError
    for text that is not such a table."""
    schedule = {}
    for item in "".join(str(text).split()).strip("{}").split(","):
        if item:
            key, value = item.replace("[", "").replace("]", "").replace(":", "=").split("=")
            schedule[int(key)] = float(value)
    return schedule


def start(opt):
    """Read the checkpoint to resume (its options become ``opt``'s), seed, check the device,
    make the save folder, remove the temporary files of an interrupted save; returns the
    experiment paths (a ``checkpoint.Paths``: best model, checkpoint, and what to resume)."""
    resumed = checkpoint.Resumed.prepare(opt) if getattr(opt, "resume", None) else None
    manualSeed(opt.seed)
    if opt.cuda:
        from .cuda import is_available, simulator_enabled

        if not (is_available() or simulator_enabled()):
            raise SystemExit("--cuda: no CUDA GPU is available (minitorch7.cuda.is_available() "
                             "is False); run without --cuda")
    folder = Path(opt.savepath)
    folder.mkdir(parents=True, exist_ok=True)
    best_path, checkpoint_path = folder / f"{opt.id}.t7", folder / f"{opt.id}.checkpoint.t7"
    checkpoint.remove_stale_temp_files(best_path, checkpoint_path)
    print(kernels_line(opt.cuda), flush=True)
    return checkpoint.Paths(best_path, checkpoint_path, resumed, dict(vars(opt)))


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
def saving_on_interrupt(checkpoints, epoch):
    """On Ctrl-C: write nothing (the last end-of-epoch checkpoint of ``checkpoints``, a
    ``checkpoint.Checkpoints``, stays as it is), say which epoch it holds and how to resume,
    exit with 130. A non-finite loss: stop with an error saying the same. ``epoch()``: the
    epoch under way."""
    try:
        yield
    except KeyboardInterrupt:
        print(checkpoints.interrupted(epoch()), file=sys.stderr)
        raise SystemExit(130) from None
    except NonFiniteLoss as e:
        raise SystemExit(f"{e}; nothing of this epoch was saved ({checkpoints.holds()})") from None


class NonFiniteLoss(ArithmeticError):
    """The training loss became NaN or infinite: the run diverged."""


def check_loss(loss, epoch, batch, hint="a smaller learning rate"):
    """Raise ``NonFiniteLoss`` unless ``loss`` is a finite number."""
    if not math.isfinite(loss):
        raise NonFiniteLoss(f"Epoch {epoch}: the training loss is {loss} at batch {batch}: "
                            f"the model diverged (try {hint}); training stopped")


def check_parameters(model, epoch):
    """Raise ``NonFiniteLoss`` when a parameter is NaN or infinite (never save such a model
    as a best one)."""
    for param in model.parameters()[0]:
        if not math.isfinite(float(param.sum().item())):
            raise NonFiniteLoss(f"Epoch {epoch}: the parameters hold NaN or infinite values: "
                                f"the model diverged; training stopped")


def resume_state(path):
    """The checkpoint dict written by a previous run (model, epoch, log, ...); SystemExit
    for a best model or anything else that is not a checkpoint."""
    return checkpoint.read(path)


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
        check_loss(loss, epoch, count + 1, "a smaller --learningrate")
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


def trained_any(state, opt, first):
    """After the epoch loop of a lab script (``first``: the first epoch this run was to
    train): False, saying so, when no epoch was ever trained (nothing is saved); a note when
    the checkpoint was already past --maxepoch."""
    if state["epoch"] == 0:
        print(f"No epoch trained (--maxepoch {opt.maxepoch}): nothing saved")
        return False
    if first > opt.maxepoch:
        print(f"Nothing to train: the checkpoint is at epoch {state['epoch']}, --maxepoch is "
              f"{opt.maxepoch}")
    return True


def fit_classifier(model, opt, trainset, validset, paths):
    """The lab's training loop for MNIST classifiers (MLP and CNN).

    Each epoch trains, measures validation accuracy and prints a line; a new maximum is
    saved (through ``nn.Serial(...).mediumSerial()``) to ``paths[0]``, then the epoch's
    checkpoint (model, momentum, RNG, data position, log: see minitorch7.checkpoint) to
    ``paths[1]`` for ``--resume``; no new maximum for ``opt.earlystop`` epochs stops the
    run; a non-finite loss stops it with an error. ``opt.resume``: continue that checkpoint
    (its model replaces ``model``). Returns the best validation accuracy.
    """
    from . import nn

    best_path = paths[0]
    criterion = nn.ClassNLLCriterion()
    loaders = {"train": trainset, "valid": validset}
    state, checkpoints = checkpoint.begin("classifier", opt, paths, loaders, model,
                                          best_accuracy=0.0)
    model = state["model"]
    if opt.cuda:
        model.cuda()
    first = epoch = state["epoch"] + 1
    with saving_on_interrupt(checkpoints, lambda: epoch):
        for epoch in range(first, opt.maxepoch + 1):
            if state["epoch"] - state["best_epoch"] > opt.earlystop:
                print(f"No new maxima for {opt.earlystop} epochs: early stopping")
                break
            loss, speed = train_classifier_epoch(model, criterion, trainset, opt, epoch)
            check_parameters(model, epoch)
            accuracy = evaluate_classifier(model, validset, opt).totalValid
            with checkpoint.deferred_interrupt():  # an epoch whose line is printed gets saved
                print(f"Epoch {epoch} : mean loss = {loss:.6f}, validation accuracy = "
                      f"{accuracy:.6f}, speed = {speed:.0f} examples/s", flush=True)
                state["log"].append({"epoch": epoch, "loss": loss, "valid_accuracy": accuracy,
                                     "speed": speed})
                best = None
                if state["best_epoch"] == 0 or accuracy > state["best_accuracy"]:
                    state.update(best_accuracy=accuracy, best_epoch=epoch, best_path=str(best_path))
                    best = (best_path, {"kind": "classifier", "opt": dict(vars(opt)),
                                        "epoch": epoch, "valid_accuracy": accuracy,
                                        "model": nn.Serial(model).mediumSerial()})
                checkpoint.end_of_epoch(state, epoch, loaders)
                checkpoints.save(state, best)  # the best model first, then the checkpoint
                if best is not None:
                    print(f"New maxima : {accuracy:f} @ {epoch}", flush=True)
    if not trained_any(state, opt, first):
        return None
    print(f"Best validation accuracy {state['best_accuracy']:f} at epoch "
          f"{state['best_epoch']}; model saved to {state['best_path']}")
    return state["best_accuracy"]
