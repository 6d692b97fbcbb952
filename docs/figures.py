"""The lab's figures: diagrams drawn as SVG by minitorch7's own small SVG writer, and
result plots drawn with matplotlib from saved experiments (pip install -e ".[figures]").

    python docs/figures.py                     # the diagrams only (no matplotlib needed)
    python docs/figures.py ~/save/mlp.t7 ~/save/cnn.t7 ~/save/rnnlm.t7 [--diagrams]

The diagrams (docs/figures/*.svg, ``--out`` to change), each drawn from real tensors:

- ``autograd-graph.svg``: the graph behind logistic regression's loss (minitorch7.draw);
- ``logistic-regression-graph.svg``: the graph that nn.Linear + nn.Sigmoid + BCECriterion
  record, each op with its backward;
- ``strides.svg``: a 3x4 tensor's storage and which storage cell each element of its views
  (narrow, select, t, expand) reads;
- ``im2col.svg``: a 4x4 image, its 3x3 windows and the column matrix they become;
- ``rnn-unrolled.svg``: a recurrence unrolled over 4 steps, forward and BPTT arrows.

For each model saved by a lab script it writes PNGs, named after the model file:

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

import numpy as np

import minitorch7
from minitorch7 import dataload, nn
from minitorch7.autograd import no_grad
from minitorch7.draw import Svg, graph_of, layout, render
from minitorch7.experiment import evaluate_classifier

OUT = Path(__file__).resolve().parent / "figures"


def pyplot():
    """matplotlib's pyplot drawing into files only (no window); imported on first use so
    that the diagrams need no matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curves(log, title):
    """One figure from a checkpoint's per-epoch log (a list of dicts with an "epoch")."""
    epochs = [row["epoch"] for row in log]
    fig, ax = pyplot().subplots(figsize=(6, 4))
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
    fig, axes = pyplot().subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, kernel in zip(axes.ravel(), weight):
        ax.imshow(kernel, cmap="gray", interpolation="nearest")
    fig.suptitle(title)
    return fig


def confusion_figure(confusion, title):
    """A ConfusionMatrix as an image: counts per (true class, predicted class)."""
    mat = confusion.mat
    fig, ax = pyplot().subplots(figsize=(5.5, 5))
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
    fig, axes = pyplot().subplots(rows, cols, figsize=(1.2 * cols, 1.4 * rows), squeeze=False)
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
        pyplot().close(fig)

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


# ---------------------------------------------------------------- diagrams (SVG, no matplotlib)
PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"]
LIGHT = ["#dae3f1", "#f8e0cf", "#d9eedd", "#f1d5d6", "#e2def0"]


def autograd_graph_svg():
    """The graph of logistic regression's loss on a batch of 4 points: y = sigmoid(x w + b),
    loss = -mean(t log y + (1 - t) log(1 - y)). y feeds two branches, so its gradient is
    the sum of two contributions."""
    x = minitorch7.randn(4, 2, dtype="float64")
    t = minitorch7.tensor([[1.0], [0.0], [0.0], [1.0]])
    w = minitorch7.randn(2, 1, dtype="float64", requires_grad=True)
    b = minitorch7.zeros(1, dtype="float64", requires_grad=True)
    y = (x @ w + b).sigmoid()
    not_t = 1 - t  # a constant: t needs no gradient
    loss = -(t * y.log() + not_t * (1 - y).log()).mean()
    return minitorch7.draw(loss, names={"x": x, "w": w, "b": b, "t": t, "1 - t": not_t,
                                        "loss": loss})


