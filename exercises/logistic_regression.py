"""Exercise 1: logistic regression (start here; the solution is
minitorch7/lab/logistic_regression.py).

TODO:
  1. Train for 100 epochs;
  2. make each call to trainEpoch print the mean loss of that epoch, like
         Epoch 100 : mean loss = 0.036116
  3. Bonus: use LogSoftMax + ClassNLLCriterion instead of Sigmoid + BCECriterion.

Run it:  python exercises/logistic_regression.py
"""

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.random import generator

torch.manualSeed(0)

# a binary logistic regressor: 2 inputs, 1 output, y = sigmoid(W x + b)
module = nn.Sequential()
module.add(nn.Linear(2, 1))
module.add(nn.Sigmoid())
criterion = nn.BCECriterion()

# a random dataset: is x1 + x2 > 0?
inputs = torch.Tensor(100, 2).uniform(-1, 1)
targets = (inputs.sum(1) > 0).float()


def trainEpoch(module, criterion, inputs, targets):
    for _ in range(len(inputs)):
        idx = int(generator().integers(len(inputs)))
        input, target = inputs[idx], targets.narrow(0, idx, 1)
        # forward
        output = module.forward(input)
        criterion.forward(output, target)  # TODO: accumulate the loss
        # backward
        gradOutput = criterion.backward(output, target)
        module.zeroGradParameters()
        module.backward(input, gradOutput)
        # update
        module.updateGradParameters(0.9)  # momentum (dpnn)
        module.updateParameters(0.1)  # W = W - 0.1 * dL/dW
    # TODO: return the mean loss of the epoch


for _ in range(10):  # TODO: 100 epochs, printing "Epoch <n> : mean loss = <loss>"
    trainEpoch(module, criterion, inputs, targets)
print(module)
