"""The benchmark room: python -m tutorial_utils.bench."""
