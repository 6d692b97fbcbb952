"""minitorch7.image: PNG files read back by hand (zlib + struct) pixel for pixel."""

import struct
import sys
import zlib

import numpy as np
import pytest

import minitorch7 as torch
from minitorch7 import image


def read_png(data):
    """(colour type, pixels H x W x C) of a PNG written with filter 0 on every row."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    assert set(chunks) == {b"IHDR", b"IDAT", b"IEND"}
    width, height, depth, colour, *rest = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and rest == [0, 0, 0]
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[colour]
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    assert (rows[:, 0] == 0).all()  # filter byte: none
    return colour, rows[:, 1:].reshape(height, width, channels)


@pytest.mark.parametrize("shape, colour", [((5, 7), 0), ((4, 3, 1), 0), ((4, 3, 3), 2),
                                           ((2, 6, 4), 6), ((3, 3, 2), 4)])
def test_write_png_reads_back(tmp_path, shape, colour):
    pixels = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    path = image.write_png(tmp_path / "a.png", pixels)
    got_colour, got = read_png(path.read_bytes())
    assert got_colour == colour
    np.testing.assert_array_equal(got, pixels.reshape(got.shape))


def test_write_png_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="uint8"):
        image.write_png(tmp_path / "a.png", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="H x W"):
        image.write_png(tmp_path / "a.png", np.zeros((2, 2, 5), np.uint8))


def test_save_float_tensor_channels_first(tmp_path):
    x = torch.tensor(np.array([[[0.0, 0.5], [1.0, 2.0]],        # red: 2.0 is clipped to 1
                               [[0.25, 0.0], [0.0, -1.0]],      # green: -1 is clipped to 0
                               [[1.0, 1.0], [0.0, 0.0]]]))      # blue
    image.save(tmp_path / "rgb.png", x)
    colour, got = read_png((tmp_path / "rgb.png").read_bytes())
    assert colour == 2
    np.testing.assert_array_equal(got[..., 0], [[0, 128], [255, 255]])
    np.testing.assert_array_equal(got[..., 1], [[64, 0], [0, 0]])
    np.testing.assert_array_equal(got[..., 2], [[255, 255], [0, 0]])


def test_save_grey_byte_tensor(tmp_path):
    x = torch.ByteTensor(3, 4).fill(7)
    x[1, 2] = 200
    image.save(tmp_path / "g.png", x)
    colour, got = read_png((tmp_path / "g.png").read_bytes())
    assert colour == 0 and got.shape == (3, 4, 1)
    assert got[1, 2, 0] == 200 and got.sum() == 7 * 11 + 200
    with pytest.raises(ValueError, match="PNG"):
        image.save(tmp_path / "g.jpg", x)


def test_grid_layout():
    batch = torch.tensor(np.arange(5 * 2 * 3, dtype=np.float64).reshape(5, 1, 2, 3))
    out = image.grid(batch, nrow=3, padding=1)
    # 3 images per row, 2 rows; each image 2x3 with 1 pixel of padding around
    assert out.size() == (1, 2 * 3 + 1, 3 * 4 + 1)
    g = out.numpy()[0]
    scaled = batch.numpy()[:, 0] / 29
    np.testing.assert_allclose(g[1:3, 1:4], scaled[0])
    np.testing.assert_allclose(g[1:3, 5:8], scaled[1])
    np.testing.assert_allclose(g[4:6, 5:8], scaled[4])
    assert g[0].sum() == 0 and g[:, 0].sum() == 0 and g[4:6, 9:12].sum() == 0  # padding, gap
    unscaled = image.grid([b for b in batch], nrow=8, padding=0, scale=False)
    assert unscaled.size() == (1, 2, 15)
    np.testing.assert_array_equal(unscaled.numpy()[0, :, 3:6], batch.numpy()[1, 0])
    assert image.toDisplayTensor is image.grid
    grey = image.grid(np.ones((4, 2, 2)), nrow=2, padding=0)  # N x H x W, constant -> 0
    assert grey.size() == (1, 4, 4) and grey.numpy().sum() == 0


def test_display_writes_a_file_without_ipython(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython.display", None)  # import fails
    batch = np.random.default_rng(1).random((3, 1, 4, 4))
    path = image.display(batch, path=tmp_path / "d.png", nrow=3, padding=0)
    _, got = read_png(path.read_bytes())
    assert got.shape == (4, 12, 1)


def test_display_returns_an_ipython_image():
    display = pytest.importorskip("IPython.display")
    shown = image.display(torch.rand(3, 5, 6))  # one RGB image: no grid
    assert isinstance(shown, display.Image)
    _, got = read_png(shown.data)
    assert got.shape == (5, 6, 3)
