"""HA-CNN in bfloat16, an opt-in: half the bytes per value, about three significant digits.

bfloat16 keeps float32's exponent range and 8 bits of mantissa, so nothing overflows, but
every stored value is rounded to about 0.4 %. On CPUs with bfloat16 units (AVX-512 BF16,
Intel AMX) oneDNN runs its convs at up to twice (AVX-512) or many times (AMX) the float32
rate; without them every value is converted on the fly and it is slower than float32. So it
is never a default: the caller measures what it costs in accuracy and what it buys in speed.
"""

from __future__ import annotations

import torch

from ..hacnn.model import HACNN, check_hacnn_input
from .eval_only import EvalOnly
from .fast_hacnn import FastHACNN


def native_bfloat16() -> tuple[bool, str]:
    """(whether this CPU has bfloat16 units, a note naming them or saying they are missing)."""
    amx = (
        torch.cpu._is_amx_tile_supported()
        if hasattr(torch.cpu, "_is_amx_tile_supported")
        else False
    )
    avx512 = (
        torch.cpu._is_avx512_bf16_supported()
        if hasattr(torch.cpu, "_is_avx512_bf16_supported")
        else False
    )
    if amx:
        return True, "this CPU has AMX tiles for bfloat16"
    if avx512:
        return True, "this CPU has AVX-512 BF16"
    return False, "this CPU has neither AVX-512 BF16 nor AMX: bfloat16 is converted in software"


class BFloat16HACNN(EvalOnly):
    """Eval-only HA-CNN computed in bfloat16: float32 (N, 3, H, W) -> float32 (N, 2 * feat_dim).

    The input is rounded to bfloat16, the whole fast eager network (BatchNorm folded,
    channels-last) runs in bfloat16, and the features come back as float32.
    """

    trains_instead = "HACNN"

    def __init__(self, model: HACNN) -> None:
        super().__init__()
        self.input_size = model.input_size
        channels_last = all(p.device.type == "cpu" for p in model.parameters())
        fast = FastHACNN(model, blocked=False, channels_last=channels_last)
        self.fast = fast.to(torch.bfloat16)
        self.train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_hacnn_input(x, where="BFloat16HACNN", input_size=self.input_size)
        return self.fast(x.to(torch.bfloat16)).float()
