"""The recurrent visual attention model (Mnih et al., 2014) as Torch7's rnn and dpnn built
it: ``SpatialGlimpse`` (a retina of patches around a location), ``Recurrent`` (rnn's
nn.Recurrent, a simple RNN with a learned start) and ``RecurrentAttention`` (steps an RNN
over glimpses whose locations an action module samples).

    locator = nn.Sequential().add(nn.Linear(256, 2)).add(nn.HardTanh()) \\
        .add(nn.ReinforceNormal(0.22)).add(nn.HardTanh()).add(nn.MulConstant(13 * 2 / 28))
    ram = nn.RecurrentAttention(rnn, locator, 7, [256])   # 7 glimpses -> 7 hidden states

The sampled locations get no gradient from the loss: the locator learns by REINFORCE
(minitorch7/nn/reinforce.py), its reward broadcast by nn.VRClassReward before backward.
"""

import math

import numpy as np

from ..autograd import Function, size_text
from ..device import array_module
from ..tensor import Tensor
from .container import Container
from .module import Module, check_float_input
from .recurrent import AbstractRecurrent
from .table import Add, CAddTable
from .transfer import Sigmoid

__all__ = ["Recurrent", "RecurrentAttention", "SpatialGlimpse"]


def _starts(coordinate, room):
    """dpnn's crop corner: a coordinate in [-1, 1] -> floor(min(room, max(0, (c+1)/2 *
    room))), computed in double precision as Lua's numbers are."""
    scaled = (coordinate.astype(np.float64) + 1) / 2 * room
    return np.floor(np.minimum(room, np.maximum(0, scaled))).astype(np.int64)


class _Glimpse(Function):
    """image (B, C, H, W), location (B, 2) as (y, x) -> (B, depth * C, h, w).

    Patch k (k = 0..depth-1) is gh_k x gw_k (gh_0 = h, gh_k = floor(gh_{k-1} * scale)),
    cropped from the image zero-padded by floor((gh_k - 1)/2) on each side, its top-left
    corner at ``_starts``, then average-pooled in (gh_k/h) x (gw_k/w) blocks down to h x w.
    Backward: each output gradient goes back to the pixels it averaged (divided by the
    block size); the location gets none (dpnn: "no backprop through location").
    """

    @staticmethod
    def forward(ctx, image, location, module):
        xp = array_module(image)
        B, C, H, W = image.shape
        location = np.asarray(location)
        batch, channel = np.arange(B)[:, None, None, None], np.arange(C)[None, :, None, None]
        ctx.windows, ctx.shape, patches = [], image.shape, []
        for gh, gw in module._patch_sizes():
            ph, pw = (gh - 1) // 2, (gw - 1) // 2
            rows = _starts(location[:, 0], H + 2 * ph - gh)[:, None] + np.arange(gh)
            cols = _starts(location[:, 1], W + 2 * pw - gw)[:, None] + np.arange(gw)
            index = (batch, channel, rows[:, None, :, None], cols[:, None, None, :])
            padded = xp.zeros((B, C, H + 2 * ph, W + 2 * pw), image.dtype)
            padded[:, :, ph:ph + H, pw:pw + W] = image
            patch = padded[index]
            fh, fw = gh // module.height, gw // module.width
            if fh > 1 or fw > 1:
                patch = patch.reshape(B, C, module.height, fh, module.width, fw).mean((3, 5))
            patches.append(patch)
            ctx.windows.append((ph, pw, fh, fw, index))
        return xp.stack(patches, 1).reshape(B, -1, module.height, module.width)

    @staticmethod
    def backward(ctx, grad):
        xp = array_module(grad)
        B, C, H, W = ctx.shape
        grad = grad.reshape(B, len(ctx.windows), C, *grad.shape[2:])
        grad_image = xp.zeros(ctx.shape, grad.dtype)
        for k, (ph, pw, fh, fw, index) in enumerate(ctx.windows):
            g = grad[:, k]
            if fh > 1 or fw > 1:
                g = g.repeat(fh, axis=2).repeat(fw, axis=3) / (fh * fw)
            padded = xp.zeros((B, C, H + 2 * ph, W + 2 * pw), grad.dtype)
            padded[index] = g  # one patch per example: no pixel is written twice
            grad_image += padded[:, :, ph:ph + H, pw:pw + W]
        return grad_image, None, None


class SpatialGlimpse(Module):
    """SpatialGlimpse(size, depth=3, scale=2): input {image, location} -> the glimpse,
    ``depth`` patches of size x size pixels (``size`` a number or (height, width))
    centred on ``location``, patch k covering scale^k times the first's extent,
    average-pooled down to size x size; output batch x (depth * C) x h x w (patch-major).

    image: batch x C x H x W (or C x H x W); location: batch x 2 (or 2) as (y, x), from
    (-1, -1) the top-left corner to (1, 1) the bottom-right; a patch may overlap the border
    (zeros there). gradInput = {d/d image, zeros}: no gradient reaches the location.
    Only scale 2 (average pooling): dpnn resamples other scales bilinearly with nnx's
    SpatialReSampling, which is not here.
    """

    def __init__(self, size, depth=3, scale=2):
        super().__init__()
        self.height, self.width = (size, size) if isinstance(size, int) else tuple(size)
        self.depth, self.scale = depth, scale
        if min(self.height, self.width, depth) < 1:
            raise ValueError(f"nn.SpatialGlimpse: size and depth must be positive, got size "
                             f"{size} and depth {depth}")
        if depth > 1 and scale != 2:
            raise ValueError(f"nn.SpatialGlimpse: scale {scale} needs bilinear resampling "
                             f"(nnx's SpatialReSampling), not available; use scale 2")

    def _patch_sizes(self):
        """(height, width) of each patch before pooling: floor(previous * scale)."""
        sizes = [(self.height, self.width)]
        for _ in range(self.depth - 1):
            h, w = sizes[-1]
            sizes.append((math.floor(h * self.scale), math.floor(w * self.scale)))
        return sizes

    def updateOutput(self, input):
        if not isinstance(input, list | tuple) or len(input) < 2:
            raise ValueError(f"{self!r}: expected input {{image, location}}, got "
                             f"{type(input).__name__}")
        image, location = input[0], input[1]
        check_float_input(self, image)
        single = image.ndim == 3
        if single:
            image, location = image.reshape(1, *image.shape), location.reshape(1, -1)
        if image.ndim != 4 or location.shape != (image.shape[0], 2):
            raise ValueError(f"{self!r}: expected a batch x C x H x W image and batch x 2 "
                             f"locations, got {size_text(image.shape)} and "
                             f"{size_text(location.shape)}")
        output = _Glimpse.apply(image, location.data, self)
        return output.reshape(*output.shape[1:]) if single else output

    def __repr__(self):
        return "nn.SpatialGlimpse"


