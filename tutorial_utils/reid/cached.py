"""A re-ID split held in memory as tensors, ready for batching, whatever data set it came from.

Both ``SyntheticPedestrians`` and the Market-1501 loader yield dicts with ``img`` (3, H, W)
in [0, 1], ``pid`` and ``camid``; the synthetic one adds ``mask``, ``parts`` and ``offset``.
Training reads every image many times, so each split is read once into one tensor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

MODEL_SIZE = (160, 64)  # (H, W) HA-CNN's local branch is built for
DATASETS = ("synthetic", "market1501")
SPLITS = ("train", "query", "gallery")


@dataclass
class CachedSplit:
    """One split as tensors. images (N, 3, 160, 64) float16 in [0, 1]; pids, camids (N,) int64.

    Ground truth, when the data set has it: masks (N, 160, 64) bool, parts (N, 3, 4) pixel
    boxes (x0, y0, x1, y1) for head / upper / lower body, offsets (N, 2) the true (dx, dy)
    misalignment in affine_grid's normalised coordinates.
    """

    images: torch.Tensor
    pids: torch.Tensor
    camids: torch.Tensor
    masks: torch.Tensor | None = None
    parts: torch.Tensor | None = None
    offsets: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def has_ground_truth(self) -> bool:
        return self.masks is not None and self.parts is not None and self.offsets is not None

    def subset(self, index: torch.Tensor) -> CachedSplit:
        """The items at ``index`` (a 1-D index or boolean tensor)."""
        return CachedSplit(
            *(None if t is None else t[index] for t in self._tensors())  # type: ignore[arg-type]
        )

    def _tensors(self) -> tuple[torch.Tensor | None, ...]:
        return (self.images, self.pids, self.camids, self.masks, self.parts, self.offsets)


def cache_split(dataset: Dataset | CachedSplit, size: tuple[int, int] = MODEL_SIZE) -> CachedSplit:
    """Read every item of ``dataset`` into a CachedSplit, images resized to ``size`` (H, W).

    Masks and part boxes are resized with the images; offsets are in normalised units and
    stay as they are. Market-1501's 128 x 64 crops become 160 x 64, as torchreid feeds HA-CNN.
    """
    if isinstance(dataset, CachedSplit):
        return dataset
    n = len(dataset)  # type: ignore[arg-type]
    if n == 0:
        raise ValueError(f"{type(dataset).__name__} is empty: no images to read")
    items = [dataset[i] for i in range(n)]
    first = items[0]
    if not isinstance(first, Mapping) or not {"img", "pid", "camid"} <= set(first):
        raise TypeError(
            f"{type(dataset).__name__} items must be dicts with 'img', 'pid' and 'camid', "
            f"got {type(first).__name__} {sorted(first) if isinstance(first, Mapping) else ''}"
        )
    images = torch.stack([torch.as_tensor(it["img"], dtype=torch.float32) for it in items])
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (3, H, W), got {tuple(images.shape[1:])}")
    height, width = images.shape[-2:]
    if (height, width) != tuple(size):
        images = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    sy, sx = size[0] / height, size[1] / width
    out = CachedSplit(
        images=images.clamp(0, 1).half(),
        pids=torch.tensor([int(it["pid"]) for it in items], dtype=torch.long),
        camids=torch.tensor([int(it["camid"]) for it in items], dtype=torch.long),
    )
    if all(k in first for k in ("mask", "parts", "offset")):
        masks = torch.stack([torch.as_tensor(it["mask"]) for it in items]).bool()
        if masks.shape[-2:] != tuple(size):
            masks = F.interpolate(masks[:, None].float(), size=size, mode="nearest")[:, 0] > 0.5
        parts = torch.stack([torch.as_tensor(it["parts"], dtype=torch.float32) for it in items])
        out.masks = masks
        out.parts = parts * torch.tensor([sx, sy, sx, sy])
        # Normalised offsets do not change with a resize.
        out.offsets = torch.stack(
            [torch.as_tensor(it["offset"], dtype=torch.float32) for it in items]
        )
    return out


def load_split(
    dataset: str,
    split: str,
    *,
    root: str | None = None,
    seed: int = 0,
    options: dict[str, Any] | None = None,
) -> CachedSplit:
    """One split of a named data set, cached: ``dataset`` "synthetic" (drawn from ``seed``)
    or "market1501" (the folder ``root``); ``options`` go to the data set's constructor."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    options = dict(options or {})
    if dataset == "synthetic":
        from .synthetic import SyntheticPedestrians

        return cache_split(SyntheticPedestrians(split, seed=seed, **options))
    if dataset == "market1501":
        if root is None:
            raise ValueError("dataset 'market1501' needs root, the Market-1501 folder")
        from .market1501 import Market1501

        return cache_split(Market1501(root, split, **options))
    raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")


def relabel(pids: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Training ids -> consecutive class indices 0..K-1; returns (labels (N,), K)."""
    unique, labels = torch.unique(pids, sorted=True, return_inverse=True)
    return labels, int(unique.numel())


# Old names kept for one release: ImageNet normalisation is common.normalize now.
_MOVED_TO_COMMON = {"normalise": "normalize", "IMAGENET_MEAN": "IMAGENET_MEAN",
                    "IMAGENET_STD": "IMAGENET_STD"}  # fmt: skip


def __getattr__(name: str) -> object:
    """``normalise`` and the ImageNet statistics moved to ``tutorial_utils.common``; they warn."""
    if name not in _MOVED_TO_COMMON:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from ..common import images
    from ..common.deprecation import warn_moved

    new = _MOVED_TO_COMMON[name]
    where = "tutorial_utils.common" if new == "normalize" else "tutorial_utils.common.images"
    warn_moved(f"tutorial_utils.reid.cached.{name}", f"{where}.{new}")
    return getattr(images, new)
