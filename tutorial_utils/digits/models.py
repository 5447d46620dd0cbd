"""Four variants of one small CNN for the cluttered-digits experiment (lesson 08).

Every variant takes the full canvas (N, 1, S, S) and returns class logits (N, 10).

* global: a *global stream* alone, no attention (the word ``reid`` uses; "baseline" before).
  It sees the canvas downsampled ``downsample`` times (a 64x64 canvas becomes 16x16; a 24-pixel
  digit shrinks to 6 pixels, below the 8x8 resolution it was drawn at, so detail is lost).
  Three ConvBlocks, global average pool.
* soft: the same global stream with ``SoftAttention`` gating its middle feature map
  (``x * soft_map``, as HA-CNN does after each stage).
* hard: the global stream plus a *glimpse stream*: a localisation head on the middle feature
  map predicts where the digit is, ``crop_region`` cuts a window there from the canvas at
  FULL resolution, and a second small CNN reads it. Both features are concatenated.
* harmonious: both, with the localisation head reading the soft-attended features, so soft
  and hard attention share one feature map, as in HA-CNN.

Why a new localisation head: HA-CNN's ``HardAttention`` predicts translations from globally
average-pooled features. Averaging over all positions throws away *where* things are, so such a
head cannot point at a digit that moves from canvas to canvas (it learns one fixed crop).
``SoftArgmaxLocaliser`` keeps the positions: a 3x3 conv scores every cell of the feature map,
a softmax over all cells turns the scores into a probability map, and the expected (x, y)
under that map (a "soft argmax") is the translation. It is differentiable, always inside the
canvas, and starts as a uniform map, i.e. a centred window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..common.deprecation import warn_moved
from ..common.validation import check_feature_map, check_positive_int
from ..hacnn.blocks import ConvBlock
from ..hacnn.hard_attention import crop_region, region_theta
from ..hacnn.soft_attention import SoftAttention
from .data import NUM_CLASSES

# The vocabulary of reid's variants: "global" is the network without attention.
VARIANTS = ("global", "soft", "hard", "harmonious")
# Two controls that answer "why?" questions about the four: the global network at the attention
# variants' own widths (is a soft model's loss due to fewer parameters?), and the hard variant
# with HA-CNN's pooled localisation head instead of the soft argmax (does the head matter?).
CONTROLS = ("narrow_global", "pooled_hard")
# Old names, accepted with a DeprecationWarning for one release (and read silently from
# checkpoints written with them, such as the shipped one).
RENAMED_VARIANTS = {"baseline": "global", "narrow_baseline": "narrow_global"}
LOCALISERS = ("soft_argmax", "pooled")


def _check_widths(widths: tuple[int, int, int], name: str) -> tuple[int, int, int]:
    if len(widths) != 3:
        raise ValueError(f"{name} must have 3 entries (one per ConvBlock), got {widths!r}")
    for w in widths:
        check_positive_int(w, name)
    return tuple(widths)


class SmallStream(nn.Module):
    """Three ConvBlocks (3x3; the last two stride 2) and a global average pool.

    (N, 1, H, W) -> features (N, w3); ``middle`` returns the (N, w2, H/2, W/2) map after the
    second block, where attention acts, and ``head`` finishes from that map.
    """

    def __init__(self, widths: tuple[int, int, int]) -> None:
        super().__init__()
        w1, w2, w3 = _check_widths(widths, "widths")
        self.conv1 = ConvBlock(1, w1, 3, padding=1)
        self.conv2 = ConvBlock(w1, w2, 3, stride=2, padding=1)
        self.conv3 = ConvBlock(w2, w3, 3, stride=2, padding=1)
        self.out_features = w3

    def middle(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))

    def head(self, m: torch.Tensor) -> torch.Tensor:
        return self.conv3(m).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.middle(x))


class SoftArgmaxLocaliser(nn.Module):
    """Where to look: (N, C, h, w) -> translation (N, 2) as (tx, ty) in (-1, 1).

    Scores each cell with a 3x3 conv, softmax over the h*w cells, expected cell centre in the
    normalised coordinates of ``F.affine_grid`` (align_corners=False: cell j of w has its centre
    at (2j + 1) / w - 1). Weights start at zero, so the first map is uniform: a centred window.
    ``last_map`` keeps the most recent probability map (N, h, w) for plotting.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        self.in_channels = in_channels
        self.score = nn.Conv2d(in_channels, 1, 3, padding=1)
        with torch.no_grad():
            self.score.weight.zero_()
            self.score.bias.zero_()
        self.last_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.in_channels, where="SoftArgmaxLocaliser")
        n, _, h, w = x.shape
        prob = F.softmax(self.score(x).flatten(1), dim=1).view(n, h, w)
        self.last_map = prob.detach()
        ys = (2 * torch.arange(h, device=x.device, dtype=x.dtype) + 1) / h - 1
        xs = (2 * torch.arange(w, device=x.device, dtype=x.dtype) + 1) / w - 1
        tx = (prob.sum(dim=1) * xs).sum(dim=1)  # marginal over rows, then expectation
        ty = (prob.sum(dim=2) * ys).sum(dim=1)
        return torch.stack([tx, ty], dim=1)


