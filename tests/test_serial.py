"""minitorch7.save / load: round trips, nn.Serial sizes, atomic writes, and refused files."""

import hashlib
import io
import json
import os
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn, serial
from minitorch7.random import generator
from minitorch7.serial import SerialError


def same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert np.asarray(a).dtype == np.asarray(b).dtype


def roundtrip(obj, tmp_path, name="obj.t7"):
    path = tmp_path / name
    torch.save(path, obj)
    return torch.load(path)


# ---- tensors and plain data ---------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(0, 4), max_size=3),
       dtype=st.sampled_from([np.float32, np.float64, np.int64, np.int32, np.uint8]),
       transpose=st.booleans())
def test_tensor_roundtrip(tmp_path_factory, shape, dtype, transpose):
    data = np.asarray(np.random.default_rng(0).standard_normal(shape) * 10).astype(dtype)
    t = torch.from_numpy(data)
    if transpose and t.ndim >= 2:
        t = t.transpose(0, 1)  # a non-contiguous view
    loaded = roundtrip(t, tmp_path_factory.mktemp("t"))
    assert isinstance(loaded, torch.Tensor) and loaded.type() == t.type()
    same(loaded.numpy(), t.numpy())


def test_plain_training_log_roundtrip(tmp_path):
    x = torch.randn(2, 3)
    log = {"opt": {"lr": 0.1, "schedule": {5: 0.5, 6: 0.25}, "name": "cnn", "cuda": False},
           "trainloss": [2.3, 1.1, float("nan"), float("inf")], "epoch": 12, "best": None,
           "shape": (1, 28, 28), "count": np.int64(7), "weights": np.arange(6.0).reshape(2, 3),
           "tensors": [x, x, {"deep": (x,)}]}
    loaded = roundtrip(log, tmp_path)
    assert loaded["opt"] == log["opt"]
    assert loaded["trainloss"][:2] == [2.3, 1.1] and np.isnan(loaded["trainloss"][2])
    assert loaded["trainloss"][3] == float("inf")
    assert (loaded["epoch"], loaded["best"], loaded["shape"]) == (12, None, (1, 28, 28))
    assert loaded["count"] == 7 and isinstance(loaded["count"], np.int64)
    same(loaded["weights"], log["weights"])
    t0, t1, deep = loaded["tensors"]
    assert t0 is t1 and deep["deep"][0] is t0  # one tensor saved once, shared again
    same(t0.numpy(), x.numpy())


def test_unsupported_objects_are_refused_before_any_file_is_written(tmp_path):
    path = tmp_path / "bad.t7"
    with pytest.raises(SerialError, match="bad.t7: cannot save an object of type function"):
        torch.save(path, {"fn": lambda: 0})

    class Mine(nn.Module):
        def updateOutput(self, input):
            return input
    with pytest.raises(SerialError, match="only the modules of minitorch7.nn"):
        torch.save(path, nn.Sequential().add(Mine()))
    with pytest.raises(SerialError, match="Python objects"):
        torch.save(path, np.array([object()]))
    assert os.listdir(tmp_path) == []


# ---- modules ---------------------------------------------------------------------------------
def bn_mlp():
    return (nn.Sequential().add(nn.Linear(5, 4)).add(nn.BatchNormalization(4, 1e-3, 0.2))
            .add(nn.ReLU()).add(nn.Dropout(0.3)).add(nn.Linear(4, 3)).add(nn.LogSoftMax()))


def train_steps(model, x, steps=3):
    for _ in range(steps):
        model.zeroGradParameters()
        model.forward(x)
        model.backward(x, torch.ones(*model.output.shape))
        model.updateGradParameters(0.9)
        model.updateParameters(0.1)


def test_module_roundtrip_keeps_parameters_running_stats_and_attributes(tmp_path):
    torch.manualSeed(0)
    model = bn_mlp()
    x = torch.randn(8, 5)
    train_steps(model, x)
    model.evaluate()
    loaded = roundtrip(model, tmp_path)
    assert repr(loaded) == repr(model)
    for p, q in zip(model.parameters()[0] + model.parameters()[1],
                    loaded.parameters()[0] + loaded.parameters()[1]):
        same(q.numpy(), p.numpy())
    bn, bn2 = model.get(1), loaded.get(1)
    same(bn2.running_mean.numpy(), bn.running_mean.numpy())
    same(bn2.running_var.numpy(), bn.running_var.numpy())
    assert bn.running_mean.numpy().any()  # the statistics did move
    assert (bn2.eps, bn2.momentum, loaded.get(3).p) == (1e-3, 0.2, 0.3)
    assert all(not m.train for m in loaded.modules_depth_first())
    same(loaded.forward(x).numpy(), model.forward(x).numpy())


