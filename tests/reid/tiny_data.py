"""A tiny stand-in for the synthetic pedestrians: the same item dicts, made in milliseconds.

Each identity is a two-colour block person (shirt, trousers) on a noisy background, shifted
vertically by a known offset; masks, part boxes and offsets are exact.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

H, W = 160, 64


class TinyPedestrians(Dataset):
    """``split`` "train" (ids 0..num_ids-1) or "query"/"gallery" (ids num_ids..2*num_ids-1)."""

    def __init__(self, split: str, seed: int = 0, num_ids: int = 6, per_id: int = 4) -> None:
        if split not in ("train", "query", "gallery"):
            raise ValueError(f"bad split {split!r}")
        g = torch.Generator().manual_seed(seed)
        first = 0 if split == "train" else num_ids
        colours = torch.rand(2 * num_ids, 2, 3, generator=torch.Generator().manual_seed(99))
        self.items = []
        for pid in range(first, first + num_ids):
            for k in range(per_id if split != "query" else 1):
                camid = {"train": k % 2, "query": 0, "gallery": 1 if k else 0}[split]
                dy = float(torch.empty(()).uniform_(-0.2, 0.2, generator=g))
                top = int(20 + dy * H / 2)
                img = 0.3 * torch.rand(3, H, W, generator=g)
                mask = torch.zeros(H, W, dtype=torch.bool)
                img[:, top : top + 60, 16:48] = colours[pid, 0, :, None, None]
                img[:, top + 60 : top + 120, 20:44] = colours[pid, 1, :, None, None]
                mask[top : top + 120, 16:48] = True
                parts = torch.tensor(
                    [
                        [24, top, 40, top + 20],
                        [16, top, 48, top + 60],
                        [20, top + 60, 44, top + 120],
                    ],
                    dtype=torch.float32,
                )
                self.items.append(
                    {
                        "img": img,
                        "pid": pid,
                        "camid": camid,
                        "mask": mask,
                        "parts": parts,
                        "offset": torch.tensor([0.0, dy]),
                    }
                )
        self.pids = [it["pid"] for it in self.items]
        self.camids = [it["camid"] for it in self.items]
        self.num_pids = num_ids

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]
