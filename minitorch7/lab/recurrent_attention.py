"""The recurrent visual attention model (Mnih et al., 2014) on MNIST, as rnn's
examples/recurrent-visual-attention.lua trains it.

At each of --rho steps the agent sees an 8 x 8 glimpse of the digit at a location, which
its RNN turns into a hidden state; a locator samples the next location from a normal
around a learned mean (ReinforceNormal); after the last glimpse a classifier guesses the
digit. The classifier and RNN learn by backpropagation (ClassNLL), the locator by
REINFORCE: the reward is 1 for a right guess, minus a learned baseline (VRClassReward).
The Lua script's options, spelled as the lab's scripts spell theirs (docs/ram.md):

    NUMBA_NUM_THREADS=1 minitorch7 lab ram --progress   # ~2 hours of one core: 1.9% error
    NUMBA_NUM_THREADS=1 minitorch7 lab ram --saturate 300 --maxepoch 300   # 1.6%
"""

import argparse
import time

from minitorch7 import checkpoint, cmdline, dataload, experiment, load, nn
from minitorch7.optim import ConfusionMatrix
from minitorch7.random import generator

EVAL_BATCH = 1000  # validation and test examples per forward (deterministic locations)


def options(argv=None):
    parser = experiment.base_parser("Train a recurrent model of visual attention on MNIST",
                                    "ram")
    add = parser.add_argument
    add("--learningrate", type=cmdline.positive_float, default=0.01,
        help="learning rate at epoch 1 (Lua: --learningRate)")
    add("--minlr", type=cmdline.nonnegative_float, default=1e-5,
        help="minimum learning rate (--minLR)")
    add("--saturate", type=cmdline.positive_int, default=800,
        help="epoch at which the linear decay reaches minlr (--saturateEpoch)")
    add("--momentum", type=cmdline.fraction, default=0.9,
        help="momentum (dpnn's updateGradParameters), in [0, 1)")
    add("--maxnormout", type=cmdline.positive_or_off, default=-1,
        help="max norm of each layer's output weights (-1: off) (--maxOutNorm)")
    add("--cutoff", type=cmdline.positive_or_off, default=-1,
        help="clip the gradients' global norm to this (-1: off) (--cutoffNorm)")
    add("--batchsize", type=cmdline.positive_int, default=20, help="examples per batch")
    add("--maxepoch", type=cmdline.count, default=2000, help="epochs to train at most")
    add("--earlystop", type=cmdline.count, default=100,
        help="stop after this many epochs without a new validation maximum (--maxTries)")
    add("--epochsize", type=cmdline.size_or_all, default=-1,
        help="training examples per epoch, a new shuffle each epoch (-1: all)")
    add("--transfer", default="ReLU", choices=("ReLU", "Tanh", "Sigmoid"),
        help="activation function")
    add("--uniform", type=cmdline.finite_float, default=0.1,
        help="initialise parameters from U(-uniform, uniform) (<= 0: each module's default)")
    add("--rewardscale", type=cmdline.positive_float, default=1.0,
        help="reward of a right guess (a wrong one: 0) (--rewardScale)")
    add("--unitpixels", type=cmdline.positive_float, default=13.0,
        help="the locator's (1, 1) is (unitpixels, unitpixels) pixels from the centre")
    add("--locatorstd", type=cmdline.positive_float, default=0.11,
        help="standard deviation of the location sampler (the sampler's is twice it)")
    add("--stochastic", action="store_true",
        help="sample locations in evaluation too (default: the mean)")
    add("--glimpsehiddensize", type=cmdline.positive_int, default=128,
        help="size of the glimpse's hidden layer")
    add("--glimpsepatchsize", type=cmdline.positive_int, default=8,
        help="size of the glimpse's patch at the highest resolution")
    add("--glimpsescale", type=cmdline.positive_float, default=2.0,
        help="scale of each patch over the previous one")
    add("--glimpsedepth", type=cmdline.positive_int, default=1,
        help="number of patches per glimpse")
    add("--locatorhiddensize", type=cmdline.positive_int, default=128,
        help="size of the location sensor's hidden layer")
    add("--imagehiddensize", type=cmdline.positive_int, default=256,
        help="size of the layer combining glimpse and location")
    add("--rho", type=cmdline.positive_int, default=7, help="number of glimpses")
    add("--hiddensize", type=cmdline.positive_int, default=256, help="RNN hidden units")
    opt = parser.parse_args(argv)
    if opt.cuda:
        parser.error("argument --cuda: the attention model runs on the CPU only")
    if opt.glimpsedepth > 1 and opt.glimpsescale != 2:
        parser.error("argument --glimpsescale: only 2 with --glimpsedepth > 1 "
                     "(nn.SpatialGlimpse pools; dpnn resamples other scales)")
    if opt.quick:
        opt.maxepoch = min(opt.maxepoch, 2)
        opt.epochsize = 2000 if opt.epochsize < 0 else opt.epochsize
    return opt


