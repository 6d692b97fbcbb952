"""``save(path, obj)`` / ``load(path)``: tensors, nn modules and plain data in a safe file.

Nothing in a saved file is ever executed: there is no pickle. A file is a zip archive of

    MINITORCH7        the first member: a fixed line naming the format and its version
    arrays/<n>.npy    every array in NumPy's .npy format (never read with pickle)
    manifest.json     {"format", "version", "arrays": {member: {"sha256", "bytes", "shape",
                       "dtype"}}, "object": the saved object as a JSON tree}

``save`` stores every member uncompressed. ("shape" and "dtype" were added to the array
entries after the first files were written; files without them still load, their .npy
headers say the same.)

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
leaves any previous file intact.

Loading is bounded and checked before anything is built. ``load`` refuses, with a
``SerialError`` naming the file and what is wrong:

* a foreign or truncated file, a zip member that is encrypted or compressed with anything
  but "stored" or "deflated", members that would inflate to more than ``max_bytes`` in
  total (by default the file's own size plus ``MAX_INFLATE``, 64 MiB: a file that ``save``
  wrote, whose members are stored, always fits) -- all from the zip directory, before any
  member is inflated; inflation stops at each member's declared size;
* a manifest over ``MAX_MANIFEST_BYTES`` or malformed: unknown node tags or classes,
  constructor arguments that do not fit the constructor, parameters and buffers whose
  names, shapes, dtypes or devices are not the ones that the constructor arguments make
  (a ``Linear(200000, 200000)`` with no 149 GiB of weights in the file is refused before
  anything is allocated), tensors of a type minitorch7 has no tensor for, float
  parameters that are not float32/float64, gradients unlike their tensors, arrays
  listed but unused or used twice, references to undefined objects or to a module from
  inside itself, attributes that are methods, bookkeeping, submodules or disagree with
  the constructor arguments (Linear's inputSize). The module constructors that do run
  together allocate at most 4 x the inflation limit;
* an array whose size, CRC or SHA-256 disagrees with the manifest, or whose .npy header
  disagrees with its manifest entry or holds Python objects.

A file saved from CUDA tensors loads onto the GPU when one is usable (a real NVIDIA GPU,
or Numba's simulator). Without one, ``load(path)`` maps its tensors to the CPU and says so
in one line on stderr; ``load(path, device="cpu")`` does so silently, and
``load(path, device="cuda")`` refuses (SerialError) rather than map. A file that cannot be
opened at all raises the usual OSError (FileNotFoundError...).
"""

import contextlib
import functools
import hashlib
import inspect
import io
import json
import lzma
import math
import os
import re
import sys
import tempfile
import zipfile
import zlib

import numpy as np

from . import nn
from .autograd import Variable
from .bounded_io import CHUNK as _CHUNK
from .bounded_io import read_exact as _read_exact
from .nn.container import Container
from .nn.graph import Node
from .nn.module import Module
from .nn.recurrent import AbstractRecurrent, Recursor
from .nn.serial import SERIAL_TYPES, Serial
from .ops.shape import to_device
from .random import generator
from .tensor import CUDA_TYPE_NAMES, TYPE_NAMES, Tensor, get_default_dtype

FORMAT, VERSION = "minitorch7", 1
MAGIC_NAME = "MINITORCH7"
MAGIC = b"minitorch7 serialization format, version 1\n"
MAX_INFLATE = 64 << 20        # what members may inflate to beyond the file's own size
MAX_MANIFEST_BYTES = 16 << 20
ALLOCATION_FACTOR = 4         # constructors may allocate this many times the limit
_ZIP_HEADER = b"PK\x03\x04"
_MAGIC_AT = 30  # a zip local header is 30 bytes, then the first member's name
_SKIPPED_ATTRIBUTES = {"_init_args", "_parameter_names", "_buffer_names", "output", "gradInput"}
_PROTECTED_ATTRIBUTES = _SKIPPED_ATTRIBUTES | {"_momentum", "_graph_input", "_pending_grads",
                                               "modules"}
_ARRAY_NAME = re.compile(r"arrays/[0-9]{1,9}\.npy")
_DTYPE_TEXT = re.compile(r"[<>|=]?[A-Za-z][0-9]{0,4}(\[[A-Za-z0-9]{1,4}\])?")
_NPY_HEADER_MAX = 10000   # NumPy's own limit for a .npy header
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_SCALARS = {type(None), bool, int, float, str}  # JSON's, as json.loads makes them
_METHODS = {1: "shrink", 6: "implode", 9: "deflate64", 12: "bzip2", 14: "lzma", 93: "zstandard",
            95: "xz", 98: "ppmd", 99: "AES encryption"}


class SerialError(ValueError):
    """A file that ``load`` refuses (truncated, corrupted, foreign, too big), or an object
    that ``save`` cannot write."""


def save(path, obj):
    """Write ``obj`` (tensor, module, or dicts/lists/tuples/numbers/strings holding them)
    to ``path`` atomically. Module state follows ``nn.Serial`` (default: everything)."""
    encoder = _Encoder()
    try:
        tree = encoder.value(obj, "heavy")
    except SerialError as e:
        raise SerialError(f"minitorch7.save: {path}: {e}") from None
    _atomic_write(os.fspath(path), lambda f: _write_archive(f, tree, encoder.arrays))


