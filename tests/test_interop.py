"""minitorch7.interop and ``minitorch7 export``: a model's weights in the safetensors
format under PyTorch's names, and back; the reader refuses malformed files with an
InteropError naming the file (fuzzed); with PyTorch installed, the lab's MLP, CNN and LM
loaded into the matching torch.nn model give the same outputs."""

import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minitorch7
from minitorch7 import cli, interop, nn, save
from minitorch7.interop import InteropError
from minitorch7.lab import convolution_neural_network, train_mlp, train_rnnlm

# The keys of state_dict() of the equivalent torch.nn models (kept as data: PyTorch need
# not be installed). A minitorch7 Sequential maps to a torch.nn.Sequential with the same
# modules at the same positions (Convert -> Identity, Collapse -> Flatten, ...); a
# Sequencer adds no name of its own.
MLP_KEYS = ["2.weight", "2.bias", "4.weight", "4.bias"]
CNN_KEYS = ["1.weight", "1.bias",
            "2.weight", "2.bias", "2.running_mean", "2.running_var", "2.num_batches_tracked",
            "5.weight", "5.bias",
            "6.weight", "6.bias", "6.running_mean", "6.running_var", "6.num_batches_tracked",
            "10.weight", "10.bias",
            "11.weight", "11.bias", "11.running_mean", "11.running_var",
            "11.num_batches_tracked",
            "13.weight", "13.bias"]
LM_KEYS = ["0.weight",
           "2.0.weight_ih_l0", "2.0.weight_hh_l0", "2.0.bias_ih_l0", "2.0.bias_hh_l0",
           "2.1.weight_ih_l0", "2.1.weight_hh_l0", "2.1.bias_ih_l0", "2.1.bias_hh_l0",
           "2.2.weight", "2.2.bias"]
VOCAB = 30


def build_mlp():
    opt = train_mlp.options(["--hiddensize", "20", "--nlayer", "1"])
    return train_mlp.build(opt)


def build_cnn():
    opt = convolution_neural_network.options(["--batchnorm", "--channelsize", "4,8",
                                              "--hiddensize", "16"])
    model = convolution_neural_network.build(opt)
    for m in model.modules_depth_first():  # running statistics that are not the defaults
        if isinstance(m, nn.BatchNormalization):
            m.running_mean.uniform(-1, 1)
            m.running_var.uniform(0.5, 2)
            m.bias.uniform(-1, 1)
    return model


def build_lm():
    opt = train_rnnlm.options(["--lstm", "--hiddensize", "8,8", "--inputsize", "6"])
    return train_rnnlm.build(opt, VOCAB)


def mlp_input(seed=0):
    return minitorch7.Tensor(np.random.default_rng(seed).random((3, 1, 28, 28)))


def lm_input(seed=0):
    ids = np.random.default_rng(seed).integers(0, VOCAB, (5, 3))
    return minitorch7.LongTensor(ids) if hasattr(minitorch7, "LongTensor") else \
        minitorch7.Tensor(ids)


def lm_output(lm, ids):
    lm.forget()
    return np.stack([t.numpy() for t in lm.forward(ids)])


@pytest.fixture(autouse=True)
def quiet(capsys):
    yield


@pytest.mark.parametrize("build, keys", [(build_mlp, MLP_KEYS), (build_cnn, CNN_KEYS),
                                         (build_lm, LM_KEYS)], ids=["mlp", "cnn", "lm"])
def test_names_are_pytorch_state_dict_keys(build, keys):
    assert list(interop.state_dict(build())) == keys


def test_shapes_follow_pytorch():
    lm = interop.state_dict(build_lm())
    assert lm["0.weight"].shape == (VOCAB, 6)
    assert lm["2.0.weight_ih_l0"].shape == (32, 6) and lm["2.0.weight_hh_l0"].shape == (32, 8)
    assert not lm["2.0.bias_hh_l0"].any()  # FastLSTM's one bias is bias_ih_l0
    cnn = interop.state_dict(build_cnn())
    assert cnn["1.weight"].shape == (4, 1, 5, 5)
    tracked = cnn["2.num_batches_tracked"]
    assert tracked.dtype == np.int64 and tracked.shape == ()


