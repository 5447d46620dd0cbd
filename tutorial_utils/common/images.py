"""Sample photographs from the package's data folder, loaded offline, and their preparation
for HA-CNN."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# ImageNet statistics, the normalisation torchreid trains HA-CNN with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


DATA_DIR_VARIABLE = "ATTENTION_DATA_DIR"


def data_dir() -> Path:
    """The folder of photos and trained weights: ``$ATTENTION_DATA_DIR`` if set, else the
    package's own ``tutorial_utils/data`` (package data, so a wheel install carries it)."""
    override = os.environ.get(DATA_DIR_VARIABLE)
    if override is not None:
        path = Path(override).expanduser()
        if not path.is_dir():
            raise FileNotFoundError(
                f"{DATA_DIR_VARIABLE}={override!r} is not a directory; expected a folder holding "
                "the sample photos and weights (unset it to use the package's own data)"
            )
        return path
    # A wheel or editable install both unpack to a real folder, so files() is a Path here.
    return Path(str(resources.files("tutorial_utils") / "data"))


def data_file(name: str) -> Path:
    """One file of the data folder, e.g. ``data_file("astronaut.jpg")``.

    Raises FileNotFoundError naming the file and listing what the folder holds.
    """
    path = data_dir() / name
    if not path.is_file():
        available = sorted(p.name for p in data_dir().iterdir() if p.is_file())
        raise FileNotFoundError(f"no data file {name!r} in {data_dir()}; found {available}")
    return path


def sample_image_names() -> list[str]:
    """Names of the bundled photographs, e.g. ['astronaut', 'camera', ...]."""
    return sorted(p.stem for p in data_dir().glob("*.jpg"))


def check_sample_name(name: object) -> None:
    """Raise a ValueError naming ``name`` and the choices unless it is a bundled photograph."""
    names = sample_image_names()
    if name not in names:
        raise ValueError(f"no sample image {name!r}; choose one of {names}")


def load_sample_image(name: str) -> torch.Tensor:
    """A bundled photograph as a float tensor (3, H, W) in [0, 1]."""
    check_sample_name(name)
    path = data_dir() / f"{name}.jpg"
    array = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def resize_image(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(3, H, W) -> (3, *size), bilinear with antialiasing (downscaling without aliasing)."""
    resized = F.interpolate(
        image[None], size=size, mode="bilinear", align_corners=False, antialias=True
    )
    return resized[0].clamp(0, 1)


def crop_to_aspect(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Centre-crop (3, H, W) to the height:width ratio of ``size``, so a resize won't squash it."""
    h, w = image.shape[-2:]
    target_ratio = size[0] / size[1]
    if h / w > target_ratio:  # too tall: trim top and bottom
        new_h = round(w * target_ratio)
        top = (h - new_h) // 2
        return image[..., top : top + new_h, :]
    new_w = round(h / target_ratio)
    left = (w - new_w) // 2
    return image[..., :, left : left + new_w]


def normalize(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> float32, ImageNet-normalised, as HA-CNN's input expects
    (torchreid normalises with ImageNet's mean and std too)."""
    mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() - mean) / std


def __getattr__(name: str) -> object:
    """``hacnn_batch`` moved to ``tutorial_utils.hacnn``; the old name warns."""
    if name != "hacnn_batch":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..hacnn.inputs import hacnn_batch
    from .deprecation import warn_moved

    warn_moved("tutorial_utils.common.images.hacnn_batch", "tutorial_utils.hacnn.hacnn_batch")
    return hacnn_batch
