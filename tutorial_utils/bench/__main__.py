"""``python -m tutorial_utils.bench``: see ``cli`` for the options."""

import sys

from .cli import main

sys.exit(main())
