"""Exercise 2: a multi-layer perceptron on MNIST (start here; the solution
is minitorch7/lab/train_mlp.py).

TODO:
  1. take the options below from the command line (argparse);
  2. add Dropout between the hidden layers;
  3. Bonus: write a script that evaluates the saved model on the test set
     (minitorch7/lab/evaluate_mlp.py);
  4. Bonus: make the number of hidden layers a hyper-parameter.

Run it:  python exercises/multi_layer_perceptron.py
"""

from types import SimpleNamespace

from minitorch7 import dataload, experiment, nn

opt = SimpleNamespace(  # TODO: options from the command line
    hiddensize=200, batchsize=32, learningrate=0.1, momentum=0.9, maxnormout=-1,
    maxepoch=5, earlystop=30, epochsize=-1, savepath="save", id="mlp", seed=0,
    resume=None, progress=True, cuda=False, datapath=None)

module = nn.Sequential()
module.add(nn.Convert())
module.add(nn.Collapse(3))  # 1 x 28 x 28 -> 784
module.add(nn.Linear(1 * 28 * 28, opt.hiddensize))
module.add(nn.Tanh())  # TODO: Dropout between hidden layers
module.add(nn.Linear(opt.hiddensize, opt.hiddensize))
module.add(nn.Tanh())
module.add(nn.Linear(opt.hiddensize, 10))
module.add(nn.LogSoftMax())

paths = experiment.start(opt)
trainset, validset, testset = dataload.loadMNIST(opt.datapath)
opt.epochsize = trainset.size()
experiment.fit_classifier(module, opt, trainset, validset, paths)
