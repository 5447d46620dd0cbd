"""``optimize_for_inference``: an eval-only module computing the same function as
SoftAttention, HarmoniousAttention or HACNN in eval mode, with less work, optionally compiled.

The steps live in ``fold`` (BatchNorm folding), ``fast_soft`` (rank-1 soft attention,
one-pass statistics, fused output), ``fast_hacnn`` (merged convs, batched stripes),
``compiled`` (torch.compile with an eager fallback), ``soft_kernel`` (a hand-written C pass)
and ``aot_package`` (HA-CNN compiled ahead of time, once, and kept on disk).
The original module is never modified; the result keeps no reference to it.
"""

from __future__ import annotations

import copy
import warnings
from typing import Literal

import torch
from torch import nn

from ..hacnn.harmonious import HarmoniousAttention
from ..hacnn.model import HACNN
from ..hacnn.soft_attention import SoftAttention
from .aot_package import PackagedHACNN, cxx_compiler, load_or_compile
from .compiled import CompiledOrEager, CompileInfo, compile_available
from .fast_hacnn import FastHACNN, hacnn_for_compiler
from .fast_soft import FastHarmoniousAttention, FastSoftAttention
from .low_precision import BFloat16HACNN, native_bfloat16
from .soft_kernel import FusedSoftAttention, kernel_available

CompileChoice = bool | Literal["auto"]
KernelChoice = bool | Literal["auto"]
Precision = Literal["float32", "bfloat16"]
OPTIMIZABLE = (SoftAttention, HarmoniousAttention, HACNN)


def optimize_for_inference(
    module: nn.Module,
    compile: CompileChoice = "auto",  # the name users know from torch
    *,
    kernel: KernelChoice = "auto",
    blocked: bool = True,
    channels_last: bool | None = None,
    example_input: torch.Tensor | None = None,
    progress: bool = True,
    precision: Precision = "float32",
) -> nn.Module:
    """An eval-only module computing the same function as ``module.eval()``, fast by default.

    Accepts SoftAttention ((N, C, H, W) -> (N, C, H, W)), HarmoniousAttention
    (-> (soft map, translations (N, T, 2))) or HACNN ((N, 3, H, W) -> (N, 2 * feat_dim) features).
    The defaults are the fastest path measured on a CPU:

    - SoftAttention: the hand-written one-pass C kernel (``soft_kernel``, built once per
      CPU); where it cannot be built, or for inputs it does not take, the PyTorch path runs,
      compiled with torch.compile, and ``last_path`` says why.
    - HarmoniousAttention: torch.compile of the fast eager module (seconds).
    - HACNN on the CPU: compiled ahead of time with inductor freezing, once per CPU, torch,
      source and weights, and kept on disk (``aot_package``): the first call of this function
      for a model compiles for a few minutes (``progress`` prints a line before and after),
      every later one, in any process, loads the package in under a second. Where that is
      impossible (no torch.compile, no C++ compiler, a failed build) the eager fast module
      runs, a RuntimeWarning says why, and so does ``compile_info``.

    ``compile``: False stays eager; True insists on torch.compile (for SoftAttention: compile
    instead of the C kernel; for a HACNN on a GPU: torch.compile with freezing).
    ``kernel``: True asks for the C kernel (SoftAttention only), False forbids it.
    ``blocked`` walks big CPU tensors a few samples at a time so each is read from memory
    once. ``channels_last`` (eager HACNN) stores feature maps channels-last; None chooses it
    on the CPU, where oneDNN's convs and pooling run faster that way.
    ``example_input``, if given, is run once so a lazy compile or a kernel build happens now.
    ``precision="bfloat16"`` (HACNN only, an opt-in) computes in bfloat16: features differ
    from float32's at the third significant digit. On a CPU with bfloat16 units (AVX-512 BF16,
    AMX) and ``compile`` not False it is compiled ahead of time like the float32 default, with
    its own package (about twice the float32 package's speed where measured); otherwise the
    eager fast network runs in bfloat16 (``low_precision``), slower than float32 on CPUs
    without those units. The bench measures both precisions.
    The result's ``compile_info`` says what was done.
    """
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"precision must be 'float32' or 'bfloat16', got {precision!r}")
    if compile not in (True, False, "auto"):
        raise ValueError(f"compile must be True, False or 'auto', got {compile!r}")
    if kernel not in (True, False, "auto"):
        raise ValueError(f"kernel must be True, False or 'auto', got {kernel!r}")
    if not isinstance(module, OPTIMIZABLE):
        raise TypeError(
            "optimize_for_inference expects a SoftAttention, HarmoniousAttention or HACNN, "
            f"got {type(module).__name__}"
        )
    if kernel is True and not isinstance(module, SoftAttention):
        raise ValueError(
            f"kernel=True is for SoftAttention only, got {type(module).__name__}; "
            "leave kernel at 'auto' or False for HarmoniousAttention and HACNN"
        )
    if precision == "bfloat16":
        return _bfloat16(module, compile, progress)
    if isinstance(module, HACNN):
        return _optimize_hacnn(module, compile, blocked, channels_last, example_input, progress)
    if isinstance(module, SoftAttention) and kernel is not False and compile is not True:
        return _with_kernel(module, compile, blocked, example_input)
    if kernel is True:  # and compile is True
        raise ValueError(
            "kernel=True replaces torch.compile with the hand-written C pass; "
            "pass compile=False (or leave it 'auto') together with kernel=True"
        )
    eager = _eager_module(module, blocked)
    wrapped = _compiled_or_eager(eager, compile)
    _warm_up(wrapped, example_input)
    return wrapped


