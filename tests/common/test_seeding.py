"""Seeded work draws what torch.manual_seed would give and leaves the caller's stream alone."""

from __future__ import annotations

import pytest
import torch

from tutorial_utils.common.seeding import seeded, with_seed


def test_seeded_draws_what_manual_seed_draws_and_restores_the_callers_state() -> None:
    torch.manual_seed(123)
    torch.rand(3)  # the caller is somewhere in its stream
    before = torch.random.get_rng_state()
    with seeded(7):
        inside = torch.randn(5)
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.manual_seed(7)
    torch.testing.assert_close(inside, torch.randn(5), rtol=0, atol=0)


def test_with_seed_runs_the_function_seeded_and_keeps_the_callers_state() -> None:
    @with_seed(3, device_argument="device")
    def draw(n: int, device: str = "cpu") -> torch.Tensor:
        return torch.rand(n, device=device)

    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    first, second = draw(4), draw(4, device="cpu")
    assert torch.equal(torch.random.get_rng_state(), before)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert draw.seed == 3 and draw.__name__ == "draw"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_seeded_restores_the_cuda_generator_it_seeds() -> None:
    torch.cuda.manual_seed(11)
    torch.rand(2, device="cuda")
    before = torch.cuda.get_rng_state()
    with seeded(7, "cuda"):
        inside = torch.rand(3, device="cuda")
    assert torch.equal(torch.cuda.get_rng_state(), before)
    torch.cuda.manual_seed(7)
    torch.testing.assert_close(inside, torch.rand(3, device="cuda"), rtol=0, atol=0)
