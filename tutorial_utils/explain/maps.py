"""Activation maps, and how much of a map's mass falls inside a mask."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["activation_map", "mask_ratio"]


def activation_map(model: nn.Module, images: torch.Tensor, layer: nn.Module) -> torch.Tensor:
    """Mean absolute output of ``layer`` over its channels: (N, C_in, H, W) -> (N, h, w).

    Runs ``model(images)`` once without gradients, in whatever mode the model is in; ``layer``
    must run once and return an (N, C, h, w) tensor. No class is involved: it shows where the
    layer responds strongly, whatever that serves.
    """
    if not any(module is layer for module in model.modules()):
        raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model")
    found: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: object, output: object) -> None:
        if not isinstance(output, torch.Tensor) or output.ndim != 4:
            raise ValueError(
                f"layer {type(layer).__name__} must return an (N, C, h, w) tensor, "
                f"got {type(output).__name__}"
            )
        found.append(output.detach().abs().mean(dim=1))

    handle = layer.register_forward_hook(keep)
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    if len(found) != 1:
        raise ValueError(
            f"layer {type(layer).__name__} ran {len(found)} times in one forward pass; "
            "pick a layer that runs once"
        )
    return found[0]


def mask_ratio(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of each map's mass inside its mask, over the mask's share of the area: (N,).

    maps (N, h, w) >= 0; masks (N, H, W) bool, averaged onto the map's grid (each cell counts
    by how much of it the mask covers). 1 means the map ignores the mask (a flat map gives 1);
    1 / area means all the mass lies inside. NaN for a map with no mass (all zero).
    """
    if maps.ndim != 3 or masks.ndim != 3 or maps.shape[0] != masks.shape[0]:
        raise ValueError(
            f"maps must be (N, h, w) and masks (N, H, W) with the same N, got "
            f"{tuple(maps.shape)} and {tuple(masks.shape)}"
        )
    if (maps < 0).any():
        raise ValueError("maps must be >= 0 (a mass); got negative values")
    inside = F.interpolate(masks[:, None].float(), size=maps.shape[-2:], mode="area")[:, 0]
    maps = maps.float()
    mass_inside = (maps * inside).sum((1, 2)) / maps.sum((1, 2))
    return mass_inside / inside.mean((1, 2))
