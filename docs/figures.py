"""The lab's figures, drawn with matplotlib from saved experiments (pip install -e ".[figures]").

    python docs/figures.py ~/save/mlp.t7 ~/save/cnn.t7 ~/save/rnnlm.t7

For each model saved by a lab script it writes PNGs into docs/figures/ (``--out``), named
after the model file:

- ``<name>-curves.png``: the learning curves, from the ``log`` of ``<name>.checkpoint.t7``
  (training loss and validation accuracy per epoch, or training and validation perplexity);
- ``<name>-confusion.png``: a classifier's confusion matrix on the MNIST test set
  (rows: true digit, columns: predicted digit);
- ``<name>-filters.png``: the filters a CNN learned in its first convolution, one small
  image per output channel;
- ``digits.png``: MNIST test digits with their label and, for the first classifier given,
  its prediction.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minitorch7  # noqa: E402
from minitorch7 import dataload, nn  # noqa: E402
from minitorch7.autograd import no_grad  # noqa: E402
from minitorch7.experiment import evaluate_classifier  # noqa: E402

OUT = Path(__file__).resolve().parent / "figures"


def learning_curves(log, title):
    """One figure from a checkpoint's per-epoch log (a list of dicts with an "epoch")."""
    epochs = [row["epoch"] for row in log]
    fig, ax = plt.subplots(figsize=(6, 4))
    if "valid_ppl" in log[0]:  # a language model
        ax.plot(epochs, [row["train_ppl"] for row in log], "o-", label="training")
        ax.plot(epochs, [row["valid_ppl"] for row in log], "s-", label="validation")
        ax.set_yscale("log")
        ax.set_ylabel("perplexity")
        ax.legend()
    else:  # a classifier: the loss and, on a second axis, the validation accuracy
        ax.plot(epochs, [row["loss"] for row in log], "o-", color="C0")
        ax.set_ylabel("training loss (NLL)", color="C0")
        accuracy = ax.twinx()
        accuracy.plot(epochs, [row["valid_accuracy"] for row in log], "s-", color="C1")
        accuracy.set_ylabel("validation accuracy", color="C1")
    ax.set_xlabel("epoch")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def first_convolution(model):
    """The first nn.SpatialConvolution met in a depth-first walk, or None."""
    return next((m for m in model.modules_depth_first()
                 if isinstance(m, nn.SpatialConvolution)), None)


def conv_filters(conv, title):
    """The filters of a convolution (weight: nOutputPlane x nInputPlane x kH x kW), each
    averaged over its input planes and shown with its own grey scale."""
    weight = conv.weight.cpu().numpy().mean(axis=1)
    cols = int(np.ceil(np.sqrt(len(weight))))
    rows = int(np.ceil(len(weight) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, kernel in zip(axes.ravel(), weight):
        ax.imshow(kernel, cmap="gray", interpolation="nearest")
    fig.suptitle(title)
    return fig


def confusion_figure(confusion, title):
    """A ConfusionMatrix as an image: counts per (true class, predicted class)."""
    mat = confusion.mat
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(np.log1p(mat), cmap="Blues")  # log scale: the few errors stay visible
    for (t, p), count in np.ndenumerate(mat):
        if count:
            ax.text(p, t, str(count), ha="center", va="center", fontsize=7,
                    color="white" if count > mat.max() / 2 else "black")
    ax.set_xticks(range(len(mat)), confusion.classes)
    ax.set_yticks(range(len(mat)), confusion.classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: test accuracy {confusion.totalValid:.4f}")
    fig.tight_layout()
    return fig


def sample_digits(testset, model=None, n=32):
    """The first n test digits titled with their label (and ``model``'s prediction)."""
    inputs, targets = testset.sub(0, min(n, testset.size()))
    predictions = None
    if model is not None:
        model.evaluate()
        with no_grad():
            predictions = model.forward(inputs).cpu().numpy().argmax(axis=1)
    images, labels = inputs.numpy()[:, 0], targets.numpy()
    cols = 8
    rows = int(np.ceil(len(images) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes.ravel(), images)):
        ax.imshow(image, cmap="gray_r")
        wrong = predictions is not None and predictions[i] != labels[i]
        ax.set_title(f"{labels[i]}" + ("" if predictions is None else f" -> {predictions[i]}"),
                     fontsize=9, color="red" if wrong else "black")
    fig.tight_layout()
    return fig


def figures_for(path, testset, out):
    """Write the figures of one saved model; returns the classifier (or None)."""
    path = Path(path)
    saved = minitorch7.load(path)
    name = path.name.removesuffix(".t7")
    written = []

    def write(fig, what):
        written.append(out / f"{name}-{what}.png")
        fig.savefig(written[-1], dpi=120)
        plt.close(fig)

    checkpoint = path.with_name(f"{name}.checkpoint.t7")
    if checkpoint.exists() and minitorch7.load(checkpoint).get("log"):
        write(learning_curves(minitorch7.load(checkpoint)["log"], name), "curves")
    classifier = saved["model"] if saved.get("kind", "classifier") == "classifier" else None
    if classifier is not None:
        confusion = evaluate_classifier(classifier, testset, argparse.Namespace(
            batchsize=256, cuda=False))
        write(confusion_figure(confusion, name), "confusion")
        conv = first_convolution(classifier)
        if conv is not None:
            write(conv_filters(conv, f"{name}: first-layer filters"), "filters")
    for file in written:
        print(f"wrote {file}")
    return classifier


def main(argv=None):
    parser = argparse.ArgumentParser(description="Draw the lab's figures from saved models")
    parser.add_argument("models", nargs="+", help="files saved by the lab scripts (*.t7)")
    parser.add_argument("--datapath", default=None,
                        help="the MNIST folder ('fixtures' for the tiny sample)")
    parser.add_argument("--out", default=str(OUT), help="where the PNGs are written")
    opt = parser.parse_args(argv)
    out = Path(opt.out)
    out.mkdir(parents=True, exist_ok=True)
    _, _, testset = dataload.loadMNIST(opt.datapath)
    classifiers = [figures_for(path, testset, out) for path in opt.models]
    classifier = next((c for c in classifiers if c is not None), None)
    fig = sample_digits(testset, classifier)
    fig.savefig(out / "digits.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / 'digits.png'}")


if __name__ == "__main__":
    main()
