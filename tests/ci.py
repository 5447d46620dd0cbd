"""Tests that must run in CI: skipped locally when something is missing, failed under CI=true."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """Whether the CI environment variable says this is a CI run."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip with ``reason``; under CI=true the test must run, so fail instead."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)
