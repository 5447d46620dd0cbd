"""Market-1501, for those who have it: the same item dicts as the synthetic pedestrians.

Nothing is downloaded. Point ``Market1501(root, split)`` at the unpacked folder, the one that holds
``bounding_box_train`` (train), ``query`` (query) and ``bounding_box_test`` (gallery). File names
are ``PPPP_cCsS_FFFFFF_NN.jpg``: identity, camera (1-6), sequence, frame, box number.

Identities -1 and 0, as the standard protocol treats them:
- ``-1`` (junk: boxes too poor to count either way) is dropped from every split. The protocol
  ignores junk in the ranking, which is the same as leaving it out of the gallery.
- ``0`` (distractors: boxes with no person of interest) is dropped from train and query and kept
  in the gallery with pid 0, where it can never match a query and so only pushes matches down.
Training pids are relabelled 0..K-1 in sorted order (``original_pids`` keeps the file's numbers);
query and gallery keep the file's numbers. Camera ids are 0-based (``c1`` -> 0).

Images are read when an item is asked for and resized to (height, width), 160×64 by default;
``tensors()`` reads the whole split at once (uint8, about 30 kB per image at 160×64).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..common.images import normalize as normalize_images
from ..common.validation import check_positive_int

FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
NAME = re.compile(r"^(-1|\d+)_c(\d+)s\d+_\d+_\d+\.jpg$")
JUNK, DISTRACTOR = -1, 0


def parse_name(name: str) -> tuple[int, int]:
    """``0002_c1s1_000451_03.jpg`` -> (pid 2, camid 0); ValueError for any other form."""
    match = NAME.match(name)
    if match is None:
        raise ValueError(
            f"file name {name!r} is not a Market-1501 name; expected PPPP_cCsS_FFFFFF_NN.jpg "
            "such as '0002_c1s1_000451_03.jpg'"
        )
    pid, camera = int(match.group(1)), int(match.group(2))
    if camera < 1:
        raise ValueError(f"file name {name!r} has camera c{camera}; cameras are numbered from c1")
    return pid, camera - 1


def find_root(root: str | Path) -> Path:
    """The folder holding the three Market-1501 folders: ``root`` itself, or its one
    ``Market-1501*`` subfolder (as the archive unpacks)."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"Market-1501 root {str(path)!r} is not a folder")
    if (path / FOLDERS["train"]).is_dir() or (path / FOLDERS["query"]).is_dir():
        return path
    inner = sorted(p for p in path.glob("Market-1501*") if p.is_dir())
    if len(inner) == 1:
        return inner[0]
    return path


class Market1501(Dataset):
    """One split of Market-1501 as re-ID items: ``img`` float32 (3, height, width) in [0, 1],
    ``pid`` and ``camid`` ints (no mask, parts or offset: the real data has no such ground truth).
    With ``normalize=True``, ``img`` is standardised with ImageNet's mean and std, the input
    HA-CNN expects; leave it False for ``cache_split`` and training, which standardise by
    themselves.

    Attributes: ``paths``, ``pids``, ``camids`` (one per item), ``num_pids`` (identities in the
    split, not counting the gallery's distractors), ``original_pids`` (the file names' numbers).
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        *,
        height: int = 160,
        width: int = 64,
        normalize: bool = False,
    ) -> None:
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize must be True or False, got {normalize!r}")
        self.normalize = normalize
        if split not in FOLDERS:
            raise ValueError(f"split must be one of {tuple(FOLDERS)}, got {split!r}")
        for name, value in (("height", height), ("width", width)):
            check_positive_int(value, name)
        folder = find_root(root) / FOLDERS[split]
        if not folder.is_dir():
            raise FileNotFoundError(
                f"no folder {str(folder)!r}: a Market-1501 root holds {', '.join(FOLDERS.values())}"
            )
        self.split = split
        self.size = (height, width)
        self.paths: list[Path] = []
        self.original_pids: list[int] = []
        self.camids: list[int] = []
        # Market-1501's folders also hold a Thumbs.db: only .jpg files are images.
        for path in sorted(folder.glob("*.jpg")):
            pid, camid = parse_name(path.name)
            if pid == JUNK or (pid == DISTRACTOR and split != "gallery"):
                continue
            self.paths.append(path)
            self.original_pids.append(pid)
            self.camids.append(camid)
        if not self.paths:
            raise ValueError(f"no Market-1501 images (*.jpg with a person id) in {str(folder)!r}")
        identities = sorted({p for p in self.original_pids if p != DISTRACTOR})
        if split == "train":
            label = {pid: k for k, pid in enumerate(identities)}
            self.pids = [label[p] for p in self.original_pids]
        else:
            self.pids = list(self.original_pids)
        self.num_pids = len(identities)

    def __len__(self) -> int:
        return len(self.paths)

    def _read(self, index: int) -> torch.Tensor:
        """Image ``index`` as uint8 (3, height, width)."""
        height, width = self.size
        with Image.open(self.paths[index]) as image:
            rgb = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
            array = np.array(rgb, dtype=np.uint8)
        return torch.from_numpy(array).permute(2, 0, 1)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} images")
        image = self._read(index).float() / 255.0
        return {
            "img": normalize_images(image[None])[0] if self.normalize else image,
            "pid": self.pids[index],
            "camid": self.camids[index],
        }

    def tensors(self, float_images: bool = False) -> dict[str, torch.Tensor]:
        """The whole split read at once: ``img`` (N, 3, H, W) uint8 (float32 in [0, 1] with
        ``float_images=True``), ``pid`` and ``camid`` (N,) int64."""
        images = torch.stack([self._read(i) for i in range(len(self))])
        return {
            "img": images.float() / 255.0 if float_images else images,
            "pid": torch.tensor(self.pids, dtype=torch.int64),
            "camid": torch.tensor(self.camids, dtype=torch.int64),
        }

    def __repr__(self) -> str:
        return f"Market1501(split={self.split!r}, images={len(self)}, identities={self.num_pids})"
