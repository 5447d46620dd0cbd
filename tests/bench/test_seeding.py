"""The benchmark draws the same weights every run without touching the caller's random stream."""

from __future__ import annotations

import pytest
import torch

from tutorial_utils.bench import measure, memory, startup, training_speed


def _somewhere_in_the_stream() -> torch.Tensor:
    torch.manual_seed(31)
    torch.rand(3)
    return torch.random.get_rng_state()


def test_training_speed_keeps_the_callers_random_stream() -> None:
    before = _somewhere_in_the_stream()
    training_speed.measure("quarter", "eager", steps=1, warmup=1, batch=2, num_classes=5)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_cold_call_memory_keeps_the_callers_random_stream() -> None:
    before = _somewhere_in_the_stream()
    memory.cold_call_memory(0, "eager", quick=True)
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize(
    "function",
    [measure.run_workload, memory.cold_call_memory, startup.startup_phases, training_speed.measure],
    ids=lambda f: f"{f.__module__}.{f.__name__}",
)
def test_every_seeded_benchmark_function_draws_from_seed_zero(function) -> None:
    """Seed 0 as before (the compiled package's cache key depends on the weights), through
    ``with_seed``, which restores the caller's generators (tests/common/test_seeding.py)."""
    assert getattr(function, "seed", None) == 0, f"{function.__name__} is not run under with_seed"
