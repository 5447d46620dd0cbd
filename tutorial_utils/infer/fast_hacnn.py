"""HA-CNN for inference: folded BatchNorm, merged convs, fused soft attention, batched stripes.

Every change computes the same function as ``HACNN.eval()`` (up to float rounding):
- BatchNorm folded into the conv or Linear before it;
- InceptionA's three 1x1 convs, which read the same input, run as one conv (outputs stacked),
  and its three parallel 3x3 convs as one grouped conv;
- soft attention as in ``fast_soft``, its product with the features written in the
  same pass as the gate;
- the four stripes of a stage cropped with one grid_sample and run through the shared local
  convs in one call (eval BatchNorm uses running statistics, so batching changes nothing).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ..hacnn.blocks import InceptionA, InceptionB
from ..hacnn.model import HACNN, NUM_REGIONS, check_hacnn_input
from .eval_only import EvalOnly
from .fast_soft import FastHarmoniousAttention, soft_gate
from .fold import FoldedConvReLU, concat_folded, fold_linear, grouped_folded
from .separable_crop import crop_region_separable


def hacnn_for_compiler(model: HACNN) -> HACNN:
    """The form of an eval HACNN that torch.compile (inductor, freezing) makes fastest.

    Changes ``model`` in place and returns it, eval-only: its three HarmoniousAttention
    modules become FastHarmoniousAttention (rank-1 soft attention, BatchNorm folded, one
    channel mean shared by both branches), and its stripes are cropped by
    ``crop_region_separable`` (two weighted gathers instead of a full-size grid_sample and a
    resize; it needs the diagonal stripe scale HA-CNN has). Everything else keeps HACNN's own
    forward:
    with freezing, inductor folds BatchNorm and prepacks the conv weights itself, and the
    batched stripes of FastHACNN compiled to slower code than HACNN's four separate crops.
    (N, 3, H, W) -> (N, 2 * feat_dim) features, as ``HACNN.eval()``.
    """
    model.eval()
    for name in ("ha1", "ha2", "ha3"):
        setattr(model, name, FastHarmoniousAttention(getattr(model, name), blocked=False))
    if model.learn_region:
        scale = model.region_scale
        if scale[0, 1] != 0 or scale[1, 0] != 0:
            raise ValueError(
                "hacnn_for_compiler crops stripes by rows and columns, which needs a diagonal "
                f"region_scale; got {scale.tolist()}"
            )
        model.stripe_crop = crop_region_separable  # HACNN's hook for the crop function
    return model.requires_grad_(False)


class FastInceptionA(nn.Module):
    """InceptionA with its three 1x1 convs as one and its three 3x3 convs as one grouped conv.

    (N, C_in, H, W) -> (N, C_out, H, W), channel order as InceptionA.
    """

    def __init__(self, block: InceptionA) -> None:
        super().__init__()
        streams = (block.stream1, block.stream2, block.stream3)
        self.reduce = concat_folded([s[0] for s in streams])
        self.spread = grouped_folded([s[1] for s in streams])
        self.pool = copy.deepcopy(block.stream4[0])  # stateless, but never share a submodule
        self.pool_conv = FoldedConvReLU.from_block(block.stream4[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.spread(self.reduce(x)), self.pool_conv(self.pool(x))], dim=1)


class FastInceptionB(nn.Module):
    """InceptionB with BatchNorm folded: (N, C_in, H, W) -> (N, C_out, ceil(H / 2), ceil(W / 2)).

    Its two 1x1 convs are kept apart: merged, their outputs would have to be sliced apart
    again, and a channel slice is not contiguous, so each conv after it would copy it.
    """

    def __init__(self, block: InceptionB) -> None:
        super().__init__()
        self.stream1 = nn.Sequential(*(FoldedConvReLU.from_block(b) for b in block.stream1))
        self.stream2 = nn.Sequential(*(FoldedConvReLU.from_block(b) for b in block.stream2))
        self.pool = copy.deepcopy(block.stream3[0])
        self.pool_conv = FoldedConvReLU.from_block(block.stream3[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.stream1(x), self.stream2(x), self.pool_conv(self.pool(x))], dim=1)


def crop_stripes(
    x: torch.Tensor, translations: torch.Tensor, scale: torch.Tensor, out_size: tuple[int, int]
) -> torch.Tensor:
    """All T stripes of x in one grid_sample.

    x (N, C, H, W), translations (N, T, 2), scale (2, 2) -> (T * N, C, *out_size), region-major
    (rows t*N ... t*N + N - 1 are region t), each equal to ``crop_region`` of that region.
    """
    if x.dtype == torch.bfloat16:
        # grid_sample on a channels-last bfloat16 CPU tensor returned NaNs in about one call
        # in three (torch 2.14.1, uninitialised memory); on NCHW it does not. The copy is small.
        x = x.contiguous()
    n, c, h, w = x.shape
    t = translations.shape[1]
    theta = torch.cat(
        [
            scale.to(translations).expand(n, t, 2, 2),
            translations.unsqueeze(-1),
        ],
        dim=3,
    )  # (N, T, 2, 3)
    grid = F.affine_grid(theta.reshape(n * t, 2, 3), [n * t, c, h, w], align_corners=False)
    grid = grid.view(n, t * h, w, 2)  # the T grids stacked along the height
    sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    sampled = sampled.view(n, c * t, h, w)  # (N, C, T*H, W) seen as C*T maps of H x W
    resized = F.interpolate(sampled, size=out_size, mode="bilinear", align_corners=True)
    resized = resized.view(n, c, t, *out_size).permute(2, 0, 1, 3, 4)
    return resized.reshape(t * n, c, *out_size)


class FastHACNN(EvalOnly):
    """Eval-only HA-CNN: (N, 3, H, W) -> (N, 2 * feat_dim) features, as ``HACNN.eval()``.

    (H, W) is the model's ``input_size`` (160 x 64 unless it was built for another).
    """

    trains_instead = "HACNN"

    def __init__(self, model: HACNN, blocked: bool = True, channels_last: bool = False) -> None:
        super().__init__()
        self.learn_region = model.learn_region
        self.input_size = model.input_size
        self.stripe_sizes = model.stripe_sizes
        self.channels_last = channels_last
        self.stem = FoldedConvReLU.from_block(model.conv)
        self.inceptions = nn.ModuleList(
            nn.Sequential(FastInceptionA(inc[0]), FastInceptionB(inc[1]))
            for inc in (model.inception1, model.inception2, model.inception3)
        )
        self.attentions = nn.ModuleList(
            FastHarmoniousAttention(ha, blocked) for ha in (model.ha1, model.ha2, model.ha3)
        )
        self.fc_global = fold_linear(model.fc_global[0], model.fc_global[1])
        if self.learn_region:
            self.register_buffer("region_scale", model.region_scale.detach().clone())
            self.local_convs = nn.ModuleList(
                FastInceptionB(b) for b in (model.local_conv1, model.local_conv2, model.local_conv3)
            )
            self.fc_local = fold_linear(model.fc_local[0], model.fc_local[1])
        if channels_last:
            self.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_hacnn_input(x, where="FastHACNN", input_size=self.input_size)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        stage_input = self.stem(x)
        local = None
        for k in range(3):
            features = self.inceptions[k](stage_input)
            attention = self.attentions[k]
            s, v, channel_mean = attention.soft.gate_parts(features)
            out = soft_gate(s, v, attention.soft.mix_b, x=features, blocked=attention.blocked)
            if self.learn_region:
                translations = attention.translations(channel_mean)
                stripes = crop_stripes(
                    stage_input, translations, self.region_scale, self.stripe_sizes[k]
                )
                if local is not None:
                    stripes = stripes + local
                local = self.local_convs[k](stripes)
            if self.channels_last:
                out = out.contiguous(memory_format=torch.channels_last)
            stage_input = out
        x_global = F.relu(self.fc_global(stage_input.mean(dim=(2, 3))))
        if local is None:
            return x_global
        n = x.shape[0]
        pooled = local.mean(dim=(2, 3)).view(NUM_REGIONS, n, -1).permute(1, 0, 2).reshape(n, -1)
        x_local = F.relu(self.fc_local(pooled))
        return torch.cat([F.normalize(x_global, dim=1), F.normalize(x_local, dim=1)], dim=1)