def build(opt, imagesize=28, nclasses=10):
    """The agent: {log-probabilities, {log-probabilities, baseline}} for a batch of
    1 x imagesize x imagesize images."""
    transfer = getattr(nn, opt.transfer)
    location_sensor = (nn.Sequential().add(nn.SelectTable(1))
                       .add(nn.Linear(2, opt.locatorhiddensize)).add(transfer()))
    glimpse_sensor = (nn.Sequential()
                      .add(nn.SpatialGlimpse(opt.glimpsepatchsize, opt.glimpsedepth,
                                             opt.glimpsescale))
                      .add(nn.Collapse(3))
                      .add(nn.Linear(opt.glimpsepatchsize ** 2 * opt.glimpsedepth,
                                     opt.glimpsehiddensize))
                      .add(transfer()))
    glimpse = (nn.Sequential().add(nn.ConcatTable().add(location_sensor).add(glimpse_sensor))
               .add(nn.JoinTable(0, 1))
               .add(nn.Linear(opt.glimpsehiddensize + opt.locatorhiddensize,
                              opt.imagehiddensize))
               .add(transfer())
               .add(nn.Linear(opt.imagehiddensize, opt.hiddensize)))
    rnn = nn.Recurrent(opt.hiddensize, glimpse, nn.Linear(opt.hiddensize, opt.hiddensize),
                       transfer(), 99999)
    locator = (nn.Sequential().add(nn.Linear(opt.hiddensize, 2))
               .add(nn.HardTanh())  # the mean in [-1, 1]
               .add(nn.ReinforceNormal(2 * opt.locatorstd, opt.stochastic))
               .add(nn.HardTanh())  # the sample in [-1, 1]
               .add(nn.MulConstant(opt.unitpixels * 2 / imagesize)))
    agent = (nn.Sequential().add(nn.Convert())
             .add(nn.RecurrentAttention(rnn, locator, opt.rho, [opt.hiddensize]))
             .add(nn.SelectTable(-1)).add(nn.Linear(opt.hiddensize, nclasses))
             .add(nn.LogSoftMax()))
    baseline = nn.Sequential().add(nn.Constant(1, 1)).add(nn.Add(1))
    agent.add(nn.ConcatTable().add(nn.Identity())
              .add(nn.ConcatTable().add(nn.Identity()).add(baseline)))
    if opt.uniform > 0:
        for param in agent.parameters()[0]:
            param.uniform(-opt.uniform, opt.uniform)
    return agent


def criterion_for(agent, opt):
    """ClassNLL on the log-probabilities (backprop) plus VRClassReward (REINFORCE)."""
    return (nn.ParallelCriterion(True)
            .add(nn.ModuleCriterion(nn.ClassNLLCriterion(), None, nn.Convert()))
            .add(nn.ModuleCriterion(nn.VRClassReward(agent, opt.rewardscale), None,
                                    nn.Convert())))


def classifier(agent):
    """The agent's log-probabilities alone: what `minitorch7 evaluate` reads."""
    return nn.Sequential().add(agent).add(nn.SelectTable(0))


