"""minitorch7.save / load: round trips, nn.Serial sizes, atomic writes, and refused files."""

import contextlib
import hashlib
import io
import json
import os
import re
import struct
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

try:
    import resource
except ImportError:  # not POSIX
    resource = None
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


# ---- files saved by the first version of the format ----------------------------------------------
FIXTURES = Path(__file__).parent / "fixtures"


def test_a_file_saved_before_the_hardening_loads_and_computes_the_same():
    """tests/fixtures/serial_v1/checkpoint.t7 was written by the serial.py of commit
    1dd36e9 (its manifest has no shape or dtype per array: load reads them from the .npy headers): a
    trained CNN with BatchNorm and momentum, a medium-Serial language model (LookupTable,
    FastLSTM, GRU, LSTM), light-Serial shared weights and an nngraph module, with inputs and
    the outputs they gave then."""
    path = FIXTURES / "serial_v1" / "checkpoint.t7"
    with zipfile.ZipFile(path) as archive:
        entries = json.loads(archive.read("manifest.json"))["arrays"]
    assert entries and not any("shape" in e or "dtype" in e for e in entries.values())
    saved = torch.load(path)
    assert (saved["epoch"], saved["shape"], saved["count"]) == (3, (1, 28, 28), 7)
    np.testing.assert_allclose(saved["model"].forward(saved["input"]).numpy(),
                               saved["output"].numpy(), rtol=1e-6)
    assert len(saved["model"]._momentum) == 6 and not saved["model"].get(0).train
    for y, expected in zip(saved["lm"].forward(saved["words"]), saved["lm_output"]):
        np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-6)
    for y, expected in zip(saved["graph"].forward(saved["graph_input"]), saved["graph_output"]):
        np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-6)
    shared = saved["shared"].module
    assert shared.get(2).weight is shared.get(0).weight
    same(saved["table"], np.arange(6.0).reshape(2, 3).T)


def test_new_files_describe_each_array_in_the_manifest(tmp_path):
    path = tmp_path / "m.t7"
    torch.save(path, {"w": np.zeros((2, 3), np.float32).T, "n": np.int64(3),
                      "r": np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")])})
    with zipfile.ZipFile(path) as archive:
        entries = json.loads(archive.read("manifest.json"))["arrays"]
    assert entries["arrays/0.npy"]["shape"] == [3, 2]
    assert entries["arrays/0.npy"]["dtype"] == "<f4"
    assert entries["arrays/1.npy"] == {**entries["arrays/1.npy"], "shape": [], "dtype": "<i8"}
    assert "dtype" not in entries["arrays/2.npy"]  # structured: its .npy header describes it
    loaded = torch.load(path)
    same(loaded["w"], np.zeros((3, 2), np.float32))
    assert loaded["r"].dtype.names == ("a", "b")


# ---- bounded loading -----------------------------------------------------------------------------
@contextlib.contextmanager
def bounded_memory(extra):
    """Cap this process's address space at what it maps now plus ``extra`` bytes while the
    block runs (an allocation beyond fails at once instead of swapping), and trace the
    peak of Python and NumPy allocations: yields a dict whose "peak" is set at the end."""
    result = {}
    limit = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        mapped = int(re.search(r"VmSize:\s+(\d+) kB", f.read()).group(1)) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, limit[1]))
    tracemalloc.start()
    try:
        yield result
    finally:
        result["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        resource.setrlimit(resource.RLIMIT_AS, limit)


def module_node(cls, args, parameters=None, ident=0, **extra):
    return {"$": "module", "id": ident, "class": cls, "args": args,
            "kwargs": {"$": "dict", "items": []}, "children": [], "parameters": parameters or {},
            "buffers": {}, "attributes": {}, **extra}


def tensor_node(ident, name, grad=None):
    return {"$": "tensor", "id": ident, "data": {"$": "array", "name": name},
            "requires_grad": True, "grad": {"$": "array", "name": grad} if grad else None}


def npy(array):
    raw = io.BytesIO()
    np.save(raw, array, allow_pickle=False)
    return raw.getvalue()


linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="RLIMIT_AS and /proc/self/status")


