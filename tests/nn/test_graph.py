"""nngraph: graphs built by calling modules on nodes compute what the same modules compute
by hand, backpropagate (finite differences through the Torch7 contract), print their nodes,
and reject badly wired graphs and inputs."""

import numpy as np
import pytest
from helpers import check_module_grads
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.tensor import Tensor

FAST = settings(max_examples=10, deadline=None)


def two_input_graph():
    """y = tanh(Linear(3, 4)(a) + Linear(2, 4)(b)), and its two Linears."""
    a, b = nn.Identity()(), nn.Identity()()
    la, lb = nn.Linear(3, 4), nn.Linear(2, 4)
    y = nn.Tanh()(nn.CAddTable()(la(a), lb(b)))
    return nn.gModule([a, b], [y]), la, lb


def randn(*shape):
    return Tensor._wrap(np.random.default_rng(sum(shape)).standard_normal(shape))


@FAST
@given(st.integers(1, 4))
def test_two_input_graph_is_the_computation_by_hand(batch):
    torch.manualSeed(batch)
    g, la, lb = two_input_graph()
    g.double()
    a, b = randn(batch, 3), randn(batch, 2)
    output = g.forward([a, b])
    by_hand = np.tanh(a.numpy() @ la.weight.numpy().T + la.bias.numpy()
                      + b.numpy() @ lb.weight.numpy().T + lb.bias.numpy())
    np.testing.assert_allclose(output.numpy(), by_hand, rtol=1e-12)
    assert len(g.parameters()[0]) == 4
    check_module_grads(g, [a, b])


def test_graph_equals_the_same_modules_in_containers():
    torch.manualSeed(0)
    g, la, lb = two_input_graph()
    same = (nn.Sequential()
            .add(nn.ParallelTable().add(la).add(lb))
            .add(nn.CAddTable())
            .add(nn.Tanh()))
    a, b = randn(2, 3).float(), randn(2, 2).float()
    np.testing.assert_array_equal(g.forward([a, b]).numpy(), same.forward([a, b]).numpy())
    v = torch.ones(2, 4)
    g.zeroGradParameters()
    grads = [t.numpy().copy() for t in g.backward([a, b], v)]
    weight_grad = la.gradWeight.numpy().copy()
    same.zeroGradParameters()
    for ours, theirs in zip(grads, same.backward([a, b], v)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6)
    np.testing.assert_allclose(weight_grad, la.gradWeight.numpy(), rtol=1e-6)


def test_fan_out_and_several_outputs():
    # a node used twice (h * h) and two outputs: gradients from every use add up
    x = nn.Identity()()
    h = nn.Mul()(x)
    square = nn.CMulTable()(h, h)
    g = nn.gModule([x], [square, nn.SplitTable(0)(h)])
    x_value = randn(2, 3)
    square_out, rows = g.double().forward(x_value)
    w = g.modules[1].weight.item()
    np.testing.assert_allclose(square_out.numpy(), (w * x_value.numpy()) ** 2)
    assert len(rows) == 2 and rows[1].shape == (3,)
    check_module_grads(g, x_value)


def test_node_split_and_list_call():
    x = nn.Identity()()
    first, second = nn.SplitTable(1)(x).split(2)
    g = nn.gModule([x], [nn.JoinTable(0)([second, first])])  # m([n1, n2]) == m(n1, n2)
    value = torch.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(g.forward(value).numpy(), [2.0, 4.0, 1.0, 3.0])
    check_module_grads(g, value)


