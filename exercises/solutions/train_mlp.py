"""Exercise 2 (solution): train a multi-layer perceptron on MNIST.

The lab's train-mlp.lua: options from the command line, Dropout between hidden layers,
the number of hidden layers as a hyper-parameter, early stopping on the validation set.

    minitorch7 lab mlp --hiddensize 200 --nlayer 2 --dropout
"""

from minitorch7 import dataload, experiment, nn


def options(argv=None):
    parser = experiment.base_parser("Train a multi-layer perceptron on MNIST", "mlp")
    parser.add_argument("--hiddensize", default="200",
                        help="units per hidden layer: one number, or one per layer '800,800'")
    parser.add_argument("--nlayer", type=int, default=2, help="number of hidden layers")
    parser.add_argument("--dropout", action="store_true", help="Dropout after hidden layers")
    parser.add_argument("--dropoutprob", type=float, default=0.5)
    parser.add_argument("--batchsize", type=int, default=32)
    parser.add_argument("--learningrate", type=float, default=0.1)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--maxnormout", type=float, default=-1,
                        help="max norm of each layer's output weights (-1: off)")
    parser.add_argument("--maxepoch", type=int, default=100)
    parser.add_argument("--earlystop", type=int, default=30,
                        help="stop after this many epochs without a new validation maximum")
    parser.add_argument("--epochsize", type=int, default=-1,
                        help="examples per epoch (-1: the whole training set)")
    opt = parser.parse_args(argv)
    if opt.quick:
        opt.maxepoch = min(opt.maxepoch, 3)
    return opt


def build(opt):
    sizes = experiment.parse_list(opt.hiddensize)
    sizes = sizes * opt.nlayer if len(sizes) == 1 else sizes
    model = nn.Sequential()
    model.add(nn.Convert())
    model.add(nn.Collapse(3))  # 1 x 28 x 28 images -> 784 features
    insize = 1 * 28 * 28
    for size in sizes:
        model.add(nn.Linear(insize, size))
        model.add(nn.Tanh())
        if opt.dropout:
            model.add(nn.Dropout(opt.dropoutprob))
        insize = size
    model.add(nn.Linear(insize, 10))
    model.add(nn.LogSoftMax())
    return model


def main(argv=None):
    opt = options(argv)
    paths = experiment.start(opt)
    trainset, validset, _ = dataload.loadMNIST(opt.datapath)
    opt.epochsize = trainset.size() if opt.epochsize < 0 else opt.epochsize
    model = build(opt)
    if opt.cuda:
        model.cuda()
    print(model)
    return experiment.fit_classifier(model, opt, trainset, validset, paths)


if __name__ == "__main__":
    main()
