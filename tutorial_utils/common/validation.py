"""Input checks that fail early with a message naming the bad value and what was expected."""

from __future__ import annotations

import torch


def check_feature_map(
    x: torch.Tensor, channels: int | None = None, *, where: str = "input"
) -> None:
    """Raise a clear error unless ``x`` is a floating (N, C, H, W) tensor with ``channels`` channels."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{where}: expected a 4-D tensor (N, C, H, W), got {x.ndim}-D with shape {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{where}: expected a floating-point tensor, got dtype {x.dtype}; "
            "convert images with x.float() / 255"
        )
    if channels is not None and x.shape[1] != channels:
        raise ValueError(
            f"{where}: expected {channels} channels, got {x.shape[1]} (shape {tuple(x.shape)})"
        )


def check_positive_int(value: int, name: str) -> None:
    """Raise unless ``value`` is an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
