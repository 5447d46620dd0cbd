"""Soft attention for inference: BatchNorm folded, the 1x1 conv applied to a rank-1 product.

Per sample, spatial (H, W) times channel (C,) is the rank-1 map s (x) c, so the C x C conv
of it is s (x) (W c) + b: a C x C matrix times a C-vector instead of a conv over N*C*H*W
values. What is left is memory traffic: read x for two means, write one output.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..common.validation import check_dtype, check_feature_map
from ..hacnn.harmonious import HarmoniousAttention
from ..hacnn.soft_attention import SoftAttention
from .eval_only import EvalOnly
from .fold import fold_conv_bn

# Work on this many bytes of x at a time, so the second look at a block comes from cache: half
# of a last-level cache of 32 MB (docs/performance.md, "Figures behind defaults").
DEFAULT_BLOCK_BYTES = 16 * 1024 * 1024


def _samples_per_block(x: torch.Tensor, block_bytes: int) -> int:
    per_sample = x[0].numel() * x.element_size()
    return max(1, block_bytes // max(per_sample, 1))


def soft_statistics(
    x: torch.Tensor, blocked: bool = True, block_bytes: int = DEFAULT_BLOCK_BYTES
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean over channels (N, 1, H, W) and mean over positions (N, C) of x (N, C, H, W).

    ``blocked`` walks x a few samples at a time: the second mean then reads the block from
    cache, so x crosses the memory bus once. Off, it is two plain reductions (better for
    GPUs, where each is one kernel). Under torch.compile the blocked walk stays eager (a graph
    break): inductor would read x twice, once per reduction.
    """
    dense = x.is_contiguous() or x.is_contiguous(memory_format=torch.channels_last)
    if not blocked or x.device.type != "cpu" or not dense:
        return x.mean(dim=1, keepdim=True), x.mean(dim=(2, 3))
    if torch.compiler.is_compiling():
        return _eager_blocked_statistics()(x, block_bytes)
    return _blocked_statistics(x, block_bytes)


# The compiler-disabled wrapper of _blocked_statistics, made on the first traced call: applying
# torch.compiler.disable at import would load torch._dynamo (about a second) for every user.
_EAGER_WRAPPER: list[Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]] = []


def _eager_blocked_statistics() -> Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]:
    """_blocked_statistics wrapped by torch.compiler.disable (made once, when first traced)."""
    if not _EAGER_WRAPPER:
        _EAGER_WRAPPER.append(torch.compiler.disable(_blocked_statistics))
    return _EAGER_WRAPPER[0]


