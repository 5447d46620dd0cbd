"""Exercise checks report a verdict instead of raising."""

import torch

from tutorial_utils import check_exercise


def test_check_exercise_verdicts(capsys):
    def unsolved():
        raise NotImplementedError

    def wrong():
        torch.testing.assert_close(torch.tensor(1.0), torch.tensor(2.0))

    for name, test in (
        ("E1", unsolved),
        ("E2", wrong),
        ("E3", lambda: 1 / 0),
        ("E4", lambda: None),
    ):
        assert check_exercise(name, test) is None
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("E1: not solved yet")
    assert out[1].startswith("E2: not right yet:")
    assert out[2] == "E3: your code raised ZeroDivisionError: division by zero"
    assert out[3] == "E4: solved"
