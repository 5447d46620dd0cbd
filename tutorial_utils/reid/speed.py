"""Deprecated: the training-speed benchmark moved to ``tutorial_utils.bench.training_speed``,
run as ``python -m tutorial_utils.bench training [...]``.

Importing this module (or running it with ``python -m``) warns and gives that module; it goes
in the next release.
"""

import sys

from ..bench import training_speed
from ..common.deprecation import warn_moved

# Run as a script, the module is __main__, where Python shows a DeprecationWarning by default.
warn_moved(
    "tutorial_utils.reid.speed",
    "tutorial_utils.bench.training_speed (python -m tutorial_utils.bench training)",
    stacklevel=2 if __name__ == "__main__" else None,
)
if __name__ == "__main__":
    sys.exit(training_speed.main())
sys.modules[__name__] = training_speed
