"""One-element tensors as Python numbers (docs/tensors.md, Numbers), as PyTorch does:
item, float, int, index (integer dtypes only), bool and format; anything else refuses."""

import operator

import numpy as np
import pytest

import minitorch7 as torch
from minitorch7.tensor import NotOneElementError


def test_one_element_tensors_are_numbers():
    t = torch.Tensor([1.5, 2.25, 3])
    assert float(t.sum()) == 6.75 and isinstance(float(t.sum()), float)
    assert int(t[1]) == 2 and int(torch.Tensor([-2.7])) == -2  # truncates, like int()
    assert "%.2f" % t[0] == "1.50" and "%d" % t[2] == "3"  # noqa: UP031 (the point)
    assert f"{t[1]:.3f}" == "2.250" and format(t[2], "6.1f") == "   3.0"
    assert t.sum().item() == 6.75 and torch.Tensor([[4.0]]).item() == 4.0
    assert bool(t[0]) and not bool(torch.Tensor([0.0]))


def test_item_keeps_the_python_type_of_the_dtype():
    assert type(torch.Tensor([3]).long().item()) is int
    assert type(torch.Tensor([3]).item()) is float
    assert type(torch.Tensor([3]).double()[0].item()) is float


def test_integer_tensors_are_indices():
    labels = torch.Tensor([2, 0, 1]).long()
    assert ["a", "b", "c"][labels[0]] == "c" and operator.index(labels[1]) == 0
    assert list(range(labels[0])) == [0, 1] and hex(labels[0]) == "0x2"
    assert operator.index(torch.Tensor([1]).byte()) == 1
    assert operator.index(torch.Tensor([5]).int()) == 5


def test_float_tensors_are_not_indices():
    with pytest.raises(TypeError, match="integer tensors"):
        ["a", "b"][torch.Tensor([1.0])]
    with pytest.raises(TypeError):
        operator.index(torch.Tensor([1.0]).double())


@pytest.mark.parametrize("convert", [float, int, bool, operator.index,
                                     lambda t: t.item(), lambda t: "%.1f" % t])  # noqa: UP031
@pytest.mark.parametrize("size", [(3,), (2, 2), (0,)])
def test_more_or_no_elements_refuse(convert, size):
    t = torch.Tensor(np.zeros(size, np.int64)).long()
    n = int(np.prod(size))
    with pytest.raises(RuntimeError, match=f"{n} elements"):
        convert(t)
    with pytest.raises(ValueError):  # also a ValueError
        convert(t)


def test_error_is_pytorchs_kind():
    assert issubclass(NotOneElementError, RuntimeError)
    assert issubclass(NotOneElementError, ValueError)


def test_format():
    t = torch.Tensor([[1, 2], [3, 4]])
    assert f"{t}" == str(t) and format(t) == str(t)  # an empty spec prints any tensor
    with pytest.raises(TypeError, match="4 elements"):
        f"{t:.2f}"
    assert f"{t[1, 0]}" == str(t[1, 0])


def test_on_cuda_when_there_is_a_gpu():
    if not torch.cuda.is_available():
        pytest.skip("no GPU")
    t = torch.Tensor([1.5, 2.5]).cuda()
    assert float(t.sum()) == 4.0 and f"{t[0]:.1f}" == "1.5"
    assert operator.index(t.long()[1]) == 2
