"""``save(path, obj)`` / ``load(path)``: tensors, nn modules and plain data in a safe file.

Nothing in a saved file is ever executed: there is no pickle. A file is a zip archive of

    MINITORCH7        the first member: a fixed line naming the format and its version
    arrays/<n>.npy    every array in NumPy's .npy format (read with allow_pickle=False)
    manifest.json     {"format", "version", "arrays": {member: {"sha256", "bytes"}},
                       "object": the saved object as a JSON tree}

In the tree, JSON scalars and lists stand for themselves; every JSON object is a node
tagged by "$": "tuple", "dict" (items as [key, value] pairs, so keys need not be strings),
"array" (a NumPy array or scalar), "tensor", "module", "node" (an nngraph node), or "ref"
(the same tensor, module or node again: sharing survives the round trip). A module node
holds its class name (only classes of ``minitorch7.nn`` are ever instantiated), the
constructor arguments it was built with (``module._init_args``; modules inside them are
nodes too), its children, parameters (with their gradients), buffers (e.g. BatchNorm
running statistics), plain attributes (``train``, numbers, strings) and, unless an
``nn.Serial`` says otherwise, ``output``, ``gradInput`` and the momentum buffers.

Writes are atomic (a temporary file in the same folder, fsync, rename): a failed save
leaves any previous file intact. ``load`` checks the header, the zip CRCs, a SHA-256 per
array and the structure, and raises ``SerialError`` naming the file when anything is off.
"""

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from . import nn
from .autograd import Variable
from .nn.container import Container
from .nn.graph import Node
from .nn.module import Module
from .nn.serial import SERIAL_TYPES, Serial
from .ops.shape import to_device
from .random import generator
from .tensor import Tensor

FORMAT, VERSION = "minitorch7", 1
MAGIC_NAME = "MINITORCH7"
MAGIC = b"minitorch7 serialization format, version 1\n"
_ZIP_HEADER = b"PK\x03\x04"
_MAGIC_AT = 30  # a zip local header is 30 bytes, then the first member's name
_SKIPPED_ATTRIBUTES = {"_init_args", "_parameter_names", "_buffer_names", "output", "gradInput"}


class SerialError(ValueError):
    """A file that ``load`` refuses (truncated, corrupted, foreign), or an object that
    ``save`` cannot write."""


def save(path, obj):
    """Write ``obj`` (tensor, module, or dicts/lists/tuples/numbers/strings holding them)
    to ``path`` atomically. Module state follows ``nn.Serial`` (default: everything)."""
    encoder = _Encoder()
    try:
        tree = encoder.value(obj, "heavy")
    except SerialError as e:
        raise SerialError(f"minitorch7.save: {path}: {e}") from None
    _atomic_write(os.fspath(path), lambda f: _write_archive(f, tree, encoder.arrays))


def load(path, device=None):
    """Read what ``save`` wrote. ``device="cpu"`` loads CUDA tensors onto the CPU.

    Raises ``SerialError`` naming the file when it is truncated, corrupted (checksum or
    CRC mismatch), not a minitorch7 file, or malformed; nothing in it is executed."""
    path = os.fspath(path)
    try:
        _check_header(path)
        with zipfile.ZipFile(path) as archive:
            manifest = _read_manifest(archive)
            arrays = _ArrayReader(archive, manifest["arrays"])
            return _Decoder(arrays, device).value(manifest["object"])
    except SerialError as e:
        raise SerialError(f"minitorch7.load: {path}: {e}") from None
    except (zipfile.BadZipFile, EOFError) as e:
        raise SerialError(f"minitorch7.load: {path}: truncated or corrupted file ({e})") from None
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
        raise SerialError(f"minitorch7.load: {path}: malformed minitorch7 file "
                          f"({type(e).__name__}: {e})") from None


# ---- the module classes that may be instantiated -------------------------------------
def module_classes():
    """{name: class} of every Module subclass that ``minitorch7.nn`` exports."""
    return {name: obj for name, obj in vars(nn).items()
            if isinstance(obj, type) and issubclass(obj, Module)}


def _is_plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return True
    return isinstance(value, list | tuple) and all(_is_plain(v) for v in value)