@linux_only
def test_a_501_byte_linear_200000_x_200000_is_refused_before_any_allocation(tmp_path):
    """The issue's file: a manifest that builds Linear(200000, 200000), 149 GiB of weights,
    in 501 bytes. The constructor arguments are checked against the arrays in the file
    before anything is built."""
    path = tmp_path / "huge.t7"
    write_archive(path, module_node("Linear", [200000, 200000]))
    assert os.path.getsize(path) == 501
    with bounded_memory(1 << 30) as memory, pytest.raises(
            SerialError, match=r"huge.t7: nn.Linear\(200000, 200000\): the constructor makes "
                               r"the parameters weight 200000x200000, bias 200000; the file "
                               r"has none"):
        torch.load(path)
    assert memory["peak"] < 1 << 20
    # with weights of the right number of elements but the wrong sizes: the same
    weight = np.zeros((1, 200000 * 2), np.float32)
    write_archive(path, module_node("Linear", [200000, 200000], {
        "weight": tensor_node(1, "arrays/0.npy"), "bias": tensor_node(2, "arrays/1.npy")}),
        {"arrays/0.npy": npy(weight), "arrays/1.npy": npy(np.zeros(200000, np.float32))})
    with bounded_memory(1 << 30), pytest.raises(SerialError, match="nn.Linear.weight: the file "
                                                "has size 1x400000, the constructor arguments "
                                                "make 200000x200000"):
        torch.load(path)


@linux_only
def test_shared_weights_cannot_multiply_what_the_constructors_allocate(tmp_path):
    """300 Linear(500, 500) sharing one weight: each constructor would draw its own 1 MB
    first; all of them together may allocate only 4 x the inflation limit."""
    path = tmp_path / "shared.t7"
    weight, bias = np.zeros((500, 500), np.float32), np.zeros(500, np.float32)
    first = module_node("Linear", [500, 500], {"weight": tensor_node(1, "arrays/0.npy"),
                                               "bias": tensor_node(2, "arrays/1.npy")}, ident=0)
    shared = {"weight": {"$": "ref", "id": 1}, "bias": {"$": "ref", "id": 2}}
    tree = [first] + [module_node("Linear", [500, 500], shared, ident=3 + i) for i in range(300)]
    write_archive(path, tree, {"arrays/0.npy": npy(weight), "arrays/1.npy": npy(bias)})
    with bounded_memory(1 << 30), pytest.raises(SerialError, match="the constructors would "
                                                "allocate .* more than 4 x the limit"):
        torch.load(path, max_bytes=50 << 20)
    model = torch.load(path, max_bytes=1 << 30)  # within a limit that allows it: shared
    assert model[300].weight is model[0].weight


def zip_file(members):
    """A zip archive by hand: members are (name, bytes as stored, method, crc, declared
    uncompressed size, flags); nothing is checked, so headers can lie."""
    local, central = bytearray(), bytearray()
    for name, data, method, crc, size, flags in members:
        raw_name, offset = name.encode(), len(local)
        local += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc,
                             len(data), size, len(raw_name), 0) + raw_name + data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21,
                               crc, len(data), size, len(raw_name), 0, 0, 0, 0, 0,
                               offset) + raw_name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(local), 0)
    return bytes(local + central + end)


def stored(name, data, flags=0):
    return name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data), flags


def manifest_member(tree, entries):
    return stored("manifest.json", json.dumps({"format": serial.FORMAT, "version": serial.VERSION,
                                               "arrays": entries, "object": tree}).encode())


