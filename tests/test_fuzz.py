"""Fuzzing ``minitorch7.load`` and ``read_idx``: mutated files give a result or a
SerialError / DataFormatError naming the file, nothing else, within a memory limit.

Hypothesis mutates saved models -- truncation, byte flips (anywhere, or in the zip
directory and manifest), zip header fields, edits of the manifest's JSON (values replaced,
deleted, grafted from elsewhere in the tree) and of the arrays' .npy headers, with fresh
checksums so that the checks past them are reached -- and IDX files, plain and gzipped
(truncation, byte flips, header edits). Every mutant is read in a worker process
(``python tests/test_fuzz.py --worker``) whose address space is capped with RLIMIT_AS at
what it maps after its imports plus 1 GiB; the worker also measures the tracemalloc peak
and the time of each read, and a worker that dies or hangs counts as a crash.

A successful load is exercised (the model's forward on its input): a model that loads
but fails there is counted ("broken") and reported, not failed -- a file may hold odd but
valid hyperparameters. Budget: ``EXAMPLES`` (100) per family, about 15 s on 2 cores;
MINITORCH7_FUZZ_EXAMPLES=n runs n per family, MINITORCH7_FUZZ_REPORT=path appends the
per-family table (tried / clean error / loaded / broken / wrong / crash, the largest
peak and time of one read) to path, MINITORCH7_FUZZ_LOG=path one JSON line per read.
"""

import collections
import copy
import gzip
import hashlib
import io
import json
import os
import select
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

EXAMPLES = int(os.environ.get("MINITORCH7_FUZZ_EXAMPLES", "100"))
MEMORY = 1 << 30          # the worker's address space beyond what its imports map
PEAK = 128 << 20          # the most that one read may allocate (tracemalloc) for these files
TIMEOUT = 30              # seconds for one read before the worker counts as hung


