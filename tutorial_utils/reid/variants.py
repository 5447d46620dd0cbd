"""HA-CNN's ablation and the attention experiments, built from ``tutorial_utils.HACNN`` unchanged.

| variant      | soft attention | local branch (hard attention) |
|--------------|----------------|-------------------------------|
| "global"     | no             | no                            |
| "soft"       | yes            | no                            |
| "hard"       | no             | yes                           |
| "harmonious" | yes            | yes (the full HA-CNN)         |

``gate="full"`` (an experiment, not in the paper) lets the soft gate reach (0, 1) instead of
[0.5, 1): the ReLU before the sigmoid goes, so the gate can close on the background rather
than at most halve it. The state_dict keys stay those of HA-CNN.

"No soft attention" swaps each stage's ``ha{i}.soft_attn`` for a module that returns ones,
so the stage output ``x * soft_map`` is ``x``. "No local branch" is ``learn_region=False``;
its stripe predictors ``ha{i}.hard_attn`` would then be unused, so they are swapped for a
module that returns the fixed initial stripes (no parameters). The swapped-out parts leave
the state_dict, so parameter counts are honest and checkpoints load with ``strict=True``.

The attention experiments (lesson 10b) are one change each from the full HA-CNN
(``harmonious``), listed in ``EXPERIMENTS`` with what they change: the gate's form, what it
sees, a pooling bottleneck, a loss that teaches it, the data, the stripe predictor; and two
controls. ``variant_spec(name)`` gives one entry; the parts are in ``attention_variants``, the
teaching losses in ``supervision``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..common.tracing import count_parameters
from ..hacnn.hard_attention import default_stripe_centres
from ..hacnn.model import HACNN
from .attention_variants import (
    LinearConvBlock,
    ResidualGate,
    SoftmaxPoolingMap,
    SpatialOnlyGate,
    conv_localisation_like,
)

VARIANTS = ("global", "soft", "hard", "harmonious")  # the paper's ablation
GATES = ("half", "full")
STAGE_ATTENTION = ("ha1", "ha2", "ha3")


@dataclass(frozen=True)
class VariantSpec:
    """What a variant builds and how it trains.

    soft: "gate" (HA-CNN's), "none", "residual", "spatial_only" or "pooling" (stage 3 only);
    local: "learned" (HA-CNN's stripe predictor), "none" (no local branch), "fixed" (the
    initial stripes, never moved) or "conv" (ConvLocalisation); full_gate: no ReLU before
    the sigmoid; mask_loss, stripe_loss: weights of the teaching losses (``supervision``);
    data_options: added to the run's data options; match_parameters: widen the network until
    its parameters match the full HA-CNN's at the same settings; stripes_taught_only: the
    stripes move by the stripe loss alone, not by re-identification's (``supervision``).
    """

    summary: str
    soft: str = "gate"
    local: str = "learned"
    full_gate: bool = False
    mask_loss: float = 0.0
    stripe_loss: float = 0.0
    data_options: dict[str, Any] = field(default_factory=dict)
    match_parameters: bool = False
    stripes_taught_only: bool = False


_SPECS: dict[str, VariantSpec] = {
    "global": VariantSpec("no soft attention, no local branch", soft="none", local="none"),
    "soft": VariantSpec("soft attention only", local="none"),
    "hard": VariantSpec("local branch only", soft="none"),
    "harmonious": VariantSpec("HA-CNN: soft attention and the local branch"),
    # The attention experiments: one change each from "harmonious".
    "full_gate": VariantSpec("gate without the ReLU before the sigmoid: (0, 1)", full_gate=True),
    "residual_gate": VariantSpec("residual gate x * (1 + M), M in (0, 1)", soft="residual"),
    "spatial_only": VariantSpec("gate from the spatial map alone", soft="spatial_only"),
    "attention_pooling": VariantSpec(
        "no gates; stage 3 pooled by a softmax over positions", soft="pooling"
    ),
    "taught_gate": VariantSpec("gate taught the person masks (a loss: taught)", mask_loss=1.0),
    "confusing_backgrounds": VariantSpec(
        "passers-by in every image, dressed as other identities",
        data_options={"distractors": 1.0, "distractor_looks": "identities"},
    ),
    "conv_stripes": VariantSpec("stripes predicted from the map's layout", local="conv"),
    "taught_stripes": VariantSpec(
        "conv stripes taught the person's box alone (a loss: taught)",
        local="conv",
        # The offsets spread about 0.14: at weight 1 the loss hardly moved the stripes.
        stripe_loss=10.0,
        stripes_taught_only=True,
    ),
    "global_matched": VariantSpec(
        "control: global only, widened to HA-CNN's parameters",
        soft="none",
        local="none",
        match_parameters=True,
    ),
    "fixed_stripes": VariantSpec("control: stripes fixed at their initial layout", local="fixed"),
}
EXPERIMENTS = tuple(name for name in _SPECS if name not in VARIANTS)
ALL_VARIANTS = VARIANTS + EXPERIMENTS


class NoSoftAttention(nn.Module):
    """(N, C, H, W) -> ones (N, C, H, W): the stage keeps its features unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)


