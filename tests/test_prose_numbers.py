"""Every number a lesson's prose states as a result is printed by one of its own outputs.

The rules (what counts as a stated number, the precision it is matched at, the citation
exemption) are in tools/prose_numbers.py and CONTRIBUTING.md, "Numbers in prose".
"""

from pathlib import Path

import pytest

from tools.prose_numbers import notebook_offenders

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Lessons whose prose states numbers no output prints today. strict: the mark must come off
# when the lesson is fixed.
PENDING: dict[str, str] = {}


def _param(path: Path):
    reason = PENDING.get(path.stem)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in NOTEBOOKS])
def test_every_number_in_the_prose_is_printed_by_an_output(path: Path):
    found = notebook_offenders(path)
    assert not found, f"{path.name}: numbers no output prints:\n" + "\n".join(
        f"  {f}" for f in found
    )
