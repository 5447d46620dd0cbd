"""The inference room (lesson 07): the same functions as the reference modules, with less work.

optimize (``optimize_for_inference``, the entry point) builds on fold (BatchNorm folded into
the layer before it), fast_soft (rank-1 soft attention, one read of x), fast_hacnn (merged
convs, batched stripes), separable_crop (the stripe crop as two weighted gathers), compiled
(torch.compile with an eager fallback), soft_kernel (a hand-written one-pass C kernel,
``soft_kernel.c``, built on first use) and aot_package (HA-CNN compiled ahead of time, once
per CPU, torch and weights, and kept where ``cache`` says).
Every optimized module is eval-only (eval_only). This room imports the reference model and
the shared room.
"""

from .aot_package import PackagedHACNN, PackageInfo, cxx_compiler, package_key, package_path
from .cache import cache_dir
from .compiled import CompiledOrEager, CompileInfo, compile_available
from .eval_only import EvalOnly
from .fast_hacnn import FastHACNN, crop_stripes, hacnn_for_compiler
from .fast_soft import (
    FastHarmoniousAttention,
    FastSoftAttention,
    conv3x3_stride2_single,
    soft_gate,
    soft_statistics,
)
from .fold import fold_conv_bn, fold_linear_bn
from .optimize import optimize_for_inference
from .separable_crop import crop_region_separable
from .soft_kernel import KERNEL_FLAGS, KERNEL_SOURCE, FusedSoftAttention, kernel_available

__all__ = [
    "KERNEL_FLAGS",
    "KERNEL_SOURCE",
    "CompileInfo",
    "PackageInfo",
    "PackagedHACNN",
    "CompiledOrEager",
    "EvalOnly",
    "FastHACNN",
    "FastHarmoniousAttention",
    "FastSoftAttention",
    "FusedSoftAttention",
    "cache_dir",
    "compile_available",
    "conv3x3_stride2_single",
    "crop_region_separable",
    "crop_stripes",
    "cxx_compiler",
    "fold_conv_bn",
    "fold_linear_bn",
    "hacnn_for_compiler",
    "kernel_available",
    "optimize_for_inference",
    "package_key",
    "package_path",
    "soft_gate",
    "soft_statistics",
]
