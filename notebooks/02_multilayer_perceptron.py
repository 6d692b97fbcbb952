# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 2: a multi-layer perceptron on MNIST
#
# The lab's solution (`minitorch7/lab/train_mlp.py`) trains and saves the best model and a
# checkpoint whose `log` holds each epoch; we plot that learning curve, look at test digits
# with the model's predictions, and draw the confusion matrix on the test set.
#
# The parameters below run in seconds on the tiny samples shipped with minitorch7
# (`datapath = "fixtures"`); set `datapath = None` (MNIST, downloaded and cached once) and
# `maxepoch = 100` for the lab's real run.

# %% tags=["parameters"]
datapath = "fixtures"  # None: the real MNIST
maxepoch = 3
hiddensize = "32"  # the lab: "200"
batchsize = 5  # the lab: 32
savepath = "save"  # the model and its checkpoint
out = "."  # where the PNGs go

# %%
# ruff: noqa: E402 (a notebook imports after its parameter cell)
from pathlib import Path

import minitorch7 as torch
from minitorch7 import dataload, experiment, image, plot
from minitorch7.lab import train_mlp

argv = ["--maxepoch", str(maxepoch), "--hiddensize", hiddensize, "--batchsize", str(batchsize),
        "--savepath", savepath, "--no-progress"]
best = train_mlp.main(argv + (["--datapath", datapath] if datapath else []))

# %% [markdown]
# ## The learning curve
#
# Blue: the mean training loss per epoch; orange: the validation accuracy (each on its
# own scale).

# %%
log = torch.load(Path(savepath) / "mlp.checkpoint.t7")["log"]
curve = plot.curves(Path(out) / "mlp-curve.png",
                    {"loss": [row["loss"] for row in log],
                     "validation accuracy": [row["valid_accuracy"] for row in log]})
plot.show(curve)

# %% [markdown]
# ## Test digits and what the best model says

# %%
model = torch.load(Path(savepath) / "mlp.t7")["model"]
model.evaluate()
_, _, testset = dataload.loadMNIST(datapath)
inputs, targets = testset.sub(0, min(16, testset.size()))
with torch.no_grad():
    predictions = model.forward(inputs).max(1)[1]
print("labels:     ", [int(t) for t in targets.view(-1).tolist()])
print("predictions:", [int(p) for p in predictions.view(-1).tolist()])
plot.show(image.save(Path(out) / "mlp-digits.png", image.grid(inputs, nrow=8)))

# %% [markdown]
# ## The confusion matrix on the test set
#
# Row t, column p counts the test digits t classified as p (log scale: darker is more).

# %%
confusion = experiment.evaluate_classifier(model, testset, train_mlp.options(argv))
print(confusion)
plot.show(plot.matrix(Path(out) / "mlp-confusion.png", confusion.mat))