def train_epoch(agent, criterion, trainset, opt, epoch):
    """One shuffled pass (dp's ShuffleSampler); returns (mean NLL, mean reward, training
    accuracy, examples per second)."""
    agent.training()
    order = generator().permutation(trainset.size())[:opt.epochsize]
    confusion = ConfusionMatrix(10)
    nll = reward = 0.0
    batches, begin = 0, time.perf_counter()
    bar = experiment.progress(len(order), f"epoch {epoch}", opt.progress)
    for start in range(0, len(order), opt.batchsize):
        inputs, targets = trainset.index(order[start:start + opt.batchsize])
        outputs = agent.forward(inputs)
        loss = criterion.forward(outputs, targets)
        experiment.check_loss(loss, epoch, batches + 1, "a smaller --learningrate")
        agent.zeroGradParameters()
        agent.backward(inputs, criterion.backward(outputs, targets))
        if opt.cutoff > 0:
            agent.gradParamClip(opt.cutoff)
        agent.updateGradParameters(opt.momentum)
        agent.updateParameters(opt.lr)
        agent.maxParamNorm(opt.maxnormout)
        confusion.batchAdd(outputs[0], targets)
        nll += criterion.criterions[0].output
        reward -= criterion.criterions[1].output
        batches += 1
        bar.update(len(targets))
        bar.set_postfix(nll=f"{nll / batches:.4f}")
    bar.close()
    confusion.updateValids()
    speed = len(order) / (time.perf_counter() - begin)
    return nll / max(batches, 1), reward / max(batches, 1), confusion.totalValid, speed


def accuracy(model, dataset):
    """Accuracy of ``model`` (log-probabilities) on ``dataset``, in evaluation mode."""
    return experiment.evaluate_classifier(
        model, dataset, argparse.Namespace(batchsize=EVAL_BATCH, cuda=False)).totalValid


def main(argv=None):
    opt = options(argv)
    paths = experiment.start(opt)  # with --resume, opt takes the checkpoint's options
    best_path = paths[0]
    trainset, validset, testset = dataload.loadMNIST(opt.datapath)
    opt.epochsize = trainset.size() if opt.epochsize < 0 else opt.epochsize
    loaders = {"train": trainset, "valid": validset}
    state, checkpoints = checkpoint.begin("ram", opt, paths, loaders, best_accuracy=0.0,
                                          lr=opt.learningrate)
    if state["model"] is None:
        state["model"] = build(opt)
    agent = state["model"]
    criterion = criterion_for(agent, opt)
    print(agent)
    first = epoch = state["epoch"] + 1
    with experiment.saving_on_interrupt(checkpoints, lambda: epoch):
        for epoch in range(first, opt.maxepoch + 1):
            if state["epoch"] - state["best_epoch"] > opt.earlystop:
                print(f"No new maxima for {opt.earlystop} epochs: early stopping")
                break
            opt.lr = state["lr"]
            nll, reward, train_accuracy, speed = train_epoch(agent, criterion, trainset,
                                                             opt, epoch)
            experiment.check_parameters(agent, epoch)
            valid_accuracy = accuracy(classifier(agent), validset)
            with checkpoint.deferred_interrupt():  # an epoch whose line is printed gets saved
                print(f"Epoch {epoch} : learning rate = {opt.lr:g}, mean nll = {nll:.6f}, "
                      f"mean reward = {reward:.4f}, training accuracy = {train_accuracy:.6f}, "
                      f"validation accuracy = {valid_accuracy:.6f}, speed = {speed:.0f} "
                      f"examples/s", flush=True)
                state["log"].append({"epoch": epoch, "lr": opt.lr, "nll": nll,
                                     "reward": reward, "train_accuracy": train_accuracy,
                                     "valid_accuracy": valid_accuracy, "speed": speed})
                state["lr"] = max(opt.minlr, state["lr"] + (opt.minlr - opt.learningrate)
                                  / opt.saturate)
                best = None
                if state["best_epoch"] == 0 or valid_accuracy > state["best_accuracy"]:
                    state.update(best_accuracy=valid_accuracy, best_epoch=epoch,
                                 best_path=str(best_path))
                    best = (best_path, {"kind": "classifier", "opt": dict(vars(opt)),
                                        "epoch": epoch, "valid_accuracy": valid_accuracy,
                                        "model": nn.Serial(classifier(agent)).mediumSerial()})
                checkpoint.end_of_epoch(state, epoch, loaders)
                checkpoints.save(state, best)  # the best model first, then the checkpoint
                if best is not None:
                    print(f"New maxima : {valid_accuracy:f} @ {epoch}", flush=True)
    if not experiment.trained_any(state, opt, first):
        return None
    test_accuracy = accuracy(load(state["best_path"])["model"], testset)
    print(f"Best validation accuracy {state['best_accuracy']:f} at epoch "
          f"{state['best_epoch']}; model saved to {state['best_path']}; its test accuracy="
          f"{test_accuracy:f} (test error {100 * (1 - test_accuracy):.2f}%)")
    return state["best_accuracy"]


if __name__ == "__main__":
    main()
