"""Soft attention as one hand-written pass per sample: the last step towards the copy floor.

After the rank-1 rewrite (``fast_soft``) the module reads x once (memory-bound) and
computes one sigmoid per output value (compute-bound on a small CPU). PyTorch runs those
as separate kernels, one after the other, so their times add. ``soft_kernel.c`` runs them in
one loop: while it writes sample n's output it reads sample n + 1's x into that sample's sums,
so the two costs overlap. Threads take different ranges of samples.

On AVX2 CPUs with FMA the gate is written with intrinsics (``gate8`` in the C file): eight
lanes at a time, the exponential in base 2 with log2(e) folded into the weights, the division
replaced by an approximate reciprocal and one Newton step; and where H * W is a multiple of 8
the loop takes four channels per step (``gate_grouped``), so one load of the spatial map and
one update of the running sums serve four outputs.
The C file is compiled on first use with the system C compiler (the one inductor also needs)
into a cache directory, and called through ctypes (which releases the GIL, so the threads run
in parallel). If there is no compiler, or the input is not a contiguous float32 CPU tensor,
``FusedSoftAttention`` uses the PyTorch path of ``FastSoftAttention`` instead and says so.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import nn

from ..common.validation import check_feature_map
from ..hacnn.soft_attention import SoftAttention
from .cache import cpu_fingerprint, writable_cache_dir
from .eval_only import EvalOnly
from .fast_soft import FastSoftAttention

KERNEL_SOURCE = Path(__file__).with_name("soft_kernel.c")
# ISO C mode turns off fused multiply-add contraction; the polynomial wants it back.
# Without -fno-trapping-math gcc may not turn the gate's clamps into vector selects (a
# comparison done for lanes that would not run it could trap), and on AVX2, which has no
# masked lanes, the gate loop then stays scalar: ten times slower. Neither flag changes a
# result: no reassociation, no approximate division, NaN and infinity kept.
KERNEL_FLAGS = ["-O3", "-std=c11", "-ffp-contract=fast", "-fno-trapping-math", "-fno-math-errno"]
KERNEL_FLAGS += ["-fopenmp-simd", "-shared", "-fPIC"]
NATIVE_FLAGS = ["-march=native"]  # AVX-512 or NEON where the CPU has it; retried without


def _compile(compiler: str, source: Path, target: Path) -> str | None:
    """Compile ``source`` into ``target`` (native flags, then portable ones); None or the error."""
    error = ""
    for extra in (NATIVE_FLAGS, []):
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        command = [compiler, *KERNEL_FLAGS, *extra, "-o", str(temporary), str(source), "-lm"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as failure:
            error = str(failure)
            continue
        if done.returncode == 0:
            os.replace(temporary, target)  # atomic: parallel test workers may race to build
            return None
        temporary.unlink(missing_ok=True)
        error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return error


@functools.lru_cache(maxsize=1)
def load_kernel() -> tuple[ctypes.CDLL | None, str]:
    """(the compiled library, a note saying how it was got) or (None, why it is missing)."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    compiler = compiler or shutil.which("clang")
    if not compiler:
        return None, "no C compiler found (set CC to one)"
    source = KERNEL_SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join(KERNEL_FLAGS).encode() + cpu_fingerprint().encode())
    directory = writable_cache_dir()
    library = directory / f"soft_kernel_{key.hexdigest()[:16]}.so"
    note = f"{library.name} loaded from the cache"
    if not library.exists():
        error = _compile(compiler, KERNEL_SOURCE, library)
        if error is not None:
            return None, f"could not compile soft_kernel.c with {compiler}: {error}"
        note = f"compiled with {Path(compiler).name} into the cache as {library.name}"
    lib = ctypes.CDLL(str(library))
    fn = lib.soft_attention_samples
    pointer, int64, single = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float
    fn.argtypes = [pointer, pointer, int64, int64, int64, int64, int64]  # x, out, n0, n1, C, H, W
    fn.argtypes += [pointer, single, single, single]  # 3x3 weights, bias, scale, shift
    fn.argtypes += [pointer, pointer, int64, pointer, pointer, pointer, pointer]
    fn.restype = ctypes.c_int
    return lib, note