class PooledLocaliser(nn.Module):
    """HA-CNN's kind of head: (N, C, h, w) -> (N, 2) translation from globally pooled features.

    Global average pooling, ``Linear(C, 2)``, tanh; zero weights and bias, so every canvas
    starts with a centred window. Pooling forgets positions, so it cannot follow a moving digit.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        self.in_channels = in_channels
        self.fc = nn.Linear(in_channels, 2)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.in_channels, where="PooledLocaliser")
        return torch.tanh(self.fc(x.mean(dim=(2, 3))))


class DigitNet(nn.Module):
    """One CNN, four variants: ``soft`` and ``hard`` switch the two kinds of attention on.

    (N, 1, S, S) -> logits (N, 10). After a forward pass, ``last`` holds what attention did:
    "soft_map" (N, C, S/(2d), S/(2d)), "theta" (N, 2, 3) and "glimpse" (N, 1, g, g).
    """

    def __init__(
        self,
        soft: bool = False,
        hard: bool = False,
        widths: tuple[int, int, int] = (12, 24, 48),
        glimpse_widths: tuple[int, int, int] = (12, 24, 48),
        downsample: int = 4,
        glimpse_scale: float = 0.5,
        glimpse_size: int = 16,
        reduction_rate: int = 8,
        localiser: str = "soft_argmax",
    ) -> None:
        super().__init__()
        if localiser not in LOCALISERS:
            raise ValueError(
                f"unknown localiser {localiser!r}; expected one of {', '.join(LOCALISERS)}"
            )
        check_positive_int(downsample, "downsample")
        check_positive_int(glimpse_size, "glimpse_size")
        if not 0.0 < glimpse_scale <= 1.0:
            raise ValueError(f"glimpse_scale must lie in (0, 1], got {glimpse_scale!r}")
        self.use_soft, self.use_hard = soft, hard
        self.downsample = downsample
        self.glimpse_size = glimpse_size
        self.global_stream = SmallStream(widths)
        features = self.global_stream.out_features
        if soft:
            self.soft_attn = SoftAttention(widths[1], reduction_rate)
        if hard:
            head = SoftArgmaxLocaliser if localiser == "soft_argmax" else PooledLocaliser
            self.localiser = head(widths[1])
            self.glimpse_stream = SmallStream(glimpse_widths)
            self.register_buffer(
                "glimpse_scale", torch.eye(2) * glimpse_scale, persistent=False
            )  # fixed window: glimpse_scale of the canvas side
            features += self.glimpse_stream.out_features
        self.classifier = nn.Linear(features, NUM_CLASSES)
        self.last: dict[str, torch.Tensor] = {}

    @property
    def variant(self) -> str:
        return {(False, False): "global", (True, False): "soft", (False, True): "hard"}.get(
            (self.use_soft, self.use_hard), "harmonious"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, 1, where=f"DigitNet ({self.variant})")
        small = F.avg_pool2d(x, self.downsample)  # (N, 1, S/d, S/d): what the global stream sees
        m = self.global_stream.middle(small)  # (N, w2, S/(2d), S/(2d))
        self.last = {}
        if self.use_soft:
            soft_map = self.soft_attn(m)  # (N, w2, S/(2d), S/(2d)) in [0.5, 1)
            m = m * soft_map
            self.last["soft_map"] = soft_map.detach()
        feats = [self.global_stream.head(m)]  # (N, w3)
        if self.use_hard:
            translation = self.localiser(m)  # (N, 2)
            theta = region_theta(translation, self.glimpse_scale)  # (N, 2, 3)
            size = (self.glimpse_size, self.glimpse_size)
            glimpse = crop_region(x, theta, size)  # (N, 1, g, g), from the FULL canvas
            feats.append(self.glimpse_stream(glimpse))
            self.last["theta"] = theta.detach()
            self.last["glimpse"] = glimpse.detach()
        return self.classifier(torch.cat(feats, dim=1))


def variant_name(name: str) -> str:
    """``name`` in today's vocabulary (VARIANTS + CONTROLS); an old name warns and gives its
    new one, an unknown one is a ValueError naming the choices."""
    if name in RENAMED_VARIANTS:
        new = RENAMED_VARIANTS[name]
        warn_moved(f"the digits variant name {name!r}", repr(new))
        return new
    if name not in VARIANTS + CONTROLS:
        choices = ", ".join(VARIANTS + CONTROLS)
        raise ValueError(f"unknown variant {name!r}; expected one of {choices}")
    return name


def build_variant(name: str, matched_baseline: bool = True) -> DigitNet:
    """The four variants and the two controls. With ``matched_baseline`` the global network is
    widened to about the parameter count of the harmonious model, so extra parameters cannot
    explain a win; "narrow_global" is the global network at the other variants' widths, and
    "pooled_hard" the hard variant with HA-CNN's pooled localisation head."""
    name = variant_name(name)
    if name == "narrow_global":
        return DigitNet()
    if name == "pooled_hard":
        return DigitNet(hard=True, localiser="pooled")
    if name == "global":
        return DigitNet(widths=(20, 36, 64) if matched_baseline else (12, 24, 48))
    return DigitNet(soft=name in ("soft", "harmonious"), hard=name in ("hard", "harmonious"))
