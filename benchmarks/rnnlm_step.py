"""One training step of the lab's language model, minitorch7 against PyTorch (CPU).

The model of exercise 4: LookupTable(10000, 200) -> SplitTable -> Sequencer(cell(200, 200)
-> cell(200, 200) -> Linear(200, 10000) -> LogSoftMax), SequencerCriterion(ClassNLL),
seqlen 20, batch 20, the cell chosen by ``--cell`` (the lab's --lstm, --peephole, --gru):

    fastlstm  nn.FastLSTM, against torch.nn.LSTM          target ours / PyTorch <= 1.0x
    gru       nn.GRU, against torch.nn.GRU                target <= 1.0x
    lstm      nn.LSTM (peepholes), against torch.nn.LSTM  no target: PyTorch has no peepholes

Torch7's GRU applies the reset gate BEFORE the recurrent product, n = tanh(W x + U (r * s)),
torch.nn.GRU after it, n = tanh(W x + r * (U s + b)): the same work, other numbers.
A step: zeroGradParameters, forward, loss, backward, gradParamClip(5), updateParameters.
PyTorch runs the same model (Embedding, a 2-layer nn.LSTM or nn.GRU, Linear, log_softmax,
nll_loss summed over time). Both use float32 and the same number of threads, each side in
its own processes, rounds alternating (benchmarks/harness.py; the machine banner above the
tables says what they were measured on). On a busy machine ``--threads 1 --cpu-time`` gives
steadier ratios (with MINITORCH7_BACKEND=numpy_ref our matmuls are NumPy's BLAS too).

Also the step's peak memory, measured in our worker (tracemalloc sees NumPy's
allocations), against the size of the activations the forward produces (target <= 2x).
``--profile`` adds cProfile's top functions of our steps.

    python benchmarks/rnnlm_step.py [--cell fastlstm gru lstm] [--repeat 20] [--threads N]
                                    [--cpu-time] [--profile] [--no-torch] [--smoke]
"""

import argparse
import sys
import tracemalloc

import harness

VOCAB, EMBED, HIDDEN, LAYERS, SEQLEN, BATCH, CUTOFF, LR = 10000, 200, 200, 2, 20, 20, 5, 0.1
CELLS = {"fastlstm": ("FastLSTM", "LSTM", 1.0), "gru": ("GRU", "GRU", 1.0),
         "lstm": ("LSTM", "LSTM", None)}  # --cell: (our nn class, torch.nn class, target)


def batch():
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.integers(0, VOCAB, (SEQLEN, BATCH)), rng.integers(0, VOCAB, (SEQLEN, BATCH))


def build_minitorch7(cell):
    """A function doing one of our training steps with ``cell`` layers, on a fixed batch."""
    import minitorch7
    from minitorch7 import nn

    minitorch7.manualSeed(0)
    layer = getattr(nn, CELLS[cell][0])
    step = nn.Sequential()
    for index in range(LAYERS):
        step.add(layer(EMBED if index == 0 else HIDDEN, HIDDEN))
    step.add(nn.Linear(HIDDEN, VOCAB)).add(nn.LogSoftMax())
    lm = (nn.Sequential().add(nn.LookupTable(VOCAB, EMBED)).add(nn.SplitTable(0))
          .add(nn.Sequencer(step)))
    for p in lm.parameters()[0]:
        p.uniform(-0.1, 0.1)
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())
    ids, next_ids = batch()
    inputs, targets = minitorch7.LongTensor(ids), list(next_ids)

    def train_step():
        lm.zeroGradParameters()
        outputs = lm.forward(inputs)
        loss = criterion.forward(outputs, targets)
        lm.backward(inputs, criterion.backward(outputs, targets))
        lm.gradParamClip(CUTOFF)
        lm.updateParameters(LR)
        return loss

    return train_step


