"""What the kernel tests of both CPU tiers share: dtypes and memory layouts to draw, seeded
data, tolerances, and the convolution and pooling geometries."""

import numpy as np
from hypothesis import strategies as st

DTYPES = st.sampled_from([np.float32, np.float64])
LAYOUTS = st.sampled_from(["contiguous", "transposed", "strided"])


def tol(dtype):
    return dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-10)


def data(seed, shape, dtype):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def layout(x, how):
    """The same values as x, laid out contiguous, transposed (F order) or with a step."""
    if how == "transposed":
        out = np.asfortranarray(x)
    elif how == "strided":
        big = np.zeros(x.shape[:-1] + (2 * x.shape[-1],), x.dtype)
        big[..., ::2] = x
        out = big[..., ::2]
    else:
        return x
    assert x.size <= 1 or sum(n > 1 for n in x.shape) < 2 or not out.flags.c_contiguous
    return out


def close(got, want, dtype):
    assert got.shape == want.shape and got.dtype == dtype, (got.shape, want.shape, got.dtype)
    np.testing.assert_allclose(got, want, **tol(dtype))


def conv_cases(batch=3, channels=3, outputs=5, side=8, kernel=4, stride=3, padding=2):
    """Convolution geometries up to the given sizes (a dict: bsz, c, o, h, w, kh, kw,
    stride, padding)."""
    return st.fixed_dictionaries({
        "bsz": st.integers(1, batch), "c": st.integers(1, channels),
        "o": st.integers(1, outputs), "h": st.integers(1, side), "w": st.integers(1, side),
        "kh": st.integers(1, kernel), "kw": st.integers(1, kernel),
        "stride": st.tuples(st.integers(1, stride), st.integers(1, stride)),
        "padding": st.tuples(st.integers(0, padding), st.integers(0, padding))})


def conv_inputs(case, dtype, seed):
    """x, w, b of a case (the kernel clipped to fit the padded image), its stride, padding."""
    (ph, pw), (kh, kw) = case["padding"], (case["kh"], case["kw"])
    kh, kw = min(kh, case["h"] + 2 * ph), min(kw, case["w"] + 2 * pw)
    x = data(seed, (case["bsz"], case["c"], case["h"], case["w"]), dtype)
    w = data(seed + 1, (case["o"], case["c"], kh, kw), dtype)
    b = data(seed + 2, (case["o"],), dtype)
    return x, w, b, case["stride"], case["padding"]


pool_cases = st.fixed_dictionaries({
    "shape": st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(3, 8),
                       st.integers(3, 8)),
    "kernel": st.tuples(st.integers(1, 3), st.integers(1, 3)),
    "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
    "pad": st.tuples(st.booleans(), st.booleans())})


def pool_args(case):
    kernel = case["kernel"]
    padding = tuple(k // 2 if on else 0 for k, on in zip(kernel, case["pad"]))
    return kernel, case["stride"], padding
