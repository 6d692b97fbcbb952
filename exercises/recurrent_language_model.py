"""Exercise 4: a recurrent language model on Penn Treebank (start here;
minitorch7/lab/train_rnnlm.py and minitorch7/lab/evaluate_rnnlm.py).

TODO:
  1. use an LSTM, FastLSTM or GRU instead of the Recurrence;
  2. train to reach 150 perplexity on the validation set (see the solution's options:
     --seqlen 20 --hiddensize 200,200 --cutoff 5 and a learning-rate schedule);
  3. sample text from the saved model:  minitorch7 sample save/rnnlm.t7 --nsample 200

Run it:  python exercises/recurrent_language_model.py
"""

import sys

from minitorch7 import nn
from minitorch7.lab import train_rnnlm  # the solution's training loop; the model is yours


def build(opt, vocabsize):
    """The slides' simple RNN; TODO: replace the Recurrence with FastLSTM, LSTM or GRU."""
    hidden = opt.hiddensize[0]
    rm = (nn.Sequential()  # input is [x[t], h[t-1]]
          .add(nn.ParallelTable()
               .add(nn.Identity())  # the embedding comes from the LookupTable below
               .add(nn.Linear(hidden, hidden)))  # recurrent layer (U)
          .add(nn.CAddTable())
          .add(nn.Sigmoid()))  # output is h[t]
    stepmodule = (nn.Sequential()
                  .add(nn.Recurrence(rm, hidden, 1))
                  .add(nn.Linear(hidden, vocabsize))  # output layer (W)
                  .add(nn.LogSoftMax()))
    lm = (nn.Sequential()
          .add(nn.LookupTable(vocabsize, hidden))  # input layer (V)
          .add(nn.SplitTable(0))
          .add(nn.Sequencer(stepmodule)))
    lm.remember("eval")
    return lm


train_rnnlm.build = build
if __name__ == "__main__":
    train_rnnlm.main(sys.argv[1:] or ["--maxepoch", "2", "--trainsize", "2000"])