class FixedRegions(nn.Module):
    """(N, C, H, W) -> (N, T, 2) translations that ignore the input, top down.

    ``initial=False``: the equal stripes (centres -0.75 ... 0.75 for T = 4), where a network
    without a local branch never uses them. ``initial=True``: where HA-CNN's HardAttention
    puts them before training, tanh of those centres (its bias; weights zero), the control
    ``fixed_stripes`` keeps them at.
    """

    def __init__(self, num_regions: int = 4, initial: bool = False) -> None:
        super().__init__()
        centres = default_stripe_centres(num_regions)
        if initial:
            centres = torch.tanh(centres)
        translations = torch.stack([torch.zeros(num_regions), centres], dim=1)  # (T, 2)
        self.register_buffer("translations", translations, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.translations.to(x.dtype).expand(x.shape[0], -1, -1)


def check_variant(variant: str) -> str:
    """Return ``variant`` if it names one of ALL_VARIANTS, else raise naming the choices."""
    if variant not in _SPECS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(ALL_VARIANTS)}")
    return variant


def variant_spec(variant: str) -> VariantSpec:
    """What ``variant`` builds and how it trains (see VariantSpec)."""
    return _SPECS[check_variant(variant)]


def build_model(
    num_classes: int,
    nchannels: tuple[int, int, int] = (128, 256, 384),
    feat_dim: int = 512,
    variant: str = "harmonious",
    gate: str = "half",
) -> HACNN:
    """An HACNN with the parts ``variant`` changes replaced (see the module docstring).

    ``gate="full"`` removes the ReLU before every stage's sigmoid, whatever the variant.
    """
    spec = variant_spec(variant)
    if gate not in GATES:
        raise ValueError(f"unknown gate {gate!r}; expected one of {', '.join(GATES)}")
    if spec.match_parameters:
        # A tuple: the widths are cached by their settings, and a list cannot be a key.
        nchannels, feat_dim = matched_widths(num_classes, tuple(nchannels), feat_dim)
    model = HACNN(
        num_classes,
        nchannels=tuple(nchannels),
        feat_dim=feat_dim,
        learn_region=spec.local != "none",
    )
    height, width = model.input_size
    for stage, name in enumerate(STAGE_ATTENTION):
        harmonious = getattr(model, name)
        soft = harmonious.soft_attn
        if spec.soft == "none" or (spec.soft == "pooling" and stage < 2):
            harmonious.soft_attn = NoSoftAttention()
        elif spec.soft == "pooling":
            harmonious.soft_attn = SoftmaxPoolingMap(soft.in_channels)
        elif spec.soft == "residual":
            harmonious.soft_attn = ResidualGate(soft)
        elif spec.soft == "spatial_only":
            harmonious.soft_attn = SpatialOnlyGate(soft)
        if (gate == "full" or spec.full_gate) and spec.soft in ("gate", "spatial_only"):
            # sigmoid(BN(conv(.))) spans (0, 1): the ReLU no longer clips the logit at 0.
            target = harmonious.soft_attn
            target.conv = LinearConvBlock(target.conv)
        if spec.local in ("none", "fixed"):
            num_regions = harmonious.hard_attn.num_regions
            harmonious.hard_attn = FixedRegions(num_regions, initial=spec.local == "fixed")
        elif spec.local == "conv":
            # Every stage pools to the last stage's grid, 1 / 16 of the image on each side.
            grid = (height // 16, width // 16)
            harmonious.hard_attn = conv_localisation_like(harmonious.hard_attn, grid)
    return model


@functools.lru_cache(maxsize=16)
def matched_widths(
    num_classes: int, nchannels: tuple[int, int, int], feat_dim: int
) -> tuple[tuple[int, int, int], int]:
    """Stage widths (multiples of 16) and a feature size at which the global-only network has
    about as many parameters (without classifiers) as the full HA-CNN at ``nchannels`` and
    ``feat_dim``: the control that asks whether attention helps, or only its parameters do.

    The widths are the nchannels scaled up as far as they stay under the target; the feature
    size then closes the gap (fc_global has c3 + 3 parameters per feature).
    """

    def global_parameters(widths: tuple[int, int, int], features: int) -> int:
        model = HACNN(num_classes, widths, features, learn_region=False)
        for name in STAGE_ATTENTION:
            getattr(model, name).soft_attn = NoSoftAttention()
            getattr(model, name).hard_attn = FixedRegions()
        return parameter_count(model)

    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        target = parameter_count(HACNN(num_classes, tuple(nchannels), feat_dim))
        widths = tuple(nchannels)
        # Distinct widths in growing order; parameters grow with them, so stop at the first
        # that overshoots.
        candidates = dict.fromkeys(
            tuple(max(16, 16 * round(c * percent / 1600)) for c in nchannels)
            for percent in range(101, 401)
        )
        for wider in candidates:
            if wider == widths:
                continue
            if global_parameters(wider, feat_dim) > target:
                break
            widths = wider
        gap = target - global_parameters(widths, feat_dim)
    return widths, feat_dim + round(gap / (widths[2] + 3))  # type: ignore[return-value]


def gate_range(variant: str, gate: str = "half") -> tuple[float, float]:
    """(low, high): the values ``variant``'s soft maps can take; (1, 1) without soft attention.

    HA-CNN's gate [0.5, 1); (0, 1) without the ReLU; the residual multiplier (1, 2); the
    pooling weights average 1 and have no fixed top: (0, inf).
    """
    spec = variant_spec(variant)
    if spec.soft == "none":
        return 1.0, 1.0
    if spec.soft == "residual":
        return 1.0, 2.0
    if spec.soft == "pooling":
        return 0.0, float("inf")
    return (0.0, 1.0) if spec.full_gate or gate == "full" else (0.5, 1.0)


def has_soft_attention(variant: str) -> bool:
    return variant_spec(variant).soft != "none"


def has_local_branch(variant: str) -> bool:
    return variant_spec(variant).local != "none"


def parameter_count(model: nn.Module) -> int:
    """Parameters without the identity classifiers (they depend on the number of training ids)."""
    return count_parameters(model, exclude_prefixes=("classifier_",))