def zeros_bomb(mib):
    """A raw deflate stream of ``mib`` MiB of zeros, about 1 KB per MiB: one compressed
    MiB repeated (each ends with a full flush, so it stands alone), then a final block."""
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = block.compress(bytes(1 << 20)) + block.flush(zlib.Z_FULL_FLUSH)
    return one * mib + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def bomb_file(path, mib, declared=None, checksums=False):
    """A float32 array of ``mib`` MiB of zeros, deflated; ``declared``: the uncompressed
    size that the zip directory and the manifest claim (default: the true one); the CRC
    and SHA-256 are right only with ``checksums`` (they take a while)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (mib << 18,)})
    header = header.getvalue()
    deflated = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflated.compress(header) + deflated.flush(zlib.Z_FULL_FLUSH) + zeros_bomb(mib)
    size = len(header) + (mib << 20) if declared is None else declared
    crc, digest = zlib.crc32(header), hashlib.sha256(header)
    for _ in range(mib if checksums else 0):
        crc, _ = zlib.crc32(bytes(1 << 20), crc), digest.update(bytes(1 << 20))
    tree = {"$": "array", "name": "arrays/0.npy"}
    path.write_bytes(zip_file([
        stored(serial.MAGIC_NAME, serial.MAGIC),
        ("arrays/0.npy", body, zipfile.ZIP_DEFLATED, crc, size, 0),
        manifest_member(tree, {"arrays/0.npy": {"sha256": digest.hexdigest(), "bytes": size}})]))
    return path


@linux_only
def test_a_deflate_bomb_is_refused_from_the_zip_directory(tmp_path):
    """The issue's bomb: 600 MiB of zeros deflated into a file of about 627 KB. Its
    declared size is over the default limit (the file's size + 64 MiB): refused before
    anything is inflated."""
    path = bomb_file(tmp_path / "bomb.t7", 600)
    assert 600_000 < os.path.getsize(path) < 660_000
    with bounded_memory(256 << 20) as memory, pytest.raises(
            SerialError, match=r"bomb.t7: its members would inflate to 6291\d{5} bytes "
                               r"\(600.0 MiB\), over the limit of \d+ bytes \(64.6 MiB\); "
                               r"load\(path, max_bytes=...\) raises the limit"):
        torch.load(path)
    assert memory["peak"] < 1 << 20


@linux_only
def test_a_member_inflates_no_further_than_its_declared_size(tmp_path):
    """A bomb that declares 1000 bytes: inflation stops there, then the CRC fails."""
    path = bomb_file(tmp_path / "liar.t7", 600, declared=1000)
    with bounded_memory(256 << 20) as memory, pytest.raises(
            SerialError, match="liar.t7: .*(truncated or corrupted|bytes, its header says)"):
        torch.load(path)
    assert memory["peak"] < 1 << 20


@linux_only
def test_a_deflated_file_within_max_bytes_loads_with_one_copy_of_its_arrays(tmp_path):
    path = bomb_file(tmp_path / "zeros.t7", 72, checksums=True)
    with pytest.raises(SerialError, match="over the limit"):
        torch.load(path)
    with bounded_memory(512 << 20) as memory:
        zeros = torch.load(path, max_bytes=80 << 20)
    assert zeros.shape == (72 << 18,) and not zeros.any()
    assert memory["peak"] < (72 << 20) * 1.1  # read into the array, not via a bytes copy


def test_max_bytes_bounds_even_stored_members(saved):
    size = os.path.getsize(saved)
    torch.load(saved, max_bytes=size)  # a file that save wrote: its members fit in its size
    with pytest.raises(SerialError, match=r"model.t7: its members would inflate to \d+ bytes "
                                          r".* over the limit of 1000 bytes"):
        torch.load(saved, max_bytes=1000)
    with pytest.raises(ValueError, match="max_bytes must be a non-negative int"):
        torch.load(saved, max_bytes=-1)
    with pytest.raises(ValueError, match="device must be None, 'cpu' or 'cuda'"):
        torch.load(saved, device="gpu")


def patch_member(data, name, method=None, flags=None):
    """``data`` (a zip) with the compression method or flag bits of member ``name``
    changed in its local header and in the central directory."""
    data, raw = bytearray(data), name.encode()
    for signature, method_at, name_at, length_at in ((b"PK\x03\x04", 8, 30, 26),
                                                     (b"PK\x01\x02", 10, 46, 28)):
        at = data.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", data, at + length_at)[0]
            if data[at + name_at:at + name_at + length] == raw:
                if method is not None:
                    struct.pack_into("<H", data, at + method_at, method)
                if flags is not None:
                    struct.pack_into("<H", data, at + method_at - 2, flags)
            at = data.find(signature, at + 4)
    return bytes(data)


@pytest.mark.parametrize("method, name", [(1, "shrink"), (6, "implode"), (9, "deflate64"),
                                          (12, "bzip2"), (14, "lzma"), (93, "zstandard"),
                                          (99, "AES encryption"), (77, "unknown")])
@pytest.mark.parametrize("member", ["arrays/0.npy", "manifest.json"])
def test_other_compression_methods_are_refused_naming_the_member(saved, method, name, member):
    saved.write_bytes(patch_member(saved.read_bytes(), member, method=method))
    with pytest.raises(SerialError, match=f"model.t7: member '{member}' uses compression "
                                          f"method {method} \\({name}\\); minitorch7 reads "
                                          f"stored or deflated members only"):
        torch.load(saved)


@pytest.mark.parametrize("flags, what", [(0x1, "is encrypted"), (0x41, "is encrypted"),
                                         (0x40, "is encrypted"), (0x20, "holds patch data")])
@pytest.mark.parametrize("member", ["arrays/1.npy", "manifest.json", serial.MAGIC_NAME])
def test_encrypted_members_are_refused(saved, flags, what, member):
    saved.write_bytes(patch_member(saved.read_bytes(), member, flags=flags))
    with pytest.raises(SerialError, match=f"model.t7: member '{member}' {what}"):
        torch.load(saved)


def test_a_stored_member_labelled_deflated_fails_its_crc(saved):
    saved.write_bytes(patch_member(saved.read_bytes(), "arrays/0.npy", method=8))
    with pytest.raises(SerialError, match="model.t7: arrays/0.npy: (truncated or corrupted|"
                                          "cannot be read)"):
        torch.load(saved)


# ---- the manifest is checked against the arrays --------------------------------------------------
def linear_file(path, weight, bias, args=(3, 2), grad=None, **extra):
    arrays = {"arrays/0.npy": npy(weight), "arrays/1.npy": npy(bias)}
    if grad is not None:
        arrays["arrays/2.npy"] = npy(grad)
    write_archive(path, module_node("Linear", list(args), {
        "weight": tensor_node(1, "arrays/0.npy", grad is not None and "arrays/2.npy"),
        "bias": tensor_node(2, "arrays/1.npy")}, **extra), arrays)
    return path


@pytest.mark.parametrize("dtype, message", [
    ("int64", "nn.Linear.weight: int64 data; parameters and statistics are float32 or float64"),
    ("int32", "int32 data; parameters"), ("uint8", "uint8 data; parameters"),
    ("float16", "tensor 1: float16 data, which minitorch7 has no tensor type for"),
    ("complex128", "complex128 data, which minitorch7 has no tensor type for"),
    ("bool", "bool data, which minitorch7"), ("<U3", "<U3 data, which minitorch7"),
    ("datetime64[s]", "datetime64.s. data, which minitorch7"),
])
def test_wrong_dtypes_are_refused_at_load_not_at_forward(tmp_path, dtype, message):
    path = linear_file(tmp_path / "typed.t7", np.zeros((2, 3), dtype), np.zeros(2, dtype))
    with pytest.raises(SerialError, match=f"typed.t7: .*{message}"):
        torch.load(path)


def test_parameters_of_mixed_or_foreign_byte_order_types(tmp_path):
    path = linear_file(tmp_path / "mixed.t7", np.zeros((2, 3), np.float32), np.zeros(2))
    with pytest.raises(SerialError, match=r"mixed.t7: nn.Linear: parameters and buffers of "
                                          r"mixed types \['float32', 'float64'\]"):
        torch.load(path)
    weight = np.arange(6, dtype=">f8").reshape(2, 3)  # big-endian: converted, not refused
    model = torch.load(linear_file(tmp_path / "big.t7", weight, np.ones(2, ">f8")))
    assert model.weight.dtype == np.float64 and model.weight.data.dtype.isnative
    same(model.forward(torch.ones(1, 3).double()).numpy(), np.array([[4.0, 13.0]]))
    path = linear_file(tmp_path / "grad.t7", np.zeros((2, 3)), np.zeros(2), grad=np.zeros((3, 2)))
    with pytest.raises(SerialError, match="grad.t7: tensor 1: its gradient is not a 2x3 cpu "
                                          "float64 array"):
        torch.load(path)


@pytest.mark.parametrize("tree, message", [
    (module_node("Linear", [3, 2, True, 4]), r"nn.Linear: constructor arguments \[3, 2, True, 4\]"
                                             r" \{\} do not fit"),
    (module_node("Linear", [-3, 2]), "nn.Linear: inputSize must be an integer >= 0, the file "
                                     "has -3"),
    (module_node("Linear", ["3", 2]), "inputSize must be an integer >= 0, the file has '3'"),
    (module_node("Linear", [2.5, 2]), "inputSize must be an integer >= 0, the file has 2.5"),
    (module_node("SpatialConvolution", [1, 2, 3, 3, 0]), "dW must be an integer >= 1"),
    (module_node("SpatialMaxPooling", [2, 2, -1]), "dW must be an integer >= 1"),
    (module_node("CMul", [[2, 3]]), "size must be an integer >= 0, the file has .2, 3."),
    (module_node("Sequencer", [5]), "nn.Sequencer: module must be a module, the file has 5"),
    (module_node("Tanh", [], parameters={"weight": None}),
     r"nn.Tanh\(\): the constructor makes the parameters none; the file has 'weight'"),
    (module_node("Tanh", [], attributes={"_parameter_names": ["x"]}),
     "attribute '_parameter_names' may not be set"),
    (module_node("Tanh", [], attributes={"gradInput": 3}), "attribute 'gradInput' may not be"),
    (module_node("Tanh", [], attributes={"train": {"$": "dict", "items": []}}),
     r"attribute 'train' is \{\}, not a number"),
    (module_node("Linear", [0, 0], attributes={"inputSize": 7}, parameters={
        "weight": tensor_node(1, "arrays/0.npy"), "bias": tensor_node(2, "arrays/1.npy")}),
     "attribute 'inputSize' is 7, the constructor arguments make 0"),
    (module_node("Sequential", [], children=[{"$": "ref", "id": 0}]),
     r"reference to nn.Sequential\(\) inside itself"),
    (module_node("Sequential", [], children=[module_node("gModule", [[{
        "$": "node", "id": 1, "module": {"$": "ref", "id": 0}, "parents": []}], []], ident=2)]),
     r"reference to nn.Sequential\(\) inside itself"),
    (module_node("FastLSTM", [2, 3]), "nn.FastLSTM has 2 children, the file 0"),
    (module_node("Serial", [module_node("Tanh", [], ident=1)], children=[
        module_node("Tanh", [], ident=2)]), "child 0 must refer to the module given"),
    (module_node("FastLSTM", [2, 3], children=[module_node("Linear", [2, 99], ident=1),
                                               module_node("LinearNoBias", [3, 12], ident=2)]),
     r"nn.FastLSTM: child 0 has arguments \[2, 99\], the constructor makes nn.Linear\(2, 12\)"),
    (module_node("Tanh", [], ident=True), "object id True is not a non-negative integer"),
    ([module_node("Tanh", [], ident=4), module_node("Tanh", [], ident=4)],
     "object id 4 is defined twice"),
    ({"$": "tensor", "id": 0, "data": {"$": "array", "name": "arrays/0.npy", "scalar": True},
      "requires_grad": False, "grad": None}, "array arrays/0.npy: a scalar of size 0x0"),
    ({"$": "dict", "items": [[[1], 2]]}, r"an unhashable dict key \[1\]"),
    ({"$": "node", "id": 0, "module": 3, "parents": []}, "an nngraph node whose module is 3"),
])
def test_crafted_manifests_are_refused_before_anything_is_built(tmp_path, tree, message):
    path = tmp_path / "crafted.t7"
    arrays = {"arrays/0.npy": npy(np.zeros((0, 0), np.float32)),
              "arrays/1.npy": npy(np.zeros(0, np.float32))}
    used = json.dumps(tree)
    write_archive(path, tree, {k: v for k, v in arrays.items() if k in used})
    with pytest.raises(SerialError, match=f"crafted.t7: .*{message}"):
        torch.load(path)


def test_arrays_listed_but_unused_or_used_twice_are_refused(tmp_path):
    path = tmp_path / "count.t7"
    raw = npy(np.zeros(2))
    write_archive(path, [{"$": "array", "name": "arrays/0.npy"}], {"arrays/0.npy": raw,
                                                                  "arrays/1.npy": raw})
    with pytest.raises(SerialError, match="count.t7: array arrays/1.npy is listed in the "
                                          "manifest but not used"):
        torch.load(path)
    write_archive(path, [{"$": "array", "name": "arrays/0.npy"}] * 2, {"arrays/0.npy": raw})
    with pytest.raises(SerialError, match="count.t7: array arrays/0.npy is used twice"):
        torch.load(path)


def resign(path, edit_manifest=None, edit_members=None):
    """Rewrite the zip at ``path`` after ``edit_members(members)`` (name -> bytes) and
    ``edit_manifest(manifest)``, with fresh checksums: only the checks past them can
    refuse it."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members.pop("manifest.json"))
    if edit_members:
        edit_members(members)
    for name, raw in members.items():
        if name in manifest["arrays"]:
            manifest["arrays"][name].update(sha256=hashlib.sha256(raw).hexdigest(),
                                            bytes=len(raw))
    if edit_manifest:
        edit_manifest(manifest)
    with zipfile.ZipFile(path, "w") as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)
        archive.writestr("manifest.json", json.dumps(manifest))