def test_lstm_gates_in_torch_order_compute_the_same():
    """The exported weights, run by a NumPy LSTM written in torch.nn.LSTM's convention
    (gates i, f, g, o; b_ih + b_hh), give FastLSTM's outputs."""
    lm = build_lm()
    lm.evaluate()
    ids = lm_input()
    expected = lm_output(lm, ids)
    sd = interop.state_dict(lm)
    x = sd["0.weight"][ids.numpy()]
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for layer in ("2.0.", "2.1."):
        w_ih, w_hh = sd[layer + "weight_ih_l0"], sd[layer + "weight_hh_l0"]
        b = sd[layer + "bias_ih_l0"] + sd[layer + "bias_hh_l0"]
        H = w_hh.shape[1]
        h, c, outs = np.zeros((x.shape[1], H)), np.zeros((x.shape[1], H)), []
        for t in range(x.shape[0]):
            gates = x[t] @ w_ih.T + h @ w_hh.T + b
            i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
            outs.append(h)
        x = np.stack(outs)
    logits = x @ sd["2.2.weight"].T + sd["2.2.bias"]
    logits = logits - logits.max(-1, keepdims=True)
    out = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("build", [build_mlp, build_cnn, build_lm], ids=["mlp", "cnn", "lm"])
def test_round_trip_through_the_file(build, tmp_path):
    source, target = build(), build()
    path = tmp_path / "model.safetensors"
    interop.save_safetensors(source, path)
    tensors, metadata = interop.read_safetensors(path)
    assert metadata["format"] == "pt"
    expected = interop.state_dict(source)
    assert list(tensors) == list(expected)
    for name in expected:
        np.testing.assert_array_equal(tensors[name], expected[name])
    interop.load_safetensors(target, path)
    for a, b in zip(source.parameters()[0], target.parameters()[0]):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for name, array in interop.state_dict(target).items():
        np.testing.assert_array_equal(array, expected[name])
    source.evaluate()
    target.evaluate()
    if build is build_lm:
        ids = lm_input()
        np.testing.assert_array_equal(lm_output(source, ids), lm_output(target, ids))
    else:
        x = mlp_input()
        np.testing.assert_array_equal(source.forward(x).numpy(), target.forward(x).numpy())


def test_the_file_layout_is_safetensors(tmp_path):
    path = tmp_path / "m.safetensors"
    interop.write_safetensors(path, {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                                     "b": np.array(7, np.int64)}, {"format": "pt"})
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert (8 + n) % 8 == 0
    assert header == {"__metadata__": {"format": "pt"},
                      "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                      "b": {"dtype": "I64", "shape": [], "data_offsets": [24, 32]}}
    assert raw[8 + n:8 + n + 24] == np.arange(6, dtype="<f4").tobytes()


def test_import_sums_the_two_lstm_biases(tmp_path):
    lm = build_lm()
    sd = interop.state_dict(lm)
    sd["2.0.bias_ih_l0"] = np.full(32, 0.25, np.float32)
    sd["2.0.bias_hh_l0"] = np.arange(32, dtype=np.float32)
    interop.load_state_dict(lm, sd)
    assert np.allclose(interop.state_dict(lm)["2.0.bias_ih_l0"], 0.25 + np.arange(32))


def test_a_state_that_does_not_fit_is_refused_before_copying(tmp_path):
    model = build_mlp()
    before = [p.numpy().copy() for p in model.parameters()[0]]
    sd = interop.state_dict(build_mlp())
    sd["2.weight"] = np.zeros((3, 3), np.float32)
    with pytest.raises(InteropError, match=r"2\.weight has shape \[3, 3\]"):
        interop.load_state_dict(model, sd)
    del sd["2.weight"]
    with pytest.raises(InteropError, match="missing 2.weight"):
        interop.load_state_dict(model, sd)
    path = tmp_path / "cnn.safetensors"
    interop.save_safetensors(build_cnn(), path)
    with pytest.raises(InteropError, match=f"{path}.*does not fit.*unexpected"):
        interop.load_safetensors(model, path)
    for a, b in zip(before, model.parameters()[0]):
        np.testing.assert_array_equal(a, b.numpy())


def test_gru_and_peephole_lstm_are_refused():
    gru = nn.Sequential().add(nn.Sequencer(nn.GRU(4, 5)))
    with pytest.raises(InteropError, match="reset gate before the recurrent product"):
        interop.state_dict(gru)
    with pytest.raises(InteropError, match="peephole"):
        interop.state_dict(nn.LSTM(4, 5))
    with pytest.raises(InteropError, match="nn.ParallelTable has no torch.nn equivalent"):
        interop.state_dict(nn.ParallelTable().add(nn.Linear(2, 2)))


# ---- the command ---------------------------------------------------------------------
def test_export_command(tmp_path, capsys):
    save(tmp_path / "lm.t7", {"kind": "rnnlm", "model": build_lm()})
    out = tmp_path / "lm.safetensors"
    cli.main(["export", str(tmp_path / "lm.t7"), str(out)])
    assert f"{out}: 11 tensors" in capsys.readouterr().out
    tensors, metadata = interop.read_safetensors(out)
    assert list(tensors) == LM_KEYS and metadata["kind"] == "rnnlm"


@pytest.mark.parametrize("what, says, code", [
    ("gru", "reset gate before the recurrent product", 2),
    ("missing", "no such file", 2),
    ("outdir", "is a folder, not a file to write", 2),
])
def test_export_errors_are_one_line(what, says, code, tmp_path, capsys):
    model = tmp_path / "m.t7"
    gru = nn.Sequential().add(nn.LookupTable(5, 4)).add(nn.Sequencer(nn.GRU(4, 4)))
    save(model, {"kind": "rnnlm", "model": gru if what == "gru" else build_mlp()})
    out = tmp_path / "out.safetensors"
    if what == "missing":
        model = tmp_path / "nothing.t7"
    if what == "outdir":
        out.mkdir()
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        cli.main(["export", str(model), str(out)])
    err = capsys.readouterr().err
    assert stop.value.code == code
    assert len(err.splitlines()) == 1 and err.startswith("minitorch7 export: error: ")
    assert says in err
    assert what == "outdir" or not out.exists()


# ---- the reader: a door for untrusted files ------------------------------------------
def _file(tmp_path, header, data=b"", length=None):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return path


F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}


