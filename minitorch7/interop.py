"""PyTorch interop without PyTorch: a module's parameters and buffers in the safetensors
format, under the names ``state_dict()`` gives them in the equivalent torch.nn model.

    interop.save_safetensors(model, "model.safetensors")     # minitorch7 export MODEL OUT
    torch_model.load_state_dict(safetensors.torch.load_file("model.safetensors"))

    interop.load_safetensors(model, "model.safetensors")     # and back, into a built model

The equivalent torch.nn model, and so the names:

* ``nn.Sequential`` -> ``torch.nn.Sequential`` with the SAME modules at the SAME positions:
  every module counts, those without parameters too (Convert -> Identity, Collapse ->
  Flatten, Tanh -> Tanh, LogSoftMax -> LogSoftmax, Dropout -> Dropout ...). The lab's MLP
  ``Sequential(Convert, Collapse, Linear, Tanh, Linear, LogSoftMax)`` gives '2.weight',
  '2.bias', '4.weight', '4.bias'.
* ``nn.Sequencer(m)`` (and the Recursor in it) adds no name of its own: ``m``'s names
  stand at its position (the torch model runs ``m`` over the whole sequence;
  torch.nn.LSTM does that itself).
* ``Linear`` -> ``Linear`` (weight, bias); ``SpatialConvolution`` -> ``Conv2d`` (weight
  O x C x kH x kW, bias); ``BatchNormalization`` / ``SpatialBatchNormalization`` ->
  ``BatchNorm1d`` / ``BatchNorm2d`` (weight, bias when affine, running_mean, running_var,
  num_batches_tracked: 0, minitorch7 does not count them; torch uses it only when its
  momentum is None); ``LookupTable`` -> ``Embedding`` (weight).
* ``FastLSTM`` -> a one-layer ``LSTM`` (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0):
  the 4H gate blocks are permuted from FastLSTM's order (i, g, f, o) to torch's (i, f, g,
  o); FastLSTM has one bias where torch has two: bias_ih_l0 is it, bias_hh_l0 is written as
  zeros, and the two are summed on import.
* Refused (``InteropError``): ``GRU`` (Torch7's applies the reset gate BEFORE the recurrent
  product, r * h -> h2h, torch.nn.GRU after it, r * (W_hn h + b_hn): the same weights
  compute something else), the peephole ``LSTM``, and any other module holding parameters
  (``Recurrence``, tables ...).

The file format (written and read by hand, https://github.com/huggingface/safetensors): an
8-byte little-endian header length N, N bytes of a JSON object {name: {"dtype", "shape",
"data_offsets": [begin, end]}} plus an optional "__metadata__" {str: str}, then the raw
little-endian bytes, each tensor at its offsets from the end of the header. The reader
takes untrusted files: the header is capped (``MAX_HEADER``) and checked against the file
size, every entry's dtype must be known, its shape a list of non-negative ints, its offsets
as long as its shape says, the tensors back to back from 0 to the end of the file; data is
read in bounded chunks. Every failure is an ``InteropError`` naming the file.
"""

import json
import os
import struct
import tempfile

import numpy as np

from .bounded_io import read_exact

__all__ = ["InteropError", "MAX_HEADER", "state_dict", "load_state_dict", "save_safetensors",
           "load_safetensors", "write_safetensors", "read_safetensors"]

MAX_HEADER = 100 * 1024 * 1024  # bytes of JSON header (safetensors' own limit)

DTYPES = {  # safetensors dtype -> numpy (little-endian)
    "BOOL": np.dtype("?"), "U8": np.dtype("u1"), "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"), "U16": np.dtype("<u2"), "F16": np.dtype("<f2"),
    "I32": np.dtype("<i4"), "U32": np.dtype("<u4"), "F32": np.dtype("<f4"),
    "I64": np.dtype("<i8"), "U64": np.dtype("<u8"), "F64": np.dtype("<f8"),
}
_NAMES = {(d.kind, d.itemsize): name for name, d in DTYPES.items()}


class InteropError(ValueError):
    """A model that has no torch.nn equivalent, a state that does not fit the model, or a
    safetensors file that the reader refuses."""


# ---- names ---------------------------------------------------------------------------
def _lstm_to_torch(weight, H):
    """Rows in FastLSTM's gate order (i, g, f, o) -> torch's (i, f, g, o)."""
    i, g, f, o = (weight[k * H:(k + 1) * H] for k in range(4))
    return np.concatenate([i, f, g, o])


def _lstm_from_torch(weight, H):
    i, f, g, o = (weight[k * H:(k + 1) * H] for k in range(4))
    return np.concatenate([i, g, f, o])


def _host(tensor):
    from .ops.shape import to_device

    return np.ascontiguousarray(to_device(tensor.data, "cpu"))


def _has_state(module):
    """Whether ``module`` holds parameters (buffers such as Convert's type tag are no
    state a torch model has)."""
    return any(m._parameter_names for m in module.modules_depth_first())


