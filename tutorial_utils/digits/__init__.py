"""The digits room: lesson 08's training experiment, python -m tutorial_utils.digits."""
