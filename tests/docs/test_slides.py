"""Every code snippet of the lab's slides (../shared/lab-slides.txt), translated to Python
(Lua's ``a:f(x)`` is ``a.f(x)``, 1-based sizes stay sizes, indices are 0-based), runs; where
a slide shows what it prints, the output is compared (spacing aside). The datasets are the
tiny fixtures shipped in the package, so the numbers a slide prints from the real MNIST or
Penn Treebank are checked for their shape only.

Where a slide's transcription differs from what Torch7 itself prints, Torch7 wins (see
TORCH7_REFERENCE.md): ``SpatialMaxPooling.__tostring__`` is ``nn.SpatialMaxPooling(2x2,
2,2)``, and the slide of the CNN's listing leaves out its ``nn.Collapse(3)`` line.
"""

import numpy as np
import pytest

import minitorch7 as torch
from minitorch7 import dataload as dl
from minitorch7 import nn, optim


def same_text(printed, shown):
    """Equal up to spacing: the slides were transcribed with their own line breaks."""
    return printed.split() == shown.split()


def test_tensors_initialization():
    a = torch.FloatTensor(2, 3)
    assert a.type() == "torch.FloatTensor" and a.size() == (2, 3)
    a.fill(1)
    assert (a.numpy() == 1).all()
    a.uniform(0, 1)
    assert ((a.numpy() >= 0) & (a.numpy() < 1)).all()


def test_tensors_blas_addmm():
    batchSize, inputSize, outputSize = 4, 2, 3
    input = torch.FloatTensor(batchSize, inputSize).uniform(0, 1)
    weight = torch.FloatTensor(outputSize, inputSize).uniform(0, 1)
    output = torch.FloatTensor(batchSize, outputSize).zero()
    output.addmm(0, output, 1, input, weight.t())  # matrix matrix multiply
    np.testing.assert_allclose(output.numpy(), input.numpy() @ weight.numpy().T, rtol=1e-6)


def test_tensors_cuda_addmm():
    """The slide's CUDA version (in Numba's CUDA simulator when there is no GPU)."""
    batchSize, inputSize, outputSize = 4, 2, 3
    input = torch.CudaTensor(batchSize, inputSize).uniform(0, 1)
    weight = torch.CudaTensor(outputSize, inputSize).uniform(0, 1)
    output = torch.CudaTensor(batchSize, outputSize).zero()
    output.addmm(0, output, 1, input, weight.t())
    assert output.type() == "torch.CudaTensor"
    np.testing.assert_allclose(output.cpu().numpy(),
                               input.cpu().numpy() @ weight.cpu().numpy().T, rtol=1e-5)


def train_epoch(module, criterion, inputs, targets):
    """The slides' trainEpoch, with dpnn's momentum."""
    for _ in range(inputs.size(0)):
        idx = int(np.random.randint(0, inputs.size(0)))
        input, target = inputs[idx], targets.narrow(0, idx, 1)
        output = module.forward(input)  # forward
        criterion.forward(output, target)
        gradOutput = criterion.backward(output, target)  # backward
        module.zeroGradParameters()
        module.backward(input, gradOutput)
        module.updateGradParameters(0.9)  # momentum (dpnn)
        module.updateParameters(0.1)  # W = W - 0.1*dL/dW


def test_logistic_regression():
    torch.manualSeed(0)
    np.random.seed(0)
    module = nn.Sequential()
    module.add(nn.Linear(2, 1))
    module.add(nn.Sigmoid())
    criterion = nn.BCECriterion()
    inputs = torch.Tensor(10, 2).uniform(-1, 1)
    targets = (inputs.sum(1) > 0).float()

    def mean_loss():
        return float(criterion.forward(module.forward(inputs), targets.view(10, 1)))

    before = mean_loss()
    for _ in range(20):
        train_epoch(module, criterion, inputs, targets)
    assert mean_loss() < before / 2


def mnist_mlp():
    module = nn.Sequential()
    module.add(nn.Convert())  # casts input to model type (float -> double)
    module.add(nn.Collapse(3))  # collapse 3D to 1D
    module.add(nn.Linear(1 * 28 * 28, 200))
    module.add(nn.Tanh())
    module.add(nn.Linear(200, 200))
    module.add(nn.Tanh())
    module.add(nn.Linear(200, 10))
    module.add(nn.LogSoftMax())
    return module


def test_dataload_mnist_mlp_confusion_and_early_stopping(tmp_path):
    trainset, validset, testset = dl.loadMNIST("fixtures")
    inputs, targets = trainset.sample(32)
    assert inputs.size() == (32, 1, 28, 28) and targets.size() == (32,)
    module, criterion = mnist_mlp(), nn.ClassNLLCriterion()
    cm = optim.ConfusionMatrix(10)

    def classEval(module, inputs, targets):
        cm.zero()
        for idx in range(inputs.size(0)):
            input, target = inputs[idx], targets.narrow(0, idx, 1)
            cm.add(module.forward(input), target)
        cm.updateValids()
        return cm.totalValid

    validInputs, validTargets = validset.sample(16)
    bestAccuracy, bestEpoch, wait = 0, 0, 0
    for epoch in range(1, 4):
        train_epoch(module, criterion, inputs, targets)
        validAccuracy = classEval(module, validInputs, validTargets)
        if validAccuracy > bestAccuracy:
            bestAccuracy, bestEpoch = validAccuracy, epoch
            torch.save(str(tmp_path / "model.t7"), module)
            print(f"New maxima : {bestAccuracy:f} @ {bestEpoch:f}")
            wait = 0
        else:
            wait += 1
            if wait > 30:
                break
    assert 0 <= bestAccuracy <= 1 and (bestEpoch == 0 or (tmp_path / "model.t7").exists())


