"""Exercise 2 bonus (solution): evaluate a saved MNIST classifier on the test set.

Works for the MLP and the CNN (the lab evaluates both with evaluate-mlp.lua):

    minitorch7 evaluate ~/save/mlp.t7
"""

from pathlib import Path

from minitorch7 import cmdline, dataload, experiment

WHAT = "a classifier saved by minitorch7 lab mlp or cnn"


def make_parser():
    parser = cmdline.Parser(description="Evaluate a saved classifier on MNIST's test set")
    parser.add_argument("--modelpath", default=str(Path.home() / "save" / "mlp.t7"),
                        help=f"{WHAT} (<savepath>/<id>.t7)")
    parser.add_argument("--datapath", default=None, type=cmdline.datapath,
                        help="a folder holding the MNIST files, or 'fixtures' (None: "
                             "$MINITORCH7_DATA, else the cache, else a download)")
    parser.add_argument("--batchsize", type=cmdline.positive_int, default=256,
                        help="test examples per forward pass")
    parser.add_argument("--cuda", action="store_true", help="evaluate on the GPU")
    parser.add_check(cmdline.check_cuda)
    parser.add_check(read_model)
    return parser


def read_model(opt):
    """The saved model, checked, in ``opt.saved`` (UsageError for anything else)."""
    try:
        opt.saved = cmdline.read_model(opt.modelpath, ("classifier",), WHAT)
    except cmdline.UsageError as error:
        raise cmdline.UsageError(f"argument --modelpath: {error}") from None


def options(argv=None):
    return make_parser().parse_args(argv)


def main(argv=None):
    opt = options(argv)
    model = opt.saved["model"]
    if opt.cuda:
        model.cuda()
    _, _, testset = dataload.loadMNIST(opt.datapath)
    confusion = experiment.evaluate_classifier(model, testset, opt)
    print(confusion)
    print(f"Test accuracy={confusion.totalValid:f}")
    return confusion.totalValid


if __name__ == "__main__":
    main()
