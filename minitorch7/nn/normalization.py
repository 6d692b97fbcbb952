"""Batch normalisation: ``BatchNormalization`` (B x N) and ``SpatialBatchNormalization``
(B x C x H x W, statistics per channel over B*H*W)."""

from ..autograd import no_grad
from ..tensor import Tensor, _fmt_size
from .module import Module, check_float_input

__all__ = ["BatchNormalization", "SpatialBatchNormalization"]


class BatchNormalization(Module):
    """BatchNormalization(nOutput, eps=1e-5, momentum=0.1, affine=True), input B x nOutput.

    Training: each feature is normalised with the mean and the biased variance of its
    values in the batch, then scaled by ``weight`` and shifted by ``bias``; the running
    statistics follow the batch ones with ``momentum`` (the variance's UNBIASED estimate).
    Evaluation normalises with the running statistics. weight ~ U(0, 1), bias = 0 (only
    when affine).
    """

    nDim = 2  # input dims, for the error message and printing

    def __init__(self, nOutput, eps=1e-5, momentum=0.1, affine=True):
        super().__init__()
        self.nOutput, self.eps, self.momentum, self.affine = nOutput, eps, momentum, affine
        if affine:
            self.register_parameter("weight", Tensor(nOutput).uniform(0, 1))
            self.register_parameter("bias", Tensor(nOutput))
        self.register_buffer("running_mean", Tensor(nOutput))
        self.register_buffer("running_var", Tensor(nOutput).fill(1))

    def _check(self, input):
        check_float_input(self, input)
        if input.ndim != self.nDim or input.shape[1] != self.nOutput:
            size = "BxN" if self.nDim == 2 else "BxNxHxW"
            raise ValueError(f"{self!r}: expected input of size {size} with N = "
                             f"{self.nOutput}, got {_fmt_size(input.shape)}")

    def updateOutput(self, input):
        self._check(input)
        if self.train and input.nElement() == self.nOutput:
            raise ValueError(f"{self!r}: training needs more than one value per feature, "
                             f"got input of size {_fmt_size(input.shape)}")
        shape = (input.shape[0], self.nOutput, -1)  # per feature: dims 0 and 2 are pooled
        y = self._normalize(input.reshape(*shape))
        if self.affine:
            stats = (1, self.nOutput, 1)
            y = y * self.weight.reshape(*stats) + self.bias.reshape(*stats)
        return y.reshape(*input.shape)

    def _normalize(self, x):
        """x: a B x N x L Tensor (L = 1, or H*W for images) -> (x - mean) / sqrt(var + eps)
        per feature n, through graph ops (the backward is autograd's). In training mean
        and var are the batch's (over dims 0 and 2; var biased), and ``running_mean`` /
        ``running_var`` (Tensors of size N) are updated without a graph (``no_grad()``):
        r <- (1 - momentum) r + momentum * batch value, with the unbiased variance
        var * n / (n - 1), n = B * L. In evaluation the running statistics are used."""
        # BEGIN TASK 5.6
        stats = (1, self.nOutput, 1)
        if self.train:
            mean = x.mean(2, keepdim=True).mean(0, keepdim=True)
            centered = x - mean
            var = (centered * centered).mean(2, keepdim=True).mean(0, keepdim=True)
            with no_grad():
                n = x.nElement() // self.nOutput
                m = self.momentum
                self.running_mean.data = ((1 - m) * self.running_mean.data
                                          + m * mean.data.reshape(self.nOutput))
                self.running_var.data = ((1 - m) * self.running_var.data
                                         + m * var.data.reshape(self.nOutput) * n / (n - 1))
        else:
            centered = x - self.running_mean.reshape(*stats)
            var = self.running_var.reshape(*stats)
        return centered / (var + self.eps).sqrt()
        # END TASK 5.6

    def __repr__(self):
        return f"nn.{type(self).__name__} ({self.nDim}D) ({self.nOutput})"


class SpatialBatchNormalization(BatchNormalization):
    """SpatialBatchNormalization(nOutput, eps=1e-5, momentum=0.1, affine=True): as
    BatchNormalization, for B x nOutput x H x W input, one mean/variance per channel over
    B*H*W values."""

    nDim = 4