@pytest.mark.parametrize("header, data, length, says", [
    (b"", b"", None, "header is not a JSON object"),
    ({"a": F32}, b"\0" * 4, None, "run past"),
    ({"a": F32}, b"\0" * 12, None, "the tensors hold 8 bytes, the file 12"),
    ({"a": dict(F32, dtype="BF16")}, b"\0" * 8, None, "unsupported dtype 'BF16'"),
    ({"a": dict(F32, shape=[3])}, b"\0" * 8, None, "needs 12 bytes"),
    ({"a": dict(F32, shape=[-2])}, b"\0" * 8, None, "non-negative ints"),
    ({"a": dict(F32, shape=[True, 2])}, b"\0" * 8, None, "non-negative ints"),
    ({"a": dict(F32, data_offsets=[8, 0])}, b"\0" * 8, None, "0 <= begin <= end"),
    ({"a": F32, "b": F32}, b"\0" * 8, None, "expected 8"),
    ({"a": F32, "b": dict(F32, data_offsets=[12, 20])}, b"\0" * 20, None, "expected 8"),
    ({"a": dict(F32, extra=1)}, b"\0" * 8, None, "exactly dtype, shape and data_offsets"),
    ({"__metadata__": {"a": 1}}, b"", None, "__metadata__"),
    ([1, 2], b"", None, "not a JSON object"),
    (b'{"a": 1, "a": 2}', b"", None, "twice"),
    (b'{"a": \xff}', b"", None, "not valid JSON"),
    (b"{" + b"[" * 100000, b"", None, "not valid JSON"),
    ({}, b"", 1 << 40, "over the limit"),
    ({}, b"", 1000, "runs past the end"),
])
def test_malformed_files_are_refused_naming_the_file(header, data, length, says, tmp_path):
    path = _file(tmp_path, header, data, length)
    with pytest.raises(InteropError) as caught:
        interop.read_safetensors(path)
    assert str(caught.value).startswith(f"minitorch7.interop: {path}: ")
    assert says in str(caught.value)


def test_a_file_shorter_than_its_length_field(tmp_path):
    path = tmp_path / "short.safetensors"
    path.write_bytes(b"\x05\0\0")
    with pytest.raises(InteropError, match="truncated"):
        interop.read_safetensors(path)


def _good_file():
    tensors = {"w": np.arange(12, dtype=np.float32).reshape(3, 4),
               "n": np.array(3, np.int64), "b": np.ones(5, np.float64)}
    return tensors


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.safetensors"
    interop.write_safetensors(path, _good_file(), {"format": "pt"})
    return path.read_bytes()


def _only_interop_errors(path):
    try:
        tensors, _ = interop.read_safetensors(path)
    except InteropError as error:
        assert str(error).startswith(f"minitorch7.interop: {path}: ")
        return
    for array in tensors.values():
        assert isinstance(array, np.ndarray)


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(cut=st.integers(min_value=0, max_value=400))
def test_fuzz_truncation(good_bytes, tmp_path, cut):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(good_bytes[:min(cut, len(good_bytes) - 1)])
    with pytest.raises(InteropError):
        interop.read_safetensors(path)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), min_size=1,
                      max_size=4))
def test_fuzz_byte_flips(good_bytes, tmp_path, flips):
    raw = bytearray(good_bytes)
    for position, mask in flips:
        raw[position % len(raw)] ^= mask
    path = tmp_path / "flip.safetensors"
    path.write_bytes(bytes(raw))
    _only_interop_errors(path)


