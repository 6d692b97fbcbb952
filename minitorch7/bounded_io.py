"""Reading untrusted files in bounded pieces (saved models, IDX datasets)."""

CHUNK = 1 << 20  # bytes per read: a lying size field never makes one huge allocation


def read_exact(f, n):
    """Up to ``n`` bytes from the binary file ``f`` (fewer only at its end), read ``CHUNK``
    bytes at a time."""
    parts, left = [], n
    while left > 0:
        data = f.read(min(left, CHUNK))
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)
