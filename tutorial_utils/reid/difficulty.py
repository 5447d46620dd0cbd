"""How hard a synthetic-pedestrian setting is before any training, and how long it takes to draw.

``fixed_descriptors`` (colour and pixel features that need no training), ``difficulty_probe``
(their rank-1 and mAP on the test split) and ``time_generation`` (each split's drawing time,
used by ``python -m tutorial_utils.bench training --generation``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch
import torch.nn.functional as F

from .metrics import evaluate_ranking, pairwise_distance
from .rendering import photos
from .synthetic import SPLITS, SyntheticPedestrians


def time_generation(seed: int = 0, **options: Any) -> list[dict[str, Any]]:
    """Build each split once with ``options`` and time it: one dict per split with ``images``,
    ``wall_s``, ``cpu_s`` (this process's CPU time; drawing is single-threaded, so it is the
    wall time the split would take on an idle core) and the load average before it."""
    photos()  # reading the photos once is not part of a split's cost
    rows = []
    for split in SPLITS:
        load = os.getloadavg()[0]
        cpu, wall = time.process_time(), time.perf_counter()
        dataset = SyntheticPedestrians(split, seed, **options)
        rows.append(
            {
                "split": split,
                "images": len(dataset),
                "identities": dataset.num_pids,
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
                "load_before": load,
            }
        )
    return rows


def fixed_descriptors(stacked: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Four descriptors that need no training, from a split's ``tensors()``: each (N, D).

    ``pixels``: the image at 16×8, mean-centred; ``stripe_histograms``: 64-colour histograms of
    three horizontal stripes; ``masked_histograms``: the same counting only the person's pixels
    (the true mask); ``part_colours``: the mean colour of the person in the top and bottom half
    of each part box. The last two cheat with the ground truth: they show what colour can do once
    the person is found.
    """
    images = stacked["img"].float() / 255.0
    n, _, height, _ = images.shape
    pixels = F.interpolate(images, size=(16, 8), mode="area").flatten(1)
    levels = (images * 3.999).long()  # 4 levels per channel, 64 colours
    code = levels[:, 0] * 16 + levels[:, 1] * 4 + levels[:, 2]
    whole = torch.ones(images.shape[0], *images.shape[2:])
    histograms = {}
    for name, weight in (
        ("stripe_histograms", whole),
        ("masked_histograms", stacked["mask"].float()),
    ):
        stripes = []
        for k in range(3):
            rows = slice(k * height // 3, (k + 1) * height // 3)
            counts = torch.zeros(n, 64).scatter_add_(
                1, code[:, rows].flatten(1), weight[:, rows].flatten(1)
            )
            stripes.append(F.normalize(counts.sqrt(), dim=1))
        histograms[name] = torch.cat(stripes, 1)
    ys = torch.arange(height, dtype=torch.float32)[None, :, None]
    xs = torch.arange(images.shape[3], dtype=torch.float32)[None, None, :]
    halves = []
    for k in range(3):
        x0, y0, x1, y1 = (stacked["parts"][:, k, j, None, None] for j in range(4))
        inside = (xs >= x0) & (xs < x1) & stacked["mask"]
        middle = (y0 + y1) / 2
        for rows in ((ys >= y0) & (ys < middle), (ys >= middle) & (ys < y1)):
            weight = (inside & rows).float()
            total = weight.sum((1, 2)).clamp(min=1.0)[:, None]
            halves.append((images * weight[:, None]).sum((2, 3)) / total)
    return {
        "pixels": F.normalize(pixels - pixels.mean(1, keepdim=True), dim=1),
        **histograms,
        "part_colours": torch.cat(halves, 1),
    }


def difficulty_probe(seed: int = 0, **options: Any) -> dict[str, dict[str, float]]:
    """Rank-1 and mAP of :func:`fixed_descriptors` on the test split (query against gallery,
    nearest neighbour, the standard protocol), for the set ``SyntheticPedestrians(..., **options)``.

    How hard a setting is before any training: see the table in docs/reid.md.
    """
    query = SyntheticPedestrians("query", seed, **options).tensors()
    gallery = SyntheticPedestrians("gallery", seed, **options).tensors()
    q_features, g_features = fixed_descriptors(query), fixed_descriptors(gallery)
    results = {}
    for name in q_features:
        distances = pairwise_distance(q_features[name], g_features[name])
        ranking = evaluate_ranking(
            distances, query["pid"], gallery["pid"], query["camid"], gallery["camid"]
        )
        results[name] = {"rank1": ranking.rank(1), "mAP": ranking.mAP}
    return results
