"""One training step of the lab's networks, minitorch7 against PyTorch on the CPU.

    python benchmarks/training_step.py [--repeat 30] [--threads N] [--profile]

A step is what the lab's training loop does per batch: zeroGradParameters, forward,
criterion forward and backward, backward, dpnn momentum (``updateGradParameters(0.9)``:
v = 0.9 v + 0.1 g) and ``updateParameters(0.1)``. PyTorch runs the same network with
``torch.optim.SGD(lr=0.1, momentum=0.9, dampening=0.9)``, the same update. Both use float32
and the same number of threads (torch.set_num_threads = numba's thread count). Each figure
is the median over ``--repeat`` timed steps after warm-up steps (JIT compilation); on a
busy machine ``--threads 1 --cpu-time`` gives steadier ratios.

Networks (from the lab slides), targets as a ratio ours / PyTorch:
    MLP  784-200-200-10, tanh, LogSoftMax + ClassNLL, batch 32         within 1.5x
    CNN  conv 1->16 5x5 pad 2, ReLU, maxpool 2, conv 16->32, ReLU,
         maxpool 2, Linear(1568, 200), ReLU, Linear(200, 10), LogSoftMax,
         batch 32 and 128                                               within 2x

PyTorch is only a yardstick (``pip install torch`` CPU wheel); without it only our times
are printed. ``--profile`` adds cProfile's top functions of our steps, to see where the
time goes.
"""

import argparse
import cProfile
import pstats
import statistics
import time

import numba
import numpy as np

import minitorch7 as mt
from minitorch7 import nn

LR, MOMENTUM = 0.1, 0.9


# ---- the networks ---------------------------------------------------------------------------
def lab_mlp():
    return (nn.Sequential().add(nn.Collapse(3)).add(nn.Linear(784, 200)).add(nn.Tanh())
            .add(nn.Linear(200, 200)).add(nn.Tanh()).add(nn.Linear(200, 10))
            .add(nn.LogSoftMax()))


def lab_cnn():
    return (nn.Sequential().add(nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2)).add(nn.ReLU())
            .add(nn.SpatialMaxPooling(2, 2, 2, 2))
            .add(nn.SpatialConvolution(16, 32, 5, 5, 1, 1, 2, 2)).add(nn.ReLU())
            .add(nn.SpatialMaxPooling(2, 2, 2, 2)).add(nn.Collapse(3))
            .add(nn.Linear(1568, 200)).add(nn.ReLU()).add(nn.Linear(200, 10)).add(nn.LogSoftMax()))


def torch_mlp(torch):
    tnn = torch.nn
    return tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 200), tnn.Tanh(), tnn.Linear(200, 200),
                          tnn.Tanh(), tnn.Linear(200, 10), tnn.LogSoftmax(dim=1))


def torch_cnn(torch):
    tnn = torch.nn
    return tnn.Sequential(tnn.Conv2d(1, 16, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2, 2),
                          tnn.Conv2d(16, 32, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2, 2),
                          tnn.Flatten(), tnn.Linear(1568, 200), tnn.ReLU(), tnn.Linear(200, 10),
                          tnn.LogSoftmax(dim=1))


# ---- one step each ------------------------------------------------------------------------------
def our_step(model, criterion, x, t):
    model.zeroGradParameters()
    output = model.forward(x)
    criterion.forward(output, t)
    model.backward(x, criterion.backward(output, t))
    model.updateGradParameters(MOMENTUM)
    model.updateParameters(LR)


def torch_step(torch, model, optimizer, x, t):
    optimizer.zero_grad()
    loss = torch.nn.functional.nll_loss(model(x), t)
    loss.backward()
    optimizer.step()


def median_seconds(step, repeat, clock, warmup=3):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeat):
        start = clock()
        step()
        times.append(clock() - start)
    return statistics.median(times)


def batch(size):
    rng = np.random.default_rng(0)
    return (rng.random((size, 1, 28, 28), dtype=np.float32),
            rng.integers(0, 10, size).astype(np.int64))


def bench(name, ours, theirs, size, target, args, torch):
    x, t = batch(size)
    model, criterion = ours(), nn.ClassNLLCriterion()
    xs, ts = mt.from_numpy(x), mt.from_numpy(t)
    mine = median_seconds(lambda: our_step(model, criterion, xs, ts), args.repeat, args.clock)
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(lambda: [our_step(model, criterion, xs, ts) for _ in range(args.repeat)])
        print(f"\n--- {name}, batch {size}: our step, cumulative time over {args.repeat} steps")
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    if torch is None:
        print(f"{name:4s} batch {size:4d}: minitorch7 {1e3 * mine:8.2f} ms")
        return True
    tmodel = theirs(torch)
    optimizer = torch.optim.SGD(tmodel.parameters(), lr=LR, momentum=MOMENTUM,
                                dampening=MOMENTUM)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    ref = median_seconds(lambda: torch_step(torch, tmodel, optimizer, xt, tt), args.repeat,
                         args.clock)
    ratio = mine / ref
    verdict = "ok" if ratio <= target else "MISSED"
    print(f"{name:4s} batch {size:4d}: minitorch7 {1e3 * mine:8.2f} ms   PyTorch "
          f"{1e3 * ref:8.2f} ms   ratio {ratio:5.2f}x (target {target}x: {verdict})")
    return ratio <= target


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30, help="timed steps per network")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both (default: numba's count)")
    parser.add_argument("--profile", action="store_true", help="cProfile our steps")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the process CPU clock, not the wall clock (steadier "
                             "on a busy machine; use it with --threads 1)")
    args = parser.parse_args()
    args.clock = time.process_time if args.cpu_time else time.perf_counter
    if args.threads:
        numba.set_num_threads(args.threads)
    threads = numba.get_num_threads()
    try:
        import torch

        torch.set_num_threads(threads)
        yardstick = f"PyTorch {torch.__version__}"
    except ImportError:
        torch, yardstick = None, "no PyTorch installed: our times only"
    mt.manualSeed(0)
    clock = "CPU time" if args.cpu_time else "wall time"
    print(f"training step, float32, {threads} threads, {clock}, median of {args.repeat}; "
          f"{yardstick}; "
          f"CPU backend {mt.backends.get_cpu_backend().__name__.rsplit('.', 1)[-1]}")
    results = [bench("MLP", lab_mlp, torch_mlp, 32, 1.5, args, torch),
               bench("CNN", lab_cnn, torch_cnn, 32, 2.0, args, torch),
               bench("CNN", lab_cnn, torch_cnn, 128, 2.0, args, torch)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
