"""Tests of tutorial_utils.reid."""
