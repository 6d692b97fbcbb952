"""Silent wrong numbers, refused (issue 14): integer and boolean inputs into the modules
that compute, LookupTable's ids, the criterions' ranges and empty batches.

Each refusal is a TypeError / ValueError / IndexError whose message names the module (its
repr) and what was wrong. The checks live outside the task regions (nn modules, criterions,
ops' ``check``), so the tests of refusals carry no task marker; a test that also runs a
task's code to the end (a loss that is computed, a CUDA array's view) carries that task's
marker. The CUDA cases run in Numba's simulator without a GPU (tests/conftest.py).
"""

import re

import numpy as np
import pytest

import minitorch7 as torch
from minitorch7 import nn
from minitorch7.ops.conv import AvgPool2d, Conv2d, MaxPool2d
from minitorch7.tensor import Tensor

INT_DTYPES = [np.uint8, np.int64, np.bool_]
CONVERT_HINT = "convert it with nn.Convert() or .float()"


def tensor(values, dtype=None):
    return Tensor._wrap(np.asarray(values, dtype))


def image(dtype, shape=(2, 1, 8, 8)):
    return tensor(np.random.default_rng(0).integers(0, 255, shape).astype(dtype))


# modules that compute on their input: (factory, input shape)
COMPUTING = [
    (lambda: nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2), (2, 1, 8, 8)),
    (lambda: nn.SpatialConvolution(1, 4, 3, 3), (1, 8, 8)),  # no batch dim
    (lambda: nn.SpatialMaxPooling(2, 2, 2, 2), (2, 1, 8, 8)),
    (lambda: nn.SpatialAveragePooling(2, 2, 2, 2), (2, 1, 8, 8)),
    (lambda: nn.Linear(64, 3), (2, 64)),
    (lambda: nn.LinearNoBias(64, 3), (64,)),
    (lambda: nn.BatchNormalization(64), (2, 64)),
    (lambda: nn.SpatialBatchNormalization(1), (2, 1, 8, 8)),
    (nn.Tanh, (2, 64)), (nn.Sigmoid, (2, 64)), (nn.ReLU, (2, 64)),
    (nn.SoftMax, (2, 64)), (nn.LogSoftMax, (2, 64)),
    (lambda: nn.FastLSTM(64, 3), (2, 64)), (lambda: nn.LSTM(64, 3), (2, 64)),
    (lambda: nn.GRU(64, 3), (2, 64)),
    (lambda: nn.CMul(64), (2, 64)), (lambda: nn.Add(64), (2, 64)),
    (lambda: nn.Add(1, True), (2, 64)), (nn.Mul, (2, 64)),
]


@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("make, shape", COMPUTING, ids=lambda x: "" if isinstance(x, tuple)
                         else repr(x()).split("(")[0].split(" ")[0])
def test_a_computing_module_refuses_integer_and_boolean_input(make, shape, dtype):
    module = make()
    with pytest.raises(TypeError) as error:
        module.forward(image(dtype, shape))
    message = str(error.value)
    assert message.startswith(f"{module!r}: expected a float input (FloatTensor or "
                              f"DoubleTensor), got {np.dtype(dtype).name}")
    assert message.endswith(CONVERT_HINT)


def test_the_message_names_the_module_the_dtype_and_the_cure():
    conv = nn.SpatialConvolution(1, 16, 5, 5, 1, 1, 2, 2)
    with pytest.raises(TypeError, match=re.escape(
            "nn.SpatialConvolution(1 -> 16, 5x5, 1,1, 2,2): expected a float input "
            "(FloatTensor or DoubleTensor), got uint8 (ByteTensor); convert it with "
            "nn.Convert() or .float()")):
        conv.forward(image(np.uint8))
    with pytest.raises(TypeError, match=re.escape("got int64 (LongTensor)")):
        conv.forward(image(np.int64))
    with pytest.raises(TypeError, match=r"got float16;"):  # no kernel for half floats either
        conv.forward(image(np.float16))
    with pytest.raises(TypeError, match=r"nn.Linear\(3 -> 2\): .* got list"):
        nn.Linear(3, 2).forward([tensor(np.zeros(3)), tensor(np.zeros(3))])  # a table


