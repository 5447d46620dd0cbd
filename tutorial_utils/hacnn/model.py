"""HA-CNN (Li, Zhu, Gong, CVPR 2018) as torchreid's ``hacnn.py`` builds it, on one page.

Submodule names are torchreid's, so its checkpoints load with ``strict=True`` and give the
same outputs. Differences: no deprecated calls, explicit ``align_corners``, theta built on
the input's device, and clear errors for bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..common.validation import check_dtype, check_feature_map, check_positive_int, is_int
from .blocks import ConvBlock, InceptionA, InceptionB
from .hard_attention import crop_region, region_theta
from .harmonious import HarmoniousAttention

INPUT_SIZE = (160, 64)  # (H, W) the default, torchreid's and the paper's
NUM_REGIONS = 4
STRIPE_SIZES = ((24, 28), (12, 14), (6, 7))  # torchreid's stripe sizes at 160 x 64
# The stage-1 stripe size at INPUT_SIZE; the stripe-size rule scales it with the input.
STAGE1_STRIPE = STRIPE_SIZES[0]
WIDTH_STEP = 16  # and the width a multiple of this


def _layer_output_size(layer: nn.Module, size: tuple[int, int]) -> tuple[int, int]:
    """The (h, w) a Conv2d or pooling layer makes of (h, w), from its own settings."""

    def pair(value: int | tuple[int, ...]) -> tuple[int, int]:
        return (value, value) if isinstance(value, int) else (value[0], value[1])

    kernel, stride, padding = pair(layer.kernel_size), pair(layer.stride), pair(layer.padding)
    dilation = pair(getattr(layer, "dilation", 1))  # AvgPool2d has none
    ceil_mode = getattr(layer, "ceil_mode", False)
    out = []
    for length, k, s, p, d in zip(size, kernel, stride, padding, dilation, strict=True):
        span = length + 2 * p - d * (k - 1) - 1
        out.append((span + (s - 1 if ceil_mode else 0)) // s + 1)
    return out[0], out[1]


def block_output_size(block: nn.Module, size: tuple[int, int]) -> tuple[int, int]:
    """The (h, w) a block makes of an (h, w) map, worked out from its layers' own settings.

    Conv2d and pooling layers use the output-size formula
    floor((h + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1; children named
    ``stream*`` (the Inception units) run side by side and must agree, as they must for their
    outputs to be concatenated; any other children run one after another; BatchNorm, ReLU and
    the like keep the size. For InceptionB this is (ceil(h / 2), ceil(w / 2)).
    """
    if isinstance(block, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        return _layer_output_size(block, size)
    children = dict(block.named_children())
    streams = [m for name, m in children.items() if name.startswith("stream")]
    if not streams:
        for child in children.values():
            size = block_output_size(child, size)
        return size
    sizes = {block_output_size(stream, size) for stream in streams}
    if len(sizes) != 1:
        raise ValueError(
            f"the streams of {type(block).__name__} give different sizes {sorted(sizes)} "
            f"for an input of {size[0]} x {size[1]}; they cannot be concatenated"
        )
    return sizes.pop()


def check_input_size(input_size: object) -> tuple[int, int]:
    """Return ``input_size`` as (H, W) if HA-CNN's stripe-size rule serves it, else raise.

    Served: H a positive multiple of 32 and W a positive multiple of 16, e.g. 160 x 64,
    256 x 128, 384 x 128, 224 x 96. The stem and three InceptionBs halve the map four times,
    so multiples of 16 make every stage's map exactly 1/2, 1/4, 1/8, 1/16 of the image (no
    rounded-up row or column overhanging it), and the height must also split the stage-3
    input (H / 8 rows) into NUM_REGIONS = 4 stripes of whole rows: 8 * 4 = 32.
    """
    if (
        not isinstance(input_size, tuple | list)
        or len(input_size) != 2
        or not all(is_int(v) for v in input_size)
    ):
        raise ValueError(f"input_size must be a pair of integers (H, W), got {input_size!r}")
    height, width = input_size
    height_step = 8 * NUM_REGIONS
    problems = []
    if height < height_step or height % height_step:
        problems.append(
            f"the height a positive multiple of {height_step} (the stage-3 input, H / 8 rows, "
            f"is split into {NUM_REGIONS} stripes of whole rows)"
        )
    if width < WIDTH_STEP or width % WIDTH_STEP:
        problems.append(
            f"the width a positive multiple of {WIDTH_STEP} (the network halves the map four times)"
        )
    if problems:
        raise ValueError(
            f"HACNN cannot take input_size = {height} x {width}: expected "
            + " and ".join(problems)
            + f", e.g. {INPUT_SIZE[0]} x {INPUT_SIZE[1]} or 256 x 128"
        )
    return height, width


def stripe_sizes(input_size: tuple[int, int] = INPUT_SIZE) -> tuple[tuple[int, int], ...]:
    """The stripe size (h, w) each stage's local branch resizes its crops to, for an input size.

    The rule: stage 1's stripe is torchreid's 24 x 28 scaled with the input,
    (round(24 * H / 160), 28 * W / 64); each later stage's stripe is the size the shared
    local InceptionB turns the previous stripe into, (ceil(h / 2), ceil(w / 2)), because
    the previous stage's local output is added to it. At 160 x 64 this gives torchreid's
    (24, 28), (12, 14), (6, 7); at 256 x 128, (38, 56), (19, 28), (10, 14).
    Raises ValueError for a size ``check_input_size`` does not serve.
    """
    height, width = check_input_size(input_size)
    # round half up in integers; with H a multiple of 32 the half never occurs
    h1 = (2 * STAGE1_STRIPE[0] * height + INPUT_SIZE[0]) // (2 * INPUT_SIZE[0])
    w1 = (2 * STAGE1_STRIPE[1] * width + INPUT_SIZE[1]) // (2 * INPUT_SIZE[1])
    sizes = [(h1, w1)]
    # The size arithmetic does not depend on the channel counts. Built on the meta device and
    # under a forked generator: initialising real weights would draw from the global random
    # generator and change every seeded network built after this call.
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        probe = InceptionB(4, 4)
    for _ in range(2):
        sizes.append(block_output_size(probe, sizes[-1]))
    return tuple(sizes)


def check_hacnn_input(
    x: torch.Tensor, where: str = "HACNN", input_size: tuple[int, int] = INPUT_SIZE
) -> None:
    """Raise a clear error unless ``x`` is a float (N, 3, H, W) batch of ``input_size``."""
    check_feature_map(x, 3, where=where)
    got = (int(x.shape[-2]), int(x.shape[-1]))
    if got != tuple(input_size):
        height, width = input_size
        try:
            check_input_size(got)
            other = f", or build the model for it: HACNN(..., input_size={got})"
        except ValueError:
            other = ""
        raise ValueError(
            f"{where} expects images of height x width = {height} x {width}, "
            f"got {got[0]} x {got[1]}; resize first, "
            f"e.g. F.interpolate(x, size=({height}, {width})){other}"
        )


@dataclass
class StageRecord:
    """What one stage computed: its input, its features, the soft map, the translations and the
    region thetas built from them (None without the local branch, ``learn_region=False``)."""

    stage_input: torch.Tensor  # (N, C_in, H_in, W_in), the map the stripes are cropped from
    features: torch.Tensor  # (N, C, H, W), Inception output before attention
    soft_map: torch.Tensor  # (N, C, H, W), in [0.5, 1)
    translations: torch.Tensor  # (N, T, 2), (tx, ty) per region
    theta: torch.Tensor | None  # (N, T, 2, 3), full affine matrices; None: no local branch


class HACNN(nn.Module):
    """Harmonious Attention CNN for person re-identification.

    (N, 3, H, W) -> eval: (N, 2 * feat_dim) features, each half L2-normalised
    (only feat_dim without the local branch); train: (global logits, local logits), each
    (N, num_classes) (only global logits without the local branch).

    ``input_size`` (H, W) is 160 x 64 by default, as in the paper and torchreid; other sizes
    (H a multiple of 32, W of 16, e.g. 256 x 128) change only the stripe sizes the local
    branch resizes its crops to (see ``stripe_sizes``), not the parameters or the
    state_dict, so the same weights load at any size.

    Input: images standardised with ImageNet's mean and std (``common.images.normalize``), as
    torchreid trains it, not raw [0, 1] pixels; the data sets give [0, 1] unless built with
    ``normalize=True``. The dtype must be the weights' (float32 unless the model was
    converted): other dtypes are refused with a TypeError naming the fix, never converted.
    In train mode a batch needs at least 2 images (BatchNorm on 1 x 1 maps).
    """

    def __init__(
        self,
        num_classes: int,
        nchannels: tuple[int, int, int] = (128, 256, 384),
        feat_dim: int = 512,
        learn_region: bool = True,
        input_size: tuple[int, int] = INPUT_SIZE,
    ) -> None:
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(feat_dim, "feat_dim")
        if not isinstance(nchannels, tuple | list) or len(nchannels) != 3:
            raise ValueError(f"nchannels must have 3 entries (one per stage), got {nchannels!r}")
        for stage, channels in enumerate(nchannels, start=1):
            check_positive_int(channels, f"nchannels[{stage - 1}] (stage {stage}'s channels)")
        c1, c2, c3 = nchannels
        self.learn_region = learn_region
        # The function that crops one stripe, (x, theta, out_size) -> stripe. A compiled form
        # may choose an equal one (infer's hacnn_for_compiler does); the method stays HACNN's.
        self.stripe_crop: Callable[[torch.Tensor, torch.Tensor, tuple[int, int]], torch.Tensor] = (
            crop_region
        )
        self.input_size = check_input_size(input_size)
        self.stripe_sizes = stripe_sizes(self.input_size)  # plain ints, nothing to save
        self.conv = ConvBlock(3, 32, 3, stride=2, padding=1)

        self.inception1 = nn.Sequential(InceptionA(32, c1), InceptionB(c1, c1))
        self.ha1 = HarmoniousAttention(c1, num_regions=NUM_REGIONS)
        self.inception2 = nn.Sequential(InceptionA(c1, c2), InceptionB(c2, c2))
        self.ha2 = HarmoniousAttention(c2, num_regions=NUM_REGIONS)
        self.inception3 = nn.Sequential(InceptionA(c2, c3), InceptionB(c3, c3))
        self.ha3 = HarmoniousAttention(c3, num_regions=NUM_REGIONS)

        self.fc_global = nn.Sequential(nn.Linear(c3, feat_dim), nn.BatchNorm1d(feat_dim), nn.ReLU())
        self.classifier_global = nn.Linear(feat_dim, num_classes)

        if learn_region:
            # Fixed stripe scale: full width, 1/T of the height. Not a parameter, not saved.
            scale = torch.tensor([[1.0, 0.0], [0.0, 1.0 / NUM_REGIONS]])
            self.register_buffer("region_scale", scale, persistent=False)
            self.local_conv1 = InceptionB(32, c1)
            self.local_conv2 = InceptionB(c1, c2)
            self.local_conv3 = InceptionB(c2, c3)
            self.fc_local = nn.Sequential(
                nn.Linear(c3 * NUM_REGIONS, feat_dim), nn.BatchNorm1d(feat_dim), nn.ReLU()
            )
            self.classifier_local = nn.Linear(feat_dim, num_classes)
        self.feat_dim = feat_dim * 2 if learn_region else feat_dim

    def _stages(
        self,
    ) -> list[tuple[nn.Module, HarmoniousAttention, nn.Module | None, tuple[int, int]]]:
        local = (
            (self.local_conv1, self.local_conv2, self.local_conv3)
            if self.learn_region
            else (None,) * 3
        )
        return list(
            zip(
                (self.inception1, self.inception2, self.inception3),
                (self.ha1, self.ha2, self.ha3),
                local,
                self.stripe_sizes,
                strict=True,
            )
        )

    def crop_stripe(
        self, x: torch.Tensor, theta: torch.Tensor, out_size: tuple[int, int]
    ) -> torch.Tensor:
        """One region for the local branch: x (N, C, H, W), theta (N, 2, 3) -> (N, C, *out_size).

        ``self.stripe_crop``: ``crop_region`` unless a compiled form chose an equal function.
        """
        return self.stripe_crop(x, theta, out_size)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error unless ``x`` is a float (N, 3, H, W) batch of ``input_size``,
        of the weights' dtype, and (while any BatchNorm trains) of at least 2 images."""
        check_hacnn_input(x, input_size=self.input_size)
        check_dtype(x, self.conv.conv.weight.dtype, where="HACNN")
        # Train mode with frozen BatchNorm (Grad-CAM's classifier mode) takes one image.
        if (
            x.shape[0] < 2
            and self.training
            and any(
                m.training for m in self.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)
            )
        ):
            raise ValueError(
                f"HACNN in train mode needs a batch of at least 2 images (BatchNorm normalises "
                f"1 x 1 maps over the batch), got a batch of {x.shape[0]}; call model.eval() "
                "to embed one image"
            )

    def forward_features(
        self, x: torch.Tensor, records: list[StageRecord] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(N, 3, H, W) -> global (N, feat_dim), local (N, feat_dim) or None.

        Pass a list as ``records`` to receive one StageRecord per stage.
        """
        self.check_input(x)
        stage_input = self.conv(x)  # (N, 32, H / 2, W / 2)
        local: list[torch.Tensor | None] = [None] * NUM_REGIONS
        for inception, attention, local_conv, stripe_size in self._stages():
            features = inception(stage_input)
            soft_map, translations = attention(features)
            out = features * soft_map
            theta = None
            if local_conv is not None:
                thetas = []
                for r in range(NUM_REGIONS):
                    theta_r = region_theta(translations[:, r], self.region_scale)
                    stripe = self.crop_stripe(stage_input, theta_r, stripe_size)
                    if local[r] is not None:
                        stripe = stripe + local[r]  # the previous stage's local features
                    local[r] = local_conv(stripe)
                    thetas.append(theta_r)
                theta = torch.stack(thetas, dim=1)
            if records is not None:
                records.append(StageRecord(stage_input, features, soft_map, translations, theta))
            stage_input = out

        x_global = self.fc_global(stage_input.mean(dim=(2, 3)))
        if not self.learn_region:
            return x_global, None
        x_local = self.fc_local(torch.cat([r.mean(dim=(2, 3)) for r in local], dim=1))
        return x_global, x_local

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x_global, x_local = self.forward_features(x)
        if not self.training:
            if x_local is None:
                return x_global
            return torch.cat([F.normalize(x_global, dim=1), F.normalize(x_local, dim=1)], dim=1)
        logits_global = self.classifier_global(x_global)
        if x_local is None:
            return logits_global
        return logits_global, self.classifier_local(x_local)