def logistic_regression_graph_svg():
    """The graph that nn.Sequential(Linear(2, 1), Sigmoid) and BCECriterion record for a
    batch of 4 points, each op annotated with its backward."""
    linear = nn.Linear(2, 1)
    model = nn.Sequential().add(linear).add(nn.Sigmoid())
    target = minitorch7.tensor([[1.0], [0.0], [0.0], [1.0]])
    loss = nn.BCECriterion().updateOutput(model.forward(minitorch7.randn(4, 2)), target)
    nodes, edges = graph_of(loss, names={"input x": model._graph_input, "weight W":
                                         linear.weight, "bias b": linear.bias, "loss": loss})
    layout(nodes, edges)
    svg = render(nodes, edges)
    backward = {"Linear": "y = x W^T + b\ndx = dy W,  dW = dy^T x,  db = sum of dy's rows",
                "Sigmoid": "s = sigmoid(a)\nda = ds * s (1 - s)",
                "BCELoss": "L = -sum[t log(s) + (1-t) log(1-s)] / N\n"
                           "ds = -(t / s - (1-t) / (1-s)) / N   (t: the target)"}
    for n in nodes:
        if n["kind"] == "op":
            svg.text(n["x"] + n["w"] / 2 + 14, n["y"], backward[n["label"]], anchor="start",
                     size=11, fill="#c44e52")
    return svg.to_string(title="logistic regression: the graph and each backward")


def _offset(view, base):
    """Where element 0 of ``view`` is in ``base``'s storage, in elements."""
    address = view.numpy().__array_interface__["data"][0]
    return (address - base.numpy().__array_interface__["data"][0]) // base.numpy().itemsize


def strides_svg():
    """A 3x4 tensor holding 0..11 (so each value is its storage index) and four views of
    it: for each, the storage index every element reads (offset + i*stride[0] + ...) and
    the storage cells read. The numbers come from the real tensors' stride() and memory."""
    x = minitorch7.range(0, 11).view(3, 4)
    views = [("x", x), ("x.narrow(1, 1, 2)", x.narrow(1, 1, 2)),
             ("x.select(1, 2)", x.select(1, 2)), ("x.t()", x.t()),
             ("x.narrow(0, 0, 1).expand(3, 4)", x.narrow(0, 0, 1).expand(3, 4))]
    svg, cell, strip_x, y = Svg(), 28, 200, 0
    svg.text(0, y, "element (i, j) reads storage[offset + i*stride[0] + j*stride[1]]",
             size=14, anchor="start", font_weight="bold")
    y += 34
    for k, (name, v) in enumerate(views):
        offset, stride = _offset(v, x), v.stride()
        rows, cols = (v.size() + (1,))[:2] if v.dim() == 1 else v.size()
        reads = {}
        svg.text(0, y, f"{name}: size {'x'.join(map(str, v.size()))}, stride {stride}, "
                       f"offset {offset}", anchor="start", size=13)
        top = y + 16
        for index in np.ndindex(*v.size()):
            where = offset + sum(i * s for i, s in zip(index, stride))
            assert where == v[index].item()  # the arithmetic is what the tensor does
            reads.setdefault(where, []).append(index)
            i, j = (index[0], 0) if v.dim() == 1 else index
            svg.rect(j * cell, top + i * cell, cell, cell, fill=LIGHT[k], stroke=PALETTE[k])
            svg.text(j * cell + cell / 2, top + i * cell + cell / 2, where)
        for s in range(12):
            sx = strip_x + s * cell
            read = reads.get(s)
            svg.rect(sx, top, cell, cell, fill=LIGHT[k] if read else "white",
                     stroke=PALETTE[k] if read else "#999999")
            svg.text(sx + cell / 2, top + cell / 2, s, fill="black" if read else "#999999")
            if read:
                label = ",".join(map(str, read[0])) if len(read) == 1 else f"x{len(read)}"
                svg.text(sx + cell / 2, top + cell + 9, label, size=9, fill=PALETTE[k])
        svg.text(strip_x - 8, top + cell / 2, "storage", anchor="end", size=10, fill="#666666")
        y = top + max(rows * cell, cell + 14) + 30
        del cols
    return svg.to_string(title="strides: views of one storage")


