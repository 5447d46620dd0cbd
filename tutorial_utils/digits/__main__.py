"""python -m tutorial_utils.digits."""

from .train import main

raise SystemExit(main())
