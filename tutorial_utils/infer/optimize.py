"""``optimize_for_inference``: an eval-only module computing the same function as
SoftAttention, HarmoniousAttention or HACNN in eval mode, with less work, optionally compiled.

The steps live in ``fold`` (BatchNorm folding), ``fast_soft`` (rank-1 soft attention,
one-pass statistics, fused output), ``fast_hacnn`` (merged convs, batched stripes),
``compiled`` (torch.compile with an eager fallback) and ``soft_kernel`` (a hand-written C pass).
The original module is never modified; the result keeps no reference to it.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import nn

from ..hacnn.harmonious import HarmoniousAttention
from ..hacnn.model import HACNN
from ..hacnn.soft_attention import SoftAttention
from .compiled import CompiledOrEager, CompileInfo, compile_available
from .fast_hacnn import FastHACNN, hacnn_for_compiler
from .fast_soft import FastHarmoniousAttention, FastSoftAttention
from .soft_kernel import FusedSoftAttention, kernel_available

CompileChoice = bool | Literal["auto"]
OPTIMIZABLE = (SoftAttention, HarmoniousAttention, HACNN)


def optimize_for_inference(
    module: nn.Module,
    compile: CompileChoice = "auto",  # the name users know from torch
    *,
    blocked: bool = True,
    channels_last: bool = False,
    kernel: bool = False,
    example_input: torch.Tensor | None = None,
) -> nn.Module:
    """An eval-only module computing the same function as ``module.eval()``.

    Accepts SoftAttention ((N, C, H, W) -> (N, C, H, W)), HarmoniousAttention
    (-> (soft map, theta (N, T, 2))) or HACNN ((N, 3, 160, 64) -> (N, 1024) features).
    ``compile``: True compiles with torch.compile, falling back to eager if that fails;
    False stays eager; "auto" compiles SoftAttention and HarmoniousAttention (small graphs,
    seconds) but not the whole HACNN (about a minute on two CPU cores). A compiled HACNN is
    HACNN's own forward with its attention modules made fast (``hacnn_for_compiler``),
    compiled with inductor freezing; ``blocked`` and ``channels_last`` do not apply to it.
    ``blocked`` walks big CPU tensors a few samples at a time so each is read from memory
    once; compiled, that walk stays eager and the rest is one compiled graph.
    ``channels_last`` (HACNN, eager only) stores feature maps channels-last.
    ``kernel`` (SoftAttention only) runs the hand-written one-pass C kernel of
    ``soft_kernel`` instead of PyTorch ops and torch.compile (built on first use; where it
    cannot be built, or for inputs it does not take, the PyTorch path runs and ``last_path``
    says why).
    ``example_input``, if given, is run once so the compile happens now and
    ``result.compile_info.seconds`` is filled in.
    The result's ``compile_info`` says what was done.
    """
    if compile not in (True, False, "auto"):
        raise ValueError(f"compile must be True, False or 'auto', got {compile!r}")
    if not isinstance(module, OPTIMIZABLE):
        raise TypeError(
            "optimize_for_inference expects a SoftAttention, HarmoniousAttention or HACNN, "
            f"got {type(module).__name__}"
        )
    if kernel:
        return _with_kernel(module, compile, blocked, example_input)
    want = compile is True or (compile == "auto" and not isinstance(module, HACNN))
    available, why_not = compile_available() if want else (False, "")
    if not (want and available):
        fast = _eager_module(module, blocked, channels_last)
        if not want:
            why_not = "compile=False" if compile is False else "auto: whole-network compile skipped"
        fast.compile_info = CompileInfo(note=why_not)
        return fast
    if isinstance(module, HACNN):
        # Inductor's freezing treats the weights as constants: it folds BatchNorm and swaps
        # each conv (+ ReLU) for a prepacked oneDNN conv. Set around this module's calls only.
        target = hacnn_for_compiler(copy.deepcopy(module))  # changes its argument: a copy
        wrapped = CompiledOrEager(
            target, CompileInfo(used=True), inductor_config={"freezing": True}
        )
    else:
        wrapped = CompiledOrEager(_eager_module(module, blocked), CompileInfo(used=True))
    _warm_up(wrapped, example_input)
    return wrapped


def _eager_module(module: nn.Module, blocked: bool, channels_last: bool = False) -> nn.Module:
    """The fast eager counterpart of ``module``; it copies what it needs and changes nothing."""
    if isinstance(module, SoftAttention):
        return FastSoftAttention(module, blocked)
    if isinstance(module, HarmoniousAttention):
        return FastHarmoniousAttention(module, blocked)
    return FastHACNN(module, blocked, channels_last=channels_last)


def _with_kernel(
    module: nn.Module,
    compile: CompileChoice,
    blocked: bool,
    example_input: torch.Tensor | None,
) -> FusedSoftAttention:
    if compile is True:
        raise ValueError(
            "kernel=True replaces torch.compile with the hand-written C pass; "
            "pass compile=False (or leave it 'auto') together with kernel=True"
        )
    if not isinstance(module, SoftAttention):
        raise ValueError(
            f"kernel=True is for SoftAttention only, got {type(module).__name__}; "
            "leave kernel=False for HarmoniousAttention and HACNN"
        )
    fused = FusedSoftAttention(FastSoftAttention(module, blocked))
    ok, note = kernel_available()
    shown = f"hand-written C kernel, {note}" if ok else f"PyTorch path: {note}"
    fused.compile_info = CompileInfo(note=shown, kernel=True)
    _warm_up(fused, example_input)
    return fused


def _warm_up(module: nn.Module, example_input: torch.Tensor | None) -> None:
    """Run ``example_input`` once, so a compile or a kernel build happens now, not later."""
    if example_input is not None:
        with torch.no_grad():
            module(example_input)