def im2col_svg():
    """im2col for one 4x4 image (one channel) and a 3x3 kernel, stride 1, no padding: the
    four windows become the four columns of a 9x4 matrix, and the convolution is one
    matrix product weight (nOut x 9) @ columns (9 x 4)."""
    letters = np.array(list("abcdefghijklmnop")).reshape(4, 4)
    k, out = 3, 2
    windows = [(i, j) for i in range(out) for j in range(out)]
    columns = np.stack([letters[i:i + k, j:j + k].ravel() for i, j in windows], axis=1)
    svg, cell = Svg(), 28
    svg.text(0, -14, "image x (1 x 4 x 4)", anchor="start", size=13)
    for (r, c), letter in np.ndenumerate(letters):
        svg.rect(c * cell, r * cell, cell, cell)
        svg.text(c * cell + cell / 2, r * cell + cell / 2, letter)
    for n, (i, j) in enumerate(windows[:1] + windows[-1:]):  # two windows outlined
        colour = PALETTE[0 if n == 0 else 3]
        svg.rect(j * cell + 2, i * cell + 2, k * cell - 4, k * cell - 4, fill="none",
                 stroke=colour, stroke_width=2.5)
    small, wx, gap = 18, 160, 16
    svg.text(wx, -14, "its 3x3 windows (stride 1)", anchor="start", size=13)
    for n, (i, j) in enumerate(windows):
        ox, oy = wx + j * (k * small + gap), i * (k * small + gap)
        for (u, v), letter in np.ndenumerate(letters[i:i + k, j:j + k]):
            svg.rect(ox + v * small, oy + u * small, small, small, fill=LIGHT[n],
                     stroke=PALETTE[n])
            svg.text(ox + v * small + small / 2, oy + u * small + small / 2, letter, size=10)
        svg.text(ox + k * small / 2, oy + k * small + 9, f"window ({i},{j})", size=9,
                 fill=PALETTE[n])
    mx, my = 400, 0
    svg.text(wx + 2 * k * small + gap + 24, k * small + gap / 2, "->", size=18)
    svg.text(mx, -14, "columns (9 x 4)", anchor="start", size=13)
    for (r, c), letter in np.ndenumerate(columns):
        svg.rect(mx + c * cell, my + r * cell, cell, cell, fill=LIGHT[c], stroke=PALETTE[c])
        svg.text(mx + c * cell + cell / 2, my + r * cell + cell / 2, letter)
    for n, (i, j) in enumerate(windows):
        svg.text(mx + n * cell + cell / 2, my + 9 * cell + 9, f"{i},{j}", size=9,
                 fill=PALETTE[n])
    for r in range(k * k):
        svg.text(mx - 6, my + r * cell + cell / 2, f"u={r // k},v={r % k}", anchor="end",
                 size=9, fill="#666666")
    notes = ["column n = i*Wout + j holds window (i, j); row r = (c*kH + u)*kW + v holds",
             "x[c, i*dH + u, j*dW + v]. The convolution is then one matrix product:",
             "weight.view(nOut, C*kH*kW) @ columns -> nOut x (Hout*Wout) -> nOut x Hout x Wout"]
    for n, note in enumerate(notes):
        svg.text(0, my + 9 * cell + 40 + 17 * n, note, anchor="start", size=12)
    return svg.to_string(title="im2col: windows as columns")