def _entries(module, prefix):
    """[(torch name, tensor, to_torch, from_torch)] of ``module`` under ``prefix``: to_torch
    maps the minitorch7 array to torch's, from_torch back; the LSTM's second bias is an
    entry with tensor None."""
    from . import nn

    def own(names, torch_names=None):
        return [(prefix + t, getattr(module, n), None, None)
                for n, t in zip(names, torch_names or names)]

    kind = type(module)
    if kind is nn.Sequential:
        out = []
        for index, child in enumerate(module.modules):
            out += _entries(child, f"{prefix}{index}.")
        return out
    if kind in (nn.Sequencer, nn.Recursor):
        return _entries(module.module, prefix)
    if kind is nn.GRU:
        raise InteropError(
            f"{module!r} has no torch.nn equivalent: Torch7's GRU applies its reset gate "
            "before the recurrent product (h2h(r * h)), torch.nn.GRU after it (r * (W h + b)), "
            "so the same weights would compute something else; refusing to export it")
    if kind is nn.FastLSTM:
        H = module.outputSize
        to, back = (lambda w: _lstm_to_torch(w, H)), (lambda w: _lstm_from_torch(w, H))
        return [(prefix + "weight_ih_l0", module.i2g.weight, to, back),
                (prefix + "weight_hh_l0", module.o2g.weight, to, back),
                (prefix + "bias_ih_l0", module.i2g.bias, to, back),
                (prefix + "bias_hh_l0", None, None, None)]
    if kind in (nn.Linear, nn.LinearNoBias, nn.SpatialConvolution, nn.LookupTable):
        return own(module._parameter_names)
    if kind in (nn.BatchNormalization, nn.SpatialBatchNormalization):
        return (own(module._parameter_names) + own(["running_mean", "running_var"])
                + [(prefix + "num_batches_tracked", None, None, None)])
    if _has_state(module):
        hint = (" (the peephole LSTM: torch.nn.LSTM has no peepholes)"
                if kind is nn.LSTM else "")
        raise InteropError(f"nn.{kind.__name__} has no torch.nn equivalent{hint}; refusing "
                           "to export it")
    return []


def state_dict(module):
    """{torch name: numpy array} of ``module``'s parameters and buffers, in the order
    torch's ``state_dict()`` lists them; InteropError for a module without a torch.nn
    equivalent (see the module docstring)."""
    out = {}
    for name, tensor, to_torch, _ in _entries(module, ""):
        if tensor is None:
            if name.endswith("num_batches_tracked"):
                out[name] = np.zeros((), np.int64)
            else:  # the LSTM's second bias
                out[name] = np.zeros_like(out[name[:-len("bias_hh_l0")] + "bias_ih_l0"])
            continue
        array = _host(tensor)
        out[name] = to_torch(array) if to_torch else array
    return out


