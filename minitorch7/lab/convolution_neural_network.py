"""Exercise 3 (solution): a convolutional neural network on MNIST.

The lab's convolution-neural-network.lua: conv blocks of SpatialConvolution,
(SpatialBatchNormalization), ReLU and SpatialMaxPooling, then a dense hidden layer; the
model is saved through nn.Serial. Try --cuda on a machine with an NVIDIA GPU.

    minitorch7 lab cnn --batchnorm
"""

import argparse

from minitorch7 import cmdline, experiment, nn

CONV_LISTS = ("channelsize", "kernelsize", "kernelstride", "poolsize", "poolstride")


def options(argv=None):
    parser = experiment.base_parser("Train a convolutional neural network on MNIST", "cnn")
    parser.add_argument("--channelsize", default="16,32", type=cmdline.int_list(),
                        help="output channels per conv layer")
    parser.add_argument("--kernelsize", default="5,5", type=cmdline.int_list(),
                        help="kernel size per conv layer")
    parser.add_argument("--kernelstride", default="1,1", type=cmdline.int_list(),
                        help="kernel stride per conv layer")
    parser.add_argument("--poolsize", default="2,2", type=cmdline.int_list(minimum=0),
                        help="max-pooling size per layer (0: none)")
    parser.add_argument("--poolstride", default="2,2", type=cmdline.int_list(),
                        help="max-pooling stride per layer")
    parser.add_argument("--padding", action=argparse.BooleanOptionalAction,
                        default=True, help="pad so a convolution keeps the image size")
    parser.add_argument("--batchnorm", action="store_true",
                        help="[Spatial]BatchNormalization after convolutions and hidden layers")
    parser.add_argument("--hiddensize", default="200", type=cmdline.int_list(),
                        help="dense hidden layers, e.g. '200'")
    experiment.add_classifier_options(parser)
    opt = parser.parse_args(argv)
    try:
        image_size(opt)
    except ValueError as error:
        parser.error(str(error))
    if opt.quick:
        opt.maxepoch = min(opt.maxepoch, 2)
    return opt


def image_size(opt, size=28):
    """The width (= height) of what the conv blocks make of a ``size`` x ``size`` image;
    ValueError when the lists differ in length or a block has nothing left to work on."""
    lists = {name: experiment.parse_list(getattr(opt, name)) for name in CONV_LISTS}
    if len({len(values) for values in lists.values()}) > 1:
        raise ValueError("one value per conv layer in each of " + ", ".join(
            f"--{name} ({getattr(opt, name)})" for name in CONV_LISTS))
    for layer, (_, kernel, stride, poolsize, poolstride) in enumerate(
            zip(*lists.values()), 1):
        padded = size + 2 * ((kernel - 1) // 2 if opt.padding else 0)
        if kernel > padded:
            raise ValueError(f"conv layer {layer}: its {kernel}x{kernel} kernel (--kernelsize) "
                             f"does not fit in its {size}x{size} input")
        size = (padded - kernel) // stride + 1
        if poolsize > size:
            raise ValueError(f"conv layer {layer}: its {poolsize}x{poolsize} pooling "
                             f"(--poolsize) does not fit in its {size}x{size} output")
        size = (size - poolsize) // poolstride + 1 if poolsize > 0 else size
    return size


def build(opt):
    cnn = nn.Sequential()
    cnn.add(nn.Convert())
    inplanes = 1
    layers = zip(*(experiment.parse_list(v) for v in (
        opt.channelsize, opt.kernelsize, opt.kernelstride, opt.poolsize, opt.poolstride)))
    for planes, kernel, stride, poolsize, poolstride in layers:
        pad = (kernel - 1) // 2 if opt.padding else 0
        cnn.add(nn.SpatialConvolution(inplanes, planes, kernel, kernel, stride, stride, pad, pad))
        if opt.batchnorm:
            cnn.add(nn.SpatialBatchNormalization(planes))
        cnn.add(nn.ReLU())
        if poolsize > 0:
            cnn.add(nn.SpatialMaxPooling(poolsize, poolsize, poolstride, poolstride))
        inplanes = planes
    outsize = cnn.outside((1, 1, 28, 28))  # output size of the convolutions
    print(f"Dense input size: {outsize[1]}x{outsize[2]}x{outsize[3]} = "
          f"{outsize[1] * outsize[2] * outsize[3]}")
    cnn.add(nn.Collapse(3))
    insize = outsize[1] * outsize[2] * outsize[3]
    for size in experiment.parse_list(opt.hiddensize):
        if opt.dropout:
            cnn.add(nn.Dropout(opt.dropoutprob))
        cnn.add(nn.Linear(insize, size))
        if opt.batchnorm:
            cnn.add(nn.BatchNormalization(size))
        cnn.add(nn.ReLU())
        insize = size
    cnn.add(nn.Linear(insize, 10))
    cnn.add(nn.LogSoftMax())
    return cnn


def main(argv=None):
    return experiment.train_on_mnist(options(argv), build)


if __name__ == "__main__":
    main()