def test_a_npy_header_that_disagrees_with_the_manifest_is_refused(saved):
    def retype(members):  # float32 weights relabelled int32 in the .npy header
        members["arrays/0.npy"] = members["arrays/0.npy"].replace(b"'<f4'", b"'<i4'")
    resign(saved, edit_members=retype)
    with pytest.raises(SerialError, match=r"model.t7: corrupted file: arrays/0.npy holds 10x20 "
                                          r"int32, the manifest says 10x20 float32"):
        torch.load(saved)

    def relabel(manifest):  # every float32 array (weight, bias and their gradients)
        for entry in manifest["arrays"].values():
            entry["dtype"] = entry["dtype"].replace("<f4", "<i4")
    resign(saved, edit_manifest=relabel)
    with pytest.raises(SerialError, match="model.t7: nn.Linear.weight: int32 data"):
        torch.load(saved)


def test_momentum_buffers_must_match_the_gradients(tmp_path):
    model = nn.Sequential().add(nn.Linear(3, 2))
    model.updateGradParameters(0.9)
    path = tmp_path / "momentum.t7"
    torch.save(path, model)

    def drop_one(manifest):
        manifest["object"]["momentum"].pop()
    resign(path, edit_manifest=drop_one)
    with pytest.raises(SerialError, match="momentum.t7: .*array arrays/\\d+.npy is listed in "
                                          "the manifest but not used"):
        torch.load(path)


