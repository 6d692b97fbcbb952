"""Exercise 2 (solution): train a multi-layer perceptron on MNIST.

The lab's train-mlp.lua: options from the command line, Dropout between hidden layers,
the number of hidden layers as a hyper-parameter, early stopping on the validation set.

    minitorch7 lab mlp --hiddensize 200 --nlayer 2 --dropout
"""

from minitorch7 import cmdline, experiment, nn


def options(argv=None):
    parser = experiment.base_parser("Train a multi-layer perceptron on MNIST", "mlp")
    parser.add_argument("--hiddensize", default="200", type=cmdline.int_list(),
                        help="units per hidden layer: one number, or one per layer '800,800'")
    parser.add_argument("--nlayer", type=cmdline.positive_int, default=2,
                        help="number of hidden layers (with one --hiddensize)")
    experiment.add_classifier_options(parser)
    opt = parser.parse_args(argv)
    sizes = experiment.parse_list(opt.hiddensize)
    if len(sizes) > 1 and "nlayer" in (opt.given or ()) and opt.nlayer != len(sizes):
        parser.error(f"argument --nlayer: {opt.nlayer} layers, but --hiddensize "
                     f"{opt.hiddensize} gives {len(sizes)}: give one of them")
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
    return experiment.train_on_mnist(options(argv), build)


if __name__ == "__main__":
    main()