def test_inside_a_container_the_inner_module_is_named_and_convert_is_the_cure():
    model = nn.Sequential().add(nn.SpatialConvolution(1, 4, 3, 3)).add(
        nn.SpatialMaxPooling(2, 2))
    with pytest.raises(TypeError, match=re.escape("nn.SpatialConvolution(1 -> 4, 3x3): ")):
        model.forward(image(np.uint8))
    converted = nn.Sequential().add(nn.Convert()).add(model)
    x = image(np.uint8)
    np.testing.assert_allclose(converted.forward(x).numpy(),
                               model.forward(x.float()).numpy(), rtol=1e-6)
    assert converted.forward(x).dtype == np.float32


def test_backward_of_a_refused_input_never_reaches_a_kernel():
    # the issue: uint8 -> uint8 garbage, int64 -> zeros, backward -> a Numba LLVM error
    conv = nn.SpatialConvolution(1, 2, 3, 3)
    for dtype in INT_DTYPES:
        with pytest.raises(TypeError, match="expected a float input"):
            conv.forward(image(dtype))
        with pytest.raises(RuntimeError, match="backward called before forward"):
            nn.SpatialConvolution(1, 2, 3, 3).backward(image(dtype), tensor(np.ones(1)))


@pytest.mark.task_6_2
@pytest.mark.parametrize("make", [nn.FastLSTM, nn.LSTM, nn.GRU])
def test_a_sequencer_names_the_recurrent_layer(make):
    layer = make(4, 3)
    seq = nn.Sequencer(nn.Sequential().add(layer).add(nn.Linear(3, 2)))
    with pytest.raises(TypeError, match=re.escape(f"{layer!r}: expected a float input")):
        seq.forward(tensor(np.zeros((5, 2, 4), np.int64)))


@pytest.mark.parametrize("op, args", [
    (Conv2d, (np.zeros((3, 1, 2, 2)), np.zeros(3), (1, 1), (0, 0))),
    (MaxPool2d, ((2, 2), (2, 2), (0, 0))), (AvgPool2d, ((2, 2), (2, 2), (0, 0)))])
def test_the_kernel_ops_refuse_integers_themselves(op, args):
    with pytest.raises(TypeError, match="expected a float32 or float64 input, got uint8"):
        op.apply(image(np.uint8, (1, 1, 4, 4)), *args)


def test_log_softmax_refuses_integers():
    with pytest.raises(TypeError, match="log_softmax: expected a float32 or float64 input"):
        tensor(np.arange(6).reshape(2, 3)).log_softmax(1)


@pytest.mark.task_4_4
def test_dropout_passes_integers_through_exactly():
    # Dropout has no parameter and no kernel: evaluation is the identity, training
    # multiplies by a float mask, exact for integers (the product is float64)
    x = tensor(np.arange(1, 201).reshape(20, 10), np.int64)
    drop = nn.Dropout(0.5)
    torch.manualSeed(1)
    y = drop.forward(x).numpy()
    assert y.dtype.kind == "f"
    np.testing.assert_array_equal(y[y != 0], 2 * x.numpy()[y != 0])
    assert drop.evaluate().forward(x).numpy() is x.numpy()


# ---- LookupTable --------------------------------------------------------------------------
def test_lookup_table_refuses_ids_that_are_not_whole_numbers():
    lt = nn.LookupTable(10, 3)
    with pytest.raises(ValueError, match=re.escape(
            "nn.LookupTable(10 -> 3): ids must be whole numbers, got 1.5")):
        lt.forward(tensor([1.5, 2.0]))
    with pytest.raises(ValueError, match="whole numbers, got nan"):
        lt.forward(tensor([[np.nan], [2.0]]))
    with pytest.raises(IndexError, match=r"nn.LookupTable\(10 -> 3\): .* max inf"):
        lt.forward(tensor([np.inf, 2.0]))
    with pytest.raises(IndexError, match=r"in \[0, 9\], got min 2 and max 10 "):
        lt.forward(tensor([10.0, 2.0]))
    with pytest.raises(TypeError, match=r"nn.LookupTable\(10 -> 3\): expected integer ids.*"
                                        r"got bool"):
        lt.forward(tensor([True, False]))


def test_lookup_table_takes_whole_valued_floats_and_any_integer_width():
    lt = nn.LookupTable(10, 3)
    expected = lt.weight.numpy()[[[1, 2], [2, 9]]]
    for dtype in (np.float32, np.float64, np.int64, np.int32, np.uint8):
        ids = tensor([[1, 2], [2, 9]], dtype)
        np.testing.assert_array_equal(lt.forward(ids).numpy(), expected)
    assert lt.forward(tensor(np.zeros(0))).shape == (0, 3)


