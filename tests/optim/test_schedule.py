"""The lab's learning-rate schedules: the per-epoch table and linear decay to minlr."""

import pytest

from minitorch7 import optim

LAB = ("{[5]=0.5,[6]=0.25,[7]=0.125,[8]=0.0625,[9]=0.03125,[10]=0.015625,[11]=0.0078125,"
       "[12]=0.00390625}")


def test_lab_table_halves_the_rate_each_epoch_from_5():
    schedule = optim.EpochTable(LAB, startlr=1)
    assert [schedule(e) for e in range(15)] == [1, 1, 1, 1, 1, 0.5, 0.25, 0.125, 0.0625, 0.03125,
                                                0.015625, 0.0078125, 0.00390625, 0.00390625,
                                                0.00390625]


def test_table_keeps_the_last_rate_between_keys_and_respects_minlr():
    schedule = optim.EpochTable({3: 0.1, 10: 1e-6}, startlr=0.5, minlr=1e-5)
    assert [schedule(e) for e in (0, 2, 3, 9, 10, 50)] == [0.5, 0.5, 0.1, 0.1, 1e-5, 1e-5]


def test_parse_table_reads_lua_and_python_text_without_evaluating():
    assert optim.parse_table("{[5]=0.5, [6]=2.5e-1}") == {5: 0.5, 6: 0.25}
    assert optim.parse_table("{5: 0.5, 6: 0.25}") == {5: 0.5, 6: 0.25}
    assert optim.parse_table("{}") == {}
    with pytest.raises(ValueError, match="cannot read entry"):
        optim.parse_table("{[5]=__import__('os')}")
    with pytest.raises(ValueError, match="expected"):
        optim.parse_table("[5]=0.5")


def test_linear_decay_reaches_minlr_at_saturate_then_stays():
    schedule = optim.LinearDecay(startlr=0.05, minlr=1e-5, saturate=400)
    assert schedule(0) == 0.05
    assert schedule(200) == pytest.approx((0.05 + 1e-5) / 2)
    assert schedule(1) == pytest.approx(0.05 - (0.05 - 1e-5) / 400)
    assert schedule(400) == pytest.approx(1e-5)
    assert schedule(1000) == 1e-5
    with pytest.raises(ValueError, match="saturate"):
        optim.LinearDecay(1, 0, 0)
