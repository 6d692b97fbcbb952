"""``SpatialReSampling``: bilinear resizing of image planes (Torch7 nnx's nn.SpatialReSampling)."""

from ..ops.resampling import Resample2d
from ..tensor import _fmt_size
from .conv import spatial_batch
from .module import Module

__all__ = ["SpatialReSampling"]


class SpatialReSampling(Module):
    """SpatialReSampling(rwidth=None, rheight=None, owidth=None, oheight=None).

    Input (C,H,W) or (B,C,H,W); output (.., C, oheight, owidth), each plane re-sampled
    bilinearly with the corners of the input on the corners of the output: output pixel
    (y, x) reads the input at (y (H-1)/(oheight-1), x (W-1)/(owidth-1))
    (minitorch7/ops/resampling.py). Give each axis an output size (owidth, oheight) or a
    ratio (rwidth, rheight): then owidth = int(rwidth * W), recomputed for every input.
    Output sizes must be at least 2.
    """

    def __init__(self, rwidth=None, rheight=None, owidth=None, oheight=None):
        super().__init__()
        for axis, ratio, size in (("width", rwidth, owidth), ("height", rheight, oheight)):
            if (ratio is None) == (size is None):
                given = "neither" if size is None else "both"
                raise ValueError(f"nn.SpatialReSampling: give either o{axis} (an output "
                                 f"size) or r{axis} (a ratio), not {given}")
        self.rwidth, self.rheight, self.owidth, self.oheight = rwidth, rheight, owidth, oheight

    def output_size(self, height, width):
        """(oheight, owidth) for an input plane of height x width."""
        oheight = self.oheight if self.oheight is not None else int(self.rheight * height)
        owidth = self.owidth if self.owidth is not None else int(self.rwidth * width)
        return oheight, owidth

    def updateOutput(self, input):
        batch, added = spatial_batch(self, input)
        size = self.output_size(*batch.shape[2:])
        if min(size) < 2:
            raise ValueError(f"{self!r}: the output must be at least 2x2 (the mapping divides "
                             f"by oheight-1 and owidth-1), got {size[0]}x{size[1]} for input "
                             f"{_fmt_size(input.shape)}")
        out = Resample2d.apply(batch, size)
        return out.reshape(*out.shape[1:]) if added else out