# ---- the size declarations agree with the constructors ----------------------------------------
SAMPLE_ARGUMENTS = {
    "SoftMaxTree": (3, {4: np.array([0, 1]), 5: np.array([4, 2, 3])}, 5),
    "SpatialReSampling": (None, None, 4, 3),
    "Linear": (5, 3), "LinearNoBias": (5, 3), "SpatialConvolution": (2, 4, 3, 5, 1, 2, 1),
    "LookupTable": (7, 3), "BatchNormalization": (4,), "SpatialBatchNormalization": (4,),
    "CMul": (2, 3), "Add": (4,), "Mul": (), "Convert": (), "FastLSTM": (3, 4), "LSTM": (3, 4),
    "GRU": (3, 4), "Collapse": (3,), "Concat": (1,), "Dropout": (0.3,), "SpatialDropout": (0.2,),
    "JoinTable": (1,), "NarrowTable": (1, 2), "Reshape": (2, 3), "SelectTable": (1,),
    "SplitTable": (0,), "SpatialMaxPooling": (2, 2), "SpatialAveragePooling": (3, 3, 1, 1),
    "View": (6,), "SeqReverseSequence": (0,), "SeqBRNN": (3, 4),
    "Constant": (1, 1), "MulConstant": (0.5,), "ReinforceNormal": (0.2,),
    "SpatialGlimpse": (4, 2), "Recurrent": (2, nn.Linear(2, 2), nn.Linear(2, 2)),
    "RecurrentAttention": (nn.Linear(2, 2), nn.Linear(2, 2), 3, [2]),
}


