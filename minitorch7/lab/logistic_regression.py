"""Exercise 1 (solution): logistic regression with stochastic gradient descent.

A binary classifier of 2-D points (is x1 + x2 > 0?): Linear(2, 1) + Sigmoid trained with
BCECriterion, one random sample at a time, dpnn momentum 0.9 and learning rate 0.1, for
100 epochs, printing each epoch's mean loss. ``--nll`` is the bonus: Linear(2, 2) +
LogSoftMax with ClassNLLCriterion.

    minitorch7 lab logreg
"""

import minitorch7 as torch
from minitorch7 import cmdline, nn
from minitorch7.random import generator


def options(argv=None):
    parser = cmdline.Parser(description="Logistic regression on random 2-D points")
    parser.add_argument("--nsample", type=cmdline.positive_int, default=100,
                        help="number of random points")
    parser.add_argument("--maxepoch", type=cmdline.positive_int, default=100,
                        help="epochs to train")
    parser.add_argument("--learningrate", type=cmdline.positive_float, default=0.1,
                        help="learning rate of SGD")
    parser.add_argument("--momentum", type=cmdline.fraction, default=0.9,
                        help="momentum (dpnn's updateGradParameters), in [0, 1)")
    parser.add_argument("--nll", action="store_true",
                        help="bonus: LogSoftMax + ClassNLLCriterion instead of Sigmoid + BCE")
    parser.add_argument("--seed", type=cmdline.count, default=0,
                        help="random seed (reproducible runs)")
    parser.add_argument("--quick", action="store_true", help="accepted for symmetry: it is quick")
    return parser.parse_args(argv)


def build(opt):
    """The module, the criterion, and how to turn a 0/1 label into the criterion's target."""
    module = nn.Sequential()
    if opt.nll:
        module.add(nn.Linear(2, 2)).add(nn.LogSoftMax())
        return module, nn.ClassNLLCriterion(), lambda label: label.long()
    module.add(nn.Linear(2, 1)).add(nn.Sigmoid())
    return module, nn.BCECriterion(), lambda label: label


def train_epoch(module, criterion, inputs, targets, opt):
    """One epoch of SGD, one randomly drawn sample at a time; returns the mean loss."""
    total = 0.0
    for _ in range(len(inputs)):
        idx = int(generator().integers(len(inputs)))
        input, target = inputs[idx], targets.narrow(0, idx, 1)
        # forward
        output = module.forward(input)
        total += criterion.forward(output, target)
        # backward
        gradOutput = criterion.backward(output, target)
        module.zeroGradParameters()
        module.backward(input, gradOutput)
        # update
        module.updateGradParameters(opt.momentum)  # momentum (dpnn)
        module.updateParameters(opt.learningrate)  # W = W - lr * dL/dW
    return total / len(inputs)


def main(argv=None):
    opt = options(argv)
    torch.manualSeed(opt.seed)
    inputs = torch.Tensor(opt.nsample, 2).uniform(-1, 1)
    labels = (inputs.sum(1) > 0).float()
    module, criterion, as_target = build(opt)
    targets = as_target(labels)
    print(module)
    for epoch in range(1, opt.maxepoch + 1):
        loss = train_epoch(module, criterion, inputs, targets, opt)
        print(f"Epoch {epoch} : mean loss = {loss:f}")
    return loss


if __name__ == "__main__":
    main()