def _bfloat16(module: nn.Module, compile: CompileChoice, progress: bool) -> nn.Module:
    if not isinstance(module, HACNN):
        raise ValueError(
            f"precision='bfloat16' is for HACNN only, got {type(module).__name__}; "
            "attention modules alone are memory-bound, not arithmetic-bound"
        )
    native, note = native_bfloat16()
    on_cpu = all(p.device.type == "cpu" for p in module.parameters())
    if compile is False:
        why_not = "compile=False"
    elif not (on_cpu and native):
        why_not = "compiled only on a CPU with bfloat16 units"
    else:
        packaged, why_not = _package(module, progress, torch.bfloat16)
        if packaged is not None:
            packaged.compile_info.note = f"bfloat16 {packaged.compile_info.note}; {note}"
            return packaged
    low = BFloat16HACNN(module)
    low.compile_info = CompileInfo(note=f"bfloat16 ({why_not}); {note}")
    return low


def _compiled_or_eager(eager: nn.Module, compile: CompileChoice) -> nn.Module:
    """``eager`` under torch.compile unless ``compile`` is False or compiling is impossible."""
    available, why_not = compile_available() if compile is not False else (False, "compile=False")
    if not available:
        eager.compile_info = CompileInfo(note=why_not)
        return eager
    return CompiledOrEager(eager, CompileInfo(used=True))


def _optimize_hacnn(
    model: HACNN,
    compile: CompileChoice,
    blocked: bool,
    channels_last: bool | None,
    example_input: torch.Tensor | None,
    progress: bool,
) -> nn.Module:
    on_cpu = all(p.device.type == "cpu" for p in model.parameters())
    if channels_last is None:
        channels_last = on_cpu
    if compile is False:
        eager = FastHACNN(model, blocked, channels_last=channels_last)
        eager.compile_info = CompileInfo(note="compile=False")
        return eager
    if not on_cpu:
        if compile == "auto":  # a GPU runs the eager fast module well; compiling is opt-in
            eager = FastHACNN(model, blocked=False, channels_last=channels_last)
            eager.compile_info = CompileInfo(note="auto: not compiled on a GPU")
            return eager
        # Inductor's freezing treats the weights as constants: it folds BatchNorm and fuses
        # each conv with its ReLU. Set around this module's calls only.
        target = hacnn_for_compiler(copy.deepcopy(model))  # changes its argument: a copy
        wrapped = CompiledOrEager(
            target, CompileInfo(used=True), inductor_config={"freezing": True}
        )
        _warm_up(wrapped, example_input)
        return wrapped
    packaged, why_not = _package(model, progress, torch.float32)
    if packaged is not None:
        return packaged
    message = f"optimize_for_inference: HA-CNN runs eager ({why_not})"
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    eager = FastHACNN(model, blocked, channels_last=channels_last)
    eager.compile_info = CompileInfo(note=why_not)
    return eager


def _package(
    model: HACNN, progress: bool, dtype: torch.dtype
) -> tuple[PackagedHACNN | None, str | None]:
    """(the ahead-of-time package of ``model`` in ``dtype``, None) or (None, why not)."""
    why_not = _why_no_package(all(p.dtype == torch.float32 for p in model.parameters()))
    if why_not is not None:
        return None, why_not
    try:
        runner, info = load_or_compile(model, progress=progress, dtype=dtype)
    except Exception as error:  # exporters and compilers fail in many ways; eager still works
        return None, f"ahead-of-time compile failed: {type(error).__name__}: {error}"[:300]
    how = "loaded from the cache" if info.loaded_from_cache else "compiled and cached"
    packaged = PackagedHACNN(runner, model.input_size, info, dtype=dtype)
    packaged.compile_info = CompileInfo(
        used=True, seconds=info.seconds, note=f"ahead-of-time package {how} in {info.seconds:.1f} s"
    )
    return packaged, None


def _why_no_package(single: bool) -> str | None:
    """Why the ahead-of-time package cannot be built here, or None if it can."""
    if not single:
        return "the weights are not float32; the compiled package is built for float32"
    available, why_not = compile_available()
    if not available:
        return why_not
    if cxx_compiler() is None:
        return "no C++ compiler found for inductor (install g++ or set CXX)"
    return None


def _eager_module(module: nn.Module, blocked: bool) -> nn.Module:
    """The fast eager counterpart of SoftAttention or HarmoniousAttention; ``module`` is kept."""
    if isinstance(module, SoftAttention):
        return FastSoftAttention(module, blocked)
    return FastHarmoniousAttention(module, blocked)


def _with_kernel(
    module: SoftAttention,
    compile: CompileChoice,
    blocked: bool,
    example_input: torch.Tensor | None,
) -> FusedSoftAttention:
    """The C kernel, with the PyTorch path (compiled unless compile=False) as its fallback."""
    fast = FastSoftAttention(module, blocked)
    fused = FusedSoftAttention(fast, fallback=_compiled_or_eager(fast, compile))
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
