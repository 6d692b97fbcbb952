"""Testing tools for minitorch7's tests and for yours: hypothesis strategies and ``check_op``.

Strategies (use them with ``@given``)::

    shapes(max_dims=3, max_side=4)         (2, 1, 3)
    broadcastable_shapes()                 ((4, 1), (3,)): a pair that broadcasts
    arrays((2, 3), low=0.1)                float64 values in [low, high] (positive: log, sqrt)
    arrays((2, 3), away_from=0.2)          |x| >= 0.2 everywhere (division, abs, relu kinks)
    arrays((2, 3), distinct=True)          no ties (max, min)
    layouts()                              a function giving the same values in another memory
                                           layout: contiguous, transposed or strided
    tensors((2, 3))                        a float64 leaf with requires_grad, any layout

``check_op(our_fn, numpy_fn, *inputs)`` is the one-line op test: the forward in float32
against NumPy, then gradcheck in float64 on the inputs exactly as given (same layout).
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .autograd import gradcheck
from .tensor import Tensor

FLOAT32_RTOL, FLOAT32_ATOL = 1e-4, 1e-5


def shapes(min_dims=1, max_dims=3, min_side=1, max_side=4):
    """Tuples of ``min_dims``..``max_dims`` sizes, each in ``min_side``..``max_side``."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    """Pairs (shape_a, shape_b) that broadcast together, size-1 and missing dims included."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda shapes: shapes.input_shapes)


def arrays(shape, low=-3.0, high=3.0, away_from=None, distinct=False, dtype=np.float64):
    """Float arrays of ``shape`` with values in [low, high], no NaN or infinity.

    ``away_from=m`` keeps |x| >= m (for 1/x, or the kinks of abs and relu); ``distinct``
    gives values at least (high - low) / (2 size) apart, in random order (max and min need
    no ties within gradcheck's eps).
    """
    if distinct:
        size = int(np.prod(shape))
        step = (high - low) / max(size, 1)
        return st.tuples(st.permutations(range(size)), st.floats(0.25, 0.75)).map(
            lambda p: (low + step * (np.array(p[0], np.float64) + p[1])).reshape(shape)
            .astype(dtype))
    if away_from is not None:
        elements = st.floats(max(low, away_from), high) | st.floats(low, min(high, -away_from))
    else:
        elements = st.floats(low, high)
    return hnp.arrays(np.float64, shape, elements=elements).map(lambda a: a.astype(dtype))


def contiguous(array):
    """A C-contiguous copy."""
    return np.ascontiguousarray(array)


def transposed(array):
    """The same values stored transposed (Fortran order): strides run backwards."""
    return np.asfortranarray(array)


def strided(array):
    """The same values at every other element of a larger buffer (a strided slice)."""
    if array.ndim == 0:
        return array.copy()
    base = np.zeros((*array.shape[:-1], 2 * array.shape[-1]), array.dtype)
    view = base[..., ::2]
    view[...] = array
    return view


def layouts():
    """Functions mapping an array to the same values in one memory layout."""
    return st.sampled_from([contiguous, transposed, strided])


@st.composite
def tensors(draw, shape=None, layout=True, requires_grad=True, dtype=np.float64, **values):
    """A leaf Tensor (float64, requires_grad by default) whose data may be non-contiguous.

    ``shape`` defaults to ``shapes()``; ``values`` go to ``arrays`` (low, high, away_from,
    distinct).
    """
    shape = draw(shapes()) if shape is None else shape
    array = draw(arrays(shape, dtype=dtype, **values))
    if layout:
        array = draw(layouts())(array)
    return Tensor._wrap(array, requires_grad)


def check_op(our_fn, numpy_fn, *inputs, grad=True, rtol=FLOAT32_RTOL, atol=FLOAT32_ATOL,
             **gradcheck_options):
    """Check ``our_fn`` (on Tensors) against ``numpy_fn`` (on arrays) for these inputs.

    Float arrays among ``inputs`` become Tensors (the differentiable inputs), integer
    arrays become LongTensors; a Tensor is a constant (``numpy_fn`` gets its array, its
    gradient is not checked); anything else is passed as it is. The forward runs in
    float32 and must match ``numpy_fn`` (in float64) within float32 tolerance, with a
    float32 result; then ``gradcheck`` compares the gradients in float64 on the arrays
    exactly as given (shared, so a non-contiguous layout is kept).
    """
    expected = np.asarray(numpy_fn(*[_float64(x) for x in inputs]))
    out = our_fn(*[_as_tensor(x, np.float32, False) for x in inputs])
    outputs = out if isinstance(out, tuple | list) else (out,)
    expected_outputs = expected if isinstance(out, tuple | list) else (expected,)
    for got, want in zip(outputs, expected_outputs, strict=True):
        if got.dtype.kind == "f" and got.dtype != np.float32:
            raise AssertionError(f"check_op: float32 inputs gave a {got.dtype} result")
        np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=atol,
                                   err_msg="check_op: forward differs from NumPy")
    if grad:
        differentiable = tuple(_as_tensor(x, None, True) for x in inputs)
        gradcheck(our_fn, differentiable, **gradcheck_options)
    return out


def _is_float_array(x):
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def _float64(x):
    if isinstance(x, Tensor):
        return x.numpy()
    return x.astype(np.float64) if _is_float_array(x) else x


def _as_tensor(x, dtype, requires_grad):
    if _is_float_array(x):
        data = x if dtype is None or x.dtype == dtype else x.astype(dtype)
        return Tensor._wrap(data, requires_grad)
    if isinstance(x, np.ndarray) and x.dtype.kind in "iu":
        return Tensor._wrap(x)
    return x
