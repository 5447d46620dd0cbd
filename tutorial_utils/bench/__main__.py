"""python -m tutorial_utils.bench."""

import sys

from .cli import main

sys.exit(main())
