"""Torch7's print format: the values, then ``[torch.FloatTensor of size 2x3]`` and a
newline; Torch7's module lines."""

import numpy as np

import minitorch7 as torch


def test_the_lab_example():
    text = str(torch.range(1, 16).double().resize(1, 4, 4))
    assert text == ("(1,.,.) =\n"
                    " 1  2  3  4\n"
                    " 5  6  7  8\n"
                    " 9 10 11 12\n"
                    "13 14 15 16\n"
                    "[torch.DoubleTensor of size 1x4x4]\n")


def test_matrix_of_fractions_ends_with_type_and_size():
    text = repr(torch.FloatTensor(2, 3).fill(1.5))
    assert text == "1.5000 1.5000 1.5000\n1.5000 1.5000 1.5000\n[torch.FloatTensor of size 2x3]\n"


def test_vector_prints_one_value_per_line_aligned():
    assert str(torch.tensor([0.5, -0.25])) == " 0.5000\n-0.2500\n[torch.FloatTensor of size 2]\n"
    assert str(torch.LongTensor([1, -20])) == "  1\n-20\n[torch.LongTensor of size 2]\n"


def test_higher_dims_print_each_matrix_under_a_one_based_header():
    text = str(torch.zeros(2, 1, 2, 2, dtype=np.float64))
    assert text.count(",.,.) =") == 2
    assert text.startswith("(1,1,.,.) =\n0 0\n0 0\n\n(2,1,.,.) =")
    assert text.endswith("[torch.DoubleTensor of size 2x1x2x2]\n")


def test_wide_range_switches_to_scientific():
    text = str(torch.tensor([[1e-6, 2.5], [1e7, -3]]))
    assert " 1.0000e-06  2.5000e+00\n 1.0000e+07 -3.0000e+00\n" in text


def test_scalar_empty_and_byte_tensors():
    assert str(torch.tensor(3.5)) == "3.5\n[torch.FloatTensor of size scalar]\n"
    assert str(torch.Tensor()) == "[torch.FloatTensor with no dimension]\n"
    assert str(torch.tensor([1.0, 2.0]) > 1) == "0\n1\n[torch.ByteTensor of size 2]\n"
    assert str(torch.tensor([np.nan, 1.0])).startswith("nan\n")


def test_views_print_their_own_values():
    t = torch.range(1, 6).resize(2, 3)
    assert str(t.t()) == "1 4\n2 5\n3 6\n[torch.FloatTensor of size 3x2]\n"


def test_print_of_two_tensors_keeps_them_apart(capsys):
    """Torch7's text ends with a newline: print(a, b) starts b on its own line."""
    print(torch.tensor([1.0]), torch.tensor([2.0]))
    out = capsys.readouterr().out
    assert out == "1\n[torch.FloatTensor of size 1]\n 2\n[torch.FloatTensor of size 1]\n\n"
    assert f"{torch.tensor([1.0, 2.0])}".endswith("of size 2]\n")


def test_module_lines_as_torch7_prints_them():
    from minitorch7 import nn
    assert repr(nn.LookupTable(10000, 200)) == "nn.LookupTable(10000 -> 200)"
    assert repr(nn.Linear(2, 3)) == "nn.Linear(2 -> 3)"
    inner = nn.Sequential().add(nn.Linear(2, 3)).add(nn.Tanh())
    model = nn.Sequential().add(nn.ConcatTable().add(nn.Linear(2, 3)).add(inner))
    assert repr(model.add(nn.JoinTable(1))) == (
        "nn.Sequential {\n"
        "  [input -> (1) -> (2) -> output]\n"
        "  (1): nn.ConcatTable {\n"
        "    input\n"
        "      |`-> (1): nn.Linear(2 -> 3)\n"
        "       `-> (2): nn.Sequential {\n"
        "             [input -> (1) -> (2) -> output]\n"
        "             (1): nn.Linear(2 -> 3)\n"
        "             (2): nn.Tanh\n"
        "           }\n"
        "       ... -> output\n"
        "  }\n"
        "  (2): nn.JoinTable\n"
        "}")