def _blocked_statistics(x: torch.Tensor, block_bytes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """soft_statistics' blocked walk: (N, C, H, W) -> (N, 1, H, W), (N, C).

    On a contiguous x the channel mean is a matrix product, (1, C) / C times (C, H * W) per
    sample, which BLAS streams faster than a reduction over a strided dimension.
    """
    n, c, h, w = x.shape
    spatial = x.new_empty(n, 1, h, w)
    channel = x.new_empty(n, c)
    step = _samples_per_block(x, block_bytes)
    if x.is_contiguous():
        flat, flat_spatial = x.view(n, c, h * w), spatial.view(n, 1, h * w)
        average = x.new_full((1, c), 1.0 / c)
        for i in range(0, n, step):
            block = flat[i : i + step]
            torch.matmul(average, block, out=flat_spatial[i : i + step])
            torch.mean(block, dim=2, out=channel[i : i + step])
        return spatial, channel
    for i in range(0, n, step):
        block = x[i : i + step]
        torch.mean(block, dim=1, keepdim=True, out=spatial[i : i + step])
        torch.mean(block, dim=(2, 3), out=channel[i : i + step])
    return spatial, channel


def conv3x3_stride2_single(
    m: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """A 3x3, stride 2, padding 1 conv of a one-channel map, as nine strided multiply-adds.

    m (N, 1, H, W), weight (1, 1, 3, 3), bias (1,) -> (N, 1, ceil(H / 2), ceil(W / 2)).
    Equal to ``F.conv2d(m, weight, bias, stride=2, padding=1)``; a general conv library
    is slow on a single channel (most of its work is set-up and layout), nine slices are not.
    """
    n, _, h, w = m.shape
    ho, wo = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    padded = F.pad(m, (1, 1, 1, 1))
    k = weight.reshape(9)
    out = bias.reshape(1, 1, 1, 1).expand(n, 1, ho, wo)
    for dy in range(3):
        for dx in range(3):
            tap = padded[:, :, dy : dy + 2 * ho - 1 : 2, dx : dx + 2 * wo - 1 : 2]
            out = out + tap * k[3 * dy + dx]
    return out


def soft_gate(
    spatial: torch.Tensor,
    vector: torch.Tensor,
    bias: torch.Tensor,
    x: torch.Tensor | None = None,
    blocked: bool = True,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> torch.Tensor:
    """sigmoid(relu(spatial * vector + bias)), times x if given, written in one pass.

    spatial (N, 1, H, W), vector (N, C), bias (C,) [, x (N, C, H, W)] -> (N, C, H, W).
    sigmoid(relu(z)) = max(sigmoid(z), 0.5). Eager on the CPU, each block of samples is
    finished (add-multiply, sigmoid, clamp, times x) while it sits in cache.
    """
    n, _, h, w = spatial.shape
    c = vector.shape[1]
    v = vector.view(n, c, 1, 1)
    b = bias.view(1, c, 1, 1)
    if not blocked or spatial.device.type != "cpu" or torch.compiler.is_compiling():
        gate = torch.sigmoid(torch.relu(torch.addcmul(b, spatial, v)))
        return gate if x is None else x * gate
    out = spatial.new_empty(n, c, h, w) if x is None else torch.empty_like(x)
    step = _samples_per_block(out, block_bytes)
    for i in range(0, n, step):
        o = out[i : i + step]
        torch.addcmul(b, spatial[i : i + step], v[i : i + step], out=o)
        o.sigmoid_().clamp_min_(0.5)
        if x is not None:
            o.mul_(x[i : i + step])
    return out


class FastSoftAttention(EvalOnly):
    """Eval-only SoftAttention: (N, C, H, W) -> (N, C, H, W), the same function, less work.

    Built from a SoftAttention with ``FastSoftAttention(soft)``; the source is not changed.
    Input of another dtype than its buffers is refused (TypeError naming the fix), as
    SoftAttention refuses it; ``.to(torch.bfloat16)`` makes a bfloat16 one.
    """

    trains_instead = "SoftAttention"

    def __init__(self, soft: SoftAttention, blocked: bool = True) -> None:
        super().__init__()
        self.in_channels = soft.in_channels
        self.blocked = blocked
        sp, ch = soft.spatial_attn, soft.channel_attn
        w1, b1 = fold_conv_bn(sp.conv1.conv, sp.conv1.bn)  # 3x3 stride 2, one channel
        w2, b2 = fold_conv_bn(sp.conv2.conv, sp.conv2.bn)  # 1x1, one channel: a scalar affine
        c1w, c1b = fold_conv_bn(ch.conv1.conv, ch.conv1.bn)
        c2w, c2b = fold_conv_bn(ch.conv2.conv, ch.conv2.bn)
        fw, fb = fold_conv_bn(soft.conv.conv, soft.conv.bn)
        buffers = {
            "spatial_w1": w1,
            "spatial_b1": b1,
            "spatial_scale": w2.reshape(1),
            "spatial_shift": b2.reshape(1),
            "channel_w1": c1w.flatten(1),
            "channel_b1": c1b,
            "channel_w2": c2w.flatten(1),
            "channel_b2": c2b,
            "mix_w": fw.flatten(1),  # (C, C): the 1x1 conv, applied to the channel vector only
            "mix_b": fb,
        }
        for name, value in buffers.items():
            self.register_buffer(name, value.detach().clone())
        self.train(False)

    def spatial_map(self, spatial_mean: torch.Tensor) -> torch.Tensor:
        """Channel mean (N, 1, H, W) -> spatial attention (N, 1, H, W), BatchNorm folded.

        The scalar affine (the folded 1x1 conv) is applied before upsampling, on a quarter
        of the values: bilinear weights sum to one, so the two commute.
        """
        y = F.relu(conv3x3_stride2_single(spatial_mean, self.spatial_w1, self.spatial_b1))
        y = y * self.spatial_scale + self.spatial_shift
        y = F.interpolate(y, size=spatial_mean.shape[-2:], mode="bilinear", align_corners=True)
        return F.relu(y)

    def channel_vector(self, channel_mean: torch.Tensor) -> torch.Tensor:
        """Channel mean (N, C) -> W c (N, C): channel attention, then the 1x1 conv's matrix."""
        c = F.relu(F.linear(channel_mean, self.channel_w1, self.channel_b1))
        c = F.relu(F.linear(c, self.channel_w2, self.channel_b2))
        return F.linear(c, self.mix_w)

    def gate_parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (N, C, H, W) -> spatial map (N, 1, H, W), W c (N, C), channel mean (N, C)."""
        spatial_mean, channel_mean = soft_statistics(x, self.blocked)
        return self.spatial_map(spatial_mean), self.channel_vector(channel_mean), channel_mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.in_channels, where="FastSoftAttention")
        check_dtype(x, self.mix_b.dtype, where="FastSoftAttention")
        s, v, _ = self.gate_parts(x)
        return soft_gate(s, v, self.mix_b, blocked=self.blocked)


class FastHarmoniousAttention(EvalOnly):
    """Eval-only HarmoniousAttention: (N, C, H, W) -> (soft map (N, C, H, W), translations
    (N, T, 2)).

    The hard branch's global average pool is the soft branch's channel mean: computed once.
    """

    trains_instead = "HarmoniousAttention"

    def __init__(self, harmonious: HarmoniousAttention, blocked: bool = True) -> None:
        super().__init__()
        self.soft = FastSoftAttention(harmonious.soft_attn, blocked)
        hard = harmonious.hard_attn
        self.num_regions = hard.num_regions
        self.in_channels = hard.in_channels
        self.register_buffer("hard_w", hard.fc.weight.detach().clone())
        self.register_buffer("hard_b", hard.fc.bias.detach().clone())
        self.train(False)

    @property
    def blocked(self) -> bool:
        return self.soft.blocked

    @blocked.setter
    def blocked(self, value: bool) -> None:
        self.soft.blocked = value

    def translations(self, channel_mean: torch.Tensor) -> torch.Tensor:
        """Channel mean (N, C) -> (N, T, 2) translations in (-1, 1)."""
        out = torch.tanh(F.linear(channel_mean, self.hard_w, self.hard_b))
        return out.view(channel_mean.shape[0], self.num_regions, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_feature_map(x, self.in_channels, where="FastHarmoniousAttention")
        check_dtype(x, self.hard_w.dtype, where="FastHarmoniousAttention")
        s, v, channel_mean = self.soft.gate_parts(x)
        soft_map = soft_gate(s, v, self.soft.mix_b, blocked=self.blocked)
        return soft_map, self.translations(channel_mean)