def rnn_unrolled_svg(steps=4):
    """A recurrence h[t] = f(x[t], h[t-1]) unrolled over ``steps`` steps, with one loss per
    step summed (SequencerCriterion): forward arrows in black, backward (BPTT) in red."""
    svg, dx = Svg(), 150
    red = "#c44e52"
    y_x, y_h, y_l, y_sum = 300, 190, 80, 0
    w, h = 90, 40
    svg.rect(-w / 2, y_h - h / 2, w, h, fill="#eeeeee", stroke="#888888", cls="state")
    svg.text(0, y_h, "h[0] = 0\n(or last batch's,\ndetached)", size=10)
    for t in range(1, steps + 1):
        cx = t * dx
        svg.ellipse(cx, y_x, 34, 18, fill="#fdf1d6", cls="input")
        svg.text(cx, y_x, f"x[{t}]")
        svg.rect(cx - w / 2, y_h - h / 2, w, h, fill="#dbe8f7", rx=4, cls="step")
        svg.text(cx, y_h, f"f(x[{t}], h[{t - 1}])\nshared W", size=11)
        svg.rect(cx - 40, y_l - 17, 80, 34, fill="#e3f2df", rx=4, cls="loss")
        svg.text(cx, y_l, f"L[{t}]\n(y[{t}], target)", size=10)
        # forward
        svg.line(cx, y_x - 18, cx, y_h + h / 2, arrow=True, cls="forward")
        svg.line(cx - 12, y_h - h / 2, cx - 12, y_l + 17, arrow=True, cls="forward")
        svg.text(cx - 16, (y_h + y_l) / 2, f"h[{t}]", anchor="end", size=10)
        svg.line(cx - dx + w / 2, y_h - 6, cx - w / 2, y_h - 6, arrow=True, cls="forward")
        svg.text(cx - dx / 2, y_h - 16, f"h[{t - 1}]", size=10)
        svg.line(cx, y_l - 17, steps * dx / 2 + dx / 2, y_sum + 17, arrow=True,
                 stroke="#888888", cls="forward")
        # backward
        svg.line(cx + 12, y_l + 17, cx + 12, y_h - h / 2, stroke=red, arrow=True, dashed=True,
                 cls="backward")
        if t > 1:
            svg.line(cx - w / 2, y_h + 8, cx - dx + w / 2, y_h + 8, stroke=red, arrow=True,
                     dashed=True, cls="backward")
            svg.text(cx - dx / 2, y_h + 22, f"dL/dh[{t - 1}]", size=9, fill=red)
    svg.rect(steps * dx / 2 + dx / 2 - 120, y_sum - 17, 240, 34, fill="#e3f2df", rx=4)
    svg.text(steps * dx / 2 + dx / 2, y_sum,
             "L = " + " + ".join(f"L[{t}]" for t in range(1, steps + 1)))
    legend = y_x + 50
    svg.line(0, legend, 40, legend, arrow=True)
    svg.text(50, legend, "forward: each step reads x[t] and h[t-1] with the same weights",
             anchor="start", size=11)
    svg.line(0, legend + 22, 40, legend + 22, stroke=red, arrow=True, dashed=True)
    svg.text(50, legend + 22, "backward (BPTT): dL/dh[t] = dL[t]/dh[t] + dL/dh[t+1] "
                              "dh[t+1]/dh[t], from the last step to the first",
             anchor="start", size=11, fill=red)
    svg.text(50, legend + 44, "each step's weight gradient is added into the one shared "
                              "gradWeight; nothing flows into h[0]",
             anchor="start", size=11, fill=red)
    return svg.to_string(title="an RNN unrolled over time")


DIAGRAMS = {"autograd-graph.svg": autograd_graph_svg,
            "logistic-regression-graph.svg": logistic_regression_graph_svg,
            "strides.svg": strides_svg,
            "im2col.svg": im2col_svg, "rnn-unrolled.svg": rnn_unrolled_svg}


def diagrams(out):
    """Write every diagram into ``out``; returns their paths."""
    written = []
    for name, make in DIAGRAMS.items():
        written.append(out / name)
        written[-1].write_text(make())
        print(f"wrote {written[-1]}")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description="Draw the lab's diagrams, and the figures "
                                                 "of saved models")
    parser.add_argument("models", nargs="*", help="files saved by the lab scripts (*.t7); "
                                                  "none: write the diagrams")
    parser.add_argument("--diagrams", action="store_true",
                        help="also write the diagrams when models are given")
    parser.add_argument("--datapath", default=None,
                        help="the MNIST folder ('fixtures' for the tiny sample)")
    parser.add_argument("--out", default=str(OUT), help="where the files are written")
    opt = parser.parse_args(argv)
    out = Path(opt.out)
    out.mkdir(parents=True, exist_ok=True)
    if opt.diagrams or not opt.models:
        diagrams(out)
    if not opt.models:
        return
    _, _, testset = dataload.loadMNIST(opt.datapath)
    classifiers = [figures_for(path, testset, out) for path in opt.models]
    classifier = next((c for c in classifiers if c is not None), None)
    fig = sample_digits(testset, classifier)
    fig.savefig(out / "digits.png", dpi=120)
    pyplot().close(fig)
    print(f"wrote {out / 'digits.png'}")


if __name__ == "__main__":
    main()
