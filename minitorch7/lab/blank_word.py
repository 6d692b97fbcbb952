"""Fill in the blank: a bidirectional LSTM guesses a hidden word of Penn Treebank from the
words on both sides of it.

A model that reads a sentence in both directions must not be scored as a language model
(predicting word t + 1 from step t): its backward rnn has already read word t + 1. The
honest task is a cloze: each example is a window of 2k + 1 words whose middle word is
replaced by ``<blank>``; the model predicts that word. The forward LSTM reads the k words
before the blank, the backward LSTM the k words after it (rnn's BiSequencer), and their
outputs at the blank are joined into a softmax over the vocabulary. The baseline
(``--leftonly``) is the same model without the backward LSTM: it sees the left context
only, as a language model does. The scores: the blank's accuracy and perplexity.

    minitorch7 lab blankword                 # both sides, a few minutes on 2 cores
    minitorch7 lab blankword --leftonly      # the left context only
"""

import math
import time

import numpy as np

from minitorch7 import checkpoint, cmdline, experiment, from_numpy, load, nn, no_grad
from minitorch7.dataload import TensorLoader, ptb


def options(argv=None):
    parser = experiment.base_parser("Guess a blanked-out Penn Treebank word from both sides",
                                    "blankword")
    parser.add_argument("--leftonly", action="store_true",
                        help="the baseline: one forward LSTM, the left context only")
    parser.add_argument("--context", type=cmdline.positive_int, default=4,
                        help="words on each side of the blank (windows of 2 x context + 1)")
    parser.add_argument("--hiddensize", type=cmdline.positive_int, default=200,
                        help="LSTM size (of each direction)")
    parser.add_argument("--inputsize", type=cmdline.size_or_default, default=-1,
                        help="word embedding size (-1: the hidden size)")
    parser.add_argument("--startlr", type=cmdline.positive_float, default=1.0,
                        help="learning rate of SGD")
    parser.add_argument("--momentum", type=cmdline.fraction, default=0.9,
                        help="momentum (dpnn's updateGradParameters), in [0, 1)")
    parser.add_argument("--cutoff", type=cmdline.positive_or_off, default=5,
                        help="clip the gradients' global norm to this (-1: off)")
    parser.add_argument("--uniform", type=cmdline.finite_float, default=0.1,
                        help="initialise parameters from U(-uniform, uniform) (<= 0: each "
                             "module's default)")
    parser.add_argument("--batchsize", type=cmdline.positive_int, default=32,
                        help="windows per batch")
    parser.add_argument("--maxepoch", type=cmdline.count, default=3,
                        help="epochs to train at most (0: none)")
    parser.add_argument("--earlystop", type=cmdline.count, default=5,
                        help="stop after this many epochs without a new validation minimum")
    parser.add_argument("--trainsize", type=cmdline.size_or_all, default=20000,
                        help="windows drawn at random per epoch (-1: as many as the "
                             "training set has)")
    parser.add_argument("--evalsize", type=cmdline.size_or_all, default=5000,
                        help="windows scored of the valid and of the test set, the first "
                             "ones (-1: all)")
    opt = parser.parse_args(argv)
    opt.inputsize = opt.hiddensize if opt.inputsize < 0 else opt.inputsize
    if opt.quick:
        opt.maxepoch, opt.trainsize, opt.evalsize = min(opt.maxepoch, 2), 2000, 1000
    return opt


def windows(ids, context):
    """A TensorLoader of every window of 2 context + 1 tokens of a stream: inputs N x width
    ids (a read-only view of ``ids``: no copy), targets the N middle words."""
    width = 2 * context + 1
    if len(ids) < width:
        raise SystemExit(f"blankword: a set of {len(ids)} tokens has no window of {width} "
                         f"words: use a smaller --context")
    return TensorLoader(np.lib.stride_tricks.sliding_window_view(ids, width),
                        ids[context:len(ids) - context])


