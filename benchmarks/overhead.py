"""What does the graph cost? One SGD step of the lab's MLP through minitorch7 against the
same arithmetic written out in plain NumPy.

    python benchmarks/overhead.py [--steps 300] [--backend numba_cpu numpy_ref]

The model is exercise 2's: 784-200-200-10, tanh, log-softmax and NLL, batch 32, float32.
A step is forward, backward and the update p -= lr * dp. Both sides run interleaved (so
load on the machine hits both alike); the script prints the median and best time per step
and their ratio (target: at most 1.3x). With ``numpy_ref`` both sides multiply matrices
with NumPy's BLAS, so the ratio is the pure overhead of building and walking the graph;
with ``numba_cpu`` (the default backend) it also compares our kernels with BLAS.
"""

import argparse
import time

import harness
import numpy as np

import minitorch7 as torch
from minitorch7.backends import CPU_BACKENDS, set_cpu_backend
from minitorch7.ops.linalg import Linear
from minitorch7.ops.nnfunc import NLLLoss

SIZES = (784, 200, 200, 10)
BATCH, LR = 32, 0.1


def make_parameters(rng):
    """[(W, b), ...] as float32 arrays, W (out, in) ~ U(-1/sqrt(in), 1/sqrt(in)), b zero."""
    return [((rng.uniform(-1, 1, (n_out, n_in)) / np.sqrt(n_in)).astype(np.float32),
             np.zeros(n_out, np.float32)) for n_in, n_out in zip(SIZES, SIZES[1:])]


def minitorch_step(params, x, y):
    """Forward, backward and update through minitorch7's autograd."""
    h = x
    for i, (w, b) in enumerate(params):
        h = Linear.apply(h, w, b)
        h = h.tanh() if i < len(params) - 1 else h.log_softmax(1)
    loss = NLLLoss.apply(h, y, True)
    for w, b in params:
        w.grad = b.grad = None
    loss.backward()
    for w, b in params:
        w.data -= LR * w.grad.data
        b.data -= LR * b.grad.data
    return loss


def numpy_step(params, x, y):
    """The same arithmetic by hand: the forward, the chain rule written out, the update."""
    hs = [x]
    for i, (w, b) in enumerate(params):
        z = hs[-1] @ w.T + b
        if i < len(params) - 1:
            hs.append(np.tanh(z))
        else:
            shifted = z - z.max(axis=1, keepdims=True)
            hs.append(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))
    logp = hs[-1]
    loss = -logp[np.arange(len(y)), y].sum() / len(y)
    grad = np.zeros_like(logp)
    grad[np.arange(len(y)), y] = -1 / len(y)
    grad = grad - np.exp(logp) * grad.sum(axis=1, keepdims=True)  # log-softmax backward
    for i in reversed(range(len(params))):
        w, b = params[i]
        if i < len(params) - 1:
            grad = grad * (1 - hs[i + 1] * hs[i + 1])  # tanh backward
        grad_w, grad_b = grad.T @ hs[i], grad.sum(axis=0)
        if i:
            grad = grad @ w
        w -= LR * grad_w
        b -= LR * grad_b
    return loss


def measure(backend, steps):
    """(median, best) seconds per step for minitorch7 and NumPy under ``backend``."""
    set_cpu_backend(backend)
    rng = np.random.default_rng(0)
    arrays = make_parameters(rng)
    ours = [(torch.from_numpy(w.copy()).requires_grad_(), torch.from_numpy(b.copy())
             .requires_grad_()) for w, b in arrays]
    x = rng.random((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    np.testing.assert_allclose(minitorch_step(ours, tx, ty).item(), numpy_step(arrays, x, y),
                               rtol=1e-4)  # the same arithmetic (and a warm-up)
    assert all(p.grad.dtype == np.float32 for pair in ours for p in pair)
    times = {"minitorch7": [], "numpy": []}
    for _ in range(steps):
        for name, step, args in (("minitorch7", minitorch_step, (ours, tx, ty)),
                                 ("numpy", numpy_step, (arrays, x, y))):
            start = time.perf_counter()
            step(*args)
            times[name].append(time.perf_counter() - start)
    return {name: (float(np.median(t)), float(np.min(t))) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300, help="timed steps per side")
    parser.add_argument("--backend", nargs="+", choices=CPU_BACKENDS,
                        default=["numba_cpu", "numpy_ref"], help="CPU backends to time")
    args = parser.parse_args(argv)
    print(harness.machine_banner())
    print(f"MLP {'-'.join(map(str, SIZES))} tanh, log-softmax + NLL, batch {BATCH}, float32; "
          f"{args.steps} steps per side")
    for backend in args.backend:
        result = measure(backend, args.steps)
        (ours, ours_best), (ref, ref_best) = result["minitorch7"], result["numpy"]
        print(f"{backend:>10}: minitorch7 {ours * 1e3:.3f} ms/step (best {ours_best * 1e3:.3f}), "
              f"numpy {ref * 1e3:.3f} ms (best {ref_best * 1e3:.3f}); ratio {ours / ref:.2f}x "
              f"median, {ours_best / ref_best:.2f}x best (target <= 1.3x)")


if __name__ == "__main__":
    main()