def load(path, device=None, max_bytes=None):
    """Read what ``save`` wrote, checking all of it before building anything.

    ``device``: None (tensors where they were saved; CUDA tensors on the CPU, with a note
    on stderr, when no GPU is usable), "cpu" (every tensor on the CPU) or "cuda" (as saved;
    a SerialError if the file holds CUDA tensors and no GPU is usable). ``max_bytes``: the
    most bytes the file's members may inflate to in total (default: the file's size plus
    ``MAX_INFLATE``).

    Raises ``SerialError`` naming the file when it is truncated, corrupted (checksum or
    CRC mismatch), not a minitorch7 file, over the limits, or malformed; nothing in it is
    executed. See the module docstring for the checks."""
    path = os.fspath(path)
    if device not in (None, "cpu", "cuda"):
        raise ValueError(f"minitorch7.load: device must be None, 'cpu' or 'cuda', got {device!r}")
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                  or max_bytes < 0):
        raise ValueError(f"minitorch7.load: max_bytes must be a non-negative int, got "
                         f"{max_bytes!r}")
    try:
        size = _check_header(path)
        limit = size + MAX_INFLATE if max_bytes is None else max_bytes
        with _zip_errors(), zipfile.ZipFile(path) as archive:
            arrays = _Archive(archive, size, limit)
            tree = arrays.manifest["object"]
            checked = _Checker(arrays, limit).check(tree)
            target = _target_device(device, checked.cuda, path)
            return _Decoder(arrays, target).value(tree)
    except SerialError as e:
        raise SerialError(f"minitorch7.load: {path}: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as e:
        raise SerialError(f"minitorch7.load: {path}: malformed minitorch7 file "
                          f"({type(e).__name__}: {e})") from None


@contextlib.contextmanager
def _zip_errors(member=None):
    """Turn what zipfile, zlib and the OS raise while reading into SerialErrors."""
    where = f"{member}: " if member else ""
    try:
        yield
    except (zipfile.BadZipFile, EOFError) as e:
        raise SerialError(f"{where}truncated or corrupted file ({e})") from None
    except (zlib.error, lzma.LZMAError, NotImplementedError, OSError, OverflowError) as e:
        raise SerialError(f"{where}cannot be read ({type(e).__name__}: {e})") from None
    except RuntimeError as e:  # zipfile: "File ... is encrypted, password required"
        if "zip" in type(e).__module__ or "encrypted" in str(e):
            raise SerialError(f"{where}cannot be read ({e})") from None
        raise


def _cuda_usable():
    """Whether CUDA tensors can live here: a real GPU, or Numba's simulator."""
    from . import cuda

    try:
        return bool(cuda.simulator_enabled() or cuda.is_available())
    except Exception:  # a broken driver install counts as "no GPU"
        return False


def _target_device(device, has_cuda, path):
    if not has_cuda or device == "cpu" or _cuda_usable():
        return device
    if device == "cuda":
        raise SerialError("holds CUDA tensors and device='cuda' was asked, but no usable "
                          "NVIDIA GPU was found (load(path, device='cpu') maps them to the CPU)")
    print(f"minitorch7.load: {path}: saved from CUDA tensors; no usable NVIDIA GPU here, so "
          f"they are loaded on the CPU (load(path, device='cpu') does this silently)",
          file=sys.stderr)
    return "cpu"


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


# ---- what each constructor allocates, computed from its arguments ------------------------
class _Built:
    """A submodule that a constructor makes itself (FastLSTM's Linear layers)."""

    def __init__(self, cls, args, sizes):
        self.cls, self.args, self.sizes = cls, args, sizes


class _Sizes:
    """What ``cls(*args)`` will hold: parameters {name: shape}, buffers {name: (shape,
    float only)} (``known`` False: not declared, for a class missing from _SIZES),
    children (argument modules as they are, _Built ones; None: not known here, gModule's
    come from its graph), and how many bytes its construction allocates."""

    def __init__(self, params=None, buffers=None, children=(), known=True, fixed=None):
        self.params, self.buffers = params or {}, buffers or {}
        self.fixed = fixed or {}  # attributes that the arguments set: the file must agree
        self.children = None if children is None else list(children)
        self.known = known
        itemsize = get_default_dtype().itemsize
        self.nbytes = itemsize * (2 * sum(math.prod(s) for s in self.params.values())
                                  + sum(math.prod(s) for s, _ in self.buffers.values()))
        self.nbytes += sum(c.sizes.nbytes for c in self.children or () if isinstance(c, _Built))


def _count(value, what, minimum=0):
    """A size argument as an int (Tensor(2, 3) also takes whole floats)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer) \
            or value < minimum:
        raise SerialError(f"{what} must be an integer >= {minimum}, the file has "
                          f"{_short(value)}")
    return int(value)


def _counts(a, *names, minimum=0):
    return {n: _count(a[n], n, minimum) for n in names}


def _flag(value, what):
    if not isinstance(value, bool | int | np.bool_ | np.integer):
        raise SerialError(f"{what} must be a boolean, the file has {_short(value)}")
    return bool(value)


def _arg_module(value, what):
    if not isinstance(value, _ModuleSpec):
        raise SerialError(f"{what} must be a module, the file has {_short(value)}")
    return value


def _built(name, *args):
    cls = getattr(nn, name)
    return _Built(cls, args, predict_sizes(cls, args, {}))


def _linear(a):
    fixed = _counts(a, "inputSize", "outputSize")
    params = {"weight": (fixed["outputSize"], fixed["inputSize"])}
    if _flag(a["bias"], "bias"):
        params["bias"] = (fixed["outputSize"],)
    return _Sizes(params, fixed=fixed)


def _convolution(a):
    fixed = _counts(a, "nInputPlane", "nOutputPlane", "kW", "kH", "padW")
    fixed.update(_counts(a, "dW", "dH", minimum=1))
    fixed["padH"] = fixed["padW"] if a["padH"] is None else _count(a["padH"], "padH")
    n_out = fixed["nOutputPlane"]
    return _Sizes({"weight": (n_out, fixed["nInputPlane"], fixed["kH"], fixed["kW"]),
                   "bias": (n_out,)}, fixed=fixed)


def _pooling(a):
    fixed = _counts(a, "kW", "kH", minimum=1)
    fixed.update(_counts(a, "padW", "padH"))
    fixed["dW"] = fixed["kW"] if a["dW"] is None else _count(a["dW"], "dW", 1)
    fixed["dH"] = fixed["kH"] if a["dH"] is None else _count(a["dH"], "dH", 1)
    return _Sizes(fixed=fixed)


def _batchnorm(a):
    n = _count(a["nOutput"], "nOutput")
    affine = _flag(a["affine"], "affine")
    params = {"weight": (n,), "bias": (n,)} if affine else {}
    return _Sizes(params, {"running_mean": ((n,), True), "running_var": ((n,), True)},
                  fixed={"nOutput": n, "affine": affine})


def _cmul(a):
    size = a["size"]
    if len(size) == 1 and isinstance(size[0], tuple):
        size = size[0]
    return _Sizes({"weight": tuple(_count(s, "size") for s in size) if size else (0,)})


def _gated(multiple, a):
    n_in, n_out = _count(a["inputSize"], "inputSize"), _count(a["outputSize"], "outputSize")
    if multiple == 4:  # FastLSTM, LSTM
        return [_built("Linear", n_in, 4 * n_out), _built("LinearNoBias", n_out, 4 * n_out)]
    return [_built("Linear", n_in, 2 * n_out), _built("LinearNoBias", n_out, 2 * n_out),
            _built("Linear", n_in, n_out), _built("LinearNoBias", n_out, n_out)]


def _lstm(a):
    return _Sizes({"peephole": (3, _count(a["outputSize"], "outputSize"))},
                  children=_gated(4, a), fixed=_counts(a, "inputSize", "outputSize"))


def _sequencer(a):
    module = _arg_module(a["module"], "module")
    if issubclass(module.cls, AbstractRecurrent | Recursor):
        return _Sizes(children=[module])
    return _Sizes(children=[_Built(Recursor, (module,), _Sizes(children=[module]))])


def _softmaxtree(a):
    """nn.SoftMaxTree: one weight row and one bias per child of the hierarchy's families."""
    families = a["hierarchy"].values() if isinstance(a["hierarchy"], dict) else [None]
    if not all(len(getattr(f, "shape", ())) == 1 for f in families):
        raise SerialError(f"hierarchy must be a dict of 1-D arrays, the file has "
                          f"{_short(a['hierarchy'])}")
    fixed = {"inputSize": _count(a["inputSize"], "inputSize"),
             "nChildNode": sum(int(f.shape[0]) for f in families)}
    return _Sizes({"weight": (fixed["nChildNode"], fixed["inputSize"]),
                   "bias": (fixed["nChildNode"],)}, fixed=fixed)


def _nothing(a):
    return _Sizes()


def _recurrent(a):
    """rnn's Recurrent: a size as ``start`` builds nn.Add(size); no transfer: Sigmoid; no
    merge: CAddTable."""
    start = a["start"]
    start = (_arg_module(start, "start") if isinstance(start, _ModuleSpec)
             else _built("Add", _count(start, "start", minimum=1)))
    transfer, merge = a["transfer"], a["merge"]
    return _Sizes(children=[
        start, _arg_module(a["input"], "input"), _arg_module(a["feedback"], "feedback"),
        _built("Sigmoid") if transfer is None else _arg_module(transfer, "transfer"),
        _built("CAddTable") if merge is None else _arg_module(merge, "merge")])


_SIZES = {
    "Linear": _linear,
    "LinearNoBias": lambda a: _linear(dict(a, bias=False)),
    "SpatialConvolution": _convolution,
    "LookupTable": lambda a: _Sizes({"weight": (_count(a["nIndex"], "nIndex"),
                                                _count(a["nOutput"], "nOutput"))},
                                    fixed=_counts(a, "nIndex", "nOutput")),
    "SpatialMaxPooling": _pooling,
    "SpatialAveragePooling": _pooling,
    "BatchNormalization": _batchnorm,
    "SpatialBatchNormalization": _batchnorm,
    "CMul": _cmul,
    "Add": lambda a: _Sizes({"bias": (1,) if _flag(a["scalar"], "scalar")
                             else (_count(a["inputSize"], "inputSize"),)},
                            fixed={"scalar": _flag(a["scalar"], "scalar")}),
    "Mul": lambda a: _Sizes({"weight": (1,)}),
    "Convert": lambda a: _Sizes(buffers={"typeTensor": ((0,), False)}),
    "FastLSTM": lambda a: _Sizes(children=_gated(4, a),
                                 fixed=_counts(a, "inputSize", "outputSize")),
    "LSTM": _lstm,
    "GRU": lambda a: _Sizes(children=_gated(2, a), fixed=_counts(a, "inputSize", "outputSize")),
    "Recurrence": lambda a: _Sizes(children=[_arg_module(a["rm"], "rm")]),
    "Recursor": lambda a: _Sizes(children=[_arg_module(a["module"], "module")]),
    "Serial": lambda a: _Sizes(children=[_arg_module(a["module"], "module")]),
    "Sequencer": _sequencer,
    "SoftMaxTree": _softmaxtree,
    "SpatialReSampling": _nothing,
    "gModule": lambda a: _Sizes(children=None),
    "Recurrent": _recurrent,
    "RecurrentAttention": lambda a: _Sizes(children=[_arg_module(a["rnn"], "rnn"),
                                                     _arg_module(a["action"], "action")]),
    **dict.fromkeys(["Constant", "HardTanh", "MulConstant", "Reinforce", "ReinforceNormal",
                     "SpatialGlimpse"], _nothing),
    "BiSequencer": lambda a: _Sizes(children=[_built("Sequential")]),
    "SeqBRNN": lambda a: _Sizes(children=[_built("FastLSTM", a["inputSize"], a["outputSize"])] * 2
                                + [_arg_module(a["merge"], "merge") if a["merge"] is not None
                                   else _built("CAddTable")],
                                fixed=_counts(a, "inputSize", "outputSize")),
    **dict.fromkeys(["ReverseTable", "SeqReverseSequence", "ZipTable"], _nothing),
    **dict.fromkeys(
        ["AbstractRecurrent", "CAddTable", "CMulTable", "Collapse", "Concat", "ConcatTable",
         "Container", "Dropout", "Identity", "JoinTable", "LogSoftMax", "Module", "NarrowTable",
         "ParallelTable", "ReLU", "Reshape", "SelectTable", "Sequential", "Sigmoid", "SoftMax",
         "SpatialDropout", "SplitTable", "Tanh", "View"], _nothing),
}


def predict_sizes(cls, args, kwargs):
    """The parameters, buffers and built children that ``cls(*args, **kwargs)`` will make,
    computed without constructing it (``_Sizes``; None for a class this module does not
    know, whose allocation is then bounded by its integer arguments). Raises SerialError
    when the arguments do not fit the constructor or are not sizes."""
    try:
        bound = _signature(cls).bind(None, *args, **kwargs)
    except TypeError as e:
        raise SerialError(f"nn.{cls.__name__}: constructor arguments {_short(args)} "
                          f"{_short(kwargs)} do not fit ({e})") from None
    bound.apply_defaults()
    arguments = dict(list(bound.arguments.items())[1:])
    sizes = _SIZES.get(cls.__name__)
    if sizes is None or getattr(nn, cls.__name__, None) is not cls:
        return None
    try:
        return sizes(arguments)
    except SerialError as e:
        raise SerialError(f"nn.{cls.__name__}: {e}") from None


@functools.cache
def _signature(cls):
    return inspect.signature(cls.__init__)


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _shape_text(shape):
    return "x".join(map(str, shape)) if shape else "scalar"


def _bytes_text(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"  # pragma: no cover


# ---- checking the whole tree before constructing anything -------------------------------
class _ArraySpec:
    def __init__(self, shape, dtype, device):
        self.shape, self.dtype, self.device = shape, dtype, device


class _TensorSpec(_ArraySpec):
    pass


class _ModuleSpec:
    def __init__(self, cls, sizes, args=()):
        self.cls, self.sizes, self.args, self.id = cls, sizes, args, None

    def __repr__(self):
        return f"nn.{self.cls.__name__}{_short(tuple(self.args), 40)}"


class _NodeSpec:
    def __repr__(self):
        return "an nngraph node"


_NODE_KEYS = {"tuple": ("items",), "dict": ("items",), "ref": ("id",), "array": ("name",),
              "tensor": ("id", "data", "requires_grad", "grad"),
              "node": ("id", "module", "parents"),
              "module": ("id", "class", "args", "kwargs", "children", "parameters", "buffers",
                         "attributes")}


class _Checker:
    """Walks the tree in the order the decoder will, checking everything the decoder
    relies on, without constructing anything: what it accepts, the decoder can build
    within the limits."""

    def __init__(self, arrays, limit):
        self.arrays = arrays
        self.objects = {}        # id -> spec
        self.used = set()        # array members used
        self.active = set()      # ids of the modules being restored (the parents)
        self.cuda = False
        self.allocated, self.allocation_limit = 0, ALLOCATION_FACTOR * limit
        self.classes = module_classes()
        for cls in self.classes.values():  # now: inspect's frames would count deep inside
            _signature(cls)

    def check(self, tree):
        self.value(tree)
        unused = sorted(set(self.arrays.entries) - self.used)
        if unused:
            raise SerialError(f"array {unused[0]} is listed in the manifest but not used "
                              f"({len(unused)} unused)")
        return self

    # -- nodes ---------------------------------------------------------------------------
    def value(self, node, define=True):
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):  # (JSON scalars inline: a long list of numbers is quick)
            return [v if type(v) in _SCALARS else self.value(v, define) for v in node]
        if not isinstance(node, dict):
            raise SerialError(f"unexpected {type(node).__name__} in the manifest")
        tag = node.get("$")
        if not isinstance(tag, str) or tag not in _NODE_KEYS:
            raise SerialError(f"unknown node {_short(tag)} in the manifest")
        missing = [k for k in _NODE_KEYS[tag] if k not in node and tag != "module"]
        if missing:
            raise SerialError(f"a {tag} node without {missing[0]!r}")
        if tag == "tuple":
            return tuple(self.value(v, define) for v in self._list(node["items"], "tuple items"))
        if tag == "dict":
            return self.dict(node, define)
        if tag == "ref":
            return self.ref(node)
        if tag == "array":
            return self.array(node)
        if not define:
            raise SerialError(f"a {tag} defined where only references may be")
        if tag == "tensor":
            return self.tensor(node)
        if tag == "module":
            return self.module(node)
        graph_module = self.value(node["module"])
        if not isinstance(graph_module, _ModuleSpec):
            raise SerialError(f"an nngraph node whose module is {_short(graph_module)}")
        for parent in self.value(self._list(node["parents"], "node parents")):
            if not isinstance(parent, _NodeSpec):
                raise SerialError(f"an nngraph node whose parent is {_short(parent)}")
        return self.define(node["id"], _NodeSpec())

    def _list(self, value, what):
        if not isinstance(value, list):
            raise SerialError(f"{what}: expected a list, the file has {_short(value)}")
        return value

    def dict(self, node, define):
        result = {}
        for item in self._list(node["items"], "dict items"):
            if not isinstance(item, list) or len(item) != 2:
                raise SerialError(f"a dict item that is not a [key, value] pair: {_short(item)}")
            key = self.value(item[0], define)
            try:
                hash(key)
            except TypeError:
                raise SerialError(f"an unhashable dict key {_short(key)}") from None
            result[key] = self.value(item[1], define)
        return result

    def define(self, ident, spec):
        if isinstance(ident, bool) or not isinstance(ident, int) or ident < 0:
            raise SerialError(f"object id {_short(ident)} is not a non-negative integer")
        if ident in self.objects:
            raise SerialError(f"object id {ident} is defined twice")
        self.objects[ident] = spec
        return spec

    def ref(self, node):
        ident = node["id"]
        if isinstance(ident, bool) or not isinstance(ident, int) or ident not in self.objects:
            raise SerialError(f"reference to object {_short(ident)} before its definition")
        if ident in self.active:
            raise SerialError(f"reference to {self.objects[ident]!r} inside itself (a module "
                              f"would contain itself)")
        return self.objects[ident]

    def array(self, node):
        name = node["name"]
        if not isinstance(name, str) or name not in self.arrays.entries:
            raise SerialError(f"array {_short(name)} is not listed in the manifest")
        if name in self.used:
            raise SerialError(f"array {name} is used twice")
        self.used.add(name)
        scalar, device = node.get("scalar", False), node.get("device", "cpu")
        if not isinstance(scalar, bool) or device not in ("cpu", "cuda"):
            raise SerialError(f"array {name}: scalar {_short(scalar)}, device {_short(device)}")
        shape, dtype = self.arrays.describe(name)
        if scalar:
            if shape != () or device != "cpu":
                raise SerialError(f"array {name}: a scalar of size {_shape_text(shape)}")
            return self.arrays.read(name)[()]
        if device == "cuda":
            if dtype.newbyteorder("=") not in CUDA_TYPE_NAMES:
                raise SerialError(f"array {name}: a CUDA array of {dtype}, which minitorch7 "
                                  f"has no CUDA tensor for")
            self.cuda = True
        return _ArraySpec(shape, dtype, device)

    def tensor(self, node):
        data = self.value(node["data"])
        if not isinstance(data, _ArraySpec):
            raise SerialError(f"tensor {node['id']!r}: its data is {_short(data)}, not an array")
        native = data.dtype.newbyteorder("=")
        if native not in TYPE_NAMES:
            raise SerialError(f"tensor {node['id']!r}: {data.dtype} data, which minitorch7 has "
                              f"no tensor type for ({', '.join(map(str, TYPE_NAMES))})")
        if not isinstance(node["requires_grad"], bool):
            raise SerialError(f"tensor {node['id']!r}: requires_grad "
                              f"{_short(node['requires_grad'])}")
        if node["grad"] is not None:
            grad = self.value(node["grad"])
            if not isinstance(grad, _ArraySpec) or (grad.shape, grad.dtype, grad.device) != (
                    data.shape, data.dtype, data.device):
                raise SerialError(f"tensor {node['id']!r}: its gradient is not a "
                                  f"{_shape_text(data.shape)} {data.device} {data.dtype} array")
        return self.define(node["id"], _TensorSpec(data.shape, native, data.device))

    # -- modules -------------------------------------------------------------------------
    def module(self, node):
        name = node["class"]
        cls = self.classes.get(name) if isinstance(name, str) else None
        if cls is None:
            raise SerialError(f"unknown module class {_short(name)}")
        for key in _NODE_KEYS["module"]:
            if key not in node:
                raise SerialError(f"nn.{name}: a module node without {key!r}")
        args = self.value(self._list(node["args"], f"nn.{name} args"))
        kwargs = self.value(node["kwargs"])
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise SerialError(f"nn.{name}: keyword arguments {_short(kwargs)}")
        sizes = predict_sizes(cls, args, kwargs)
        if sizes is None:  # a class not in _SIZES: bound it by its integer arguments
            sizes = _Sizes(known=False, children=None)
            counts = [int(a) for a in args if isinstance(a, int | np.integer) and a > 1]
            sizes.nbytes = 8 * math.prod(counts)
        spec = _ModuleSpec(cls, sizes, args)
        self.restore(spec, node)
        self.allocated += sizes.nbytes
        if self.allocated > self.allocation_limit:
            limit = self.allocation_limit // ALLOCATION_FACTOR
            raise SerialError(f"nn.{name}{_short(tuple(args))}: the constructors would allocate "
                              f"{_bytes_text(self.allocated)}, more than {ALLOCATION_FACTOR} x "
                              f"the limit of {_bytes_text(limit)}")
        return spec

    def restore(self, spec, node):
        """Check ``node`` as the state of the module ``spec`` (constructed, or built by its
        parent's constructor)."""
        name = spec.cls.__name__
        if node.get("$") != "module" or node.get("class") != name:
            raise SerialError(f"expected a {name}, the file has "
                              f"{_short(node.get('class', node.get('$')))}")
        for key in _NODE_KEYS["module"]:
            if key not in node:
                raise SerialError(f"nn.{name}: a module node without {key!r}")
        self.define(node["id"], spec)
        spec.id = node["id"]
        self.active.add(spec.id)
        children = self._list(node["children"], f"nn.{name} children")
        if len(children) < len(spec.sizes.children or ()):
            raise SerialError(f"nn.{name} has {len(spec.sizes.children)} children, the file "
                              f"{len(children)}")
        for i, child in enumerate(children):  # (recursing here: as deep as save goes)
            target = self.child(spec, i, child)
            if isinstance(target, _Built):
                self.restore(_ModuleSpec(target.cls, target.sizes, target.args), child)
            elif target and not isinstance(self.value(child), _ModuleSpec):
                raise SerialError(f"nn.{name}: child {i} is not a module")
        dtypes, devices = set(), set()
        for group, expected in (("parameters", spec.sizes.params), ("buffers", spec.sizes.buffers)):
            saved = node[group]
            if not isinstance(saved, dict):
                raise SerialError(f"nn.{name}: {group} must be a JSON object")
            if spec.sizes.known and set(saved) != set(expected):
                made = ", ".join(f"{k} {_shape_text(v if group == 'parameters' else v[0])}"
                                 for k, v in expected.items())
                raise SerialError(f"{spec!r}: the constructor makes the {group} "
                                  f"{made or 'none'}; the file has "
                                  f"{', '.join(map(_short, saved)) or 'none'}")
            for pname, tensor_node in saved.items():
                tensor = self.value(tensor_node)
                if not isinstance(tensor, _TensorSpec):
                    raise SerialError(f"nn.{name}.{pname} is {_short(tensor)}, not a tensor")
                want = expected.get(pname)
                floats = group == "parameters" or want is None or want[1]
                shape = want if group == "parameters" else (want[0] if want else None)
                if shape is not None and tensor.shape != tuple(shape):
                    raise SerialError(f"nn.{name}.{pname}: the file has size "
                                      f"{_shape_text(tensor.shape)}, the constructor arguments "
                                      f"make {_shape_text(shape)}")
                if floats:
                    if tensor.dtype not in _FLOATS:
                        raise SerialError(f"nn.{name}.{pname}: {tensor.dtype} data; parameters "
                                          f"and statistics are float32 or float64")
                    dtypes.add(tensor.dtype)
                devices.add(tensor.device)
        if len(dtypes) > 1 or len(devices) > 1:
            raise SerialError(f"nn.{name}: parameters and buffers of mixed types "
                              f"{sorted(map(str, dtypes))} / devices {sorted(devices)}")
        self.attributes(spec, node["attributes"])
        if "output" in node or "gradInput" in node or "momentum" in node:
            for key in ("output", "gradInput", "momentum"):
                if key not in node:
                    raise SerialError(f"nn.{name}: a module node with output, gradInput and "
                                      f"momentum without {key!r}")
            self.value(node["output"])
            self.value(node["gradInput"])
            if node["momentum"] is not None:
                for buffer in self.value(self._list(node["momentum"], f"nn.{name} momentum")):
                    if not isinstance(buffer, _ArraySpec) or \
                            buffer.dtype.newbyteorder("=") not in _FLOATS:
                        raise SerialError(f"nn.{name}: a momentum buffer that is not a float "
                                          f"array: {_short(buffer)}")
        self.active.discard(spec.id)

    def child(self, spec, i, child):
        """Check child ``i`` of ``spec`` as far as it does not recurse: returns the _Built
        module to restore it into, True to decode it as a new child (containers), or None
        (a reference to the module already there)."""
        name, built = spec.cls.__name__, spec.sizes.children or []
        if not isinstance(child, dict):
            raise SerialError(f"nn.{name}: child {i} is {_short(child)}")
        expected = built[i] if i < len(built) else None
        if isinstance(expected, _Built):
            if child.get("$") != "module":
                raise SerialError(f"nn.{name}: child {i} must be the {expected.cls.__name__} "
                                  f"its constructor makes")
            args = self.value(self._list(child.get("args"), "args"), define=False)
            kwargs = self.value(child.get("kwargs"), define=False)
            if not _same_args(args, expected.args) or kwargs not in ({}, None):
                raise SerialError(f"nn.{name}: child {i} has arguments {_short(args)}, the "
                                  f"constructor makes nn.{expected.cls.__name__}"
                                  f"{_short(expected.args)}")
            return expected
        if expected is not None or spec.sizes.children is None:  # an argument module, or
            # one of gModule's (which its graph makes): the same module again
            if child.get("$") != "ref":
                raise SerialError(f"nn.{name}: child {i} must refer to the module given "
                                  f"to the constructor")
            target = self.ref(child)
            if expected is not None and target is not expected or \
                    not isinstance(target, _ModuleSpec):
                raise SerialError(f"nn.{name}: child {i} is not the shared module")
            return None
        if not issubclass(spec.cls, Container):
            raise SerialError(f"nn.{name} has {len(built)} children, the file has more")
        return True

    def attributes(self, spec, attributes):
        name = spec.cls.__name__
        if not isinstance(attributes, dict):
            raise SerialError(f"nn.{name}: attributes must be a JSON object")
        grads = {"grad" + p[:1].upper() + p[1:] for p in spec.sizes.params}
        for attr, value in attributes.items():
            static = next((vars(c)[attr] for c in spec.cls.__mro__ if attr in vars(c)), None)
            if attr.startswith("__") or callable(static) or hasattr(static, "__get__") or \
                    attr in grads or attr in spec.sizes.params or attr in spec.sizes.buffers or \
                    (attr in _PROTECTED_ATTRIBUTES and value not in (None, [])):
                raise SerialError(f"nn.{name}: attribute {attr!r} may not be set")
            decoded = self.value(value, define=False)
            if not _is_plain(decoded):
                raise SerialError(f"nn.{name}: attribute {attr!r} is {_short(decoded)}, not a "
                                  f"number, string or list of them")
            if attr in spec.sizes.fixed and (decoded != spec.sizes.fixed[attr]
                                             or isinstance(decoded, bool | None)
                                             != isinstance(spec.sizes.fixed[attr], bool)):
                raise SerialError(f"nn.{name}: attribute {attr!r} is {_short(decoded)}, the "
                                  f"constructor arguments make {spec.sizes.fixed[attr]!r}")
            if attr == "serialType" and decoded not in SERIAL_TYPES:
                raise SerialError(f"nn.{name}: serialType {_short(decoded)}")


def _same_args(saved, expected):
    if len(saved) != len(expected):
        return False
    for a, b in zip(saved, expected):
        if isinstance(b, _ModuleSpec):
            if a is not b:
                return False
        elif isinstance(a, bool | np.bool_ | _ModuleSpec | _ArraySpec) or a != b:
            return False
    return True


def _plain_kind(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return bool
    if isinstance(value, int | float):
        return float
    return type(value) if isinstance(value, str) else list


# ---- decoding: JSON tree + arrays -> object --------------------------------------------
class _Decoder:
    """Builds the objects of a tree that ``_Checker`` accepted."""

    def __init__(self, arrays, device):
        self.arrays = arrays
        self.device = device
        self.objects = {}   # node id -> tensor, module or graph node
        self._classes = module_classes()

    def value(self, node):
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [v if type(v) in _SCALARS else self.value(v) for v in node]
        tag = node["$"]
        if tag == "tuple":
            return tuple(self.value(v) for v in node["items"])
        if tag == "dict":
            return {self.value(k): self.value(v) for k, v in node["items"]}
        if tag == "ref":
            return self.objects[node["id"]]
        if tag == "array":
            return self.array(node)
        if tag == "tensor":
            return self.tensor(node)
        if tag == "module":
            return self.module(node)
        graph_node = Node(self.value(node["module"]), self.value(node["parents"]))
        self.objects[node["id"]] = graph_node
        return graph_node

    def array(self, node):
        name = node["name"]
        array = self.arrays.read(name)
        if node.get("scalar"):
            return array[()]
        if node.get("device") == "cuda" and self.device != "cpu":
            try:
                return to_device(_native(array), "cuda")
            except Exception as e:  # out of GPU memory, a driver error
                raise SerialError(f"{name}: cannot be put on the GPU ({type(e).__name__}: "
                                  f"{e}); load(path, device='cpu') keeps it on the CPU") from None
        return array

    def tensor(self, node):
        data = _native(self.array(node["data"]))
        tensor = Tensor._wrap(data, requires_grad=node["requires_grad"])
        if node["grad"] is not None:
            tensor.grad = Tensor._wrap(_native(self.array(node["grad"])))
        self.objects[node["id"]] = tensor
        return tensor

    def module(self, node):
        cls = self._classes[node["class"]]
        args, kwargs = self.value(node["args"]), self.value(node["kwargs"])
        rng = generator().bit_generator
        state = rng.state  # constructors draw random weights: leave the global RNG as it was
        try:
            module = cls(*args, **kwargs)
        except SerialError:
            raise
        except Exception as e:  # the constructor's own checks (Dropout's p, gModule's graph)
            raise SerialError(f"nn.{cls.__name__}{_short(tuple(args))}: the constructor "
                              f"refused its arguments ({type(e).__name__}: {e})") from None
        finally:
            rng.state = state
        self.restore(module, node)
        return module

    def restore(self, module, node):
        """Give ``module`` (just constructed) the saved state of ``node``."""
        name = node["class"]
        if type(module).__name__ != name:
            raise SerialError(f"expected a {name}, the constructor built a "
                              f"{type(module).__name__}")
        self.objects[node["id"]] = module
        built = list(module.children())
        for i, child in enumerate(node["children"]):
            if i >= len(built):
                if not isinstance(module, Container):
                    raise SerialError(f"{name} has {len(built)} children, the file "
                                      f"{len(node['children'])}")
                module.add(self.value(child))
            elif child["$"] == "ref":
                if self.objects[child["id"]] is not built[i]:
                    raise SerialError(f"{name}: child {i} is not the shared module")
            else:
                self.restore(built[i], child)
        for pname, tensor_node in node["parameters"].items():
            self._restore_tensor(module, pname, tensor_node, zero_grad=True)
        for pname, tensor_node in node["buffers"].items():
            self._restore_tensor(module, pname, tensor_node, zero_grad=False)
        for attr, value in node["attributes"].items():
            value = self.value(value)
            current = vars(module).get(attr)
            if attr in vars(module) and not _is_plain(current) or (
                    current is not None and value is not None
                    and _plain_kind(current) != _plain_kind(value)):
                raise SerialError(f"nn.{name}: attribute {attr!r} is {_short(current)} in the "
                                  f"module, {_short(value)} in the file")
            if attr in _PROTECTED_ATTRIBUTES:
                continue  # None or [] (checked): bookkeeping that the restore above set
            setattr(module, attr, value)
        if "output" in node:
            module.output, module.gradInput = self.value(node["output"]), self.value(
                node["gradInput"])
            self._restore_momentum(module, node["momentum"])

    def _restore_momentum(self, module, momentum):
        if momentum is None:
            module._momentum = None
            return
        grads = module.parameters()[1]
        buffers = [_native(self.array(v)) for v in momentum]
        if len(buffers) != len(grads) or any(
                v.shape != tuple(g.shape) or v.dtype != g.dtype or not _same_device(v, g.data)
                for v, g in zip(buffers, grads)):
            raise SerialError(f"nn.{type(module).__name__}: {len(buffers)} momentum buffers "
                              f"that do not match its {len(grads)} gradients")
        module._momentum = buffers

    def _restore_tensor(self, module, name, node, zero_grad):
        """Fill the constructor's tensor ``name`` with the saved one (or share a saved one)."""
        current = getattr(module, name, None)
        if not isinstance(current, Variable):
            raise SerialError(f"nn.{type(module).__name__}.{name}: the module has no such tensor")
        if node["$"] == "ref":
            shared = self.objects[node["id"]]
            if tuple(shared.shape) != tuple(current.shape):
                raise SerialError(f"nn.{type(module).__name__}.{name}: the shared tensor has size "
                                  f"{_shape_text(shared.shape)}, the module "
                                  f"{_shape_text(current.shape)}")
            setattr(module, name, shared)
            return
        data = _native(self.array(node["data"]))
        if tuple(current.shape) != data.shape:
            raise SerialError(f"nn.{type(module).__name__}.{name}: the file has size "
                              f"{_shape_text(data.shape)}, the module "
                              f"{_shape_text(current.shape)}")
        current.data = data
        if zero_grad:
            grad = node["grad"]
            current.grad.data = data * 0 if grad is None else _native(self.array(grad))
        self.objects[node["id"]] = current


def _native(array):
    """A tensor's array in this machine's byte order (a file may hold big-endian ones)."""
    if isinstance(array, np.ndarray) and not array.dtype.isnative:
        return array.astype(array.dtype.newbyteorder("="))
    return array


def _same_device(a, b):
    return isinstance(a, np.ndarray) == isinstance(b, np.ndarray)


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
        entries = {}
        for name, array in arrays.items():
            with archive.open(name, "w", force_zip64=array.nbytes > 2**30) as member:
                out = _HashingWriter(member)
                np.lib.format.write_array(out, array, allow_pickle=False)
            entries[name] = {"sha256": out.sha256.hexdigest(), "bytes": out.size,
                             "shape": list(array.shape)}
            if array.dtype.names is None and array.dtype.subdtype is None:
                entries[name]["dtype"] = array.dtype.str
        manifest = {"format": FORMAT, "version": VERSION, "arrays": entries, "object": tree}
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
    """The file's size, after checking that it starts like a minitorch7 file."""
    size = _MAGIC_AT + len(MAGIC_NAME)
    with open(path, "rb") as f:
        head = f.read(size)
        total = os.fstat(f.fileno()).st_size
    if len(head) < size:
        raise SerialError(f"truncated or not a minitorch7 file ({len(head)} bytes)")
    if head[:4] != _ZIP_HEADER or head[_MAGIC_AT:] != MAGIC_NAME.encode():
        raise SerialError(f"not a minitorch7 file (it starts with {head[:12]!r})")
    return total


class _HashingReader:
    def __init__(self, f):
        self.f, self.sha256 = f, hashlib.sha256()

    def read(self, n):
        data = self.f.read(n)
        self.sha256.update(data)
        return data


class _Archive:
    """The zip directory and manifest, checked; reads array members within their limits."""

    def __init__(self, archive, file_size, limit):
        self.archive = archive
        infos = archive.infolist()
        if not infos or infos[0].filename != MAGIC_NAME:
            raise SerialError("not a minitorch7 file (no format header)")
        self.infos, total = {}, 0
        for info in infos:
            name = info.filename
            if name in self.infos:
                raise SerialError(f"member {_short(name)} appears twice in the zip directory")
            self.infos[name] = info
            if info.flag_bits & 0x41:
                raise SerialError(f"member {_short(name)} is encrypted")
            if info.flag_bits & 0x20:
                raise SerialError(f"member {_short(name)} holds patch data")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                method = _METHODS.get(info.compress_type, "unknown")
                raise SerialError(f"member {_short(name)} uses compression method "
                                  f"{info.compress_type} ({method}); minitorch7 reads stored "
                                  f"or deflated members only")
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise SerialError(f"member {_short(name)}: stored, but its sizes disagree "
                                  f"({info.compress_size} and {info.file_size} bytes)")
            if info.header_offset + _MAGIC_AT + info.compress_size > file_size:
                raise SerialError(f"truncated or corrupted file (member {_short(name)} ends "
                                  f"past the end of the file)")
            total += info.file_size
        if total > limit:
            raise SerialError(f"its members would inflate to {total} bytes "
                              f"({_bytes_text(total)}), over the limit of {limit} bytes "
                              f"({_bytes_text(limit)}); load(path, max_bytes=...) raises the "
                              f"limit for a file you trust")
        self.manifest = self._read_manifest()
        self.entries = self._check_entries(self.manifest["arrays"])
        self._described = {}

    def _member(self, name, limit):
        info = self.infos.get(name)
        if info is None:
            raise SerialError(f"truncated or corrupted file (no {name})")
        if info.file_size > limit:
            raise SerialError(f"{name} is {info.file_size} bytes, more than {limit}")
        with _zip_errors(name), self.archive.open(info) as f:
            data = _read_exact(f, info.file_size)
            if len(data) != info.file_size or f.read(1):
                raise SerialError(f"{name}: truncated or corrupted file (not "
                                  f"{info.file_size} bytes)")
        return data

    def _read_manifest(self):
        if self._member(MAGIC_NAME, len(MAGIC)) != MAGIC:
            raise SerialError("not a minitorch7 file (no format header)")
        if "manifest.json" not in self.infos:
            raise SerialError("truncated or corrupted file (no manifest)")
        text = self._member("manifest.json", MAX_MANIFEST_BYTES)
        try:
            manifest = json.loads(text)
        except RecursionError:
            raise SerialError("manifest.json: nested too deeply") from None
        except ValueError as e:
            raise SerialError(f"manifest.json: not JSON ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise SerialError("not a minitorch7 file (manifest of another format)")
        if manifest.get("version") != VERSION:
            raise SerialError(f"format version {_short(manifest.get('version'))}; this "
                              f"minitorch7 reads version {VERSION}")
        if not isinstance(manifest.get("arrays"), dict) or "object" not in manifest:
            raise SerialError("malformed manifest (no arrays or no object)")
        return manifest

    def _check_entries(self, entries):
        for name, entry in entries.items():
            if not _ARRAY_NAME.fullmatch(name) or name not in self.infos:
                raise SerialError(f"array {_short(name)} of the manifest is not in the file")
            if not isinstance(entry, dict):
                raise SerialError(f"{name}: malformed manifest entry {_short(entry)}")
            digest, size = entry.get("sha256"), entry.get("bytes")
            if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest) or \
                    isinstance(size, bool) or not isinstance(size, int):
                raise SerialError(f"{name}: malformed manifest entry {_short(entry)}")
            if size != self.infos[name].file_size:
                raise SerialError(f"corrupted file: {name} is {self.infos[name].file_size} "
                                  f"bytes, the manifest says {size}")
        extra = set(self.infos) - set(entries) - {MAGIC_NAME, "manifest.json"}
        if extra:
            raise SerialError(f"member {_short(min(extra))} is not listed in the manifest")
        return entries

    def describe(self, name):
        """(shape, dtype) of an array, from its manifest entry or else its .npy header."""
        if name not in self._described:
            entry = self.entries[name]
            if "shape" in entry and "dtype" in entry:
                shape, dtype = _entry_shape(name, entry.get("shape")), _entry_dtype(name, entry)
                header = entry["bytes"] - math.prod(shape) * dtype.itemsize
                if not 10 <= header <= 12 + _NPY_HEADER_MAX:
                    raise SerialError(f"corrupted file: {name} is {entry['bytes']} bytes, too "
                                      f"many or too few for {_shape_text(shape)} {dtype}")
            else:
                with _zip_errors(name), self.archive.open(self.infos[name]) as f:
                    shape, _, dtype, header = _read_npy_header(f, name)
                _check_npy_size(name, shape, dtype, header, entry["bytes"])
            self._described[name] = (shape, dtype)
        return self._described[name]

    def read(self, name):
        """The array member ``name`` after checking its header, size, CRC and SHA-256."""
        expected = self.entries[name]
        shape, dtype = self.describe(name)
        with _zip_errors(name), self.archive.open(self.infos[name]) as member:
            f = _HashingReader(member)
            header_shape, fortran, header_dtype, header = _read_npy_header(f, name)
            if (header_shape, header_dtype) != (shape, dtype):
                raise SerialError(f"corrupted file: {name} holds {_shape_text(header_shape)} "
                                  f"{header_dtype}, the manifest says {_shape_text(shape)} "
                                  f"{dtype}")
            _check_npy_size(name, shape, dtype, header, expected["bytes"])
            count = math.prod(shape)
            flat = np.empty(count, dtype)
            raw = flat.view(np.uint8)
            done = 0
            while done < raw.size:
                data = f.read(min(_CHUNK, raw.size - done))
                if not data:
                    raise SerialError(f"{name}: truncated or corrupted file")
                raw[done:done + len(data)] = np.frombuffer(data, np.uint8)
                done += len(data)
            if f.read(1):
                raise SerialError(f"{name}: truncated or corrupted file (longer than its header)")
        if f.sha256.hexdigest() != expected["sha256"]:
            raise SerialError(f"corrupted file: checksum mismatch for {name}")
        return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _entry_shape(name, shape):
    if not isinstance(shape, list) or len(shape) > 64 or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise SerialError(f"{name}: malformed shape {_short(shape)} in the manifest")
    return tuple(shape)


def _entry_dtype(name, entry):
    text = entry.get("dtype")
    if not isinstance(text, str) or not _DTYPE_TEXT.fullmatch(text):
        raise SerialError(f"{name}: malformed dtype {_short(text)} in the manifest")
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError):
        raise SerialError(f"{name}: unknown dtype {_short(text)} in the manifest") from None
    return _check_dtype(name, dtype)


def _check_dtype(name, dtype):
    if dtype.hasobject:
        raise SerialError(f"{name}: refused (an array of Python objects would need "
                          f"allow_pickle, which load never uses)")
    if dtype.itemsize == 0 or dtype.subdtype is not None:
        raise SerialError(f"{name}: refused (dtype {dtype})")
    return dtype


def _check_npy_size(name, shape, dtype, header, size):
    if header + math.prod(shape) * dtype.itemsize != size:
        raise SerialError(f"corrupted file: {name} is {size} bytes, its header says "
                          f"{_shape_text(shape)} {dtype}")


def _read_npy_header(f, name):
    """(shape, fortran_order, dtype, header bytes) of the .npy file open in ``f``."""
    prefix = _read_exact(f, 8)
    if len(prefix) < 8 or prefix[:6] != b"\x93NUMPY":
        raise SerialError(f"{name}: not a .npy array")
    version = (prefix[6], prefix[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise SerialError(f"{name}: .npy format version {version[0]}.{version[1]}")
    length = _read_exact(f, 2 if version == (1, 0) else 4)
    size = int.from_bytes(length, "little")
    if len(length) < (2 if version == (1, 0) else 4) or size > _NPY_HEADER_MAX:
        raise SerialError(f"{name}: bad .npy header length")
    text = _read_exact(f, size)
    if len(text) < size:
        raise SerialError(f"{name}: truncated .npy header")
    try:
        shape, fortran, dtype = _parse_npy_header(io.BytesIO(length + text), version)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as e:
        raise SerialError(f"{name}: bad .npy header ({type(e).__name__}: {e})") from None
    if any(n < 0 for n in shape):
        raise SerialError(f"{name}: negative size {shape} in its .npy header")
    return tuple(shape), fortran, _check_dtype(name, dtype), 8 + len(length) + size


def _parse_npy_header(buffer, version):
    fmt = np.lib.format
    if version == (1, 0):
        return fmt.read_array_header_1_0(buffer, max_header_size=_NPY_HEADER_MAX)
    if version == (2, 0):
        return fmt.read_array_header_2_0(buffer, max_header_size=_NPY_HEADER_MAX)
    try:  # 3.0: a UTF-8 header (structured dtypes with non-Latin-1 field names)
        from numpy.lib._format_impl import _read_array_header
    except ImportError:
        _read_array_header = fmt._read_array_header
    return _read_array_header(buffer, version, max_header_size=_NPY_HEADER_MAX)