def test_convolution_sizes():
    input = torch.rand(3, 12, 12)
    conv = nn.SpatialConvolution(3, 4, 5, 5)
    assert conv.forward(input).size() == (4, 8, 8)
    conv = nn.SpatialConvolution(3, 4, 5, 5, 1, 1, 2, 2)
    assert conv.forward(input).size() == (4, 12, 12)


def test_max_pooling_prints_as_the_slide(capsys):
    input = torch.range(1, 16).double().resize(1, 4, 4)
    pool = nn.SpatialMaxPooling(2, 2, 2, 2)
    output = pool.forward(input)
    print(input, output)
    assert same_text(capsys.readouterr().out, """
        (1,.,.) =
            1    2    3    4
            5    6    7    8
            9    10    11    12
            13    14    15    16
        [torch.DoubleTensor of size 1x4x4]

        (1,.,.) =
            6    8
            14    16
        [torch.DoubleTensor of size 1x2x2]
        """)


def test_the_cnn_and_its_listing(capsys):
    cnn = nn.Sequential()
    cnn.add(nn.Convert())  # 2 conv layers :
    cnn.add(nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2))
    cnn.add(nn.ReLU())
    cnn.add(nn.SpatialMaxPooling(2, 2, 2, 2))
    cnn.add(nn.SpatialConvolution(16, 32, 5, 5, 1, 1, 2, 2))
    cnn.add(nn.ReLU())
    cnn.add(nn.SpatialMaxPooling(2, 2, 2, 2))
    outsize = cnn.outside([1, 1, 28, 28])  # output size of convolutions
    cnn.add(nn.Collapse(3))  # 1 dense hidden layer :
    cnn.add(nn.Linear(outsize[1] * outsize[2] * outsize[3], 200))
    cnn.add(nn.ReLU())
    cnn.add(nn.Linear(200, 10))  # output layer
    cnn.add(nn.LogSoftMax())
    print(cnn)
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    for shown in ("(1): nn.Convert", "(2): nn.SpatialConvolution(1 -> 16, 5x5, 1,1, 2,2)",
                  "(3): nn.ReLU", "(4): nn.SpatialMaxPooling(2x2, 2,2)",
                  "(5): nn.SpatialConvolution(16 -> 32, 5x5, 1,1, 2,2)",
                  "(9): nn.Linear(1568 -> 200)", "(10): nn.ReLU",
                  "(11): nn.Linear(200 -> 10)", "(12): nn.LogSoftMax"):
        assert shown in lines
    assert cnn.forward(torch.rand(2, 1, 28, 28)).size() == (2, 10)


def test_penn_treebank_batches():
    batchsize = 3
    trainset, validset, testset = dl.loadPTB([batchsize, 1, 1], "fixtures")
    _, inputs, targets = next(iter(trainset.subiter(5)))  # (n, T x batch word ids, next words)
    assert inputs.t().size() == (3, 5) and targets.t().size() == (3, 5)
    np.testing.assert_array_equal(inputs.numpy()[1:], targets.numpy()[:-1])  # next words


@pytest.mark.parametrize("hidden", ["rnn", "lstm"])
def test_recurrent_language_models(hidden, capsys):
    if hidden == "rnn":
        rm = (nn.Sequential()  # input is {x[t], h[t-1]}
              .add(nn.ParallelTable()
                   .add(nn.LookupTable(10000, 200))  # input layer (V)
                   .add(nn.Linear(200, 200)))  # recurrent layer (U)
              .add(nn.CAddTable())
              .add(nn.Sigmoid()))  # output is h[t]
        rnn = (nn.Sequential()
               .add(nn.Recurrence(rm, 200, 0))
               .add(nn.Linear(200, 10000))  # output layer (W)
               .add(nn.LogSoftMax()))
        rnn = nn.Sequencer(rnn)
        outputs = rnn.forward(torch.range(0, 7).long().resize(4, 2))  # T x batch word ids
    else:
        lm = (nn.Sequential()
              .add(nn.LookupTable(10000, 200))
              .add(nn.SplitTable(0))
              .add(nn.Sequencer(nn.Sequential()
                                .add(nn.FastLSTM(200, 200)).add(nn.FastLSTM(200, 200))
                                .add(nn.Linear(200, 10000)).add(nn.LogSoftMax()))))
        print(nn.Serial(lm))
        lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
        for shown in ("nn.Serial @ nn.Sequential {", "(1): nn.LookupTable",
                      "(2): nn.SplitTable", "(3): nn.Sequencer @ nn.Recursor @ nn.Sequential {",
                      "(1): nn.FastLSTM(200 -> 200)", "(3): nn.Linear(200 -> 10000)",
                      "(4): nn.LogSoftMax"):
            assert any(line.startswith(shown) for line in lines), shown
        outputs = lm.forward(torch.range(0, 7).long().resize(4, 2))
    assert len(outputs) == 4 and outputs[0].size() == (2, 10000)
