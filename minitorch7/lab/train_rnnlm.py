"""Exercise 4 (solution): a recurrent language model on Penn Treebank.

The lab's recurrent-language-model.lua: LookupTable -> SplitTable -> Sequencer over a
step module of stacked recurrent layers (FastLSTM with --lstm, GRU with --gru, else the
plain Recurrence of the slides) and a Linear + LogSoftMax output layer; truncated BPTT
over --seqlen steps, the state carried between batches; gradient clipping (--cutoff),
dpnn momentum, a learning-rate schedule; perplexity on the validation set each epoch,
early stopping. With --softmaxtree the output layer is nnx's SoftMaxTree over a two-level
tree of the words binned by frequency (root -> about sqrt(V) bins -> words): the model
takes [word ids, targets] and gives the log-probability of each target, computing only
the two families on its path (docs/nnx.md). The lab's recommended run (about 116 test
perplexity):

    minitorch7 lab rnnlm --lstm --seqlen 20 --hiddensize 200,200 --batchsize 20 --startlr 1 \\
        --cutoff 5 --maxepoch 13 \\
        --schedule '{[5]=0.5,[6]=0.25,[7]=0.125,[8]=0.0625,[9]=0.03125,
                     [10]=0.015625,[11]=0.0078125,[12]=0.00390625}'
"""

import math
import time

from minitorch7 import checkpoint, cmdline, dataload, experiment, nn, no_grad

MODEL_KINDS = ("lstm", "peephole", "gru")


def options(argv=None):
    parser = experiment.base_parser("Train a recurrent language model on Penn Treebank",
                                    "rnnlm")
    parser.add_argument("--startlr", type=cmdline.positive_float, default=0.05,
                        help="learning rate at epoch 1")
    parser.add_argument("--minlr", type=cmdline.nonnegative_float, default=1e-5,
                        help="minimum learning rate")
    parser.add_argument("--saturate", type=cmdline.positive_int, default=400,
                        help="epoch at which the linear decay reaches minlr")
    parser.add_argument("--schedule", default="", type=cmdline.schedule,
                        help="learning rate per epoch, e.g. '{[5]=0.5,[6]=0.25}' (replaces "
                             "the linear decay)")
    parser.add_argument("--momentum", type=cmdline.fraction, default=0.9,
                        help="momentum (dpnn's updateGradParameters), in [0, 1)")
    parser.add_argument("--maxnormout", type=cmdline.positive_or_off, default=-1,
                        help="max norm of each layer's output weights (-1: off)")
    parser.add_argument("--cutoff", type=cmdline.positive_or_off, default=-1,
                        help="clip the gradients' global norm to this (-1: off)")
    parser.add_argument("--maxepoch", type=cmdline.count, default=1000,
                        help="epochs to train at most (0: none)")
    parser.add_argument("--earlystop", type=cmdline.count, default=50,
                        help="stop after this many epochs without a new validation minimum")
    parser.add_argument("--uniform", type=cmdline.finite_float, default=0.1,
                        help="initialise parameters from U(-uniform, uniform) (<= 0: each "
                             "module's default)")
    layers = parser.add_mutually_exclusive_group()
    layers.add_argument("--lstm", action="store_true", help="FastLSTM layers")
    layers.add_argument("--peephole", action="store_true", help="LSTM layers with peepholes")
    layers.add_argument("--gru", action="store_true", help="GRU layers")
    parser.add_argument("--seqlen", type=cmdline.positive_int, default=5,
                        help="steps of truncated BPTT")
    parser.add_argument("--inputsize", type=cmdline.size_or_default, default=-1,
                        help="word embedding size (-1: the first hidden size)")
    parser.add_argument("--hiddensize", default="200", type=cmdline.int_list(),
                        help="one size per layer: '200,200'")
    parser.add_argument("--dropout", type=cmdline.fraction, default=0.0,
                        help="dropout probability, in [0, 1) (0: no Dropout)")
    parser.add_argument("--softmaxtree", action="store_true",
                        help="output layer: a SoftMaxTree over words binned by frequency "
                             "(root -> about sqrt(V) bins -> words) instead of Linear + "
                             "LogSoftMax over all V words")
    parser.add_argument("--batchsize", type=cmdline.positive_int, default=32,
                        help="parallel streams of text (columns of a batch)")
    parser.add_argument("--trainsize", type=cmdline.size_or_all, default=-1,
                        help="tokens per column per epoch (-1: all)")
    parser.add_argument("--validsize", type=cmdline.size_or_all, default=-1,
                        help="validation tokens per column (-1: all)")
    opt = parser.parse_args(argv)
    opt.hiddensize = experiment.parse_list(opt.hiddensize)
    opt.inputsize = opt.hiddensize[0] if opt.inputsize < 0 else opt.inputsize
    opt.schedule = experiment.parse_schedule(opt.schedule)
    if opt.quick:
        opt.maxepoch, opt.trainsize, opt.validsize = min(opt.maxepoch, 2), 2000, 2000
    return opt