class Recurrent(AbstractRecurrent):
    """Recurrent(start, input, feedback, transfer=Sigmoid(), rho=99999, merge=CAddTable()):
    rnn's simple recurrent layer (Elman):

        h[1] = transfer(start(input(x[1])))
        h[t] = transfer(merge({input(x[t]), feedback(h[t-1])}))     t > 1

    ``start`` is a module or a size (then nn.Add(size): a learned bias that stands in for
    the feedback at the first step). ``rho`` is kept for Torch7's signature: the graph
    here goes back through every step of a forward.
    """

    def __init__(self, start, input, feedback, transfer=None, rho=99999, merge=None):
        super().__init__()
        if not isinstance(start, Module):
            start = Add(start)
        self.startModule, self.inputModule, self.feedbackModule = start, input, feedback
        self.transferModule = Sigmoid() if transfer is None else transfer
        self.mergeModule = CAddTable() if merge is None else merge
        self.rho = rho
        self.modules = [self.startModule, self.inputModule, self.feedbackModule,
                        self.transferModule, self.mergeModule]

    def initialState(self, input):
        return None  # no h[0]: the first step uses ``start`` instead of the feedback

    def _step(self, input, state):
        x = self._run(self.inputModule, input)
        if state is None:
            merged = self._run(self.startModule, x)
        else:
            merged = self._run(self.mergeModule, [x, self._run(self.feedbackModule, state)])
        h = self._run(self.transferModule, merged)
        return h, h

    def __repr__(self):
        ext = "  |    "
        lines = ["nn.Recurrent {",
                 "  [{input(t), output(t-1)} -> (1) -> (2) -> (3) -> output(t)]",
                 "  (1):  {", "    input(t)",
                 "      |`-> (t==0): " + repr(self.startModule).replace("\n", "\n  " + ext),
                 "      |`-> (t~=0): " + repr(self.inputModule).replace("\n", "\n  " + ext),
                 "    output(t-1)",
                 "      |`-> " + repr(self.feedbackModule).replace("\n", "\n    " + ext),
                 "  }",
                 "  (2): " + repr(self.mergeModule).replace("\n", "\n  "),
                 "  (3): " + repr(self.transferModule).replace("\n", "\n  "), "}"]
        return "\n".join(lines)


class RecurrentAttention(Container):
    """RecurrentAttention(rnn, action, nStep, hiddenSize): ``nStep`` glimpses of one input.

    Step t: l[t] = action(h[t-1]) (h[0] = zeros of batch x hiddenSize), then h[t] =
    rnn({input, l[t]}), ``rnn`` carrying its state from step to step. Output: the list
    {h[1], ..., h[nStep]}; the sampled locations are kept in ``actions``. ``action``
    holds a Reinforce module (e.g. ReinforceNormal): its backward is REINFORCE, so the
    gradient the rnn sends to l[t] is dropped there, as in rnn's RecurrentAttention, and
    the locator's gradient reaches h[t-1] from the reward. Backward is BPTT through all
    steps (one graph). (rnn wraps a non-recurrent action in a Recursor to clone it per
    step; here one module serves every step, each step a node of the graph.)
    """

    def __init__(self, rnn, action, nStep, hiddenSize):
        super().__init__()
        self.rnn, self.action = rnn, action
        self.nStep = nStep
        self.hiddenSize = [hiddenSize] if isinstance(hiddenSize, int) else list(hiddenSize)
        if nStep < 1 or len(self.hiddenSize) != 1:
            raise ValueError(f"nn.RecurrentAttention: expected nStep >= 1 and one hidden size, "
                             f"got nStep {nStep} and hiddenSize {hiddenSize}")
        self.modules = [self.rnn, self.action]
        self.actions = []

    def updateOutput(self, input):
        xp = array_module(input.data)
        recurrent = [m for m in self.modules_depth_first() if isinstance(m, AbstractRecurrent)]
        for m in recurrent:
            m.forget()
            m._startSequence()  # the state flows through the graph from step to step
        try:
            hidden = Tensor._wrap(xp.zeros((input.shape[0], *self.hiddenSize), input.dtype))
            outputs, self.actions = [], []
            for _ in range(self.nStep):
                self.actions.append(self._run(self.action, hidden))
                hidden = self._run(self.rnn, [input, self.actions[-1]])
                outputs.append(hidden)
        finally:
            for m in recurrent:
                m._unrolling = False
        return outputs

    def __repr__(self):
        ext = "  |    "
        return "\n".join([
            "nn.RecurrentAttention {",
            "  action : " + repr(self.action).replace("\n", "\n  " + ext),
            "  rnn     : " + repr(self.rnn).replace("\n", "\n  " + ext), "}"])
