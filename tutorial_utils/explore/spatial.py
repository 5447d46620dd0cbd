"""Lesson 03b's explorer: HA-CNN's spatial attention map beside an image, stage by stage.

The explorer draws the map of any HACNN it is given, or of one chosen by name from a mapping
such as ``{"trained": ..., "initial": ...}`` (the lesson passes the shipped network trained on
synthetic pedestrians and the same network at initialisation; this room does not load them
itself). Inputs are the bundled photos plus any named images the caller adds, such as
synthetic pedestrians or a blank image.

``seeded_hacnn`` builds a full-width HACNN with random weights. With fresh BatchNorm
statistics (mean 0, variance 1) its eval-mode maps come out flat; ``calibrate=True`` measures
the statistics on the bundled photos first (tutorial_utils.calibrate_batchnorm), so the maps
vary, although no weight has learned anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import torch
from matplotlib.figure import Figure

from ..common.batchnorm import calibrate_batchnorm, has_measured_statistics
from ..common.images import normalize, sample_image_names
from ..common.plotting import show_image, show_map
from ..common.seeding import seeded
from ..common.validation import check_bool, check_int
from ..hacnn.inputs import hacnn_batch
from ..hacnn.model import HACNN, StageRecord
from .base import STAGES, check_stage, prepare_figure, projector_figure, remembered

FIGURE_SIZE = (5.8, 5.0)  # inches: 870 px at 150 dpi, about 730 px once cropped to its content


def seeded_hacnn(seed: int = 0, num_classes: int = 10, calibrate: bool = False) -> HACNN:
    """A HACNN with random weights drawn after ``torch.manual_seed(seed)``, in eval mode.

    The global RNG is left as it was (``seeded``): calling this draws no number of the caller's.

    ``calibrate=True``: its BatchNorm running statistics are then measured on all bundled
    photos, hacnn_batch(sample_image_names()) of shape (5, 3, 160, 64), with
    calibrate_batchnorm; the weights stay random.
    """
    check_int(seed, "seed")
    check_bool(calibrate, "calibrate")
    with seeded(seed):
        model = HACNN(num_classes).eval()
    if calibrate:
        _, batch = hacnn_batch(sample_image_names())
        calibrate_batchnorm(model, batch)
    return model


def spatial_maps_by_stage(model: HACNN, x: torch.Tensor) -> dict[int, dict[str, torch.Tensor]]:
    """Run ``model`` on ``x`` (N, 3, 160, 64) and apply each stage's spatial branch.

    Returns {stage: {"channel_mean": (N, 1, H, W), "spatial": (N, 1, H, W)}} for stages
    1, 2, 3, where (H, W) is that stage's feature size: (40, 16), (20, 8), (10, 4).
    """
    records: list[StageRecord] = []
    with torch.no_grad():
        model.forward_features(x, records)
        maps = {}
        for stage, record in zip(STAGES, records, strict=True):
            branch = getattr(model, f"ha{stage}").soft_attn.spatial_attn
            maps[stage] = {
                "channel_mean": record.features.mean(dim=1, keepdim=True),
                "spatial": branch(record.features),
            }
    return maps


def pick_network(model: HACNN | Mapping[str, HACNN], network: str | None) -> tuple[HACNN, str]:
    """The HACNN to draw and a label for it.

    ``model`` is one HACNN (``network`` then must be None) or a mapping from names to
    HACNNs, such as {"trained": ..., "initial": ...}, and ``network`` one of its keys.
    """
    if isinstance(model, Mapping):
        if not model:
            raise ValueError("model is an empty mapping; expected {name: HACNN}")
        if network not in model:
            raise ValueError(
                f"network={network!r} is not one of the networks given: "
                + ", ".join(repr(name) for name in model)
            )
        chosen = model[network]
        label = f"{network} network"
    else:
        if network is not None:
            raise ValueError(
                f"network={network!r} chooses from a mapping of models, but model is one "
                f"{type(model).__name__}; pass {{'{network}': model, ...}} instead"
            )
        chosen = model
        statistics = "measured" if has_measured_statistics(model) else "fresh"
        label = f"given network, {statistics} BatchNorm statistics"
    if not isinstance(chosen, HACNN):
        raise TypeError(f"expected an HACNN, got {type(chosen).__name__}")
    return chosen, label


@lru_cache(maxsize=2)
def _photos(names: tuple[str, ...]) -> torch.Tensor:
    """hacnn_batch's pictures (N, 3, 160, 64) in [0, 1] of the named photos."""
    return hacnn_batch(list(names))[0]


