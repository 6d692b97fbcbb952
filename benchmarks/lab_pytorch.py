"""One training epoch of the lab's runs, minitorch7 against the same run written in PyTorch.

    python benchmarks/lab_pytorch.py [--rounds 1] [--threads N] [--fraction 1.0]
    python benchmarks/lab_pytorch.py --exercises mlp cnn --fraction 0.2   # a fifth of each
    python benchmarks/lab_pytorch.py --smoke       # tiny fixtures, a few batches: does it run?

The runs are docs/results.md's (their commands below). Our side is the lab itself: the
exercise's options, its ``build`` and its epoch function (``experiment.train_classifier_epoch``,
``train_rnnlm.train_epoch``) over the real MNIST and Penn Treebank training sets. PyTorch's
side is the same network written the usual PyTorch way (nn.Sequential, nn.LSTM, log_softmax
+ nll_loss, clip_grad_norm_, SGD with dpnn's momentum: ``momentum=dampening=0.9``), fed the
same batches in the same order, float32 both. Neither side's time includes loading the data
or the validation pass. A few batches run untimed first (compilation, first allocations).

Each side runs in its own process, every library on ``--threads`` threads, rounds
alternating (benchmarks/harness.py). An epoch's time is measured on ``--fraction`` of the
training set and scaled to the whole set. PyTorch is a yardstick only (``pip install torch``,
the CPU wheel): without it, only our epoch times are printed.
"""

import argparse
import sys

import harness

RUNS = {  # exercise: the lab command of docs/results.md (paths and seeds aside)
    "mlp": "--hiddensize 800 --nlayer 2 --dropout --dropoutprob 0.2",
    "cnn": "--batchnorm --dropout",
    "rnnlm": "--lstm --seqlen 20 --hiddensize 200,200 --batchsize 20 --startlr 1 --cutoff 5 "
             "--dropout 0.25",
}
WARMUP_BATCHES = 3


def lab_options(exercise, args):
    """The options the lab script parses for the exercise's run."""
    from minitorch7.cli import lab_module

    argv = [*RUNS[exercise].split(), "--no-progress"]
    if args.datapath:
        argv += ["--datapath", args.datapath]
    if args.smoke and exercise != "mlp":
        argv += {"cnn": ["--channelsize", "4,4", "--hiddensize", "8", "--batchsize", "5"],
                 "rnnlm": ["--hiddensize", "8,8", "--inputsize", "8", "--batchsize", "4"]}[
            exercise]
    return lab_module(exercise).options(argv)


def datasets(exercise, opt):
    """The training set the lab script trains on: a TensorLoader or a SequenceLoader."""
    from minitorch7 import dataload

    if exercise == "rnnlm":
        return dataload.loadPTB((opt.batchsize, 1, 1), opt.datapath)[0]
    return dataload.loadMNIST(opt.datapath)[0]


def timed_size(trainset, args, batch):
    """Samples (time steps for the LM) timed: ``--fraction`` of the set, at least a batch."""
    return max(batch, int(args.fraction * trainset.size()))


# ---- our side: the lab's own code ---------------------------------------------------------------
def our_epoch(exercise, args):
    """Seconds for one epoch of the lab's run (scaled from the timed fraction)."""
    import contextlib
    import io

    import minitorch7 as mt
    from minitorch7 import experiment, nn
    from minitorch7.cli import lab_module
    from minitorch7.lab import train_rnnlm

    mt.manualSeed(0)
    opt = lab_options(exercise, args)
    trainset = datasets(exercise, opt)
    if exercise == "rnnlm":
        model = train_rnnlm.build(opt, len(trainset.ivocab))
        criterion = train_rnnlm.make_criterion(model)
        opt.lr = opt.startlr

        def epoch(size):
            opt.trainsize = size
            train_rnnlm.train_epoch(model, criterion, trainset, opt, 1)

        batch = opt.seqlen
    else:
        with contextlib.redirect_stdout(io.StringIO()):  # the CNN's "Dense input size"
            model = lab_module(exercise).build(opt)
        criterion = nn.ClassNLLCriterion()

        def epoch(size):
            opt.epochsize = size
            experiment.train_classifier_epoch(model, criterion, trainset, opt, 1)

        batch = opt.batchsize
    return time_epoch(epoch, batch, timed_size(trainset, args, batch), trainset.size())


def time_epoch(epoch, batch, size, whole):
    """Run ``epoch(WARMUP_BATCHES * batch)`` untimed, then time ``epoch(size)``; seconds
    scaled to ``whole`` samples."""
    epoch(WARMUP_BATCHES * batch)
    clock = harness.timer(False)
    start = clock()
    epoch(size)
    return (clock() - start) * whole / size


# ---- PyTorch's side: the same runs written for PyTorch ------------------------------------------
def torch_mlp(tnn, opt):
    from minitorch7.experiment import parse_list

    sizes = parse_list(opt.hiddensize)
    layers, size = [tnn.Flatten()], 784
    for hidden in sizes * opt.nlayer if len(sizes) == 1 else sizes:
        layers += [tnn.Linear(size, hidden), tnn.Tanh()]
        layers += [tnn.Dropout(opt.dropoutprob)] if opt.dropout else []
        size = hidden
    return tnn.Sequential(*layers, tnn.Linear(size, 10), tnn.LogSoftmax(dim=1))