# ---- criterions ---------------------------------------------------------------------------
LOGP = np.log(np.full((2, 3), 1 / 3))


@pytest.mark.parametrize("make", [nn.ClassNLLCriterion, nn.CrossEntropyCriterion,
                                  lambda: nn.ClassNLLCriterion(sizeAverage=False)])
def test_class_nll_refuses_an_empty_batch(make):
    criterion = make()
    with pytest.raises(ValueError, match=re.escape(
            f"{criterion!r}: empty batch (input of size 0x3)")):
        criterion.forward(tensor(np.zeros((0, 3))), tensor(np.zeros(0, np.int64)))


@pytest.mark.parametrize("make", [nn.ClassNLLCriterion, nn.CrossEntropyCriterion])
def test_class_nll_refuses_targets_out_of_range_or_not_whole(make):
    criterion = make()
    name = re.escape(repr(criterion))
    with pytest.raises(ValueError, match=f"{name}: class index 3 is out of range for 3 "):
        criterion.forward(tensor(LOGP), tensor([0, 3]))
    with pytest.raises(ValueError, match=f"{name}: class index -1 is out of range"):
        criterion.forward(tensor(LOGP), tensor([-1, 0]))
    with pytest.raises(ValueError, match=f"{name}: targets must be whole class ids, got 1.5"):
        criterion.forward(tensor(LOGP), tensor([0, 1.5]))
    with pytest.raises(ValueError, match="whole class ids, got nan"):
        criterion.forward(tensor(LOGP), tensor([0, np.nan]))
    with pytest.raises(TypeError, match=f"{name}: targets must be class ids .* got dtype bool"):
        criterion.forward(tensor(LOGP), tensor([True, False]))
    with pytest.raises(TypeError, match=f"{name}: expected a float input .* got int64"):
        criterion.forward(tensor([[0, 1, 2], [1, 1, 1]]), tensor([0, 1]))


@pytest.mark.task_4_3
def test_class_nll_takes_whole_valued_float_targets():
    criterion = nn.ClassNLLCriterion()
    expected = criterion.forward(tensor(LOGP), tensor([0, 2]))
    assert criterion.forward(tensor(LOGP), tensor([0.0, 2.0])) == expected == pytest.approx(
        np.log(3))


@pytest.mark.parametrize("bad, found", [(1.2, "min 0.2 and max 1.2"),
                                        (-0.1, "min -0.1 and max 0.2"), (np.nan, "NaN")])
def test_bce_refuses_inputs_outside_0_1(bad, found):
    criterion = nn.BCECriterion()
    x = tensor(np.array([0.2, bad], np.float32))
    message = re.escape(f"nn.BCECriterion: input values must be in [0, 1] "
                        f"(probabilities: e.g. the output of nn.Sigmoid), got {found}")
    with pytest.raises(ValueError, match=message):
        criterion.forward(x, tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=message):  # backward without forward checks too
        criterion.backward(x, tensor([0.0, 1.0]))


def test_bce_refuses_targets_outside_0_1_and_empty_or_integer_input():
    criterion = nn.BCECriterion()
    with pytest.raises(ValueError, match=re.escape(
            "nn.BCECriterion: target values must be in [0, 1] (0 or 1, or a probability), "
            "got min 1 and max 2")):
        criterion.forward(tensor([0.3, 0.5]), tensor([2.0, 1.0]))
    with pytest.raises(ValueError, match=r"nn.BCECriterion: empty batch \(input of size 0\)"):
        criterion.forward(tensor(np.zeros(0)), tensor(np.zeros(0)))
    with pytest.raises(TypeError, match="nn.BCECriterion: expected a float input .* bool"):
        criterion.forward(tensor([True, False]), tensor([1.0, 0.0]))


@pytest.mark.task_3_3
def test_bce_takes_the_ends_of_the_range_and_boolean_targets():
    criterion = nn.BCECriterion()
    loss = criterion.forward(tensor([0.0, 1.0, 0.5]), tensor([False, True, True]))
    assert loss == pytest.approx(np.log(2) / 3, rel=1e-6)


def test_mse_refuses_empty_and_integer_input():
    with pytest.raises(ValueError, match=r"nn.MSECriterion: empty batch \(input of size 0x2\)"):
        nn.MSECriterion().forward(tensor(np.zeros((0, 2))), tensor(np.zeros((0, 2))))
    with pytest.raises(TypeError, match=r"nn.MSECriterion: expected a float input .* uint8"):
        nn.MSECriterion().forward(tensor([1, 2], np.uint8), tensor([0.0, 0.0]))