def explorer_inputs(
    images: Mapping[str, torch.Tensor] | None = None,
) -> tuple[list[str], torch.Tensor]:
    """The explorer's inputs: the bundled photos, then ``images`` in their order.

    ``images`` maps a name to a (3, 160, 64) image in [0, 1] (a synthetic pedestrian, a blank
    image, ...). Returns (names, pictures (N, 3, 160, 64) in [0, 1]).
    """
    names = sample_image_names()
    pictures = _photos(tuple(names)).clone()  # loaded and resized once, not on every move
    extra = dict(images or {})
    for name, image in extra.items():
        if name in names:
            raise ValueError(f"image name {name!r} is already a bundled photo; choose another")
        if not isinstance(image, torch.Tensor) or tuple(image.shape) != (3, 160, 64):
            shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image)
            raise ValueError(f"images[{name!r}] must be a (3, 160, 64) tensor, got {shape}")
    if extra:
        added = torch.stack([image.detach().float().cpu() for image in extra.values()])
        pictures = torch.cat([pictures, added])
    return names + list(extra), pictures


def check_input_name(name: object, names: list[str]) -> None:
    """Raise a ValueError naming ``name`` unless it is one of the explorer's inputs."""
    if name not in names:
        raise ValueError(f"image_name={name!r} is not one of the inputs: {', '.join(names)}")


def explore_spatial_map(
    image_name: str,
    stage: int,
    model: HACNN | Mapping[str, HACNN],
    fig: Figure | None = None,
    *,
    network: str | None = None,
    images: Mapping[str, torch.Tensor] | None = None,
) -> dict[str, object]:
    """Draw ``image_name`` and stage ``stage``'s spatial map side by side, with a colour bar.

    ``model``: one HACNN, or a mapping {name: HACNN} with ``network`` naming the one to draw
    (the lesson's switch between the trained and the initial network). ``images``: named
    (3, 160, 64) images in [0, 1] offered beside the bundled photos.
    The map (1, 1, H, W) of ``ha{stage}.soft_attn.spatial_attn`` is drawn beside the photo,
    never over it, so the map's colours do not mix with the photo's: each cell a flat block in
    the photo's pixel coordinates, in magma on one colour scale from 0 to the largest value this
    network gives at this stage over *all* inputs, so switching images keeps the scale and a
    flat map shows as one colour. The figure is drawn for a projector (``projector_figure``).
    Returns "image", "stage", "network" (the label), "channel_mean" and "spatial" as (H, W)
    tensors, "shape" (H, W), the rounded "min", "max" of this map, "vmin", "vmax" of the
    colour scale, "statistics" ("fresh" or "measured" BatchNorm statistics) and "figure".
    """
    check_stage(stage)
    chosen, label = pick_network(model, network)
    names, pictures = explorer_inputs(images)
    check_input_name(image_name, names)
    index = names.index(image_name)
    # the network runs once per network and inputs, not on every move
    maps = remembered(spatial_maps_by_stage, chosen, normalize(pictures))[stage]
    mean_map = maps["channel_mean"][index, 0]
    spatial = maps["spatial"][index, 0]
    lo, hi = round(spatial.min().item(), 4), round(spatial.max().item(), 4)
    # One scale for every input: 0 (the ReLU's floor) to this network's largest value here.
    vmax = max(float(maps["spatial"].max()), 1e-6)

    fig = projector_figure(prepare_figure(fig, FIGURE_SIZE), FIGURE_SIZE)
    axes = fig.subplots(1, 2)
    show_image(axes[0], pictures[index], image_name)
    flat = " (flat)" if hi == lo else ""
    artist = show_map(axes[1], spatial, pictures.shape[-2:], "magma", 0.0, vmax)
    axes[1].set_title(
        f"stage {stage}: spatial map{flat}\n{tuple(spatial.shape)}, {lo:.3g} .. {hi:.3g}",
        fontsize=10,
    )
    fig.subplots_adjust(top=0.8)  # room for the title above the two-line panel titles
    fig.colorbar(artist, ax=list(axes), fraction=0.05, pad=0.03, label="spatial map")
    fig.suptitle(f"HA-CNN stage {stage}, {label}", fontsize=10)
    return {
        "image": image_name,
        "stage": stage,
        "network": label,
        "channel_mean": mean_map,
        "spatial": spatial,
        "shape": tuple(spatial.shape),
        "min": lo,
        "max": hi,
        "vmin": 0.0,
        "vmax": vmax,
        "statistics": "measured" if has_measured_statistics(chosen) else "fresh",
        "figure": fig,
    }
