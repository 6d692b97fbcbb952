"""Exercise 2 bonus (solution): evaluate a saved MNIST classifier on the test set.

Works for the MLP and the CNN (the lab evaluates both with evaluate-mlp.lua):

    minitorch7 evaluate ~/save/mlp.t7
"""

import argparse
from pathlib import Path

import minitorch7
from minitorch7 import dataload, experiment


def options(argv=None):
    parser = argparse.ArgumentParser(description="Evaluate a saved classifier on MNIST's test set")
    parser.add_argument("--modelpath", default=str(Path.home() / "save" / "mlp.t7"))
    parser.add_argument("--datapath", default=None)
    parser.add_argument("--batchsize", type=int, default=256)
    parser.add_argument("--cuda", action="store_true")
    return parser.parse_args(argv)


def main(argv=None):
    opt = options(argv)
    saved = minitorch7.load(opt.modelpath)
    model = saved["model"]
    if opt.cuda:
        model.cuda()
    _, _, testset = dataload.loadMNIST(opt.datapath)
    confusion = experiment.evaluate_classifier(model, testset, opt)
    print(confusion)
    print(f"Test accuracy={confusion.totalValid:f}")
    return confusion.totalValid


if __name__ == "__main__":
    main()