def torch_cnn(tnn, opt):
    from minitorch7.experiment import parse_list

    layers, planes, side = [], 1, 28
    for channels in parse_list(opt.channelsize):
        layers += [tnn.Conv2d(planes, channels, 5, padding=2), tnn.BatchNorm2d(channels),
                   tnn.ReLU(), tnn.MaxPool2d(2, 2)]
        planes, side = channels, side // 2
    layers.append(tnn.Flatten())
    size = planes * side * side
    for hidden in parse_list(opt.hiddensize):
        layers += [tnn.Dropout(opt.dropoutprob), tnn.Linear(size, hidden),
                   tnn.BatchNorm1d(hidden), tnn.ReLU()]
        size = hidden
    return tnn.Sequential(*layers, tnn.Linear(size, 10), tnn.LogSoftmax(dim=1))


class TorchLM:
    """Embedding, Dropout, a stacked nn.LSTM with Dropout after each layer, Linear and
    log_softmax: the lab's LM (FastLSTM layers; the state carries over between batches)."""

    def __init__(self, torch, opt, vocabsize):
        tnn = torch.nn
        sizes = opt.hiddensize
        self.torch, self.drop = torch, tnn.Dropout(opt.dropout)
        self.embed = tnn.Embedding(vocabsize, opt.inputsize)
        self.lstms = tnn.ModuleList(tnn.LSTM(i, o) for i, o in zip([opt.inputsize, *sizes],
                                                                    sizes))
        self.out = tnn.Linear(sizes[-1], vocabsize)
        self.modules = tnn.ModuleList([self.embed, self.lstms, self.out])
        for param in self.modules.parameters():
            tnn.init.uniform_(param, -opt.uniform, opt.uniform)
        self.state = [None] * len(sizes)

    def loss(self, inputs, targets):
        """The lab's criterion: per step the batch's mean NLL, summed over the steps."""
        x = self.drop(self.embed(inputs))
        for index, lstm in enumerate(self.lstms):
            x, state = lstm(x, self.state[index])
            self.state[index] = tuple(s.detach() for s in state)
            x = self.drop(x)
        logp = self.torch.log_softmax(self.out(x), dim=-1)
        return self.torch.nn.functional.nll_loss(logp.flatten(0, 1), targets.flatten()) * len(
            inputs)


def torch_epoch(exercise, args):
    """Seconds for one epoch of the same run in PyTorch (scaled from the timed fraction)."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    opt = lab_options(exercise, args)
    trainset = datasets(exercise, opt)
    batch = opt.seqlen if exercise == "rnnlm" else opt.batchsize
    size = timed_size(trainset, args, batch)
    first = WARMUP_BATCHES * batch
    phases = iter([[tuple(torch.from_numpy(np.ascontiguousarray(t.numpy())) for t in pair)
                    for _, *pair in trainset.subiter(batch, samples)]
                   for samples in (first, size)])  # the batches of our two calls, untimed
    if exercise == "rnnlm":
        lm = TorchLM(torch, opt, len(trainset.ivocab))
        parameters, lr = list(lm.modules.parameters()), opt.startlr
        lm.modules.train()

        def step(inputs, targets):
            loss = lm.loss(inputs, targets)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, opt.cutoff)
            optimizer.step()
    else:
        model = {"mlp": torch_mlp, "cnn": torch_cnn}[exercise](torch.nn, opt)
        parameters, lr = list(model.parameters()), opt.learningrate
        model.train()

        def step(inputs, targets):
            loss = torch.nn.functional.nll_loss(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    optimizer = torch.optim.SGD(parameters, lr=lr, momentum=opt.momentum,
                                dampening=opt.momentum)

    def epoch(samples):  # warm-up, then the timed part: the batches subiter handed out
        for inputs, targets in next(phases):
            step(inputs, targets)

    return time_epoch(epoch, batch, size, trainset.size())


def run_side(epoch, args):
    return {exercise: epoch(exercise, args) for exercise in args.exercises}


WORKERS = {"ours": lambda args: run_side(our_epoch, args),
           "torch": lambda args: run_side(torch_epoch, args)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_options(parser, repeat=1, rounds=1)
    parser.add_argument("--exercises", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--fraction", type=float, default=1.0,
                        help="share of the training set timed (the time is scaled to it all)")
    parser.add_argument("--datapath", default=None, help="as the lab's --datapath")
    args = harness.parse(parser, argv)
    if args.smoke:
        args.datapath, args.fraction = "fixtures", 0.0
        argv = [*argv, "--datapath", "fixtures", "--fraction", "0"]
    if args.worker:
        return harness.report(WORKERS[args.worker](args))
    sides = ["ours", "torch"] if harness.torch_installed() else ["ours"]
    reference = "PyTorch" if len(sides) == 2 else "none (no PyTorch installed)"
    harness.print_heading(f"one training epoch of the lab's runs, float32: ours = minitorch7 "
                          f"(the lab's code), reference = {reference}; {args.fraction:g} of "
                          f"each epoch timed, scaled to the whole", args)
    medians, ratios = harness.alternate(__file__, sides, argv, args.threads, args.rounds)
    print(f"{'run':>6} {'ours s':>9} {'PyTorch s':>10} {'ours/PyTorch':>12}  command")
    for exercise in args.exercises:
        theirs = (f"{medians['torch'][exercise]:10.1f} {ratios[exercise]:11.2f}x"
                  if exercise in ratios else f"{'-':>10} {'-':>12}")
        print(f"{exercise:>6} {medians['ours'][exercise]:9.1f} {theirs}  "
              f"minitorch7 lab {exercise} {RUNS[exercise]}")


if __name__ == "__main__":
    main()