def recurrent_layer(opt, index, inputsize, hiddensize):
    if opt.lstm:
        return nn.FastLSTM(inputsize, hiddensize)
    if opt.peephole:
        return nn.LSTM(inputsize, hiddensize)
    if opt.gru:
        return nn.GRU(inputsize, hiddensize)
    rm = (nn.Sequential()  # input is [x[t], h[t-1]]
          .add(nn.ParallelTable()
               .add(nn.Identity() if index == 0 else nn.Linear(inputsize, hiddensize))
               .add(nn.Linear(hiddensize, hiddensize)))  # recurrent layer
          .add(nn.CAddTable())
          .add(nn.Sigmoid()))  # output is h[t]
    return nn.Recurrence(rm, hiddensize, 1)


def build(opt, vocabsize, counts=None):
    """The language model; with --softmaxtree, ``counts`` (each word's count in the
    training text) bins the words of its output layer."""
    lm = nn.Sequential()
    lm.add(nn.LookupTable(vocabsize, opt.inputsize))  # input is seqlen x batchsize
    if opt.dropout > 0:
        lm.add(nn.Dropout(opt.dropout))
    if not opt.softmaxtree:
        lm.add(nn.SplitTable(0))  # seqlen x batchsize x inputsize -> list of seqlen tensors
    stepmodule = nn.Sequential()  # applied at every time step
    inputsize = opt.inputsize
    for index, hiddensize in enumerate(opt.hiddensize):
        stepmodule.add(recurrent_layer(opt, index, inputsize, hiddensize))
        if opt.dropout > 0:
            stepmodule.add(nn.Dropout(opt.dropout))
        inputsize = hiddensize
    if opt.softmaxtree:  # [ids, targets] -> [seqlen x batchsize x hiddensize, targets]
        lm.add(nn.Sequencer(stepmodule))
        hierarchy, root = nn.frequency_tree(counts)
        lm = (nn.Sequential()
              .add(nn.ParallelTable().add(lm).add(nn.Identity()))
              .add(nn.SoftMaxTree(inputsize, hierarchy, root)))  # -> seqlen x batchsize
    else:
        stepmodule.add(nn.Linear(inputsize, vocabsize))  # output layer
        stepmodule.add(nn.LogSoftMax())
        lm.add(nn.Sequencer(stepmodule))
    # the state carries over from one batch to the next (gradients do not)
    lm.remember("both" if opt.lstm or opt.peephole or opt.gru else "eval")
    if opt.uniform > 0:
        for param in lm.parameters()[0]:
            param.uniform(-opt.uniform, opt.uniform)
    return lm


def word_counts(dataset):
    """Each word's count in ``dataset``'s text (a SequenceLoader), in id order."""
    return [dataset.wordfreq[word] for word in dataset.ivocab]


def has_tree(lm):
    """Whether ``lm``'s output layer is a SoftMaxTree (it then takes [ids, targets])."""
    return any(isinstance(m, nn.SoftMaxTree) for m in lm.modules_depth_first())


def make_criterion(lm):
    """The loss summed over time steps of the mean over the batch of -log p(target):
    ClassNLL on log-probabilities of all words, TreeNLL on a SoftMaxTree's."""
    step = nn.TreeNLLCriterion() if has_tree(lm) else nn.ClassNLLCriterion()
    return nn.SequencerCriterion(step)


def train_epoch(lm, criterion, trainset, opt, epoch):
    """Truncated BPTT over the training stream; returns (perplexity, mean grad norm, speed);
    the mean norm (before clipping) is None when clipping is off (--cutoff <= 0). A NaN or
    infinite loss raises experiment.NonFiniteLoss."""
    lm.training()
    tree = has_tree(lm)
    total, batches, norms, begin = 0.0, 0, [], time.perf_counter()
    bar = experiment.progress(opt.trainsize, f"epoch {epoch}", opt.progress)
    for nsampled, inputs, targets in trainset.subiter(opt.seqlen, opt.trainsize):
        model_input = [inputs, targets] if tree else inputs
        outputs = lm.forward(model_input)
        targets = list(targets)  # seqlen x batch -> one target vector per step
        loss = criterion.forward(outputs, targets)
        experiment.check_loss(loss, epoch, batches + 1, "a smaller --startlr or a --cutoff")
        lm.zeroGradParameters()
        lm.backward(model_input, criterion.backward(outputs, targets))
        if opt.cutoff > 0:
            norms.append(lm.gradParamClip(opt.cutoff))
        lm.updateGradParameters(opt.momentum)  # dpnn momentum
        lm.updateParameters(opt.lr)
        lm.maxParamNorm(opt.maxnormout)
        total, batches = total + loss, batches + 1
        bar.update(len(inputs))
        bar.set_postfix(ppl=f"{experiment.perplexity(total / (batches * opt.seqlen)):.1f}")
        if nsampled >= opt.trainsize:
            break
    bar.close()
    speed = batches * opt.seqlen * opt.batchsize / (time.perf_counter() - begin)
    mean_norm = sum(norms) / len(norms) if norms else None
    return experiment.perplexity(total / max(batches * opt.seqlen, 1)), mean_norm, speed