_json = st.recursive(st.none() | st.booleans() | st.integers(-2, 1 << 64) | st.text(max_size=5)
                     | st.floats(allow_nan=False),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@FUZZ
@given(name=st.sampled_from(["w", "n", "b", "__metadata__"]),
       key=st.sampled_from(["dtype", "shape", "data_offsets", "other"]), value=_json)
def test_fuzz_header_edits(good_bytes, tmp_path, name, key, value):
    (n,) = struct.unpack("<Q", good_bytes[:8])
    header = json.loads(good_bytes[8:8 + n])
    if isinstance(header[name], dict):
        header[name][key] = value
    path = tmp_path / "edit.safetensors"
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + good_bytes[8 + n:])
    _only_interop_errors(path)


# ---- PyTorch itself, where it is installed ---------------------------------------------
def _torch_state(torch, path):
    tensors, _ = interop.read_safetensors(path)
    return {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()}


def test_pytorch_models_compute_the_same(tmp_path):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install "
                                                "minitorch7[interop]): equivalence not run")
    tnn = torch.nn
    torch.set_default_dtype(torch.float32)
    mlp = tnn.Sequential(tnn.Identity(), tnn.Flatten(), tnn.Linear(784, 20), tnn.Tanh(),
                         tnn.Linear(20, 10), tnn.LogSoftmax(1))
    cnn = tnn.Sequential(tnn.Identity(), tnn.Conv2d(1, 4, 5, padding=2), tnn.BatchNorm2d(4),
                         tnn.ReLU(), tnn.MaxPool2d(2, 2), tnn.Conv2d(4, 8, 5, padding=2),
                         tnn.BatchNorm2d(8), tnn.ReLU(), tnn.MaxPool2d(2, 2), tnn.Flatten(),
                         tnn.Linear(392, 16), tnn.BatchNorm1d(16), tnn.ReLU(),
                         tnn.Linear(16, 10), tnn.LogSoftmax(1))
    lm = tnn.Sequential(tnn.Embedding(VOCAB, 6), tnn.Identity(),
                        tnn.Sequential(tnn.LSTM(6, 8), tnn.LSTM(8, 8), tnn.Linear(8, VOCAB),
                                       tnn.LogSoftmax(-1)))
    assert list(mlp.state_dict()) == MLP_KEYS
    assert list(cnn.state_dict()) == CNN_KEYS
    assert list(lm.state_dict()) == LM_KEYS

    for build, theirs in ((build_mlp, mlp), (build_cnn, cnn)):
        ours = build()
        ours.evaluate()
        path = tmp_path / "m.safetensors"
        interop.save_safetensors(ours, path)
        theirs.load_state_dict(_torch_state(torch, path))
        theirs.eval()
        x = mlp_input()
        with torch.no_grad():
            got = theirs(torch.from_numpy(x.numpy().astype(np.float32))).numpy()
        np.testing.assert_allclose(got, ours.forward(x).numpy(), rtol=1e-4, atol=1e-5)
        # and back: torch's weights into a fresh minitorch7 model
        tensors = {k: v.numpy() for k, v in theirs.state_dict().items()}
        back = build()
        interop.load_state_dict(back, tensors)
        back.evaluate()
        np.testing.assert_allclose(back.forward(x).numpy(), got, rtol=1e-4, atol=1e-5)

    ours = build_lm()
    ours.evaluate()
    path = tmp_path / "lm.safetensors"
    interop.save_safetensors(ours, path)
    lm.load_state_dict(_torch_state(torch, path))
    with torch.no_grad():  # torch.nn.LSTM (seq, batch, features) runs the whole sequence
        x = torch.from_numpy(lm_input().numpy().astype(np.int64))
        h = lm[0](x)
        h, _ = lm[2][0](h)
        h, _ = lm[2][1](h)
        got = lm[2][3](lm[2][2](h)).numpy()
    np.testing.assert_allclose(got, lm_output(ours, lm_input()), rtol=1e-4, atol=1e-5)
    with torch.no_grad():  # torch's two biases, both non-zero, summed on import
        lm[2][0].bias_hh_l0.uniform_(-1, 1)
        h, _ = lm[2][0](lm[0](x))
        h, _ = lm[2][1](h)
        got = lm[2][3](lm[2][2](h)).numpy()
    back = build_lm()
    interop.load_state_dict(back, {k: v.numpy() for k, v in lm.state_dict().items()})
    back.evaluate()
    np.testing.assert_allclose(lm_output(back, lm_input()), got, rtol=1e-4, atol=1e-5)
