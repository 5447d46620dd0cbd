"""``optimize_for_inference``: an eval-only copy of SoftAttention, HarmoniousAttention or HACNN
that computes the same function with less work, optionally compiled with ``torch.compile``.

The steps live in ``optimize_fold`` (BatchNorm folding), ``optimize_soft`` (rank-1 soft
attention, one-pass statistics, fused output) and ``optimize_hacnn`` (merged convs, batched
stripes). The original module is deep-copied first and never modified.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from ..hacnn.harmonious import HarmoniousAttention
from ..hacnn.model import HACNN
from ..hacnn.soft_attention import SoftAttention
from .fast_hacnn import FastHACNN, hacnn_for_compiler
from .fast_soft import FastHarmoniousAttention, FastSoftAttention
from .soft_kernel import FusedSoftAttention, kernel_available

CompileChoice = bool | Literal["auto"]


@dataclass
class CompileInfo:
    """What happened with torch.compile: asked for, used, seconds of the first (compiling) call.

    ``kernel`` is True when the hand-written C pass replaced torch.compile (``note`` says how
    it was built or why it could not be).
    """

    requested: CompileChoice
    used: bool = False
    seconds: float | None = None
    note: str = ""
    kernel: bool = False

    def __str__(self) -> str:
        if self.kernel:
            return self.note
        if self.used and self.seconds is not None:
            return f"compiled in {self.seconds:.1f} s"
        if self.used:
            return "compiled lazily (first call not made yet)"
        return f"eager ({self.note})" if self.note else "eager"


class CompiledOrEager(nn.Module):
    """Runs ``torch.compile(module)``; if compiling fails, falls back to the eager module.

    The first call compiles; its wall time is stored in ``compile_info.seconds``.
    ``inductor_config`` (for example ``{"freezing": True}``) is set around every call, so it
    also holds for a recompile (a new input shape), and is never left set globally.
    It is not passed as ``torch.compile(options=...)``: with torch 2.14.1, freezing asked for
    that way was silently not applied (the weights stayed graph inputs, BatchNorm stayed
    unfolded, no conv was prepacked); tests/test_optimize.py checks the generated code.
    """

    def __init__(
        self,
        module: nn.Module,
        info: CompileInfo,
        dynamic: bool = False,
        inductor_config: dict[str, object] | None = None,
    ) -> None:
        super().__init__()
        self.module = module
        self.compile_info = info
        self.inductor_config = dict(inductor_config or {})
        # Inductor's C++ toolchain lookup logs a CUDA_HOME notice on GPU-less machines.
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        self._compiled = torch.compile(module, dynamic=dynamic)
        self._first = True

    def _run_compiled(self, *args: torch.Tensor):  # noqa: ANN202 - the wrapped module's outputs
        if not self.inductor_config:
            return self._compiled(*args)
        from torch._inductor import config as inductor_config

        # Inductor freezes only when autograd is off; a frozen graph has no gradients anyway.
        with inductor_config.patch(self.inductor_config), torch.no_grad():
            return self._compiled(*args)

    def forward(self, *args: torch.Tensor):  # noqa: ANN201 - same outputs as the wrapped module
        if not self.compile_info.used:
            return self.module(*args)
        if not self._first:
            return self._run_compiled(*args)
        start = time.perf_counter()
        try:
            out = self._run_compiled(*args)
        except Exception as error:  # compilers fail in many ways; eager still gives the answer
            self.compile_info.used = False
            self.compile_info.note = f"torch.compile failed, eager fallback: {type(error).__name__}"
            return self.module(*args)
        self.compile_info.seconds = time.perf_counter() - start
        self._first = False
        return out

    def train(self, mode: bool = True) -> CompiledOrEager:
        if mode:  # refuse before any submodule is switched, so nothing is left half-trained
            raise ValueError(
                "the optimized module is eval-only (BatchNorm is folded into its weights); "
                "train the original module instead"
            )
        self.module.train(False)
        return super().train(False)


def compile_available() -> tuple[bool, str]:
    """(whether torch.compile can be tried here, why not)."""
    if not hasattr(torch, "compile"):
        return False, "this PyTorch has no torch.compile"
    try:
        import torch._dynamo as dynamo
    except ImportError as error:  # pragma: no cover - depends on the installed build
        return False, f"torch._dynamo cannot be imported: {error}"
    if hasattr(dynamo, "is_dynamo_supported") and not dynamo.is_dynamo_supported():
        return False, "torch.compile is not supported on this Python/platform"
    return True, ""


def optimize_for_inference(
    module: nn.Module,
    compile: CompileChoice = "auto",  # noqa: A002 - the name users know from torch
    *,
    blocked: bool = True,
    channels_last: bool = False,
    kernel: bool = False,
    example_input: torch.Tensor | None = None,
) -> nn.Module:
    """An eval-only copy of ``module`` computing the same function as ``module.eval()``.

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
    source = copy.deepcopy(module).eval()
    if kernel:
        if compile is True:
            raise ValueError(
                "kernel=True replaces torch.compile with the hand-written C pass; "
                "pass compile=False (or leave it 'auto') together with kernel=True"
            )
        if not isinstance(source, SoftAttention):
            raise ValueError(
                f"kernel=True is for SoftAttention only, got {type(module).__name__}; "
                "leave kernel=False for HarmoniousAttention and HACNN"
            )
        fused = FusedSoftAttention(FastSoftAttention(source, blocked))
        ok, note = kernel_available()
        shown = f"hand-written C kernel, {note}" if ok else f"PyTorch path: {note}"
        fused.compile_info = CompileInfo(requested=compile, note=shown, kernel=True)
        if example_input is not None:
            with torch.no_grad():
                fused(example_input)
        return fused
    if isinstance(source, SoftAttention):
        fast: nn.Module = FastSoftAttention(source, blocked)
    elif isinstance(source, HarmoniousAttention):
        fast = FastHarmoniousAttention(source, blocked)
    elif isinstance(source, HACNN):
        fast = FastHACNN(source, blocked, channels_last=channels_last)
    else:
        raise TypeError(
            "optimize_for_inference expects a SoftAttention, HarmoniousAttention or HACNN, "
            f"got {type(module).__name__}"
        )
    info = CompileInfo(requested=compile)
    want = compile is True or (compile == "auto" and not isinstance(source, HACNN))
    if not want:
        info.note = "compile=False" if compile is False else "auto: whole-network compile skipped"
        fast.compile_info = info
        return fast
    ok, why = compile_available()
    if not ok:
        info.note = why
        fast.compile_info = info
        return fast
    info.used = True
    if isinstance(source, HACNN):
        # Inductor's freezing treats the weights as constants: it folds BatchNorm and swaps
        # each conv (+ ReLU) for a prepacked oneDNN conv. Set around this module's calls only.
        target = hacnn_for_compiler(copy.deepcopy(module))
        wrapped = CompiledOrEager(target, info, inductor_config={"freezing": True})
    else:
        wrapped = CompiledOrEager(fast, info)
    if example_input is not None:
        with torch.no_grad():
            wrapped(example_input)
    return wrapped
