"""Photos as HA-CNN's input: the bundled images cropped, resized and normalised."""

from __future__ import annotations

import torch

from ..common.images import crop_to_aspect, load_sample_image, normalize, resize_image
from .model import INPUT_SIZE


def hacnn_batch(
    names: list[str], size: tuple[int, int] = INPUT_SIZE
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample images cropped to ``size``'s aspect and resized: (pictures in [0, 1], ImageNet-
    normalised batch), both (N, 3, *size) with N = len(names).
    """
    images = [crop_to_aspect(load_sample_image(n), size) for n in names]
    pictures = torch.stack([resize_image(image, size) for image in images])
    return pictures, normalize(pictures)