def build_sample(name, classes):
    """A module of class ``name`` from sample arguments (modules for those that take one)."""
    if name in ("Recursor", "Serial", "Sequencer", "BiSequencer"):
        return classes[name](nn.Linear(2, 2))
    if name == "Recurrence":
        return classes[name](nn.Linear(2, 2), 2, 1)
    if name == "gModule":
        x = nn.Identity()()
        return classes[name]([x], [nn.Tanh()(x)])
    return classes[name](*SAMPLE_ARGUMENTS.get(name, ()))


@pytest.mark.parametrize("name", sorted(serial.module_classes()))
def test_every_module_class_declares_what_its_constructor_allocates(name):
    """serial._SIZES says, for each class of nn, the parameters, buffers and submodules its
    constructor makes from its arguments (load checks files against it before building).
    A new nn class must be declared there: this test fails until it is."""
    classes = serial.module_classes()
    module = build_sample(name, classes)
    args, kwargs = module._init_args
    specs = [serial._ModuleSpec(type(a), None) if isinstance(a, nn.Module) else a for a in args]
    sizes = serial.predict_sizes(classes[name], specs, kwargs)
    assert sizes is not None, f"nn.{name} is not declared in minitorch7/serial.py's _SIZES"
    assert {n: tuple(getattr(module, n).shape) for n in module._parameter_names} == {
        n: tuple(s) for n, s in sizes.params.items()}
    assert {n: tuple(getattr(module, n).shape) for n in module._buffer_names} == {
        n: tuple(s) for n, (s, _) in sizes.buffers.items()}
    for attr, value in sizes.fixed.items():
        assert getattr(module, attr) == value, attr
    if sizes.children is not None:  # (gModule's come from its graph)
        children = module.children()
        assert len(children) == len(sizes.children)
        for child, expected in zip(children, sizes.children):
            if isinstance(expected, serial._Built):
                assert type(child) is expected.cls and child._init_args == (expected.args, {}) \
                    or isinstance(expected.args[0], serial._ModuleSpec)
            else:
                assert type(child) is expected.cls