# ---- encoding: object -> JSON tree + arrays -------------------------------------------
class _Encoder:
    def __init__(self):
        self.arrays = {}   # member name -> host array
        self._ids = {}     # id(tensor or module) -> node id
        self._classes = module_classes()

    def value(self, obj, mode):
        if obj is None or isinstance(obj, bool | int | float | str):
            return obj
        if isinstance(obj, list):
            return [self.value(v, mode) for v in obj]
        if isinstance(obj, tuple):
            return {"$": "tuple", "items": [self.value(v, mode) for v in obj]}
        if isinstance(obj, dict):
            return {"$": "dict",
                    "items": [[self.value(k, mode), self.value(v, mode)] for k, v in obj.items()]}
        if isinstance(obj, Tensor | Module | Node):
            if id(obj) in self._ids:
                return {"$": "ref", "id": self._ids[id(obj)]}
            self._ids[id(obj)] = len(self._ids)
            if isinstance(obj, Node):
                return {"$": "node", "id": self._ids[id(obj)],
                        "module": self.value(obj.module, mode),
                        "parents": [self.value(p, mode) for p in obj.parents]}
            encode = self.tensor if isinstance(obj, Tensor) else self.module
            return encode(obj, mode)
        if isinstance(obj, np.ndarray | np.generic) or getattr(obj, "device", None) == "cuda":
            return self.array(obj)
        raise SerialError(f"cannot save an object of type {type(obj).__name__}")

    def array(self, array):
        """An array node; the data goes to its own .npy member."""
        on_host = isinstance(array, np.ndarray | np.generic)
        host = np.asarray(array) if on_host else to_device(array, "cpu")
        if host.dtype.hasobject:
            raise SerialError("cannot save an array of Python objects")
        name = f"arrays/{len(self.arrays)}.npy"
        self.arrays[name] = host
        node = {"$": "array", "name": name}
        if isinstance(array, np.generic):
            node["scalar"] = True
        if not on_host:
            node["device"] = "cuda"
        return node

    def tensor(self, tensor, mode):
        grad = None if mode == "light" or tensor.grad is None else self.array(tensor.grad.data)
        return {"$": "tensor", "id": self._ids[id(tensor)], "data": self.array(tensor.data),
                "requires_grad": bool(tensor.requires_grad), "grad": grad}

    def module(self, module, mode):
        cls = type(module)
        if self._classes.get(cls.__name__) is not cls:
            raise SerialError(f"cannot save {cls.__module__}.{cls.__name__}: only the modules "
                              f"of minitorch7.nn can be saved and rebuilt")
        if isinstance(module, Serial):
            mode = module.serialType
            if mode not in SERIAL_TYPES:
                raise SerialError(f"nn.Serial: unknown serialType {mode!r}")
        args, kwargs = module._init_args
        try:
            node = {"$": "module", "id": self._ids[id(module)], "class": cls.__name__,
                    "args": self.value(list(args), mode), "kwargs": self.value(kwargs, mode)}
        except SerialError as e:
            raise SerialError(f"{cls.__name__}: constructor argument: {e}") from None
        node["children"] = [self.value(child, mode) for child in module.children()]
        node["parameters"] = {n: self.value(getattr(module, n), mode)
                              for n in module._parameter_names}
        node["buffers"] = {n: self.value(getattr(module, n), mode) for n in module._buffer_names}
        node["attributes"] = {k: self.value(v, mode) for k, v in vars(module).items()
                              if k not in _SKIPPED_ATTRIBUTES and _is_plain(v)}
        if mode == "heavy":
            node["output"] = self.value(module.output, mode)
            node["gradInput"] = self.value(module.gradInput, mode)
            momentum = module._momentum
            node["momentum"] = None if momentum is None else [self.array(v) for v in momentum]
        return node


