"""torch.compile with an eager fallback, and a record of what the compiler did."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from ..common.quiet import quiet_cpp_extension_notice
from .eval_only import EvalOnly


@dataclass
class CompileInfo:
    """What happened with torch.compile: used or not, seconds of the first (compiling) call.

    ``note`` says why the module stayed eager, or, when compiled, how (for example that an
    ahead-of-time package was loaded from the cache); ``kernel`` is True when the
    hand-written C pass replaced torch.compile (``note`` then says how it was built or why
    it could not be).
    """

    used: bool = False
    seconds: float | None = None
    note: str = ""
    kernel: bool = False

    def __str__(self) -> str:
        if self.kernel or (self.used and self.note):
            return self.note
        if self.used and self.seconds is not None:
            return f"compiled in {self.seconds:.1f} s"
        if self.used:
            return "compiled lazily (first call not made yet)"
        return f"eager ({self.note})" if self.note else "eager"


class CompiledOrEager(EvalOnly):
    """Runs ``torch.compile(module)``; if compiling fails, falls back to the eager module.

    The first call compiles; its wall time is stored in ``compile_info.seconds``.
    ``inductor_config`` (for example ``{"freezing": True}``) is set around every call, so it
    also holds for a recompile (a new input shape), and is never left set globally.
    It is not passed as ``torch.compile(options=...)``: with torch 2.14.1, freezing asked for
    that way was silently not applied (the weights stayed graph inputs, BatchNorm stayed
    unfolded, no conv was prepacked); tests/infer/test_optimize.py checks the generated code.
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
        quiet_cpp_extension_notice()  # inductor's toolchain lookup logs it on GPU-less machines
        self._compiled = torch.compile(module, dynamic=dynamic)
        self._first = True

    def _run_compiled(self, *args: torch.Tensor) -> object:
        if not self.inductor_config:
            return self._compiled(*args)
        from torch._inductor import config as inductor_config

        # Inductor freezes only when autograd is off; a frozen graph has no gradients anyway.
        with inductor_config.patch(self.inductor_config), torch.no_grad():
            return self._compiled(*args)

    def forward(self, *args: torch.Tensor) -> object:
        """The wrapped module's outputs, compiled when that worked, else eager."""
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