def test_input_nodes_and_printing():
    x = nn.Identity()()
    assert isinstance(x, nn.Node) and x.parents == [] and repr(x) == "nngraph.Node(nn.Identity)"
    g, _, _ = two_input_graph()
    assert repr(g) == "\n".join([
        "nn.gModule {",
        "  (1): nn.Identity <- input[0]",
        "  (2): nn.Identity <- input[1]",
        "  (3): nn.Linear(3 -> 4) <- (1)",
        "  (4): nn.Linear(2 -> 4) <- (2)",
        "  (5): nn.CAddTable <- (3), (4)",
        "  (6): nn.Tanh <- (5)",
        "  output <- (6)",
        "}"])
    single = nn.gModule([x], [nn.Sigmoid()(x)])
    assert "(1): nn.Identity <- input\n" in repr(single)


def test_long_chain_is_iterative():
    x = nn.Identity()()
    node = x
    for _ in range(3000):  # deeper than Python's recursion limit
        node = nn.Mul()(node)
    g = nn.gModule([x], [node])
    for m in g.modules[1:]:
        m.weight.fill(1.0)
    value = torch.ones(2)
    np.testing.assert_array_equal(g.forward(value).numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(g.backward(value, torch.ones(2)).numpy(), [1.0, 1.0])


def test_graph_module_works_as_a_module():
    torch.manualSeed(0)
    g, la, _ = two_input_graph()
    a, b = randn(1, 3).float(), randn(1, 2).float()
    copy = g.clone()
    np.testing.assert_array_equal(copy.forward([a, b]).numpy(), g.forward([a, b]).numpy())
    assert copy.modules[2].weight is not la.weight
    assert g.evaluate().modules[2].train is False
    # a module used in two nodes is one module: its parameters are counted once
    x = nn.Identity()()
    shared = nn.Linear(3, 3)
    twice = nn.gModule([x], [shared(shared(x))])
    assert len(twice.modules) == 2 and len(twice.parameters()[0]) == 2
    check_module_grads(twice, randn(2, 3))


def test_bad_graphs_and_inputs():
    a, b = nn.Identity()(), nn.Identity()()
    y = nn.CAddTable()(a, b)
    with pytest.raises(ValueError, match=r"nn.gModule: nngraph.Node\(nn.Identity\) has no "
                                         r"parents but is not one of the 1 inputs"):
        nn.gModule([a], [y])
    with pytest.raises(ValueError, match="nn.gModule: input .* has parents"):
        nn.gModule([y], [y])
    with pytest.raises(TypeError, match="nn.gModule: inputs and outputs must be graph nodes"):
        nn.gModule([a, b], [torch.zeros(2)])
    with pytest.raises(TypeError, match=r"nn.Linear\(2 -> 2\): called on graph nodes, every "
                                        r"argument must be a node, got Tensor"):
        nn.Linear(2, 2)(a, torch.zeros(2))
    g, _, _ = two_input_graph()
    with pytest.raises(ValueError, match=r"nn.gModule: expects a table of 2 inputs, got a "
                                         r"table of 3"):
        g.forward([torch.zeros(1, 3)] * 3)
    with pytest.raises(ValueError, match=r"nn.gModule: expects a table of 2 inputs, got a "
                                         r"tensor"):
        g.forward(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"nn.Linear\(3 -> 4\): expected input of size 3 .* "
                                         r"got 1x5"):  # the wrong feature size
        g.forward([torch.zeros(1, 5), torch.zeros(1, 2)])


def test_on_cuda_as_on_cpu():
    # the simulator without a GPU (tests/conftest.py)
    torch.manualSeed(0)
    g, _, _ = two_input_graph()
    a, b = randn(2, 3).float(), randn(2, 2).float()
    v = torch.ones(2, 4)
    expected = g.forward([a, b]).numpy().copy()
    expected_grads = [t.numpy().copy() for t in g.backward([a, b], v)]
    g.cuda()
    output = g.forward([a.cuda(), b.cuda()])
    assert output.device == "cuda"
    np.testing.assert_allclose(output.cpu().numpy(), expected, rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(g.backward([a.cuda(), b.cuda()], v.cuda()), expected_grads):
        np.testing.assert_allclose(ours.cpu().numpy(), theirs, rtol=1e-5, atol=1e-6)
