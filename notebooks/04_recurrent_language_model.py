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
# # Exercise 4: a recurrent language model on Penn Treebank
#
# The lab's solution (`minitorch7/lab/train_rnnlm.py`): LookupTable, a Sequencer of LSTM
# layers and a LogSoftMax over the vocabulary, trained by truncated BPTT. We plot the
# training and validation perplexity per epoch, then sample text from the best model.
#
# The parameters below run in seconds on the tiny sample of Penn Treebank shipped with
# minitorch7; for the lab's run set `datapath = None`, `hiddensize = "200,200"`,
# `batchsize = 20`, `seqlen = 20`, `startlr = 1`, `maxepoch = 13` and add the lab's
# `--cutoff 5 --schedule ...` to `argv` (see the script's docstring).

# %% tags=["parameters"]
datapath = "fixtures"  # None: the real Penn Treebank
maxepoch = 4
hiddensize = "16"  # one size per LSTM layer (the lab: "200,200")
batchsize = 4  # the lab: 20
seqlen = 5  # the lab: 20
startlr = 0.5  # the lab: 1
nsample = 30  # words to generate
savepath = "save"
out = "."  # where the PNG and the sampled text go

# %%
# ruff: noqa: E402 (a notebook imports after its parameter cell)
import textwrap
from pathlib import Path

import minitorch7 as torch
from minitorch7 import plot
from minitorch7.lab import train_rnnlm
from minitorch7.text import generate

argv = ["--lstm", "--maxepoch", str(maxepoch), "--hiddensize", hiddensize, "--batchsize",
        str(batchsize), "--seqlen", str(seqlen), "--startlr", str(startlr),
        "--savepath", savepath, "--no-progress"]
best = train_rnnlm.main(argv + (["--datapath", datapath] if datapath else []))

# %% [markdown]
# ## The learning curve
#
# Blue: the training perplexity per epoch; orange: the validation perplexity (both on one
# scale).

# %%
log = torch.load(Path(savepath) / "rnnlm.checkpoint.t7")["log"]
curve = plot.curves(Path(out) / "rnnlm-curve.png",
                    {"training perplexity": [row["train_ppl"] for row in log],
                     "validation perplexity": [row["valid_ppl"] for row in log]},
                    shared=True)
plot.show(curve)

# %% [markdown]
# ## Sampled text
#
# Starting from `<eos>`, each word is drawn from the model's predicted distribution and
# fed back in (what `minitorch7 sample` does).

# %%
xplog = torch.load(Path(savepath) / "rnnlm.t7")
torch.manualSeed(0)
text = " ".join(generate(xplog["model"], xplog["ivocab"], nsample, 1.0))
(Path(out) / "rnnlm-sample.txt").write_text(text + "\n")
print(textwrap.fill(text, width=88))
