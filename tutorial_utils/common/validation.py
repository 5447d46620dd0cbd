"""Input checks that fail early with a message naming the bad value and what was expected."""

from __future__ import annotations

import torch


def check_feature_map(
    x: torch.Tensor, channels: int | None = None, *, where: str = "input"
) -> None:
    """Raise unless ``x`` is a floating (N, C, H, W) tensor with ``channels`` channels."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: expected a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(
            f"{where}: expected a 4-D tensor (N, C, H, W), "
            f"got {x.ndim}-D with shape {tuple(x.shape)}"
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


def is_int(value: object) -> bool:
    """True for an int that is not a bool (``True`` is an int to Python, never to a user)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(value: object, name: str, low: int | None = None, high: int | None = None) -> None:
    """Raise a ValueError naming ``name`` unless ``value`` is an int (not a bool) in [low, high]."""
    if is_int(value) and (low is None or value >= low) and (high is None or value <= high):
        return
    if low == 1 and high is None:
        wanted = "a positive integer"
    elif low == 0 and high is None:
        wanted = "a non-negative integer"
    elif low is not None and high is not None:
        wanted = f"an integer in [{low}, {high}]"
    elif low is not None:
        wanted = f"an integer >= {low}"
    elif high is not None:
        wanted = f"an integer <= {high}"
    else:
        wanted = "an integer"
    raise ValueError(f"{name} must be {wanted}, got {value!r}")


def check_positive_int(value: object, name: str) -> None:
    """Raise a ValueError unless ``value`` is an int >= 1."""
    check_int(value, name, low=1)


def check_bool(value: object, name: str) -> None:
    """Raise a TypeError unless ``value`` is True or False (not 1, not "yes")."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")


def check_dtype(x: torch.Tensor, expected: torch.dtype, *, where: str = "input") -> None:
    """Raise a TypeError unless ``x`` has the dtype of the module's weights, ``expected``.

    Refused rather than converted: a silent cast would hide a float64 pipeline's lost
    precision or undo a deliberate float16 / bfloat16 choice. Under ``torch.autocast`` mixed
    dtypes are the point, so nothing is checked there.
    """
    if x.dtype == expected or torch.is_autocast_enabled(x.device.type):
        return
    cast = {torch.float32: "x.float()", torch.float16: "x.half()", torch.bfloat16: "x.bfloat16()"}
    fix = cast.get(expected, f"x.to({expected})")
    raise TypeError(
        f"{where}: expected {_dtype_name(expected)} input (the dtype of its weights), got "
        f"{_dtype_name(x.dtype)}; call {fix}, or convert the module with .to({x.dtype}) "
        "to compute in that precision"
    )


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
