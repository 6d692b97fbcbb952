"""minitorch7.plot: learning curves and matrices as PNG pixels, without matplotlib."""

import numpy as np
import pytest

from minitorch7 import plot


def test_curves_draw_each_series_in_its_colour(tmp_path):
    pixels = plot.curves_pixels({"loss": [3, 2, 1.5, 1], "acc": [0.1, 0.5, 0.7, 0.9]},
                                width=120, height=80)
    assert pixels.shape == (80, 120, 3) and pixels.dtype == np.uint8
    for colour in plot.COLOURS[:2]:
        assert (pixels == colour).all(axis=2).sum() > 50
    # a falling loss: its colour is high on the left, low on the right
    blue = np.argwhere((pixels == plot.COLOURS[0]).all(axis=2))
    assert blue[blue[:, 1] < 20][:, 0].mean() < blue[blue[:, 1] > 100][:, 0].mean()
    path = plot.curves(tmp_path / "c.png", [[1.0], [float("nan"), 2.0]])
    assert path.read_bytes().startswith(b"\x89PNG")


def test_curves_refuse_nothing():
    with pytest.raises(ValueError, match="nothing to plot"):
        plot.curves_pixels({"loss": []})


def test_matrix_is_one_cell_per_entry(tmp_path):
    pixels = plot.matrix_pixels(np.array([[5, 0], [1, 9]]), cell=4)
    assert pixels.shape == (8, 8, 3)
    assert (pixels[0, 4] == 255).all() and (pixels[4, 4] == [8, 48, 107]).all()
    assert pixels[0, 0].sum() < pixels[4, 0].sum() < 3 * 255
    with pytest.raises(ValueError, match="2-D"):
        plot.matrix_pixels(np.zeros(3))
    assert plot.matrix(tmp_path / "m.png", np.zeros((2, 2))).read_bytes()[:4] == b"\x89PNG"