# ---- CUDA-saved files on a machine without a GPU -----------------------------------------------
def test_a_cuda_saved_file_loads_on_the_cpu_without_a_gpu(monkeypatch, capsys):
    """tests/fixtures/serial_v1/cuda.t7 was saved from CUDA tensors (the simulator) by
    the code of 1dd36e9."""
    path = FIXTURES / "serial_v1" / "cuda.t7"
    on_gpu = torch.load(path)["model"]  # the simulator counts as a GPU
    assert on_gpu.get(0).weight.device == "cuda"
    monkeypatch.setattr(serial, "_cuda_usable", lambda: False)
    saved = torch.load(path)
    assert f"minitorch7.load: {path}: saved from CUDA tensors; no usable NVIDIA GPU here, so " \
           f"they are loaded on the CPU" in capsys.readouterr().err
    model = saved["model"]
    assert all(p.device == "cpu" and p.grad.device == "cpu" for p in model.parameters()[0])
    np.testing.assert_allclose(model.forward(saved["input"]).numpy(), saved["output"].numpy(),
                               rtol=1e-6)
    torch.load(path, device="cpu")
    assert capsys.readouterr().err == ""
    with pytest.raises(SerialError, match="cuda.t7: holds CUDA tensors and "
                                          "device='cuda' was asked, but no usable NVIDIA GPU"):
        torch.load(path, device="cuda")


def test_evaluate_reads_a_cuda_saved_classifier_without_a_gpu(tmp_path, monkeypatch, capsys):
    """`minitorch7 evaluate` cannot pass device="cpu": load(path) maps by itself."""
    from minitorch7 import cli

    torch.manualSeed(9)
    model = (nn.Sequential().add(nn.Convert()).add(nn.Collapse(3)).add(nn.Linear(784, 10))
             .add(nn.LogSoftMax()))
    torch.save(tmp_path / "mlp.t7", {"kind": "classifier", "model": model.cuda(), "epoch": 1})
    monkeypatch.setattr(serial, "_cuda_usable", lambda: False)
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    cli.main(["evaluate", str(tmp_path / "mlp.t7"), "--datapath", "fixtures"])
    out, err = capsys.readouterr()
    assert "Test accuracy=" in out and "loaded on the CPU" in err


def test_load_goes_as_deep_as_save_and_refuses_deeper_manifests_cleanly(tmp_path):
    model = nn.Tanh()
    for _ in range(300):
        model = nn.Sequential().add(model)
    torch.save(tmp_path / "deep.t7", model)
    assert len(list(torch.load(tmp_path / "deep.t7").modules_depth_first())) == 301
    path = tmp_path / "deeper.t7"
    write_archive(path, None)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["manifest.json"] = members["manifest.json"].replace(
        b'"object": null', b'"object": ' + b"[" * 100_000 + b"]" * 100_000)
    with zipfile.ZipFile(path, "w") as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)
    with pytest.raises(SerialError, match="deeper.t7: manifest.json: nested too deeply"):
        torch.load(path)
