"""Seeded work that leaves the caller's random stream alone.

Code that must draw the same numbers every time (a benchmark's weights, a training run's
initial model) seeds torch's global generators inside ``seeded``: the draws are those that
``torch.manual_seed(seed)`` would give, and on leaving, the caller's generator states are back.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def seeded(seed: int, device: torch.device | str | None = None) -> Iterator[None]:
    """Inside the block, torch's CPU generator (and ``device``'s, when it is a CUDA device)
    starts from ``seed``; after it, each is where the caller left it.

    Only the generators named are seeded and restored, so no other CUDA device is touched
    (``torch.manual_seed`` would seed every CUDA device, now or when CUDA starts).
    """
    cuda = device is not None and torch.device(device).type == "cuda"
    index = None
    if cuda:
        index = torch.device(device).index
        index = torch.cuda.current_device() if index is None else index
    with torch.random.fork_rng(devices=[index] if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.default_generators[index].manual_seed(seed)
        yield


def with_seed(seed: int, device_argument: str | None = None) -> Callable[[F], F]:
    """Decorator: the function runs inside ``seeded(seed, device)``, where ``device`` is the
    value of its argument named ``device_argument`` (None: the CPU generator only)."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            device = None
            if device_argument is not None:
                bound = signature.bind(*args, **kwargs)
                bound.apply_defaults()
                device = bound.arguments[device_argument]
            with seeded(seed, device):
                return function(*args, **kwargs)

        run.seed = seed  # type: ignore[attr-defined]  # so a test can see the function is seeded
        return run  # type: ignore[return-value]

    return decorate