def blanked(inputs, blank):
    """A batch of windows (batch x width ids) -> width x batch ids, the middle row ``blank``:
    the word to guess is never in the input."""
    steps = np.array(inputs.numpy().T)  # a copy: the windows view the token stream
    steps[len(steps) // 2] = blank
    return from_numpy(steps)


def build(opt, vocabsize):
    """LookupTable -> SplitTable -> BiSequencer(FastLSTM, FastLSTM) (a Sequencer(FastLSTM)
    with --leftonly) -> the blank's step -> Linear -> LogSoftMax. Id ``vocabsize`` is
    <blank>."""
    model = nn.Sequential()
    model.add(nn.LookupTable(vocabsize + 1, opt.inputsize))  # input: width x batch ids
    model.add(nn.SplitTable(0))  # -> width steps of batch x inputsize
    if opt.leftonly:
        model.add(nn.Sequencer(nn.FastLSTM(opt.inputsize, opt.hiddensize)))
    else:  # step t: [forward LSTM after words 0..t | backward LSTM after words last..t]
        model.add(nn.BiSequencer(nn.FastLSTM(opt.inputsize, opt.hiddensize),
                                 nn.FastLSTM(opt.inputsize, opt.hiddensize)))
    model.add(nn.SelectTable(opt.context))  # the blank's step
    model.add(nn.Linear(opt.hiddensize * (1 if opt.leftonly else 2), vocabsize))
    model.add(nn.LogSoftMax())
    if opt.uniform > 0:
        for param in model.parameters()[0]:
            param.uniform(-opt.uniform, opt.uniform)
    return model


def train_epoch(model, criterion, trainset, opt, epoch, blank):
    """``opt.trainsize`` windows drawn at random (minitorch7's RNG); returns (the blank's
    training perplexity, windows per second)."""
    model.training()
    total, batches, begin = 0.0, 0, time.perf_counter()
    bar = experiment.progress(opt.trainsize, f"epoch {epoch}", opt.progress)
    for _, windows_, targets in trainset.sampleiter(opt.batchsize, opt.trainsize):
        inputs = experiment.to_device(blanked(windows_, blank), opt)
        targets = experiment.to_device(targets, opt)
        outputs = model.forward(inputs)
        loss = criterion.forward(outputs, targets)
        experiment.check_loss(loss, epoch, batches + 1, "a smaller --startlr")
        model.zeroGradParameters()
        model.backward(inputs, criterion.backward(outputs, targets))
        if opt.cutoff > 0:
            model.gradParamClip(opt.cutoff)
        model.updateGradParameters(opt.momentum)
        model.updateParameters(opt.startlr)
        total, batches = total + loss, batches + 1
        bar.update(len(targets))
        bar.set_postfix(ppl=f"{experiment.perplexity(total / batches):.1f}")
    bar.close()
    speed = opt.trainsize / (time.perf_counter() - begin)
    return experiment.perplexity(total / max(batches, 1)), speed


def evaluate(model, dataset, opt, blank):
    """(accuracy, perplexity) of the blank over the first ``opt.evalsize`` windows."""
    model.evaluate()
    dataset.reset()
    nll, correct, count = 0.0, 0, 0
    with no_grad():
        for _, windows_, targets in dataset.subiter(opt.batchsize, opt.evalsize):
            logp = model.forward(experiment.to_device(blanked(windows_, blank), opt)).cpu()
            rows = np.arange(len(targets))
            nll -= float(logp.data[rows, targets.numpy()].astype(np.float64).sum())
            correct += int((logp.data.argmax(axis=1) == targets.numpy()).sum())
            count += len(targets)
    return correct / max(count, 1), experiment.perplexity(nll / max(count, 1))


def main(argv=None):
    opt = options(argv)
    paths = experiment.start(opt)  # with --resume, opt takes the checkpoint's options
    _, ivocab, _, (train_ids, valid_ids, test_ids) = ptb.load_arrays(opt.datapath)
    trainset, validset, testset = (windows(ids, opt.context)
                                   for ids in (train_ids, valid_ids, test_ids))
    blank = len(ivocab)  # the id of <blank>, one past the vocabulary
    opt.trainsize = trainset.size() if opt.trainsize < 0 else opt.trainsize
    print(f"Vocabulary size: {len(ivocab)} + <blank>; windows of {2 * opt.context + 1} words: "
          f"{trainset.size()} train, {validset.size()} valid, {testset.size()} test; "
          f"{'left context only' if opt.leftonly else 'both sides'}")
    criterion = nn.ClassNLLCriterion()
    state, checkpoints = checkpoint.begin("blankword", opt, paths, {"train": trainset},
                                          best_ppl=float("inf"))
    if state["model"] is None:
        state["model"] = build(opt, len(ivocab))
    model = state["model"]
    if opt.cuda:
        model.cuda()
    print(nn.Serial(model))
    first = epoch = state["epoch"] + 1
    with experiment.saving_on_interrupt(checkpoints, lambda: epoch):
        for epoch in range(first, opt.maxepoch + 1):
            if state["epoch"] - state["best_epoch"] > opt.earlystop:
                print(f"No new minima for {opt.earlystop} epochs: early stopping")
                break
            train_ppl, speed = train_epoch(model, criterion, trainset, opt, epoch, blank)
            experiment.check_parameters(model, epoch)
            valid_accuracy, valid_ppl = evaluate(model, validset, opt, blank)
            if not math.isfinite(valid_ppl):
                raise experiment.NonFiniteLoss(f"Epoch {epoch}: the validation perplexity is "
                                               f"{valid_ppl}: the model diverged")
            with checkpoint.deferred_interrupt():  # an epoch whose line is printed gets saved
                print(f"Epoch #{epoch} : speed = {speed:.0f} windows/s, training perplexity "
                      f"= {train_ppl:.2f}, validation accuracy = {valid_accuracy:.4f}, "
                      f"validation perplexity = {valid_ppl:.2f}", flush=True)
                state["log"].append({"epoch": epoch, "train_ppl": train_ppl, "speed": speed,
                                     "valid_accuracy": valid_accuracy, "valid_ppl": valid_ppl})
                best = None
                if valid_ppl < state["best_ppl"]:
                    state.update(best_ppl=valid_ppl, best_epoch=epoch,
                                 best_path=str(paths[0]))
                    best = (paths[0], {"kind": "blankword", "opt": dict(vars(opt)),
                                       "epoch": epoch, "valid_ppl": valid_ppl,
                                       "valid_accuracy": valid_accuracy,
                                       "model": nn.Serial(model).mediumSerial()})
                checkpoint.end_of_epoch(state, epoch, {"train": trainset})
                checkpoints.save(state, best)  # the best model first, then the checkpoint
                if best is not None:
                    print(f"Found new minima. Saving to {paths[0]}", flush=True)
    if not experiment.trained_any(state, opt, first):
        return None
    best_model = load(state["best_path"])["model"]
    test_accuracy, test_ppl = evaluate(best_model.cuda() if opt.cuda else best_model, testset,
                                       opt, blank)
    print(f"Best validation perplexity {state['best_ppl']:.2f} at epoch {state['best_epoch']}; "
          f"model saved to {state['best_path']}")
    print(f"Test ({'left context only' if opt.leftonly else 'both sides'}): accuracy = "
          f"{test_accuracy:.4f}, perplexity = {test_ppl:.2f}")
    return test_accuracy, test_ppl


if __name__ == "__main__":
    main()
