"""The two shipped attention models, re-measured by code of this test's own.

Nothing here uses the package's measuring code (attention_measures, attention_estimates,
stage_maps, explore): the maps come from forward hooks on the network's own modules, the
person's share of each map cell from a reshape of the mask, the correlation from numpy. The
values must agree with the experiments' table and meet the goals it was built for.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tutorial_utils import data_file
from tutorial_utils.common import normalize
from tutorial_utils.reid import SyntheticPedestrians, load_model

SUBSET = 256  # the first queries of the medium synthetic data, seed 0


@pytest.fixture(scope="module")
def table() -> dict:
    return json.loads(data_file("hacnn_synthetic_attend.json").read_text())


@pytest.fixture(scope="module")
def queries() -> dict[str, torch.Tensor]:
    data = SyntheticPedestrians("query", seed=0, difficulty="medium")
    items = [data[i] for i in range(SUBSET)]
    return {
        "images": torch.stack([it["img"] for it in items]),
        "masks": torch.stack([it["mask"] for it in items]),
        "dy": torch.stack([it["offset"][1] for it in items]),
    }


def _outputs(model: torch.nn.Module, images: torch.Tensor, part: str) -> list[torch.Tensor]:
    """The output of ``ha{1,2,3}.<part>`` for every image, by forward hooks."""
    seen: dict[int, list[torch.Tensor]] = {0: [], 1: [], 2: []}
    hooks = [
        getattr(getattr(model, f"ha{s + 1}"), part).register_forward_hook(
            lambda _m, _i, out, s=s: seen[s].append(out.detach())
        )
        for s in range(3)
    ]
    try:
        with torch.no_grad():
            for chunk in images.split(64):
                model(normalize(chunk))
    finally:
        for hook in hooks:
            hook.remove()
    return [torch.cat(seen[s]) for s in range(3)]


def _mass_ratio(soft: torch.Tensor, masks: torch.Tensor) -> float:
    """Mean over images of the channel-mean map's mass share on the person, over the mean
    share of the map the person covers; cells get the mask's mean over their pixels."""
    n, _, h, w = soft.shape
    height, width = masks.shape[-2:]
    cells = masks.float().view(n, h, height // h, w, width // w).mean((2, 4))  # (N, h, w)
    mean_map = soft.mean(1)
    share = (mean_map * cells).sum((1, 2)) / mean_map.sum((1, 2))
    return float(share.mean() / cells.mean((1, 2)).mean())


def _run(table: dict, key: str) -> dict:
    shipped = table["shipped"][key]
    return next(
        r
        for r in table["runs"]
        if r["variant"] == shipped["variant"] and r["seed"] == shipped["seed"]
    )


def test_attending_soft_model_puts_its_mass_on_the_person(table: dict, queries: dict) -> None:
    model = load_model(data_file("hacnn_synthetic_attend_soft.pt"))
    maps = _outputs(model, queries["images"], "soft_attn")
    run = _run(table, "soft")
    measured = []
    for stage, soft in enumerate(maps):
        listed = run["attention"]["soft"][stage]
        if listed is None:  # no soft attention at this stage: the map is ones
            assert torch.all(soft == 1)
            continue
        ratio = _mass_ratio(soft, queries["masks"])
        assert ratio == pytest.approx(listed["mass_ratio"]["value"], abs=0.01)
        measured.append(ratio)
    assert max(measured) >= 1.3


def test_tracking_stripes_follow_the_vertical_offset(table: dict, queries: dict) -> None:
    model = load_model(data_file("hacnn_synthetic_attend_stripes.pt"))
    translations = _outputs(model, queries["images"], "hard_attn")
    run = _run(table, "stripes")
    dy = queries["dy"].numpy()
    best = 0.0
    for stage, t in enumerate(translations):
        ty = t[:, :, 1].numpy()  # (N, T)
        corr = [np.corrcoef(ty[:, r], dy)[0, 1] for r in range(ty.shape[1])]
        listed = run["attention"]["hard"][stage]["ty_corr_dy"]
        for got, entry in zip(corr, listed, strict=True):
            if entry["value"] is not None:
                assert got == pytest.approx(entry["value"], abs=0.01)
        best = max(best, float(np.mean(np.abs(corr))))
    assert best >= 0.5
