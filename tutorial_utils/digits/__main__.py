"""``python -m tutorial_utils.digits``: see ``cli`` for the options."""

from .cli import main

raise SystemExit(main())