# ---- the worker (a separate process, capped) -------------------------------------------------
def worker():
    import re
    import resource
    import traceback
    import tracemalloc

    import minitorch7
    from minitorch7.dataload.idx import read_idx
    from minitorch7.dataload.sources import DataFormatError
    from minitorch7.serial import SerialError

    with open("/proc/self/status") as f:
        mapped = int(re.search(r"VmSize:\s+(\d+) kB", f.read()).group(1)) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mapped + MEMORY, resource.RLIM_INFINITY))
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        path, reply = request["path"], {"outcome": "loaded"}
        tracemalloc.start()
        begin = time.perf_counter()
        try:
            if request["kind"] == "idx":
                read_idx(path)
            else:
                problem = exercise(minitorch7.load(path))
                if problem:  # loaded, but not a working model
                    reply = {"outcome": "broken", "error": problem[:300]}
        except (SerialError, DataFormatError) as e:
            named = os.path.basename(path) in str(e)
            reply = {"outcome": "clean" if named else "wrong",
                     "error": f"{type(e).__name__}: {e}"[:300]}
        except Exception as e:
            frame = traceback.extract_tb(e.__traceback__)[-1]
            reply = {"outcome": "wrong", "error": f"{type(e).__name__}: {e}"[:300]
                     + f" (at {os.path.basename(frame.filename)}:{frame.lineno})"}
        reply["seconds"] = time.perf_counter() - begin
        reply["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(json.dumps(reply), flush=True)


def exercise(saved):
    """What is wrong with a loaded object (None: nothing found): every module's parameters
    are float32/float64 tensors with gradients like them, and the model runs forward on
    its input to a float output."""
    import numpy as np

    from minitorch7 import nn

    def modules(value):
        if isinstance(value, nn.Module):
            yield value
        elif isinstance(value, dict | list | tuple):
            for item in value.values() if isinstance(value, dict) else value:
                yield from modules(item)

    for top in modules(saved):
        for module in top.modules_depth_first():
            for name in module._parameter_names:
                p = getattr(module, name)
                if p.dtype not in (np.float32, np.float64) or p.grad is None or \
                        p.grad.shape != p.shape or p.grad.dtype != p.dtype:
                    return f"{module!r}.{name}: {p.dtype} {p.shape}, grad {p.grad!r:.80}"
    try:
        if isinstance(saved, dict) and "model" in saved and "input" in saved:
            output = saved["model"].forward(saved["input"])
            if output.dtype not in (np.float32, np.float64):
                return f"forward gave {output.dtype}"
    except Exception as e:
        return f"forward: {type(e).__name__}: {e}"
    return None


class Worker:
    """The worker process, restarted after a crash or a hang."""

    def __init__(self, folder):
        self.folder, self.process, self.log = folder, None, None

    def start(self):
        self.log = tempfile.TemporaryFile(dir=self.folder)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        assert json.loads(self._reply(120)) == {"ready": True}, "the fuzz worker did not start"

    def _reply(self, timeout):
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        return self.process.stdout.readline() if ready else ""

    def read(self, kind, path):
        if self.process is None or self.process.poll() is not None:
            self.start()
        self.process.stdin.write(json.dumps({"kind": kind, "path": str(path)}) + "\n")
        line = self._reply(TIMEOUT)
        if line:
            return json.loads(line)
        self.process.kill()
        self.process.wait()
        self.log.seek(0)
        tail = self.log.read().decode(errors="replace")[-500:]
        what = "hang" if self.process.returncode == -9 else f"exit {self.process.returncode}"
        self.process = None
        return {"outcome": "crash", "error": f"{what}: {tail}", "seconds": TIMEOUT, "peak": 0}

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait(10)


OUTCOMES = collections.defaultdict(collections.Counter)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    """The worker, the files to mutate, and a folder for the mutants; prints the table."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the worker's memory cap needs RLIMIT_AS and /proc (Linux)")
    folder = tmp_path_factory.mktemp("fuzz")
    box = Worker(folder)
    box.start()
    yield {"worker": box, "folder": folder, **base_files(folder)}
    box.stop()
    keys = ("clean", "loaded", "broken", "wrong", "crash")
    table = ["family                 tried  clean loaded broken  wrong  crash  peak MiB  max s"]
    for family, counts in sorted(OUTCOMES.items()):
        table.append(f"{family:22s} {sum(counts[k] for k in keys):5d}  " + "  ".join(
            f"{counts[k]:5d}" for k in keys) + f"  {counts['peak'] / 2**20:8.1f}  "
            f"{counts['seconds']:5.2f}")
    print("\n" + "\n".join(table))
    if os.environ.get("MINITORCH7_FUZZ_REPORT"):
        with open(os.environ["MINITORCH7_FUZZ_REPORT"], "a") as f:
            f.write("\n".join(table) + "\n")


def base_files(folder):
    """Saved by this version: a checkpoint-like dict whose model has most kinds of module
    (its manifest describes each array); the fixture saved by the first version (the .npy
    headers describe the arrays); the MNIST fixtures, plain and gzipped."""
    import numpy as np

    import minitorch7 as torch
    from minitorch7 import nn

    torch.manualSeed(11)
    a = nn.Linear(4, 4)
    b = nn.Linear(4, 4)
    b.share(a, "weight", "bias")
    model = (nn.Sequential().add(nn.Linear(6, 4)).add(nn.BatchNormalization(4)).add(nn.Tanh())
             .add(a).add(nn.ReLU()).add(b).add(nn.CMul(4)).add(nn.Add(4))
             .add(nn.Dropout(0.25)).add(nn.Linear(4, 3)).add(nn.LogSoftMax()))
    x = torch.randn(5, 6)
    model.forward(x)
    model.backward(x, torch.ones(5, 3))
    model.updateGradParameters(0.9)
    model.evaluate()
    lm = nn.Sequencer(nn.Sequential().add(nn.FastLSTM(3, 2)).add(nn.GRU(2, 2)))
    new = folder / "new.t7"
    torch.save(new, {"model": model, "input": x, "epoch": 2, "opt": {"lr": 0.1},
                     "lm": nn.Serial(lm).mediumSerial(), "table": np.arange(4.0)})
    fixtures = Path(__file__).resolve().parents[1] / "minitorch7" / "dataload" / "fixtures"
    images = (fixtures / "t10k-images-idx3-ubyte.gz").read_bytes()
    return {"new": new.read_bytes(),
            "old": (Path(__file__).parent / "fixtures" / "serial_v1" / "checkpoint.t7")
            .read_bytes(),
            "images": gzip.decompress(images), "images_gz": images,
            "labels": gzip.decompress((fixtures / "t10k-labels-idx1-ubyte.gz").read_bytes())}


def check(fuzz, family, kind, data, name, what):
    """Write ``data`` to ``name`` in the fuzz folder, read it in the worker, record and
    check the outcome."""
    path = fuzz["folder"] / name
    path.write_bytes(data)
    reply = fuzz["worker"].read(kind, path)
    counts = OUTCOMES[family]
    counts[reply["outcome"]] += 1
    counts["peak"] = max(counts["peak"], reply["peak"])
    counts["seconds"] = max(counts["seconds"], reply["seconds"])
    if os.environ.get("MINITORCH7_FUZZ_LOG"):
        with open(os.environ["MINITORCH7_FUZZ_LOG"], "a") as f:
            f.write(json.dumps({"family": family, "what": what, **reply}) + "\n")
    assert reply["outcome"] in ("clean", "loaded", "broken"), f"{what}: {reply}"
    assert reply["peak"] < PEAK, f"{what}: a peak of {reply['peak']} bytes"


# ---- mutations of saved models -----------------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
fuzz_settings = hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, database=None,
    suppress_health_check=list(hypothesis.HealthCheck))

SOURCES = ["new", "old"]


@fuzz_settings
@hypothesis.given(source=st.sampled_from(SOURCES), fraction=st.floats(0, 1, exclude_max=True))
def test_truncated_models(fuzz, source, fraction):
    data = fuzz[source]
    cut = int(len(data) * fraction)
    check(fuzz, "model: truncation", "load", data[:cut], "cut.t7", f"{source} cut at {cut}")


def flips(size, tail):
    """Byte flips: anywhere, or within the last ``tail`` bytes (the manifest and the zip
    directory, where a flip is not just a CRC error)."""
    where = st.one_of(st.integers(0, size - 1), st.integers(max(0, size - tail), size - 1))
    return st.lists(st.tuples(where, st.integers(1, 255)), min_size=1, max_size=8)


@fuzz_settings
@hypothesis.given(data=st.data(), source=st.sampled_from(SOURCES))
def test_byte_flips_in_models(fuzz, data, source):
    original = fuzz[source]
    tail = len(original) - original.rfind(b"manifest.json", 0, original.rfind(b"PK\x01\x02"))
    changes = data.draw(flips(len(original), tail + 64))
    mutant = bytearray(original)
    for at, xor in changes:
        mutant[at] ^= xor
    check(fuzz, "model: byte flips", "load", bytes(mutant), "flipped.t7", f"{source} {changes}")


# Fields of a zip header: (offset in a local header, in a central header, struct format).
ZIP_FIELDS = {"flags": (6, 8, "<H"), "method": (8, 10, "<H"), "crc": (14, 16, "<L"),
              "compressed size": (18, 20, "<L"), "size": (22, 24, "<L"),
              "name length": (26, 28, "<H"), "extra length": (28, 30, "<H"),
              "local header offset": (None, 42, "<L")}
ZIP_VALUES = st.one_of(st.sampled_from([0, 1, 2, 6, 8, 9, 12, 14, 0x20, 0x40, 0x41, 0x800,
                                        0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 1 << 30]),
                       st.integers(0, 0xFFFFFFFF))


@fuzz_settings
@hypothesis.given(data=st.data(), source=st.sampled_from(SOURCES))
def test_zip_header_edits(fuzz, data, source):
    mutant = bytearray(fuzz[source])
    headers = [(at, "local") for at in find_all(mutant, b"PK\x03\x04")] + \
              [(at, "central") for at in find_all(mutant, b"PK\x01\x02")]
    edits = []
    for _ in range(data.draw(st.integers(1, 3))):
        at, kind = data.draw(st.sampled_from(headers))
        field = data.draw(st.sampled_from(sorted(ZIP_FIELDS)))
        local, central, fmt = ZIP_FIELDS[field]
        offset = local if kind == "local" else central
        if offset is None:
            continue
        value = data.draw(ZIP_VALUES) & (0xFFFF if fmt == "<H" else 0xFFFFFFFF)
        struct.pack_into(fmt, mutant, at + offset, value)
        edits.append((kind, at, field, value))
    check(fuzz, "model: zip headers", "load", bytes(mutant), "zipped.t7", f"{source} {edits}")


def find_all(data, signature):
    at, found = data.find(signature), []
    while at >= 0:
        found.append(at)
        at = data.find(signature, at + 1)
    return found


def members_of(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_of(members, manifest):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, raw in members.items():
            archive.writestr(name, json.dumps(manifest) if name == "manifest.json" else raw)
    return out.getvalue()


def positions(tree, path=()):
    """Every (path, value) in a JSON tree, depth first."""
    yield path, tree
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) \
        if isinstance(tree, list) else ()
    for key, value in items:
        yield from positions(value, (*path, key))


def at(tree, path):
    for key in path:
        tree = tree[key]
    return tree


INTERESTING = st.sampled_from([
    None, True, False, 0, 1, -1, 2, 3, 7, 2**31, 2**32 + 1, 2**63, -2**63, 10**30, 200000,
    0.5, -0.0, 1e308, float("nan"), float("inf"), "", "Linear", "Tanh", "Sequential",
    "FastLSTM", "Serial", "gModule", "Module", "ref", "tensor", "module", "array", "dict",
    "tuple", "node", "cuda", "cpu", "<f4", "<i8", "|O", ">f8", "<U4", "|b1", "<c16",
    "arrays/0.npy", "arrays/99.npy", "../manifest.json", "MINITORCH7", "__class__", "forward",
    "_parameter_names", "modules", "weight", [], {}, [[]], [200000, 200000],
    {"$": "ref", "id": 0}, {"$": "ref", "id": 5}, {"$": "array", "name": "arrays/0.npy"},
    {"$": "tuple", "items": []}, {"$": "dict", "items": [[1, 2]]}, {"$": "dict", "items": [[[1],
                                                                                            2]]},
    {"$": "array", "name": "arrays/0.npy", "scalar": True}, {"$": "node", "id": 999,
                                                             "module": None, "parents": []}])
VALUES = st.one_of(INTERESTING, st.integers(), st.floats(), st.text(max_size=6))


@fuzz_settings
@hypothesis.given(data=st.data(), source=st.sampled_from(SOURCES))
def test_manifest_edits(fuzz, data, source):
    """Values replaced, keys deleted, subtrees grafted elsewhere; the arrays keep their
    checksums (the manifest itself is only covered by the zip's CRC, rewritten here)."""
    members = members_of(fuzz[source])
    manifest = json.loads(members["manifest.json"])
    edits = []
    for _ in range(data.draw(st.integers(1, 3))):
        spots = [p for p, _ in positions(manifest) if p]
        path = data.draw(st.sampled_from(spots))
        parent, key = at(manifest, path[:-1]), path[-1]
        op = data.draw(st.sampled_from(["replace", "delete", "graft", "graft"]))
        donor = data.draw(st.sampled_from(spots)) if op == "graft" else None
        if op == "graft" and donor[:len(path)] == path:  # not into itself
            op = "replace"
        if op == "replace":
            parent[key] = data.draw(VALUES)
        elif op == "delete":
            del parent[key]
        else:
            parent[key] = copy.deepcopy(at(manifest, donor))
        edits.append((op, path))
    check(fuzz, "model: manifest edits", "load", zip_of(members, manifest), "edited.t7",
          f"{source} {edits}")


DESCRS = st.sampled_from(["<f4", "<f8", "<i8", "<i4", "|u1", "|i1", "<f2", "<c16", "|b1", "|O",
                          "<U5", ">f4", ">i8", "|V8", "<M8[s]", "[('a', '<f4')]",
                          "[('a', '|O')]", "('<f4', (2,))", "'<f4'"])
SHAPES = st.one_of(st.lists(st.integers(0, 12), max_size=4),
                   st.lists(st.sampled_from([0, 1, 2**31, 2**62, -1, 200000]), max_size=4))


@fuzz_settings
@hypothesis.given(data=st.data(), source=st.sampled_from(SOURCES))
def test_npy_header_edits(fuzz, data, source):
    """An array's .npy header (dtype, shape, order) rewritten, the checksums refreshed, and
    the manifest's description of it updated, kept or removed."""
    import numpy as np

    members = members_of(fuzz[source])
    manifest = json.loads(members["manifest.json"])
    name = data.draw(st.sampled_from(sorted(manifest["arrays"])))
    raw = members[name]
    length = struct.unpack_from("<H", raw, 8)[0]
    header = raw[10:10 + length].decode("latin1")
    descr, shape = data.draw(DESCRS), data.draw(SHAPES)
    fortran = data.draw(st.booleans())
    text = f"{{'descr': {descr if descr[0] in '[(' else repr(descr)}, 'fortran_order': " \
           f"{fortran}, 'shape': ({''.join(f'{n}, ' for n in shape)}), }}"
    text = text.ljust(len(header) - 1) + "\n" if len(text) < len(header) else text + "\n"
    body = raw[10 + length:]
    if data.draw(st.booleans()):  # also make the size agree with the new header, if it can
        try:
            want = int(np.prod(shape, dtype=object)) * np.dtype(eval(descr)).itemsize
            body = (body * (want // max(len(body), 1) + 1))[:want] if want < 1 << 20 else body
        except Exception:
            pass
    new = raw[:8] + struct.pack("<H", len(text)) + text.encode("latin1") + body
    members[name] = new
    entry = manifest["arrays"][name]
    entry.update(sha256=hashlib.sha256(new).hexdigest(), bytes=len(new))
    how = data.draw(st.sampled_from(["keep", "update", "remove"]))
    if how == "update":
        entry.update(shape=list(shape), dtype=descr.strip("'"))
    elif how == "remove":
        entry.pop("shape", None)
        entry.pop("dtype", None)
    check(fuzz, "model: .npy headers", "load", zip_of(members, manifest), "npy.t7",
          f"{source} {name}: {text.strip()} ({how})")


# ---- mutations of IDX files --------------------------------------------------------------------
IDX_SOURCES = ["images", "labels", "images_gz"]


@fuzz_settings
@hypothesis.given(data=st.data(), source=st.sampled_from(IDX_SOURCES),
                  gzipped=st.booleans())
def test_idx_mutations(fuzz, data, source, gzipped):
    """Truncation, byte flips (anywhere or in the header) and header fields set to
    interesting values, of a plain file or of the bytes inside a gzip (or of the gzip
    itself, for images_gz)."""
    original = fuzz[source]
    mutant = bytearray(original)
    op = data.draw(st.sampled_from(["truncate", "flip", "header", "header"]))
    if op == "truncate":
        mutant = mutant[:data.draw(st.integers(0, len(mutant) - 1))]
    elif op == "flip":
        for at_, xor in data.draw(flips(len(mutant), 16)):
            mutant[len(mutant) - 1 - at_ if data.draw(st.booleans()) else at_] ^= xor
    elif len(mutant) >= 4:
        mutant[data.draw(st.integers(0, 3))] = data.draw(st.integers(0, 255))
        for _ in range(data.draw(st.integers(0, 3))):
            dim = data.draw(st.integers(0, 3))
            if 8 + 4 * dim <= len(mutant):
                value = data.draw(st.one_of(ZIP_VALUES, st.integers(0, 100)))
                struct.pack_into(">L", mutant, 4 + 4 * dim, value & 0xFFFFFFFF)
    gz = source.endswith("_gz") or gzipped
    data_bytes = gzip.compress(bytes(mutant)) if gzipped and not source.endswith("_gz") \
        else bytes(mutant)
    check(fuzz, "idx" + (" (gzip)" if gz else ""), "idx", data_bytes,
          "mutant-idx3-ubyte" + (".gz" if gz else ""), f"{source} {op}")


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    worker()
