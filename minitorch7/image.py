"""Images to files, as Torch7's ``image`` package: a PNG writer needing only NumPy and zlib.

    image.save("digit.png", x)                 # x: H x W, or C x H x W with C = 1, 3 or 4
    grid = image.grid(batch, nrow=8)           # image.toDisplayTensor{input=batch, nrow=8}
    image.display(batch)                       # a picture in a notebook, else a PNG file

Tensors follow Torch7's layout (channels first) and value range: a float image is in
[0, 1] (clipped, then scaled to 0..255); a byte image (uint8) is written as it is.
"""

import struct
import zlib
from pathlib import Path

import numpy as np

from .creation import from_numpy

_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (grey, grey+alpha,
#                                          RGB, RGBA)


def to_array(x):
    """A tensor (on any device) or array-like as a NumPy array."""
    return x.cpu().numpy() if hasattr(x, "cpu") else np.asarray(x)


def png_bytes(array):
    """The bytes of a PNG file of ``array``: uint8, H x W (grey) or H x W x C with C = 1
    (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA). Rows are stored unfiltered (filter 0),
    8 bits per sample, no interlacing."""
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise TypeError(f"png_bytes: expected uint8 pixels, got {array.dtype} "
                        "(image.save converts tensors)")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in _COLOUR_TYPE or 0 in array.shape:
        raise ValueError(f"png_bytes: expected H x W or H x W x C (C in 1..4) pixels, got "
                         f"shape {array.shape}")
    height, width, channels = array.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8),  # the filter byte of each row
                           np.ascontiguousarray(array).reshape(height, width * channels)],
                          axis=1)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPE[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def write_png(path, array):
    """Write ``array`` (uint8, H x W or H x W x C, see ``png_bytes``) as a PNG file."""
    Path(path).write_bytes(png_bytes(array))
    return path


def to_pixels(tensor):
    """Torch7's image layout -> PNG pixels: a tensor or array of H x W, or C x H x W with
    C in 1..4, becomes uint8 H x W x C. Floats are clipped to [0, 1] and scaled by 255."""
    array = to_array(tensor)
    if array.ndim == 3:
        if array.shape[0] not in _COLOUR_TYPE:
            raise ValueError(f"image: expected H x W or C x H x W with C in 1..4, got size "
                             f"{'x'.join(map(str, array.shape))}")
        array = array.transpose(1, 2, 0)
    elif array.ndim != 2:
        raise ValueError(f"image: expected H x W or C x H x W, got {array.ndim} dims")
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool:
        return array.astype(np.uint8) * 255
    return np.round(np.clip(array.astype(np.float64), 0, 1) * 255).astype(np.uint8)


def save(path, tensor):
    """image.save(path, tensor): a PNG of an H x W or C x H x W image (see ``to_pixels``)."""
    if Path(path).suffix.lower() != ".png":
        raise ValueError(f"image.save: only PNG files are written, got {path!r}")
    return write_png(path, to_pixels(tensor))


def grid(batch, nrow=8, padding=2, scale=True, pad_value=0.0):
    """Torch7's image.toDisplayTensor: a batch of images laid out on one image.

    ``batch``: N x C x H x W, N x H x W (grey), or a list of same-size C x H x W / H x W
    images. Returns a C x (rows*(H+padding)+padding) x (cols*(W+padding)+padding) tensor
    (float64): ``cols = min(nrow, N)`` images per row, image k at row k // cols, column
    k % cols, ``padding`` pixels of ``pad_value`` around each. With ``scale`` the whole
    batch is first mapped to [0, 1] by its min and max (a constant batch becomes 0).
    """
    if isinstance(batch, list | tuple):
        images = np.stack([to_array(b) for b in batch])
    else:
        images = to_array(batch)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"image.grid: expected N x C x H x W or N x H x W images, got shape "
                         f"{images.shape}")
    images = images.astype(np.float64)
    if scale:
        low, high = images.min(), images.max()
        images = (images - low) / (high - low) if high > low else np.zeros_like(images)
    n, channels, height, width = images.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    step_y, step_x = height + padding, width + padding
    out = np.full((channels, rows * step_y + padding, cols * step_x + padding), pad_value)
    for k, im in enumerate(images):
        y, x = (k // cols) * step_y + padding, (k % cols) * step_x + padding
        out[:, y:y + height, x:x + width] = im
    return from_numpy(out)


toDisplayTensor = grid


def display(images, path="display.png", nrow=8, padding=2):
    """image.display: shows one image (H x W, or C x H x W with C in 1..4) or a batch (a
    list, N x C x H x W, or N x H x W for other N) laid out by ``grid``. With IPython (a
    notebook) returns an ``IPython.display.Image`` to show; without it writes the PNG to
    ``path`` and returns the path."""
    shape = None if isinstance(images, list | tuple) else to_array(images).shape
    single = shape is not None and (len(shape) == 2
                                    or (len(shape) == 3 and shape[0] in _COLOUR_TYPE))
    picture = images if single else grid(images, nrow, padding)
    data = png_bytes(to_pixels(picture))
    try:
        from IPython.display import Image
    except ImportError:
        Path(path).write_bytes(data)
        return path
    return Image(data=data, format="png")
