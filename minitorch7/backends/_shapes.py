"""Shape checks and output shapes shared by every backend (one place for the error messages)."""


def _dims(shape):
    return "x".join(str(d) for d in shape)


def matmul_shapes(a_shape, b_shape):
    """(batch_shape, n, k, m) for a (..., n, k) @ b (..., k, m); leading dims broadcast."""
    if len(a_shape) < 2 or len(b_shape) < 2 or a_shape[-1] != b_shape[-2]:
        raise ValueError(f"matmul: a is {_dims(a_shape)} but b is {_dims(b_shape)}")
    batch = _broadcast(a_shape[:-2], b_shape[:-2], a_shape, b_shape)
    return batch, a_shape[-2], a_shape[-1], b_shape[-1]


def _broadcast(sa, sb, a_shape, b_shape):
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(sb)) + tuple(sb)
    out = []
    for da, db in zip(sa, sb):
        if da != db and 1 not in (da, db):
            raise ValueError(f"matmul: batch dims of a {_dims(a_shape)} and b {_dims(b_shape)}"
                             " do not broadcast")
        out.append(max(da, db) if 0 not in (da, db) else 0)
    return tuple(out)


def pairs(name, *values):
    """Each value as an (h, w) pair: an int v means (v, v) (kernel sizes, strides, paddings)."""
    out = []
    for v in values:
        v = (v, v) if isinstance(v, int) else tuple(int(e) for e in v)
        if len(v) != 2:
            raise ValueError(f"{name}: expected an int or an (h, w) pair, got {v}")
        out.append(v)
    return out


def conv2d_shape(x_shape, w_shape, stride, padding, name="conv2d_forward"):
    """(B, O, Ho, Wo) for x (B,C,H,W) and w (O,C,kH,kW); Ho = (H + 2*pH - kH)//sH + 1."""
    if len(x_shape) != 4 or len(w_shape) != 4 or x_shape[1] != w_shape[1]:
        raise ValueError(f"{name}: expected x (B,C,H,W) and weight (O,C,kH,kW), "
                         f"got x {_dims(x_shape)} and weight {_dims(w_shape)}")
    (sh, sw), (ph, pw) = stride, padding
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"{name}: stride must be >= 1 and padding >= 0, got {stride}, {padding}")
    ho = (x_shape[2] + 2 * ph - w_shape[2]) // sh + 1
    wo = (x_shape[3] + 2 * pw - w_shape[3]) // sw + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"{name}: kernel {_dims(w_shape[2:])} larger than the padded input "
                         f"{_dims(x_shape)} (padding {padding})")
    return x_shape[0], w_shape[0], ho, wo


def pool2d_shape(x_shape, kernel, stride, padding, name):
    """(B, C, Ho, Wo) for pooling x (B,C,H,W); floor mode, padding at most half the kernel."""
    if len(x_shape) != 4:
        raise ValueError(f"{name}: expected x (B,C,H,W), got {_dims(x_shape)}")
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if min(kh, kw, sh, sw) < 1 or not (0 <= ph <= kh // 2 and 0 <= pw <= kw // 2):
        raise ValueError(f"{name}: need kernel, stride >= 1 and 0 <= padding <= kernel // 2, "
                         f"got kernel {kernel}, stride {stride}, padding {padding}")
    ho = (x_shape[2] + 2 * ph - kh) // sh + 1
    wo = (x_shape[3] + 2 * pw - kw) // sw + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"{name}: kernel {kernel} larger than the padded input "
                         f"{_dims(x_shape)} (padding {padding})")
    return x_shape[0], x_shape[1], ho, wo


def check_grad_shape(name, got, expected):
    """Raise unless a gradient's shape `got` equals the forward output's shape; return it."""
    if tuple(got) != tuple(expected):
        raise ValueError(f"{name}: gradient is {_dims(got)} but the output is {_dims(expected)}")
    return tuple(expected)
