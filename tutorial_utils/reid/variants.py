"""The four models of HA-CNN's ablation, built from ``tutorial_utils.HACNN`` without changing it.

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
"""

from __future__ import annotations

import torch
from torch import nn

from ..common.tracing import count_parameters
from ..hacnn.hard_attention import default_stripe_centres
from ..hacnn.model import HACNN

VARIANTS = ("global", "soft", "hard", "harmonious")
GATES = ("half", "full")
_HAS_SOFT = {"global": False, "soft": True, "hard": False, "harmonious": True}
_HAS_LOCAL = {"global": False, "soft": False, "hard": True, "harmonious": True}
STAGE_ATTENTION = ("ha1", "ha2", "ha3")


class NoSoftAttention(nn.Module):
    """(N, C, H, W) -> ones (N, C, H, W): the stage keeps its features unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)


class FixedRegions(nn.Module):
    """(N, C, H, W) -> (N, T, 2) translations that ignore the input: equal stripes, top down."""

    def __init__(self, num_regions: int = 4) -> None:
        super().__init__()
        centres = default_stripe_centres(num_regions)
        translations = torch.stack([torch.zeros(num_regions), centres], dim=1)  # (T, 2)
        self.register_buffer("translations", translations, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.translations.to(x.dtype).expand(x.shape[0], -1, -1)


class LinearConvBlock(nn.Module):
    """A ConvBlock without its ReLU: (N, C, H, W) -> (N, C', H', W'), conv then BatchNorm.

    Keeps the block's ``conv`` and ``bn`` children, so the state_dict keys do not change.
    """

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conv = block.conv
        self.bn = block.bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


def check_variant(variant: str) -> str:
    """Return ``variant`` if it names one of VARIANTS, else raise naming the choices."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    return variant


def build_model(
    num_classes: int,
    nchannels: tuple[int, int, int] = (128, 256, 384),
    feat_dim: int = 512,
    variant: str = "harmonious",
    gate: str = "half",
) -> HACNN:
    """An HACNN with the parts ``variant`` leaves out replaced (see the module docstring)."""
    check_variant(variant)
    if gate not in GATES:
        raise ValueError(f"unknown gate {gate!r}; expected one of {', '.join(GATES)}")
    model = HACNN(
        num_classes, nchannels=tuple(nchannels), feat_dim=feat_dim, learn_region=_HAS_LOCAL[variant]
    )
    for name in STAGE_ATTENTION:
        harmonious = getattr(model, name)
        if not _HAS_SOFT[variant]:
            harmonious.soft_attn = NoSoftAttention()
        elif gate == "full":
            # sigmoid(BN(conv(.))) spans (0, 1): the ReLU no longer clips the logit at 0.
            harmonious.soft_attn.conv = LinearConvBlock(harmonious.soft_attn.conv)
        if not _HAS_LOCAL[variant]:
            harmonious.hard_attn = FixedRegions(harmonious.hard_attn.num_regions)
    return model


def has_soft_attention(variant: str) -> bool:
    return _HAS_SOFT[check_variant(variant)]


def has_local_branch(variant: str) -> bool:
    return _HAS_LOCAL[check_variant(variant)]


def parameter_count(model: nn.Module) -> int:
    """Parameters without the identity classifiers (they depend on the number of training ids)."""
    return count_parameters(model, exclude_prefixes=("classifier_",))