def load_state_dict(module, tensors, what="the state"):
    """Copy ``tensors`` ({torch name: numpy array}, as ``state_dict`` gives) into
    ``module``'s parameters and buffers. The names must be exactly the module's (
    num_batches_tracked may be left out: it is not used) and every shape must match;
    InteropError otherwise, before anything is copied."""
    from .ops.shape import to_device

    entries = _entries(module, "")
    expected = {e[0] for e in entries}
    missing = sorted(expected - set(tensors) - {n for n in expected
                                                if n.endswith("num_batches_tracked")})
    unexpected = sorted(set(tensors) - expected)
    if missing or unexpected:
        parts = ([f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"]
                 if missing else [])
        parts += ([f"unexpected {', '.join(unexpected[:5])}"
                   f"{' ...' if len(unexpected) > 5 else ''}"] if unexpected else [])
        raise InteropError(f"{what} does not fit {type(module).__name__}: {'; '.join(parts)}")
    copies = []
    for name, tensor, _, from_torch in entries:
        array = np.asarray(tensors.get(name))
        if name.endswith("num_batches_tracked"):
            if name in tensors and array.size != 1:
                raise InteropError(f"{what}: {name} has shape {list(array.shape)}, expected []")
            continue
        if tensor is None:  # bias_hh_l0: added to bias_ih_l0 below
            continue
        target = tuple(tensor.shape)
        if tuple(array.shape) != target:
            raise InteropError(f"{what}: {name} has shape {list(array.shape)}, the model's "
                               f"is {list(target)}")
        if array.dtype.kind not in "fiub":
            raise InteropError(f"{what}: {name} has dtype {array.dtype}, expected numbers")
        if name.endswith("bias_ih_l0"):
            other = np.asarray(tensors[name[:-len("bias_ih_l0")] + "bias_hh_l0"])
            if other.shape != array.shape:
                raise InteropError(f"{what}: {name[:-2]}hh_l0 has shape {list(other.shape)}, "
                                   f"expected {list(target)}")
            array = array.astype(np.float64) + other.astype(np.float64)
        if from_torch:
            array = from_torch(array)
        copies.append((tensor, array))
    for tensor, array in copies:
        host = np.ascontiguousarray(array, dtype=tensor.dtype).reshape(tensor.shape)
        tensor._inplace(to_device(host, tensor.device))
    return module


# ---- the file format -------------------------------------------------------------------
def write_safetensors(path, tensors, metadata=None):
    """Write ``tensors`` ({name: numpy array}) to ``path`` in the safetensors format,
    atomically (a temporary file renamed over ``path``)."""
    header, offset, arrays = {}, 0, []
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, array in tensors.items():
        array = np.asarray(array)
        dtype = _NAMES.get((array.dtype.kind, array.dtype.itemsize))
        if dtype is None or name == "__metadata__":
            raise InteropError(f"cannot write {name!r} ({array.dtype}) to safetensors")
        data = np.ascontiguousarray(array, DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        arrays.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors does
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for data in arrays:
                f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise InteropError(f"header names {key!r} twice")
        out[key] = value
    return out


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_header(header, data_size):
    """[(name, dtype, shape, begin, end)] sorted by begin, after checking every entry."""
    if not isinstance(header, dict):
        raise InteropError("header is not a JSON object")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise InteropError("__metadata__ is not an object of strings")
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not name:
            raise InteropError("a tensor has an empty name")
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise InteropError(f"tensor {name!r}: expected exactly dtype, shape and "
                               "data_offsets")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise InteropError(f"tensor {name!r}: unsupported dtype {str(dtype)[:20]!r} "
                               f"(known: {', '.join(DTYPES)})")
        if not isinstance(shape, list) or len(shape) > 64 or not all(map(_is_count, shape)):
            raise InteropError(f"tensor {name!r}: shape must be a list of non-negative ints")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(map(_is_count, offsets)) or offsets[0] > offsets[1]):
            raise InteropError(f"tensor {name!r}: data_offsets must be [begin, end], "
                               "0 <= begin <= end")
        begin, end = offsets
        if end > data_size:
            raise InteropError(f"tensor {name!r}: data_offsets [{begin}, {end}] run past the "
                               f"{data_size} bytes of data (truncated file?)")
        count = 1
        for n in shape:
            count *= n
        if count * DTYPES[dtype].itemsize != end - begin:
            raise InteropError(f"tensor {name!r}: shape {shape} of {dtype} needs "
                               f"{count * DTYPES[dtype].itemsize} bytes, data_offsets give "
                               f"{end - begin}")
        entries.append((name, DTYPES[dtype], tuple(shape), begin, end))
    entries.sort(key=lambda e: (e[3], e[4]))
    position = 0
    for name, _, _, begin, end in entries:
        if begin != position:
            raise InteropError(f"tensor {name!r}: data starts at {begin}, expected {position} "
                               "(the tensors must be back to back, without gaps or overlaps)")
        position = end
    if position != data_size:
        raise InteropError(f"the tensors hold {position} bytes, the file {data_size} after its "
                           "header")
    return entries


def read_safetensors(path, max_header=MAX_HEADER):
    """({name: numpy array}, metadata) of the safetensors file ``path``, checked as the
    module docstring says; InteropError naming the file for anything wrong with it (an
    OSError for a file that cannot be opened)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = read_exact(f, 8)
            if len(head) < 8:
                raise InteropError(f"truncated: {len(head)} bytes, a safetensors file starts "
                                   "with an 8-byte header length")
            (length,) = struct.unpack("<Q", head)
            if length > max_header:
                raise InteropError(f"header of {length} bytes is over the limit of "
                                   f"{max_header}")
            if 8 + length > size:
                raise InteropError(f"header of {length} bytes runs past the end of the "
                                   f"{size}-byte file (truncated, or not safetensors)")
            text = read_exact(f, length)
            if len(text) < length:
                raise InteropError("truncated header")
            if not text.lstrip().startswith(b"{"):
                raise InteropError("header is not a JSON object (not a safetensors file?)")
            try:
                header = json.loads(text.decode("utf-8"), object_pairs_hook=_no_duplicates)
            except (UnicodeDecodeError, ValueError, RecursionError) as e:
                if isinstance(e, InteropError):
                    raise
                raise InteropError(f"header is not valid JSON ({type(e).__name__})") from None
            entries = _check_header(header, size - 8 - length)
            tensors = {}
            for name, dtype, shape, begin, end in entries:
                data = read_exact(f, end - begin)
                if len(data) != end - begin:
                    raise InteropError(f"tensor {name!r}: truncated data")
                array = np.frombuffer(data, dtype=dtype).reshape(shape)
                tensors[name] = array.astype(dtype.newbyteorder("="))
            return tensors, header.get("__metadata__", {})
    except InteropError as e:
        raise InteropError(f"minitorch7.interop: {path}: {e}") from None


def save_safetensors(module, path, metadata=None):
    """Write ``module``'s parameters and buffers to ``path`` under torch.nn's names (see
    the module docstring); InteropError for a module without a torch.nn equivalent."""
    meta = {"format": "pt", "producer": "minitorch7"}
    meta.update(metadata or {})
    write_safetensors(path, state_dict(module), meta)


def load_safetensors(module, path):
    """Load a safetensors file of torch.nn names (written by ``save_safetensors``, or from
    a torch.nn model's ``state_dict()``) into ``module``, built with the same sizes;
    InteropError naming the file when it is malformed or does not fit the model."""
    tensors, _ = read_safetensors(path)
    return load_state_dict(module, tensors, what=f"minitorch7.interop: {os.fspath(path)}")