def build_torch(cell, threads):
    """A function doing one PyTorch training step of the same model, on the same batch."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(VOCAB, EMBED)
    recurrent = getattr(torch.nn, CELLS[cell][1])(EMBED, HIDDEN, LAYERS)
    decoder = torch.nn.Linear(HIDDEN, VOCAB)
    params = [*embedding.parameters(), *recurrent.parameters(), *decoder.parameters()]
    for p in params:
        torch.nn.init.uniform_(p, -0.1, 0.1)
    inputs, targets = (torch.from_numpy(a) for a in batch())

    def train_step():
        for p in params:
            p.grad = None
        hidden, _ = recurrent(embedding(inputs))
        logp = torch.log_softmax(decoder(hidden), -1)
        # ClassNLL averages over the batch, SequencerCriterion sums over time
        loss = torch.nn.functional.nll_loss(logp.view(-1, VOCAB), targets.view(-1)) * SEQLEN
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CUTOFF)
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
        return loss.item()

    return train_step


def peak_bytes(step):
    """The most memory held at once during a step, beyond what was held before it."""
    step()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    return peak


def activation_bytes(cell):
    """What the forward materialises: embeddings; per layer and step the states and what
    the fused layer keeps for backward (FastLSTM and LSTM: h, c and i, g, f, o, tanh(c),
    7H per row; GRU: s and r, z, n, r * s, 5H); the decoder's scores and log-probs.

    (The scores are freed once LogSoftMax has its log-probs: the backward needs only the
    log-probs, so what the forward must KEEP is one V-wide buffer per row, not two.)"""
    from minitorch7.ops.recurrent_layers import GRULayer, LSTMLayer

    layer = GRULayer if cell == "gru" else LSTMLayer
    per_row = layer.n_states + layer.cache_width
    return 4 * SEQLEN * BATCH * (EMBED + LAYERS * per_row * HIDDEN + 2 * VOCAB)


def our_worker(args):
    """{cell: median seconds of a step, cell peak/activations: bytes} for each --cell."""
    figures = {}
    for cell in args.cell:
        step = build_minitorch7(cell)
        figures[cell] = harness.median_seconds(step, args.repeat, args.cpu_time)
        figures[f"{cell} peak"] = peak_bytes(step)
        figures[f"{cell} activations"] = activation_bytes(cell)
    return figures


def torch_worker(args):
    return {cell: harness.median_seconds(build_torch(cell, args.threads), args.repeat,
                                         args.cpu_time) for cell in args.cell}


WORKERS = {"ours": our_worker, "torch": torch_worker,
           "profile": lambda args: harness.profile(
               {f"LM step, {cell}": build_minitorch7(cell) for cell in args.cell}, args.repeat)}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_options(parser, repeat=20)
    parser.add_argument("--cell", nargs="+", choices=CELLS, default=["fastlstm", "gru"],
                        help="recurrent layers to time, each a row")
    parser.add_argument("--profile", action="store_true", help="cProfile our steps")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch side")
    args = harness.parse(parser, argv)
    if args.worker:
        return harness.report(WORKERS[args.worker](args))
    sides = ["ours"] if args.no_torch or not harness.torch_installed() else ["ours", "torch"]
    harness.print_heading(f"language model step, float32, seqlen {SEQLEN} x batch {BATCH}, "
                          f"{LAYERS} layers of {HIDDEN}, {VOCAB} words: ours = minitorch7, "
                          f"reference = {'PyTorch' if len(sides) == 2 else 'none'}", args)
    medians, ratios = harness.alternate(__file__, sides, argv, args.threads, args.rounds)
    ours = medians["ours"]
    print(f"{'cell':>9} {'ours ms':>9} {'PyTorch ms':>10} {'ours/PyTorch':>12} {'target':>10}")
    for cell in args.cell:
        target = CELLS[cell][2]
        if cell in ratios:
            reference, ratio = f"{medians['torch'][cell] * 1e3:10.1f}", f"{ratios[cell]:11.2f}x"
            mark = harness.verdict(ratios[cell] <= target, f"<={target}x") if target else "-"
        else:
            reference, ratio, mark = f"{'-':>10}", f"{'-':>12}", "-"
        print(f"{cell:>9} {ours[cell] * 1e3:9.1f} {reference} {ratio} {mark:>10}")
    if "lstm" in args.cell:
        print("  lstm: ours has peepholes, torch.nn.LSTM has none (no target)")
    if "gru" in args.cell:
        print("  gru: Torch7's reset gate multiplies the state before the recurrent product, "
              "torch.nn.GRU's the product after it")
    print(f"\npeak memory of our step (tracemalloc, in our worker)\n{'cell':>9} {'peak MiB':>9} "
          f"{'activations MiB':>15} {'peak/act':>8} {'target':>9}")
    for cell in args.cell:
        peak, activations = ours[f"{cell} peak"], ours[f"{cell} activations"]
        print(f"{cell:>9} {peak / 2**20:9.1f} {activations / 2**20:15.1f} "
              f"{peak / activations:7.2f}x {harness.verdict(peak <= 2 * activations, '<=2x'):>9}")
    if args.profile:
        harness.measure(__file__, "profile", argv, args.threads)


if __name__ == "__main__":
    main()