def kernel_available() -> tuple[bool, str]:
    """(whether the hand-written kernel can run here, a note on how or why not)."""
    lib, note = load_kernel()
    return lib is not None, note


@functools.lru_cache(maxsize=4)
def _pool(process_id: int, workers: int) -> ThreadPoolExecutor:
    """One pool per process (a forked child has no threads of its parent's pool) and size."""
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="soft-kernel")


def _pointer(t: torch.Tensor) -> ctypes.c_void_p:
    return ctypes.c_void_p(t.data_ptr())


class FusedSoftAttention(EvalOnly):
    """Eval-only SoftAttention in one hand-written pass: (N, C, H, W) -> (N, C, H, W).

    The same function as ``SoftAttention.eval()`` (float32 rounding apart; the sigmoid uses
    an exp accurate to about 2e-7). ``threads`` defaults to ``torch.get_num_threads()``.
    """

    trains_instead = "SoftAttention"

    def __init__(
        self,
        soft: SoftAttention | FastSoftAttention,
        threads: int | None = None,
        fallback: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.fast = soft if isinstance(soft, FastSoftAttention) else FastSoftAttention(soft)
        # What runs where the kernel cannot: the PyTorch path, perhaps under torch.compile.
        self.fallback = self.fast if fallback is None else fallback
        self.in_channels = self.fast.in_channels
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.threads = threads
        self.last_path = "none yet"  # "kernel" or why the PyTorch path ran instead
        self.train(False)

    def _why_not_kernel(self, x: torch.Tensor) -> str | None:
        if x.device.type != "cpu" or x.dtype != torch.float32 or not x.is_contiguous():
            return "PyTorch path: the kernel takes contiguous float32 CPU tensors only"
        buffers = dict(self.fast.named_buffers())
        if any(b.device.type != "cpu" or b.dtype != torch.float32 for b in buffers.values()):
            return "PyTorch path: the weights are not float32 on the CPU"
        ok, note = kernel_available()
        return None if ok else f"PyTorch path: {note}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.in_channels, where="FusedSoftAttention")
        why = self._why_not_kernel(x)
        if why is not None:
            self.last_path = why
            return self.fallback(x)
        self.last_path = "kernel"
        return self._run_kernel(x)

    def _run_kernel(self, x: torch.Tensor) -> torch.Tensor:
        lib, _ = load_kernel()
        n, c, h, w = x.shape
        out = torch.empty_like(x)
        if x.numel() == 0:
            return out
        f = self.fast
        weights = [f.spatial_w1, f.channel_w1, f.channel_b1, f.channel_w2, f.channel_b2]
        weights += [f.mix_w, f.mix_b]
        k9, w1, b1, w2, b2, mix, mix_b = (t.detach().contiguous() for t in weights)
        scalars = [float(f.spatial_b1), float(f.spatial_scale), float(f.spatial_shift)]
        hidden = w1.shape[0]
        workers = max(1, min(self.threads or torch.get_num_threads(), n))
        bounds = [round(i * n / workers) for i in range(workers + 1)]

        def run(n0: int, n1: int) -> int:
            return lib.soft_attention_samples(
                *(_pointer(x), _pointer(out), n0, n1, c, h, w),
                *(_pointer(k9), *scalars),
                *(_pointer(w1), _pointer(b1), hidden, _pointer(w2), _pointer(b2)),
                *(_pointer(mix), _pointer(mix_b)),
            )

        if workers == 1:
            codes = [run(0, n)]
        else:
            pool = _pool(os.getpid(), workers)
            codes = list(pool.map(run, bounds[:-1], bounds[1:]))
        if any(codes):
            raise MemoryError("soft_kernel.c could not allocate its scratch buffers")
        return out
