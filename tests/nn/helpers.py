"""``check_module_grads``: gradcheck a module through Torch7's contract.

forward(input), then backward(input, v) with a random gradOutput v, must give gradInput and
(fresh: zeroed first) parameter gradients equal to central finite differences of
the projected output L = sum(output * v), element by element, in float64.
"""

import numpy as np

import minitorch7 as torch
from minitorch7.autograd import no_grad
from minitorch7.nn.module import flatten_table, map_table
from minitorch7.tensor import Tensor


def _float64(x):
    if isinstance(x, tuple) and all(isinstance(s, int) for s in x):
        return torch.randn(*x).double()  # a shape: a random input of that size
    return map_table(lambda t: t.double() if t.dtype.kind == "f" else t, x)


def check_module_grads(module, input, seed=None, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Assert that ``module``'s gradInput and every gradParameter match finite differences.

    ``input``: a tensor, a table of tensors, or a shape (a random normal input). The module
    is made ``double()``. ``seed``: reseed the RNG before every forward, so a stochastic
    module (Dropout) uses one fixed mask throughout. Integer inputs (indices) are not
    checked. Returns (gradInput, gradParameters) of the analytical pass.
    """
    module.double()
    input = _float64(input)
    rng = np.random.default_rng(0)

    def forward():
        if seed is not None:
            torch.manualSeed(seed)
        return module.forward(input)

    output = forward()
    vs = [rng.standard_normal(o.shape) for o in flatten_table(output)]
    it = iter(vs)
    grad_output = map_table(lambda o: Tensor._wrap(next(it)), output)
    for g in module.parameters()[1]:  # zeroGradParameters is a task of its own (3.5)
        g.data[...] = 0
    grad_input = module.backward(input, grad_output)
    params, grad_params = module.parameters()
    grad_params = [g.data.copy() for g in grad_params]

    def projection():
        with no_grad():
            outs = flatten_table(forward())
        return sum(float(np.sum(o.data * v)) for o, v in zip(outs, vs))

    checked = [(f"input {i}", x, g) for i, (x, g) in
               enumerate(zip(flatten_table(input), flatten_table(grad_input)))
               if x.dtype.kind == "f"]
    checked += [(f"parameter {i} (size {'x'.join(map(str, p.shape))})", p, g)
                for i, (p, g) in enumerate(zip(params, grad_params))]
    for name, x, analytical in checked:
        assert analytical is not None, f"{module!r}: no gradient for {name}"
        analytical = np.asarray(getattr(analytical, "data", analytical))
        assert analytical.shape == x.shape, \
            f"{module!r}: gradient of {name} has size {analytical.shape}, expected {x.shape}"
        for index in np.ndindex(x.shape):
            original = x.data[index]
            x.data[index] = original + eps
            plus = projection()
            x.data[index] = original - eps
            minus = projection()
            x.data[index] = original
            numerical = (plus - minus) / (2 * eps)
            assert abs(analytical[index] - numerical) <= atol + rtol * abs(numerical), (
                f"{module!r}: gradient of {name} at {index}: analytical "
                f"{analytical[index]:.8g}, numerical {numerical:.8g}")
    return grad_input, grad_params
