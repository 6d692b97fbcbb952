"""Exercise 3: a convolutional neural network on MNIST (start here;
minitorch7/lab/convolution_neural_network.py).

TODO:
  1. add SpatialMaxPooling to the convolution layers;
  2. add SpatialBatchNormalization after the convolutions and BatchNormalization after
     the hidden layer;
  3. Bonus: save the model efficiently with nn.Serial(...).mediumSerial().
Then evaluate it:  minitorch7 evaluate save/cnn.t7   and try --cuda on a GPU machine.

Run it:  python exercises/convolution_neural_network.py
"""

from types import SimpleNamespace

from minitorch7 import dataload, experiment, nn

opt = SimpleNamespace(
    batchsize=32, learningrate=0.1, momentum=0.9, maxnormout=-1, maxepoch=2, earlystop=30,
    epochsize=-1, savepath="save", id="cnn", seed=0, resume=None, progress=True,
    cuda=False, datapath=None)

cnn = nn.Sequential()
cnn.add(nn.Convert())
cnn.add(nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2))
cnn.add(nn.ReLU())  # TODO: SpatialMaxPooling(2, 2, 2, 2) after each ReLU
cnn.add(nn.SpatialConvolution(16, 32, 5, 5, 1, 1, 2, 2))
cnn.add(nn.ReLU())
outsize = cnn.outside((1, 1, 28, 28))  # output size of the convolutions
cnn.add(nn.Collapse(3))
cnn.add(nn.Linear(outsize[1] * outsize[2] * outsize[3], 200))
cnn.add(nn.ReLU())
cnn.add(nn.Linear(200, 10))
cnn.add(nn.LogSoftMax())
print(cnn)

paths = experiment.start(opt)
trainset, validset, testset = dataload.loadMNIST(opt.datapath)
opt.epochsize = trainset.size()
experiment.fit_classifier(cnn, opt, trainset, validset, paths)
