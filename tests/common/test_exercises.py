"""Exercise checks report a verdict; in strict mode they also raise, for autograding."""

import pytest
import torch

from tutorial_utils import check_exercise


def _unsolved() -> None:
    raise NotImplementedError


def _wrong() -> None:
    torch.testing.assert_close(torch.tensor(1.0), torch.tensor(2.0))


def test_check_exercise_verdicts(capsys):
    for name, test in (
        ("E1", _unsolved),
        ("E2", _wrong),
        ("E3", lambda: 1 / 0),
        ("E4", lambda: None),
    ):
        assert check_exercise(name, test) is None
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("E1: not solved yet")
    assert out[1].startswith("E2: not right yet:")
    assert out[2] == "E3: your code raised ZeroDivisionError: division by zero"
    assert out[3] == "E4: solved"


@pytest.mark.parametrize(
    ("test", "error", "verdict"),
    [
        (_unsolved, NotImplementedError, "E: not solved yet"),
        (_wrong, AssertionError, "E: not right yet:"),
        (lambda: 1 / 0, ZeroDivisionError, "E: your code raised ZeroDivisionError"),
    ],
)
def test_strict_check_prints_the_same_verdict_then_raises(capsys, test, error, verdict):
    with pytest.raises(error):
        check_exercise("E", test, strict=True)
    assert capsys.readouterr().out.startswith(verdict)


def test_strict_check_passes_a_solved_exercise(capsys):
    assert check_exercise("E", lambda: None, strict=True) is None
    assert capsys.readouterr().out == "E: solved\n"
