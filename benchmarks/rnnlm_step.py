"""One training step of the lab's language model, minitorch7 against PyTorch (CPU).

The model of exercise 4: LookupTable(10000, 200) -> SplitTable -> Sequencer(FastLSTM(200,
200) -> FastLSTM(200, 200) -> Linear(200, 10000) -> LogSoftMax), SequencerCriterion(ClassNLL),
seqlen 20, batch 20. A step: zeroGradParameters, forward, loss, backward, gradParamClip(5),
updateParameters. PyTorch runs the same model (Embedding, a 2-layer nn.LSTM, Linear,
log_softmax, nll_loss summed over time) in the same process.

Both use float32 and the same number of threads; each time is the median over ``--steps``
steps after a warm-up step (JIT compilation); on a busy machine ``--threads 1 --cpu-time``
gives steadier ratios (with MINITORCH7_BACKEND=numpy_ref, whose matmul is NumPy's BLAS, set
OPENBLAS_NUM_THREADS as well). Also the step's peak memory (tracemalloc sees NumPy's allocations),
against the size of the activations the forward produces. ``--profile`` adds cProfile's
top functions of our steps.

    python benchmarks/rnnlm_step.py [--steps 10] [--threads N] [--cpu-time] [--profile]
"""

import argparse
import cProfile
import pstats
import statistics
import time
import tracemalloc

import numba
import numpy as np

import minitorch7
from minitorch7 import nn

VOCAB, EMBED, HIDDEN, LAYERS, SEQLEN, BATCH, CUTOFF, LR = 10000, 200, 200, 2, 20, 20, 5, 0.1


def build_minitorch7():
    minitorch7.manualSeed(0)
    step = nn.Sequential()
    for layer in range(LAYERS):
        step.add(nn.FastLSTM(EMBED if layer == 0 else HIDDEN, HIDDEN))
    step.add(nn.Linear(HIDDEN, VOCAB)).add(nn.LogSoftMax())
    lm = (nn.Sequential().add(nn.LookupTable(VOCAB, EMBED)).add(nn.SplitTable(0))
          .add(nn.Sequencer(step)))
    for p in lm.parameters()[0]:
        p.uniform(-0.1, 0.1)
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())

    def train_step(inputs, targets):
        lm.zeroGradParameters()
        outputs = lm.forward(inputs)
        loss = criterion.forward(outputs, targets)
        lm.backward(inputs, criterion.backward(outputs, targets))
        lm.gradParamClip(CUTOFF)
        lm.updateParameters(LR)
        return loss

    return train_step


def build_torch():
    import torch

    torch.manual_seed(0)
    embedding = torch.nn.Embedding(VOCAB, EMBED)
    lstm = torch.nn.LSTM(EMBED, HIDDEN, LAYERS)
    decoder = torch.nn.Linear(HIDDEN, VOCAB)
    params = [*embedding.parameters(), *lstm.parameters(), *decoder.parameters()]
    for p in params:
        torch.nn.init.uniform_(p, -0.1, 0.1)

    def train_step(inputs, targets):
        for p in params:
            p.grad = None
        hidden, _ = lstm(embedding(inputs))
        logp = torch.log_softmax(decoder(hidden), -1)
        # ClassNLL averages over the batch, SequencerCriterion sums over time
        loss = torch.nn.functional.nll_loss(logp.view(-1, VOCAB), targets.view(-1)) * SEQLEN
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CUTOFF)
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss.item()

    return train_step, torch


def seconds(steps, repeat, clock):
    """Median seconds of each step function, called in turn (a busy machine slows all
    of them alike) after one warm-up call each (kernel compilation, allocator)."""
    for step in steps:
        step()
    times = [[] for _ in steps]
    for _ in range(repeat):
        for step, spent in zip(steps, times):
            begin = clock()
            step()
            spent.append(clock() - begin)
    return [statistics.median(spent) for spent in times]


def peak_bytes(step, inputs, targets):
    """The most memory held at once during a step, beyond what was held before it."""
    step(inputs, targets)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    step(inputs, targets)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak


def activation_bytes():
    """What the forward materialises: embeddings; per layer and step the four gate
    activations, c, tanh(c) and h (7H per row); the decoder's scores and log-probs.

    (The scores are freed once LogSoftMax has its log-probs: the backward needs only the
    log-probs, so what the forward must KEEP is one V-wide buffer per row, not two; with
    that definition the activations are 19.8 MiB instead of 35.1 MiB.)"""
    rows = SEQLEN * BATCH
    return 4 * rows * (EMBED + LAYERS * 7 * HIDDEN + 2 * VOCAB)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps (median)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both (default: numba's count)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with the process CPU clock (steadier on a busy machine; "
                             "use it with --threads 1)")
    parser.add_argument("--profile", action="store_true", help="cProfile our steps")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    opt = parser.parse_args(argv)
    clock = time.process_time if opt.cpu_time else time.perf_counter
    if opt.threads:
        numba.set_num_threads(opt.threads)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, VOCAB, (SEQLEN, BATCH))
    next_ids = rng.integers(0, VOCAB, (SEQLEN, BATCH))

    ours = build_minitorch7()
    inputs, targets = minitorch7.LongTensor(ids), list(next_ids)
    steps = [lambda: ours(inputs, targets)]
    if not opt.no_torch:
        theirs, torch = build_torch()
        torch.set_num_threads(numba.get_num_threads())
        t_inputs, t_targets = torch.from_numpy(ids), torch.from_numpy(next_ids)
        steps.append(lambda: theirs(t_inputs, t_targets))
    times = seconds(steps, opt.steps, clock)
    print(f"{'CPU' if opt.cpu_time else 'wall'} time per step, median of {opt.steps}, "
          f"{numba.get_num_threads()} threads")
    print(f"minitorch7 ({minitorch7.backends.get_cpu_backend().__name__.split('.')[-1]}): "
          f"{times[0] * 1e3:.1f} ms")
    if not opt.no_torch:
        print(f"PyTorch {torch.__version__}: {times[1] * 1e3:.1f} ms")
        print(f"ratio minitorch7 / PyTorch: {times[0] / times[1]:.2f}x (target <= 1.5x)")
    if opt.profile:
        profile = cProfile.Profile(clock)
        profile.runcall(lambda: [ours(inputs, targets) for _ in range(opt.steps)])
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
    peak, activations = peak_bytes(ours, inputs, targets), activation_bytes()
    print(f"peak memory of a step: {peak / 2**20:.1f} MiB; activations: "
          f"{activations / 2**20:.1f} MiB; ratio {peak / activations:.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
