"""The Tensor's Torch7 API: typed constructors, factories, sizes, numpy interop, and the
in-place methods that return self (values against NumPy)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7.testing import arrays

FAST = settings(max_examples=25, deadline=None)


@pytest.fixture
def default_type():
    """Restore the default tensor type after a test changes it."""
    before = torch.getdefaulttensortype()
    yield
    torch.setdefaulttensortype(before)


@pytest.mark.parametrize("constructor, type_name, dtype", [
    (torch.FloatTensor, "torch.FloatTensor", np.float32),
    (torch.DoubleTensor, "torch.DoubleTensor", np.float64),
    (torch.LongTensor, "torch.LongTensor", np.int64),
    (torch.IntTensor, "torch.IntTensor", np.int32),
    (torch.ByteTensor, "torch.ByteTensor", np.uint8),
])
def test_typed_constructors(constructor, type_name, dtype):
    t = constructor(2, 3)
    assert t.type() == type_name and t.dtype == dtype
    assert t.size() == (2, 3) and t.shape == (2, 3) and t.size(1) == 3
    assert t.dim() == 2 and t.nElement() == 6
    np.testing.assert_array_equal(t.numpy(), np.zeros((2, 3)))
    assert constructor((4,)).size() == (4,)
    data = constructor([[1, 2], [3, 4]])
    assert data.dtype == dtype
    np.testing.assert_array_equal(data.numpy(), [[1, 2], [3, 4]])
    assert constructor().nElement() == 0


def test_tensor_is_the_default_type(default_type):
    assert torch.Tensor(2).type() == "torch.FloatTensor"
    torch.setdefaulttensortype("torch.DoubleTensor")
    assert torch.getdefaulttensortype() == "torch.DoubleTensor"
    assert torch.Tensor(2, 2).dtype == np.float64
    assert torch.zeros(2).dtype == np.float64 and torch.tensor([0.5]).dtype == np.float64
    with pytest.raises(ValueError, match="unknown tensor type 'torch.HalfTensor'"):
        torch.setdefaulttensortype("torch.HalfTensor")


def test_tensor_factory_infers_types_and_copies():
    assert torch.tensor([1.5, 2]).type() == "torch.FloatTensor"
    assert torch.tensor([1, 2]).type() == "torch.LongTensor"
    assert torch.tensor([True, False]).type() == "torch.ByteTensor"
    assert torch.tensor([1, 2], dtype=np.float64).type() == "torch.DoubleTensor"
    source = np.zeros(3, np.float32)
    t = torch.tensor(source)
    t.fill(1)
    assert source.sum() == 0


def test_from_numpy_and_numpy_share_memory():
    a = np.arange(6.0).reshape(2, 3)
    t = torch.from_numpy(a)
    assert t.type() == "torch.DoubleTensor"
    t.narrow(1, 0, 1).fill(-1)
    assert a[1, 0] == -1
    a[0, 2] = 42
    assert t.numpy()[0, 2] == 42 and t.numpy() is a
    assert np.asarray(t) is a
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        torch.from_numpy([1, 2])


def test_zeros_ones_eye_linspace():
    np.testing.assert_array_equal(torch.zeros(2, 3).numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(torch.ones((2, 3)).numpy(), np.ones((2, 3)))
    assert torch.ones(2, dtype=np.float64).dtype == np.float64
    assert torch.zeros(1, requires_grad=True).requires_grad
    np.testing.assert_array_equal(torch.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(torch.eye(2, 3).numpy(), np.eye(2, 3))
    np.testing.assert_allclose(torch.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])


def test_range_includes_both_ends_and_arange_excludes_the_end():
    np.testing.assert_array_equal(torch.range(1, 5).numpy(), [1, 2, 3, 4, 5])
    assert torch.range(1, 5).type() == "torch.FloatTensor"
    np.testing.assert_allclose(torch.range(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_array_equal(torch.range(5, 1, -2).numpy(), [5, 3, 1])
    assert torch.range(2, 1).nElement() == 0
    np.testing.assert_array_equal(torch.arange(4).numpy(), [0, 1, 2, 3])
    assert torch.arange(4).type() == "torch.LongTensor"
    np.testing.assert_allclose(torch.arange(1, 2, 0.5).numpy(), [1, 1.5])


def test_manual_seed_makes_random_numbers_reproducible():
    torch.manualSeed(123)
    first = (torch.rand(3), torch.randn(2, 2), torch.Tensor(4).uniform(-1, 1),
             torch.Tensor(4).normal(2, 3), torch.Tensor(8).bernoulli(0.3))
    torch.manualSeed(123)
    second = (torch.rand(3), torch.randn(2, 2), torch.Tensor(4).uniform(-1, 1),
              torch.Tensor(4).normal(2, 3), torch.Tensor(8).bernoulli(0.3))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(torch.rand(3).numpy(), first[0].numpy())


def test_random_fills_have_the_right_distribution():
    torch.manualSeed(0)
    u = torch.Tensor(20000).uniform(2, 4).numpy()
    assert u.min() >= 2 and u.max() < 4 and abs(u.mean() - 3) < 0.05
    n = torch.DoubleTensor(20000).normal(1, 2).numpy()
    assert abs(n.mean() - 1) < 0.1 and abs(n.std() - 2) < 0.1
    b = torch.Tensor(20000).bernoulli(0.25).numpy()
    assert set(np.unique(b)) <= {0, 1} and abs(b.mean() - 0.25) < 0.02
    r = torch.rand(20000).numpy()
    assert r.min() >= 0 and r.max() < 1 and r.dtype == np.float32


def test_in_place_methods_return_self_and_chain():
    t = torch.Tensor(2, 3)
    assert t.fill(2) is t and t.zero() is t and t.uniform() is t and t.normal() is t
    assert t.bernoulli() is t and t.copy(torch.ones(6)) is t
    result = t.fill(1).add(2).mul(3).div(2).add(1, torch.ones(2, 3)).cmul(torch.ones(2, 3) * 2)
    assert result is t
    np.testing.assert_allclose(t.numpy(), np.full((2, 3), ((1 + 2) * 3 / 2 + 1) * 2))
    np.testing.assert_allclose(t.add(torch.ones(2, 3)).numpy(), np.full((2, 3), 12))
    assert t.zero().numpy().sum() == 0


def test_copy_takes_values_of_any_shape_with_the_same_count():
    t = torch.Tensor(2, 3)
    t.copy(torch.range(1, 6))
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 3], [4, 5, 6]])
    t.copy(torch.DoubleTensor(3, 2).fill(0.5))
    assert t.dtype == np.float32 and np.all(t.numpy() == 0.5)
    with pytest.raises(ValueError, match="copy: source has 4 elements, destination 6"):
        t.copy(torch.zeros(4))


def test_resize_keeps_the_leading_elements():
    t = torch.range(1, 6)
    assert t.resize(2, 3) is t and t.size() == (2, 3)
    np.testing.assert_array_equal(t.numpy(), [[1, 2, 3], [4, 5, 6]])
    t.resize(2, 2)
    np.testing.assert_array_equal(t.numpy(), [[1, 2], [3, 4]])
    t.resize(5)
    np.testing.assert_array_equal(t.numpy()[:4], [1, 2, 3, 4])
    t.resizeAs(torch.zeros(1, 5))
    assert t.size() == (1, 5)


@FAST
@given(data=st.data(), n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4),
       beta=st.sampled_from([0, 1, 0.5]), alpha=st.sampled_from([1, 2.0]))
def test_addmm_addmv_addr(data, n, k, m, beta, alpha):
    M, A, B = data.draw(arrays((n, m))), data.draw(arrays((n, k))), data.draw(arrays((k, m)))
    out = torch.DoubleTensor(n, m)
    assert out.addmm(beta, torch.from_numpy(M), alpha, torch.from_numpy(A),
                     torch.from_numpy(B)) is out
    np.testing.assert_allclose(out.numpy(), beta * M + alpha * A @ B, atol=1e-12)
    np.testing.assert_allclose(torch.DoubleTensor(1).addmm(torch.from_numpy(M),
                               torch.from_numpy(A), torch.from_numpy(B)).numpy(), M + A @ B)
    v, x = data.draw(arrays((n,))), data.draw(arrays((k,)))
    out = torch.DoubleTensor(n)
    assert out.addmv(beta, torch.from_numpy(v), alpha, torch.from_numpy(A),
                     torch.from_numpy(x)) is out
    np.testing.assert_allclose(out.numpy(), beta * v + alpha * A @ x, atol=1e-12)
    y = data.draw(arrays((m,)))
    out = torch.DoubleTensor(n, m)
    assert out.addr(beta, torch.from_numpy(M), alpha, torch.from_numpy(v),
                    torch.from_numpy(y)) is out
    np.testing.assert_allclose(out.numpy(), beta * M + alpha * np.outer(v, y), atol=1e-12)


def test_blas_style_errors_name_the_sizes():
    with pytest.raises(ValueError, match="addmm: A is 4x2 but B is 3x3"):
        torch.Tensor(4, 3).addmm(torch.zeros(4, 3), torch.zeros(4, 2), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="addmm: M is 2x2 but A @ B is 4x3"):
        torch.Tensor(4, 3).addmm(torch.zeros(2, 2), torch.zeros(4, 2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="addmv: M is 2x3 but x is 2"):
        torch.Tensor(2).addmv(torch.zeros(2), torch.zeros(2, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="addr: self is 2x2 .* x \\(3\\) and y \\(2\\) is 3x2"):
        torch.Tensor(2, 2).addr(torch.zeros(2, 2), torch.zeros(3), torch.zeros(2))


def test_item_tolist_len_iter():
    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert t[1, 0].item() == 3.0 and t.tolist() == [[1, 2], [3, 4]]
    assert len(t) == 2 and [row.tolist() for row in t] == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="item: tensor has 4 elements, expected 1"):
        t.item()


def test_argmax_argmin():
    t = torch.tensor([[1.0, 9.0, 3.0], [7.0, 0.0, 8.0]])
    np.testing.assert_array_equal(t.argmax(1).numpy(), [1, 2])
    np.testing.assert_array_equal(t.argmin(0).numpy(), [0, 1, 0])
    assert t.argmax().item() == 1 and t.argmax(1, keepdim=True).size() == (2, 1)
