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
# # Exercise 1: logistic regression
#
# Linear(2, 1) + Sigmoid learns whether x1 + x2 > 0, one random point at a time (the lab's
# solution, `minitorch7/lab/logistic_regression.py`). We plot the mean loss per epoch and
# the decision the model learned over the square [-1, 1]².
#
# Run it as a script (`python notebooks/01_logistic_regression.py`) or open it in Jupyter
# (`pip install jupytext`, then open the file as a notebook).

# %% tags=["parameters"]
nsample = 100  # random 2-D points
maxepoch = 20  # the lab trains 100 epochs
out = "."  # where the PNGs go

# %%
# ruff: noqa: E402 (a notebook imports after its parameter cell)
from pathlib import Path

import numpy as np

import minitorch7 as torch
from minitorch7 import image, plot
from minitorch7.lab import logistic_regression as lab

opt = lab.options(["--nsample", str(nsample), "--maxepoch", str(maxepoch)])
torch.manualSeed(opt.seed)
inputs = torch.Tensor(opt.nsample, 2).uniform(-1, 1)
labels = (inputs.sum(1) > 0).float()
module, criterion, as_target = lab.build(opt)
targets = as_target(labels)
print(module)

# %% [markdown]
# ## Training: the learning curve

# %%
losses = []
for epoch in range(1, opt.maxepoch + 1):
    losses.append(lab.train_epoch(module, criterion, inputs, targets, opt))
    print(f"Epoch {epoch} : mean loss = {losses[-1]:f}")
curve = plot.curves(Path(out) / "logreg-curve.png", {"training loss": losses})
plot.show(curve)

# %% [markdown]
# ## What the model learned
#
# The probability of class 1 over a 64 x 64 grid of points: dark is 0, white is 1; the
# diagonal x1 + x2 = 0 is the true boundary.

# %%
side = np.linspace(-1, 1, 64)
x1, x2 = np.meshgrid(side, -side)  # rows go down the page: x2 from 1 to -1
grid_points = torch.from_numpy(np.stack([x1.ravel(), x2.ravel()], 1).astype(np.float32))
with torch.no_grad():
    probability = module.forward(grid_points).view(64, 64)
accuracy = ((module.forward(inputs).view(-1) > 0.5).float() == labels).float().mean().item()
print(f"training accuracy = {accuracy:.3f}")
plot.show(image.save(Path(out) / "logreg-decision.png", probability))
