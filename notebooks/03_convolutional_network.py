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
# # Exercise 3: a convolutional network on MNIST
#
# The lab's solution (`minitorch7/lab/convolution_neural_network.py`): conv blocks of
# SpatialConvolution, ReLU and SpatialMaxPooling, then a dense layer. We plot its learning
# curve and look at the filters its first convolution learned, one small picture per
# output channel.
#
# The parameters below run in seconds on the tiny samples shipped with minitorch7; set
# `datapath = None` (the real MNIST), `channelsize = "16,32"`, `hiddensize = "200"`,
# `batchsize = 32` and `maxepoch = 100` for the lab's run (add `--cuda` to `argv` on a GPU).

# %% tags=["parameters"]
datapath = "fixtures"  # None: the real MNIST
maxepoch = 3
channelsize = "4,8"  # output channels per conv layer (the lab: "16,32")
hiddensize = "16"  # the lab: "200"
batchsize = 5  # the lab: 32
savepath = "save"
out = "."  # where the PNGs go

# %%
# ruff: noqa: E402 (a notebook imports after its parameter cell)
from pathlib import Path

import minitorch7 as torch
from minitorch7 import image, nn, plot
from minitorch7.lab import convolution_neural_network as lab

argv = ["--maxepoch", str(maxepoch), "--channelsize", channelsize, "--hiddensize", hiddensize,
        "--batchsize", str(batchsize), "--savepath", savepath, "--no-progress"]
best = lab.main(argv + (["--datapath", datapath] if datapath else []))

# %% [markdown]
# ## The learning curve
#
# Blue: the mean training loss per epoch; orange: the validation accuracy (each on its
# own scale).

# %%
log = torch.load(Path(savepath) / "cnn.checkpoint.t7")["log"]
for row in log:
    print(f"epoch {row['epoch']}: loss {row['loss']:.4f}, "
          f"validation accuracy {row['valid_accuracy']:.4f}")
curve = plot.curves(Path(out) / "cnn-curve.png",
                    {"loss": [row["loss"] for row in log],
                     "validation accuracy": [row["valid_accuracy"] for row in log]})
plot.show(curve)

# %% [markdown]
# ## The first convolution's filters
#
# Its weight is planes x 1 x k x k: one k x k grey picture per output channel, scaled
# together from the smallest weight (black) to the largest (white), enlarged 8 times.

# %%
model = torch.load(Path(savepath) / "cnn.t7")["model"]
conv = next(m for m in model.modules_depth_first() if isinstance(m, nn.SpatialConvolution))
weight = conv.weight.cpu().numpy()
print(f"first convolution: {conv}, weight {tuple(weight.shape)}")
filters = image.grid(weight.repeat(8, axis=2).repeat(8, axis=3), nrow=8, padding=4)
plot.show(image.save(Path(out) / "cnn-filters.png", filters))
