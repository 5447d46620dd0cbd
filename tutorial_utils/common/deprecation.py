"""Old names kept for one release: a DeprecationWarning that names the new place.

A module whose names moved defines ``__getattr__`` (PEP 562), which imports the object from its
new place only when the old name is used, and calls ``warn_moved``; a module that moved leaves a
few lines behind that warn and hand over the new module. Neither runs on ``import tutorial_utils``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parents[1])


def _user_stacklevel() -> int:
    """The stacklevel of the first frame outside this package and the import machinery, so
    that the warning points at the user's line (and Python shows it there by default)."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        name = frame.f_code.co_filename
        machinery = "importlib" in name and "_bootstrap" in name
        if not (machinery or name.startswith(_PACKAGE)):
            return level
        frame = frame.f_back
        level += 0 if machinery else 1  # warnings.warn does not count the import machinery
    return level


def warn_moved(old: str, new: str, *, stacklevel: int | None = None) -> None:
    """Warn that ``old`` (a dotted name) is deprecated in favour of ``new`` (where it lives now).

    The warning points at the first line outside this package; ``stacklevel`` (counted as
    ``warnings.warn`` counts it, from this function) overrides that.
    """
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new}",
        DeprecationWarning,
        stacklevel=_user_stacklevel() if stacklevel is None else stacklevel,
    )
