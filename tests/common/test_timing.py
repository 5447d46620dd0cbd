"""Honest timing."""

import torch

from tutorial_utils import time_call


def test_time_call_measures_something():
    timing = time_call(
        torch.mm, torch.randn(64, 64), torch.randn(64, 64), label="mm", min_run_time=0.05
    )
    assert timing.median_ms > 0 and timing.runs >= 1 and "mm:" in str(timing)