def test_loaded_module_trains_on_like_the_original(tmp_path):
    torch.manualSeed(1)
    model = nn.Sequential().add(nn.Linear(5, 4)).add(nn.Tanh()).add(nn.Linear(4, 2))
    x = torch.randn(6, 5)
    train_steps(model, x)
    loaded = roundtrip(model, tmp_path)
    train_steps(model, x)
    train_steps(loaded, x)  # writable arrays, momentum buffers carried over
    for p, q in zip(model.parameters()[0], loaded.parameters()[0]):
        np.testing.assert_allclose(q.numpy(), p.numpy(), rtol=1e-6)


def test_heavy_medium_light_keep_what_dpnn_keeps(tmp_path):
    torch.manualSeed(2)
    inner = nn.Sequential().add(nn.Linear(5, 4)).add(nn.Tanh())
    x = torch.randn(3, 5)
    train_steps(inner, x, steps=1)
    inner.forward(x)
    inner.backward(x, torch.ones(3, 4))
    heavy = roundtrip(nn.Serial(inner), tmp_path, "heavy.t7").module
    same(heavy.output.numpy(), inner.output.numpy())
    same(heavy.gradInput.numpy(), inner.gradInput.numpy())
    assert len(heavy._momentum) == 2
    medium = roundtrip(nn.Serial(inner).mediumSerial(), tmp_path, "medium.t7")
    assert medium.serialType == "medium"
    assert medium.module.output is None and medium.module.gradInput is None
    assert medium.module._momentum is None
    same(medium.module.get(0).gradWeight.numpy(), inner.get(0).gradWeight.numpy())
    light = roundtrip(nn.Serial(inner).lightSerial(), tmp_path, "light.t7").module
    assert not light.get(0).gradWeight.numpy().any() and not light.get(0).gradBias.numpy().any()
    same(light.get(0).weight.numpy(), inner.get(0).weight.numpy())
    same(light.forward(x).numpy(), inner.forward(x).numpy())


def lab_cnn():
    return (nn.Sequential().add(nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2)).add(nn.ReLU())
            .add(nn.SpatialMaxPooling(2, 2, 2, 2))
            .add(nn.SpatialConvolution(16, 32, 5, 5, 1, 1, 2, 2)).add(nn.ReLU())
            .add(nn.SpatialMaxPooling(2, 2, 2, 2)).add(nn.Collapse(3))
            .add(nn.Linear(1568, 200)).add(nn.ReLU()).add(nn.Linear(200, 10)).add(nn.LogSoftMax()))


def test_lab_cnn_serial_sizes(tmp_path):
    """The lab: "Serial doesn't save output and gradInput to disk: 1.5 vs 9 MB". After one
    training step on a batch of 32 the full state is about 9.7 MB; without outputs,
    gradInput and momentum (medium) 2.6 MB; without the gradients too (light) 1.3 MB."""
    torch.manualSeed(3)
    model = lab_cnn()
    x, t = torch.rand(32, 1, 28, 28), torch.LongTensor(np.arange(32) % 10)
    criterion = nn.ClassNLLCriterion()
    criterion.forward(model.forward(x), t)
    model.backward(x, criterion.backward(model.output, t))
    model.updateGradParameters(0.9)
    sizes = {}
    for mode in ("heavy", "medium", "light"):
        path = tmp_path / f"{mode}.t7"
        torch.save(path, getattr(nn.Serial(model), mode + "Serial")())
        sizes[mode] = os.path.getsize(path) / 1e6
    nparams = sum(p.nElement() for p in model.parameters()[0])
    assert sizes["light"] == pytest.approx(4 * nparams / 1e6, rel=0.02)
    assert sizes["medium"] == pytest.approx(2 * sizes["light"], rel=0.02)
    assert 8 < sizes["heavy"] < 11
    assert 5 < sizes["heavy"] / sizes["light"] < 8          # the lab's 9 MB vs 1.5 MB
    assert 3 < sizes["heavy"] / sizes["medium"] < 4.5
    loaded = torch.load(tmp_path / "medium.t7")
    same(loaded.forward(x).numpy(), model.forward(x).numpy())


