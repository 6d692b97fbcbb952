"""ConfusionMatrix: counts mat[target][prediction], valids, and Torch7's printing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minitorch7 as torch
from minitorch7 import optim


def test_add_counts_target_row_prediction_column():
    cm = optim.ConfusionMatrix(3)
    cm.add(torch.tensor([0.1, 0.7, 0.2]), 2)          # scores: argmax 1
    cm.add(0, torch.LongTensor([0]))                  # a class index, a 1-element target
    cm.add(np.array([-3.0, -0.1, -2.0]), 1)           # log-probabilities
    np.testing.assert_array_equal(cm.mat, [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match="class 3 out of range 0..2"):
        cm.add(3, 0)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))))
def test_batchAdd_matches_adding_one_at_a_time(case):
    n, pairs = case
    targets = np.array([t for t, _ in pairs], np.int64)
    predictions = np.array([p for _, p in pairs], np.int64)
    scores = np.eye(n)[predictions] if pairs else np.zeros((0, n))
    one, batch = optim.ConfusionMatrix(n), optim.ConfusionMatrix(n)
    for t, p in pairs:
        one.add(p, t)
    batch.batchAdd(torch.tensor(scores), torch.tensor(targets))
    np.testing.assert_array_equal(batch.mat, one.mat)
    batch.updateValids()
    assert batch.totalValid == (pytest.approx(np.mean(targets == predictions)) if pairs else 0)


def test_valids_totals_and_zero():
    cm = optim.ConfusionMatrix(3)
    cm.batchAdd(torch.LongTensor([0, 0, 1, 2, 2, 2]), torch.LongTensor([0, 1, 1, 2, 2, 0]))
    cm.updateValids()
    # rows (targets): 0 -> [1, 0, 1], 1 -> [1, 1, 0], 2 -> [0, 0, 2]
    np.testing.assert_allclose(cm.valids, [0.5, 0.5, 1.0])
    np.testing.assert_allclose(cm.unionvalids, [1 / 3, 1 / 2, 2 / 3])
    assert cm.averageValid == pytest.approx(2 / 3)
    assert cm.totalValid == pytest.approx(4 / 6)
    cm.zero()
    assert not cm.mat.any() and cm.totalValid == 0


def test_classes_never_seen_are_left_out_of_the_average():
    cm = optim.ConfusionMatrix(3)
    cm.batchAdd(torch.LongTensor([0, 1]), torch.LongTensor([0, 0]))
    cm.updateValids()
    assert np.isnan(cm.valids[1]) and cm.averageValid == pytest.approx(0.5)


def test_batchAdd_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="batchAdd.*outputs \\(3, 2\\) and targets \\(2,\\)"):
        optim.ConfusionMatrix(2).batchAdd(np.zeros((3, 2)), np.zeros(2))


def test_prints_like_torch7():
    cm = optim.ConfusionMatrix(["cat", "dog"])
    cm.batchAdd(torch.LongTensor([0, 0, 1, 1]), torch.LongTensor([0, 0, 1, 0]))
    assert str(cm) == (
        "ConfusionMatrix:\n"
        "[[       2       1]   66.667% \t[class: cat]\n"
        " [       0       1]]  100.000% \t[class: dog]\n"
        " + average row correct: 83.333% \n"
        " + average rowUcol correct (VOC measure): 58.333% \n"
        " + global correct: 75.000%")