# ---- decoding: JSON tree + arrays -> object --------------------------------------------
class _Decoder:
    def __init__(self, arrays, device):
        self.arrays = arrays
        self.device = device
        self.objects = {}   # node id -> tensor or module
        self._classes = module_classes()

    def value(self, node):
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if not isinstance(node, dict):
            raise SerialError(f"unexpected {type(node).__name__} in the manifest")
        tag = node.get("$")
        if tag == "tuple":
            return tuple(self.value(v) for v in node["items"])
        if tag == "dict":
            return {self.value(k): self.value(v) for k, v in node["items"]}
        if tag == "ref":
            return self._ref(node)
        if tag == "array":
            return self.array(node)
        if tag == "tensor":
            return self.tensor(node)
        if tag == "module":
            return self.module(node)
        if tag == "node":
            graph_node = Node(self.value(node["module"]), self.value(node["parents"]))
            self.objects[node["id"]] = graph_node
            return graph_node
        raise SerialError(f"unknown node {tag!r} in the manifest")

    def _ref(self, node):
        if node["id"] not in self.objects:
            raise SerialError(f"reference to object {node['id']} before its definition")
        return self.objects[node["id"]]

    def array(self, node):
        array = self.arrays.read(node["name"])
        if node.get("scalar"):
            return array[()]
        if node.get("device") == "cuda" and self.device != "cpu":
            return to_device(array, "cuda")
        return array

    def tensor(self, node):
        tensor = Tensor._wrap(self.array(node["data"]), requires_grad=node["requires_grad"])
        if node["grad"] is not None:
            tensor.grad = Tensor._wrap(self.array(node["grad"]))
        self.objects[node["id"]] = tensor
        return tensor

    def module(self, node):
        cls = self._classes.get(node["class"])
        if cls is None:
            raise SerialError(f"unknown module class {node['class']!r}")
        args, kwargs = self.value(node["args"]), self.value(node["kwargs"])
        rng = generator().bit_generator
        state = rng.state  # constructors draw random weights: leave the global RNG as it was
        try:
            module = cls(*args, **kwargs)
        finally:
            rng.state = state
        self.restore(module, node)
        return module

    def restore(self, module, node):
        """Give ``module`` (just constructed) the saved state of ``node``."""
        if type(module).__name__ != node["class"]:
            raise SerialError(f"expected a {node['class']}, the constructor built a "
                              f"{type(module).__name__}")
        self.objects[node["id"]] = module
        built = list(module.children())
        for i, child in enumerate(node["children"]):
            if i >= len(built):
                if not isinstance(module, Container):
                    raise SerialError(f"{node['class']} has {len(built)} children, the file "
                                      f"{len(node['children'])}")
                module.add(self.value(child))
            elif child.get("$") == "ref":
                if self._ref(child) is not built[i]:
                    raise SerialError(f"{node['class']}: child {i} is not the shared module")
            else:
                self.restore(built[i], child)
        for name, tensor_node in node["parameters"].items():
            self._restore_tensor(module, name, tensor_node, zero_grad=True)
        for name, tensor_node in node["buffers"].items():
            self._restore_tensor(module, name, tensor_node, zero_grad=False)
        for name, value in node["attributes"].items():
            if name.startswith("__") or callable(getattr(type(module), name, None)):
                raise SerialError(f"{node['class']}: attribute {name!r} may not be set")
            setattr(module, name, self.value(value))
        if "output" in node:
            module.output, module.gradInput = self.value(node["output"]), self.value(
                node["gradInput"])
            momentum = node["momentum"]
            module._momentum = None if momentum is None else [self.array(v) for v in momentum]

    def _restore_tensor(self, module, name, node, zero_grad):
        """Fill the constructor's tensor ``name`` with the saved one (or share a saved one)."""
        if node is None or node.get("$") == "ref":
            setattr(module, name, self.value(node))
            return
        current = getattr(module, name, None)
        data = self.array(node["data"])
        if not isinstance(current, Variable) or tuple(current.shape) != data.shape:
            raise SerialError(f"nn.{type(module).__name__}.{name}: the file has size "
                              f"{'x'.join(map(str, data.shape))}, the module "
                              f"{'x'.join(map(str, getattr(current, 'shape', ())))}")
        current.data = data
        if zero_grad:
            grad = node["grad"]
            current.grad.data = data * 0 if grad is None else self.array(grad)
        self.objects[node["id"]] = current


# ---- the file ---------------------------------------------------------------------------
class _HashingWriter:
    """A write-only file that also feeds a SHA-256."""

    def __init__(self, f):
        self.f, self.sha256, self.size = f, hashlib.sha256(), 0

    def write(self, data):
        self.sha256.update(data)
        self.size += len(data)
        return self.f.write(data)


def _write_archive(f, tree, arrays):
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(MAGIC_NAME, MAGIC)
        checksums = {}
        for name, array in arrays.items():
            with archive.open(name, "w", force_zip64=array.nbytes > 2**30) as member:
                out = _HashingWriter(member)
                np.lib.format.write_array(out, array, allow_pickle=False)
            checksums[name] = {"sha256": out.sha256.hexdigest(), "bytes": out.size}
        manifest = {"format": FORMAT, "version": VERSION, "arrays": checksums, "object": tree}
        archive.writestr("manifest.json", json.dumps(manifest))


def _atomic_write(path, write):
    """Run ``write(f)`` on a temporary file next to ``path``, fsync it, rename it over path."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _check_header(path):
    size = _MAGIC_AT + len(MAGIC_NAME)
    with open(path, "rb") as f:
        head = f.read(size)
    if len(head) < size:
        raise SerialError(f"truncated or not a minitorch7 file ({len(head)} bytes)")
    if head[:4] != _ZIP_HEADER or head[_MAGIC_AT:] != MAGIC_NAME.encode():
        raise SerialError(f"not a minitorch7 file (it starts with {head[:12]!r})")


def _read_manifest(archive):
    names = archive.namelist()
    if not names or names[0] != MAGIC_NAME or archive.read(MAGIC_NAME) != MAGIC:
        raise SerialError("not a minitorch7 file (no format header)")
    if "manifest.json" not in names:
        raise SerialError("truncated or corrupted file (no manifest)")
    manifest = json.loads(archive.read("manifest.json"))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise SerialError("not a minitorch7 file (manifest of another format)")
    if manifest.get("version") != VERSION:
        raise SerialError(f"format version {manifest.get('version')!r}; this minitorch7 "
                          f"reads version {VERSION}")
    return manifest


class _ArrayReader:
    """Reads an array member after checking its size and SHA-256 against the manifest."""

    def __init__(self, archive, checksums):
        self.archive, self.checksums = archive, checksums

    def read(self, name):
        if name not in self.checksums:
            raise SerialError(f"array {name!r} is not listed in the manifest")
        raw = self.archive.read(name)
        expected = self.checksums[name]
        if len(raw) != expected["bytes"] or hashlib.sha256(raw).hexdigest() != expected["sha256"]:
            raise SerialError(f"corrupted file: checksum mismatch for {name}")
        try:
            return np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
        except ValueError as e:
            raise SerialError(f"{name}: refused ({e})") from None