def test_shared_parameters_stay_shared(tmp_path):
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.share(a, "weight", "bias")
    loaded = roundtrip(nn.Sequential().add(a).add(nn.Tanh()).add(b), tmp_path)
    assert loaded.get(2).weight is loaded.get(0).weight
    assert loaded.get(2).bias is loaded.get(0).bias
    assert loaded.get(0).weight is not a.weight


def test_recurrent_language_model_roundtrip(tmp_path):
    torch.manualSeed(4)
    rnn = nn.Sequential().add(nn.FastLSTM(6, 6)).add(nn.GRU(6, 6)).add(nn.Linear(6, 20))
    lm = (nn.Sequential().add(nn.LookupTable(20, 6)).add(nn.SplitTable(0))
          .add(nn.Sequencer(rnn.add(nn.LogSoftMax()))))
    x = torch.LongTensor(np.random.default_rng(0).integers(0, 20, (4, 3)))
    lm.forward(x)
    loaded = roundtrip(nn.Serial(lm).mediumSerial(), tmp_path)
    assert repr(loaded) == repr(nn.Serial(lm))
    for y, y2 in zip(lm.forward(x), loaded.forward(x)):
        same(y2.numpy(), y.numpy())


def test_recurrence_with_a_module_argument_roundtrip(tmp_path):
    torch.manualSeed(5)
    rm = (nn.Sequential().add(nn.ParallelTable().add(nn.Linear(4, 3)).add(nn.Linear(3, 3)))
          .add(nn.CAddTable()).add(nn.Sigmoid()))
    seq = nn.Sequencer(nn.Recurrence(rm, 3, 1))
    xs = [torch.randn(2, 4) for _ in range(3)]
    loaded = roundtrip(seq, tmp_path)
    for y, y2 in zip(seq.forward(xs), loaded.forward(xs)):
        same(y2.numpy(), y.numpy())


def test_nngraph_roundtrip(tmp_path):
    x1, x2 = nn.Identity()(), nn.Identity()()
    h = nn.Tanh()(nn.Linear(4, 3)(x1))
    g = nn.gModule([x1, x2], [nn.CAddTable()(h, nn.Linear(2, 3)(x2)), h])
    a, b = torch.randn(2, 4), torch.randn(2, 2)
    loaded = roundtrip(g, tmp_path)
    assert repr(loaded) == repr(g)
    for y, y2 in zip(g.forward([a, b]), loaded.forward([a, b])):
        same(y2.numpy(), y.numpy())


def test_cuda_module_loads_on_its_device_or_on_the_cpu(tmp_path):
    """CUDA tensors (the numba.cuda simulator without a GPU) come back on the GPU, or on the
    CPU with device="cpu"."""
    model = nn.Linear(3, 2)
    expected = model.forward(torch.ones(1, 3)).numpy()
    torch.save(tmp_path / "gpu.t7", model.cuda())
    on_gpu = torch.load(tmp_path / "gpu.t7")
    assert on_gpu.weight.device == on_gpu.weight.grad.device == "cuda"
    on_cpu = torch.load(tmp_path / "gpu.t7", device="cpu")
    assert on_cpu.weight.device == on_cpu.bias.grad.device == "cpu"
    same(on_cpu.forward(torch.ones(1, 3)).numpy(), expected)


def test_load_leaves_the_random_generator_alone(tmp_path):
    torch.save(tmp_path / "m.t7", nn.Linear(30, 30))
    torch.manualSeed(6)
    expected = generator().random(3)
    torch.manualSeed(6)
    torch.load(tmp_path / "m.t7")  # the constructor draws weights, then they are replaced
    same(generator().random(3), expected)