def evaluate_perplexity(lm, criterion, dataset, seqlen, size=-1):
    """exp(mean NLL per token) over a whole stream, state carried across batches."""
    lm.evaluate()
    lm.forget()
    tree = has_tree(lm)
    total, tokens = 0.0, 0
    with no_grad():
        for nsampled, inputs, targets in dataset.subiter(seqlen, size):
            outputs = lm.forward([inputs, targets] if tree else inputs)
            total += criterion.forward(outputs, list(targets)) * dataset.batchsize
            tokens += inputs.nElement()
            if size > 0 and nsampled >= size:
                break
    return experiment.perplexity(total / max(tokens, 1))


def main(argv=None):
    opt = options(argv)
    paths = experiment.start(opt)  # with --resume, opt takes the checkpoint's options
    best_path = paths[0]
    trainset, validset, _ = dataload.loadPTB((opt.batchsize, 1, 1), opt.datapath)
    opt.trainsize = trainset.size() if opt.trainsize < 0 else opt.trainsize
    opt.validsize = validset.size() if opt.validsize < 0 else opt.validsize
    print(f"Vocabulary size: {len(trainset.ivocab)}; train set: {trainset.size()} x "
          f"{opt.batchsize} tokens")
    loaders = {"train": trainset, "valid": validset}  # validset's position moves too
    state, checkpoints = checkpoint.begin("rnnlm", opt, paths, loaders,
                                          best_ppl=float("inf"), lr=opt.startlr)
    if state["model"] is None:
        counts = [word_counts(trainset)] if opt.softmaxtree else []  # (the starter's build
        state["model"] = build(opt, len(trainset.ivocab), *counts)  # takes two arguments)
    lm = state["model"]
    criterion = make_criterion(lm)
    if opt.cuda:
        lm.cuda()
    print(nn.Serial(lm))
    first = epoch = state["epoch"] + 1
    with experiment.saving_on_interrupt(checkpoints, lambda: epoch):
        for epoch in range(first, opt.maxepoch + 1):
            if state["epoch"] - state["best_epoch"] > opt.earlystop:
                print(f"No new minima for {opt.earlystop} epochs: early stopping")
                break
            opt.lr = state["lr"]
            train_ppl, mean_norm, speed = train_epoch(lm, criterion, trainset, opt, epoch)
            experiment.check_parameters(lm, epoch)
            valid_ppl = evaluate_perplexity(lm, criterion, validset, opt.seqlen * 5,
                                            opt.validsize)
            if not math.isfinite(valid_ppl):
                raise experiment.NonFiniteLoss(f"Epoch {epoch}: the validation perplexity is "
                                               f"{valid_ppl}: the model diverged")
            with checkpoint.deferred_interrupt():  # an epoch whose line is printed gets saved
                norm = "" if mean_norm is None else f"mean norm = {mean_norm:.4f}, "
                print(f"Epoch #{epoch} : learning rate = {opt.lr:g}, {norm}"
                      f"speed = {speed:.0f} words/s, training perplexity = {train_ppl:.2f}, "
                      f"validation perplexity = {valid_ppl:.2f}", flush=True)
                state["log"].append({"epoch": epoch, "lr": opt.lr, "mean_norm": mean_norm,
                                     "train_ppl": train_ppl, "valid_ppl": valid_ppl,
                                     "speed": speed})
                if opt.schedule:  # the lab's table: the learning rate from this epoch on
                    state["lr"] = opt.schedule.get(epoch, state["lr"])
                else:  # linear decay from startlr to minlr over `saturate` epochs
                    state["lr"] = max(opt.minlr, state["lr"] + (opt.minlr - opt.startlr)
                                      / opt.saturate)
                best = None
                if valid_ppl < state["best_ppl"]:
                    state.update(best_ppl=valid_ppl, best_epoch=epoch, best_path=str(best_path))
                    best = (best_path, {"kind": "rnnlm", "opt": dict(vars(opt)), "epoch": epoch,
                                        "valid_ppl": valid_ppl, "ivocab": list(trainset.ivocab),
                                        "model": nn.Serial(lm).mediumSerial()})
                checkpoint.end_of_epoch(state, epoch, loaders)
                checkpoints.save(state, best)  # the best model first, then the checkpoint
                if best is not None:
                    print(f"Found new minima. Saving to {best_path}", flush=True)
    if not experiment.trained_any(state, opt, first):
        return None
    print(f"Best validation perplexity {state['best_ppl']:.2f} at epoch {state['best_epoch']}; "
          f"model saved to {state['best_path']}")
    return state["best_ppl"]


if __name__ == "__main__":
    main()
