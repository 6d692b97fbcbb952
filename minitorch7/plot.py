"""Tiny plots as PNG pictures, drawn into NumPy pixels and written by ``minitorch7.image``
(no matplotlib needed): learning curves and matrices for the notebooks.

    plot.curves("curves.png", {"training": losses, "validation": accuracies})
    plot.matrix("confusion.png", confusion.mat)     # one square of colour per cell

A curve plot has no text (no fonts here): each series is drawn in its colour of
``COLOURS``, in the order given, scaled to its own range (``shared=True``: one range for
all) inside a frame, with a tick per x value when there are few.
"""

import numpy as np

from .image import to_array, write_png

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def _line(canvas, x0, y0, x1, y1, colour, width=2):
    """A segment from (x0, y0) to (x1, y1), in pixels, ``width`` pixels thick."""
    steps = int(max(abs(x1 - x0), abs(y1 - y0))) * 2 + 1
    xs = np.rint(np.linspace(x0, x1, steps)).astype(int)
    ys = np.rint(np.linspace(y0, y1, steps)).astype(int)
    h, w = canvas.shape[:2]
    for dy in range(width):
        for dx in range(width):
            yy, xx = np.clip(ys + dy - width // 2, 0, h - 1), np.clip(xs + dx - width // 2, 0,
                                                                       w - 1)
            canvas[yy, xx] = colour


def curves_pixels(series, width=320, height=200, margin=12, shared=False):
    """The pixels (uint8, H x W x 3) of ``series`` (name -> values per epoch, or a list of
    value lists) drawn as lines on white."""
    lists = list(series.values()) if isinstance(series, dict) else list(series)
    lists = [np.asarray([float(v) for v in values], np.float64) for values in lists]
    if not lists or not any(len(v) for v in lists):
        raise ValueError("plot.curves: nothing to plot")
    canvas = np.full((height, width, 3), 255, np.uint8)
    left, top, right, bottom = margin, margin, width - margin - 1, height - margin - 1
    grey = (160, 160, 160)
    for x0, y0, x1, y1 in ((left, top, right, top), (left, bottom, right, bottom),
                           (left, top, left, bottom), (right, top, right, bottom)):
        _line(canvas, x0, y0, x1, y1, grey, 1)
    n = max(len(v) for v in lists)

    def xpos(i):
        return left + (right - left) * (i / (n - 1) if n > 1 else 0.5)

    if n <= 50:
        for i in range(n):
            _line(canvas, xpos(i), bottom, xpos(i), bottom + 4, grey, 1)
    finite = [v[np.isfinite(v)] for v in lists]
    everything = np.concatenate([f for f in finite if len(f)] or [np.zeros(1)])
    for k, (values, good) in enumerate(zip(lists, finite)):
        low, high = ((everything.min(), everything.max()) if shared or not len(good)
                     else (good.min(), good.max()))
        span = high - low if high > low else 1.0
        ys = bottom - 4 - (bottom - top - 8) * (np.clip(values, low, high) - low) / span
        colour = COLOURS[k % len(COLOURS)]
        points = [(xpos(i), y) for i, y in enumerate(ys) if np.isfinite(values[i])]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            _line(canvas, x0, y0, x1, y1, colour)
        for x, y in points:  # a dot per epoch
            _line(canvas, x - 1, y, x + 1, y, colour, 3)
    return canvas


def curves(path, series, width=320, height=200, shared=False):
    """Write ``series`` (see ``curves_pixels``) as a PNG line plot; returns ``path``."""
    return write_png(path, curves_pixels(series, width, height, shared=shared))


def matrix_pixels(values, cell=16, log=True):
    """The pixels (uint8, H x W x 3) of a matrix, one ``cell`` x ``cell`` square per entry:
    white for the smallest value, dark blue for the largest (``log``: on a log(1 + x) scale,
    so that a few counts stay visible next to many)."""
    m = to_array(values).astype(np.float64)
    if m.ndim != 2 or 0 in m.shape:
        raise ValueError(f"plot.matrix: expected a 2-D matrix, got shape {m.shape}")
    if log:
        m = np.log1p(np.maximum(m, 0))
    low, high = m.min(), m.max()
    t = (m - low) / (high - low) if high > low else np.zeros_like(m)
    blue = np.array([8, 48, 107], np.float64)
    rgb = 255 + t[..., None] * (blue - 255)
    return np.round(np.kron(rgb, np.ones((cell, cell, 1)))).astype(np.uint8)


def matrix(path, values, cell=16, log=True):
    """Write a matrix (e.g. a confusion matrix's counts) as a PNG heat map; returns
    ``path``."""
    return write_png(path, matrix_pixels(values, cell, log))


def show(path):
    """A PNG file shown in a notebook (an ``IPython.display.Image``); without IPython,
    the path itself."""
    try:
        from IPython.display import Image
    except ImportError:
        return path
    return Image(filename=str(path))
