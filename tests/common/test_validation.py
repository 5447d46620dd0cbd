"""Input checks name the bad value and what was expected."""

import pytest
import torch

from tutorial_utils.common import check_bool, check_feature_map, check_int, is_int


def test_is_int_refuses_bools_and_floats():
    assert is_int(3) and is_int(-1) and is_int(0)
    assert not is_int(True) and not is_int(2.0) and not is_int("2")


@pytest.mark.parametrize(
    ("value", "low", "high", "message"),
    [
        (0, 1, None, "k must be a positive integer, got 0"),
        (-1, 0, None, "k must be a non-negative integer, got -1"),
        (7, 0, 6, r"k must be an integer in \[0, 6\], got 7"),
        (True, None, None, "k must be an integer, got True"),
        (1.5, 2, None, "k must be an integer >= 2, got 1.5"),
    ],
)
def test_check_int_names_the_value_and_the_range(value, low, high, message):
    with pytest.raises(ValueError, match=message):
        check_int(value, "k", low=low, high=high)


def test_check_int_accepts_the_bounds():
    check_int(0, "k", low=0, high=6)
    check_int(6, "k", low=0, high=6)


def test_check_bool():
    check_bool(False, "flag")
    with pytest.raises(TypeError, match="flag must be True or False, got 1"):
        check_bool(1, "flag")


def test_check_feature_map_names_where():
    with pytest.raises(ValueError, match="Thing: expected 3 channels, got 2"):
        check_feature_map(torch.zeros(1, 2, 4, 4), 3, where="Thing")