@pytest.mark.task_6_5
def test_sequencer_criterion_names_the_step_criterion():
    criterion = nn.SequencerCriterion(nn.BCECriterion())
    with pytest.raises(ValueError, match=r"nn.BCECriterion: input values must be in \[0, 1\]"):
        criterion.forward([tensor([0.2, 0.4]), tensor([0.2, 1.2])],
                          [tensor([0.0, 1.0]), tensor([0.0, 1.0])])


@pytest.mark.parametrize("steps", [[], tensor(np.zeros((0, 2, 3)))], ids=["list", "tensor"])
def test_sequencer_criterion_refuses_an_empty_sequence(steps):
    criterion = nn.SequencerCriterion(nn.ClassNLLCriterion())
    with pytest.raises(ValueError, match=re.escape(
            "nn.SequencerCriterion(nn.ClassNLLCriterion): empty sequence (no time steps)")):
        criterion.forward(steps, [])
    with pytest.raises(ValueError, match="empty sequence"):
        criterion.backward(steps, [])


# ---- CUDA (the simulator without a GPU) ----------------------------------------------------
# (CUDA arrays' views run minitorch7.strides: tasks 1.1 and 1.2)
@pytest.mark.task_1_2
def test_cuda_module_refuses_integer_input():
    conv = nn.SpatialConvolution(1, 2, 3, 3).cuda()
    with pytest.raises(TypeError, match=re.escape("got uint8 (CudaByteTensor); convert")):
        conv.forward(image(np.uint8, (1, 1, 5, 5)).cuda())


@pytest.mark.task_1_2
def test_cuda_lookup_table_checks_float_ids():
    lt = nn.LookupTable(10, 3).cuda()
    with pytest.raises(ValueError, match="ids must be whole numbers, got 1.5"):
        lt.forward(tensor([1.5, 2.0]).cuda())
    with pytest.raises(ValueError, match="ids must be whole numbers, got nan"):
        lt.forward(tensor([np.nan, 2.0]).cuda())
    with pytest.raises(IndexError, match="got min 2 and max 10"):
        lt.forward(tensor([10, 2]).cuda())
    out = lt.forward(tensor([[1.0], [2.0]]).cuda())
    assert out.device == "cuda"
    np.testing.assert_array_equal(out.cpu().numpy(), lt.weight.cpu().numpy()[[[1], [2]]])


@pytest.mark.task_1_2
def test_cuda_class_nll_refuses_an_empty_batch_and_bad_targets():
    criterion = nn.ClassNLLCriterion()
    with pytest.raises(ValueError, match="empty batch"):
        criterion.forward(tensor(np.zeros((0, 3))).cuda(), tensor(np.zeros(0, np.int64)))
    with pytest.raises(ValueError, match="class index 3 is out of range"):
        criterion.forward(tensor(LOGP).cuda(), tensor([0, 3]))


@pytest.mark.task_3_3
@pytest.mark.parametrize("bad, found", [(1.2, "min 0.2 and max 1.2"), (np.nan, "NaN")])
def test_cuda_bce_explains_a_nan_loss(bad, found):
    # on CUDA the input's range is checked only when the loss comes back NaN (no host round
    # trip per step); the simulator raises in math.log where a GPU gives NaN, and that
    # error is explained the same way
    criterion = nn.BCECriterion()
    with pytest.raises(ValueError, match=re.escape(f"nn.BCECriterion: input values must be "
                                                   f"in [0, 1] (probabilities: e.g. the "
                                                   f"output of nn.Sigmoid), got {found}")):
        criterion.forward(tensor(np.array([0.2, bad], np.float32)).cuda(), tensor([0.0, 1.0]))
    ok = criterion.forward(tensor(np.array([0.2, 0.7])).cuda(), tensor([0.0, 1.0]))
    assert ok == pytest.approx(-(np.log(0.8) + np.log(0.7)) / 2)


@pytest.mark.task_6_5
def test_cuda_sequencer_criterion_explains_a_nan_total():
    criterion = nn.SequencerCriterion(nn.BCECriterion())
    with pytest.raises(ValueError, match=r"nn.BCECriterion: input values .* got NaN"):
        criterion.forward([tensor([0.2, 0.4]).cuda(), tensor([np.nan, 0.5]).cuda()],
                          [tensor([0.0, 1.0]), tensor([0.0, 1.0])])
