"""``python -m tutorial_utils.reid``: see ``tutorial_utils.reid.cli``."""

from .cli import main

if __name__ == "__main__":
    main()
