"""One training step of the lab's networks, minitorch7 against PyTorch on the CPU.

    python benchmarks/training_step.py [--repeat 30] [--rounds 5] [--threads N] [--profile]
    python benchmarks/training_step.py --threads 1 --cpu-time   # steadier on a busy machine
    python benchmarks/training_step.py --smoke                  # one call each: does it run?

A step is what the lab's training loop does per batch: zeroGradParameters, forward,
criterion forward and backward, backward, dpnn momentum (``updateGradParameters(0.9)``:
v = 0.9 v + 0.1 g) and ``updateParameters(0.1)``. PyTorch runs the same network with
``torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0.9)``, the same update. Both use float32
and the same number of threads, each side in its own processes, rounds alternating
(benchmarks/harness.py; the machine banner above the table says what it was measured on).

Networks (from the lab slides), targets as a ratio ours / PyTorch:
    MLP  784-200-200-10, tanh, LogSoftMax + ClassNLL, batch 32         at most 1.0x
    CNN  conv 1->16 5x5 pad 2, ReLU, maxpool 2, conv 16->32, ReLU,
         maxpool 2, Linear(1568, 200), ReLU, Linear(200, 10), LogSoftMax,
         batch 32 and 128                                               at most 1.0x

PyTorch is only a yardstick (``pip install torch`` CPU wheel); without it only our times
are printed. ``--profile`` adds cProfile's top functions of our steps (in a worker of its
own, after the timed rounds), to see where the time goes.
"""

import argparse
import sys

import harness

LR, MOMENTUM = 0.1, 0.9
NETWORKS = (("MLP", 32), ("CNN", 32), ("CNN", 128))  # (network, batch size)
TARGET = 1.0


# ---- the networks ---------------------------------------------------------------------------
def lab_mlp(nn):
    return (nn.Sequential().add(nn.Collapse(3)).add(nn.Linear(784, 200)).add(nn.Tanh())
            .add(nn.Linear(200, 200)).add(nn.Tanh()).add(nn.Linear(200, 10))
            .add(nn.LogSoftMax()))


def lab_cnn(nn):
    return (nn.Sequential().add(nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2)).add(nn.ReLU())
            .add(nn.SpatialMaxPooling(2, 2, 2, 2))
            .add(nn.SpatialConvolution(16, 32, 5, 5, 1, 1, 2, 2)).add(nn.ReLU())
            .add(nn.SpatialMaxPooling(2, 2, 2, 2)).add(nn.Collapse(3))
            .add(nn.Linear(1568, 200)).add(nn.ReLU()).add(nn.Linear(200, 10)).add(nn.LogSoftMax()))


def torch_mlp(tnn):
    return tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 200), tnn.Tanh(), tnn.Linear(200, 200),
                          tnn.Tanh(), tnn.Linear(200, 10), tnn.LogSoftmax(dim=1))


def torch_cnn(tnn):
    return tnn.Sequential(tnn.Conv2d(1, 16, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2, 2),
                          tnn.Conv2d(16, 32, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2, 2),
                          tnn.Flatten(), tnn.Linear(1568, 200), tnn.ReLU(), tnn.Linear(200, 10),
                          tnn.LogSoftmax(dim=1))


def key(network, size):
    return f"{network} batch {size}"


def batch(size):
    import numpy as np

    rng = np.random.default_rng(0)
    return (rng.random((size, 1, 28, 28), dtype=np.float32),
            rng.integers(0, 10, size).astype(np.int64))


# ---- one step each ------------------------------------------------------------------------------
def our_steps():
    """{network: a function doing one of our training steps}."""
    import minitorch7 as mt
    from minitorch7 import nn

    mt.manualSeed(0)
    steps = {}
    for network, size in NETWORKS:
        model = {"MLP": lab_mlp, "CNN": lab_cnn}[network](nn)
        criterion = nn.ClassNLLCriterion()
        x, t = (mt.from_numpy(a) for a in batch(size))

        def step(model=model, criterion=criterion, x=x, t=t):
            model.zeroGradParameters()
            output = model.forward(x)
            criterion.forward(output, t)
            model.backward(x, criterion.backward(output, t))
            model.updateGradParameters(MOMENTUM)
            model.updateParameters(LR)

        steps[key(network, size)] = step
    return steps


def torch_steps(threads):
    """{network: a function doing one PyTorch training step of the same network}."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    steps = {}
    for network, size in NETWORKS:
        model = {"MLP": torch_mlp, "CNN": torch_cnn}[network](torch.nn)
        optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM,
                                    dampening=MOMENTUM)
        x, t = (torch.from_numpy(a) for a in batch(size))

        def step(model=model, optimizer=optimizer, x=x, t=t):
            optimizer.zero_grad()
            torch.nn.functional.nll_loss(model(x), t).backward()
            optimizer.step()

        steps[key(network, size)] = step
    return steps


def time_steps(steps, args):
    return {name: harness.median_seconds(step, args.repeat, args.cpu_time, warmup=3)
            for name, step in steps.items()}


WORKERS = {"ours": lambda args: time_steps(our_steps(), args),
           "torch": lambda args: time_steps(torch_steps(args.threads), args),
           "profile": lambda args: harness.profile(our_steps(), args.repeat)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_options(parser, repeat=30)
    parser.add_argument("--profile", action="store_true", help="cProfile our steps")
    args = harness.parse(parser, argv)
    if args.worker:
        return harness.report(WORKERS[args.worker](args))
    sides = ["ours", "torch"] if harness.torch_installed() else ["ours"]
    reference = "PyTorch" if len(sides) == 2 else "none (no PyTorch installed)"
    harness.print_heading(f"training step, float32: ours = minitorch7, reference = {reference}",
                          args)
    medians, ratios = harness.alternate(__file__, sides, argv, args.threads, args.rounds)
    print(f"{'network':>14} {'ours ms':>9} {'PyTorch ms':>10} {'ours/PyTorch':>12} "
          f"{'target':>10}")
    for network, size in NETWORKS:
        name = key(network, size)
        if name in ratios:
            reference, ratio = f"{medians['torch'][name] * 1e3:10.2f}", f"{ratios[name]:11.2f}x"
            mark = harness.verdict(ratios[name] <= TARGET, f"<={TARGET}x")
        else:
            reference, ratio, mark = f"{'-':>10}", f"{'-':>12}", "-"
        print(f"{name:>14} {medians['ours'][name] * 1e3:9.2f} {reference} {ratio} {mark:>10}")
    if args.profile:
        harness.measure(__file__, "profile", argv, args.threads)


if __name__ == "__main__":
    main()