# ---- atomic writes ------------------------------------------------------------------------------
def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.t7"
    old = nn.Linear(3, 2)
    torch.save(path, old)

    def write_half_then_fail(fp, array, **kwargs):
        fp.write(array.tobytes()[: array.nbytes // 2])
        raise OSError("disk full")
    monkeypatch.setattr(np.lib.format, "write_array", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        torch.save(path, nn.Linear(3, 2))
    monkeypatch.undo()

    def fsync_fails(fd):
        raise OSError("I/O error")
    monkeypatch.setattr(os, "fsync", fsync_fails)
    with pytest.raises(OSError, match="I/O error"):
        torch.save(path, nn.Linear(3, 2))
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.t7"]
    same(torch.load(path).weight.numpy(), old.weight.numpy())


# ---- refused files ------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.t7"
    torch.save(path, {"model": nn.Linear(20, 10), "epoch": 3})
    return path


@pytest.mark.parametrize("keep", [0, 5, 40, 200, 0.5, -22, -1])
def test_truncated_file_is_refused_naming_it(saved, keep):
    data = saved.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    saved.write_bytes(data[:cut])
    with pytest.raises(SerialError, match=f"{saved.name}: (truncated|.*corrupted)"):
        torch.load(saved)


def test_corrupted_array_bytes_are_refused(saved):
    data = bytearray(saved.read_bytes())
    weights = data.index(b"\x93NUMPY") + 200  # inside the first array's values
    data[weights] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(SerialError, match=f"{saved.name}: .*(corrupted|CRC)"):
        torch.load(saved)


def test_altered_array_with_a_valid_zip_crc_fails_the_manifest_checksum(saved, tmp_path):
    altered = tmp_path / "altered.t7"
    with zipfile.ZipFile(saved) as original, zipfile.ZipFile(altered, "w") as copy:
        for name in original.namelist():
            raw = original.read(name)
            copy.writestr(name, raw[:-1] + b"\x01" if name == "arrays/0.npy" else raw)
    with pytest.raises(SerialError, match="altered.t7: corrupted file: checksum mismatch for "
                                          "arrays/0.npy"):
        torch.load(altered)


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some text, long enough to hold a header or two\n")
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.zeros(3))
    empty = tmp_path / "empty.t7"
    empty.write_bytes(b"")
    for path in (text, npz):
        with pytest.raises(SerialError, match=f"{path.name}: not a minitorch7 file"):
            torch.load(path)
    with pytest.raises(SerialError, match="empty.t7: truncated or not a minitorch7 file"):
        torch.load(empty)


def write_archive(path, tree, arrays=None, version=serial.VERSION):
    """A hand-made file in the minitorch7 layout, with valid checksums."""
    members, checksums = {}, {}
    for name, raw in (arrays or {}).items():
        members[name] = raw
        checksums[name] = {"sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw)}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(serial.MAGIC_NAME, serial.MAGIC)
        for name, raw in members.items():
            archive.writestr(name, raw)
        archive.writestr("manifest.json", json.dumps(
            {"format": serial.FORMAT, "version": version, "arrays": checksums, "object": tree}))


class Payload:
    """Unpickling this would run os.system and leave a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickled_object_array_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    raw = io.BytesIO()
    np.save(raw, np.array([Payload(marker)], dtype=object), allow_pickle=True)
    path = tmp_path / "evil.t7"
    write_archive(path, {"$": "array", "name": "arrays/0.npy"}, {"arrays/0.npy": raw.getvalue()})
    with pytest.raises(SerialError, match="evil.t7: arrays/0.npy: refused .*allow_pickle"):
        torch.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("tree, message", [
    ({"$": "module", "id": 0, "class": "system", "args": ["touch x"], "kwargs": None},
     "unknown module class 'system'"),
    ({"$": "module", "id": 0, "class": "__class__", "args": [], "kwargs": None},
     "unknown module class"),
    ({"$": "module", "id": 0, "class": "Tanh", "args": [], "kwargs": {"$": "dict", "items": []},
      "children": [], "parameters": {}, "buffers": {}, "attributes": {"forward": 1}},
     "attribute 'forward' may not be set"),
    ({"$": "eval", "code": "__import__('os')"}, "unknown node 'eval'"),
    ({"$": "ref", "id": 3}, "reference to object 3 before its definition"),
    ({"$": "array", "name": "../../etc/passwd"}, "not listed in the manifest"),
])
def test_crafted_manifests_are_refused(tmp_path, tree, message):
    path = tmp_path / "crafted.t7"
    write_archive(path, tree)
    with pytest.raises(SerialError, match=f"crafted.t7: .*{message}"):
        torch.load(path)


def test_other_format_versions_are_refused(tmp_path):
    path = tmp_path / "future.t7"
    write_archive(path, 1, version=99)
    with pytest.raises(SerialError, match="future.t7: format version 99"):
        torch.load(path)
