"""Soft attention as one hand-written pass per sample: the last step towards the copy floor.

After the rank-1 rewrite (``fast_soft``) the module reads x once (memory-bound) and
computes one sigmoid per output value (compute-bound on a small CPU). PyTorch runs those
as separate kernels, one after the other, so their times add. ``soft_kernel.c`` runs them in
one loop: while it writes sample n's output it reads sample n + 1's x into that sample's sums,
so the two costs overlap. Threads take different ranges of samples.

The library is built for an explicit target, not for whatever ``-march=native`` would
give, so each build runs one known path (``KERNEL_TARGETS``): ``avx512`` (``-march=x86-64-v4``,
the hand-written gate on 16 lanes), ``avx2`` (``-march=x86-64-v3``, the same gate on 8 lanes)
and ``portable`` (no target flag: plain C that the compiler vectorises for the baseline, SSE2
on x86-64 or NEON on arm64; every other CPU). The gate
(``gate_v`` in the C file) computes the exponential in base 2 with log2(e) folded into the
weights and replaces the division by an approximate reciprocal and one Newton step; where H * W
is a multiple of the lane count the loop takes four channels per step (``gate_grouped``), so
one load of the spatial map and one update of the running sums serve four outputs.
``default_target()`` picks the first of ``PREFERENCE`` that this CPU runs and the compiler
builds; ``FusedSoftAttention(isa=...)`` asks for one (the tests run every one the CPU has).
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
import platform
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import nn

from ..common.validation import check_feature_map
from ..hacnn.soft_attention import SoftAttention
from .cache import writable_cache_dir
from .eval_only import EvalOnly
from .fast_soft import FastSoftAttention

KERNEL_SOURCE = Path(__file__).with_name("soft_kernel.c")
# ISO C mode turns off fused multiply-add contraction; the polynomial wants it back.
# Without -fno-trapping-math gcc does not turn the portable gate's clamps into vector selects
# on targets without masked lanes (SSE2, AVX2): its loop then stays scalar, several times
# slower. Neither flag changes a result: no reassociation, no approximate division, NaN and
# infinity kept.
KERNEL_FLAGS = ["-O3", "-std=c11", "-ffp-contract=fast", "-fno-trapping-math", "-fno-math-errno"]
KERNEL_FLAGS += ["-fopenmp-simd", "-shared", "-fPIC"]
# Each target's flags, tried in order (an older compiler may not know the x86-64-v* levels).
KERNEL_TARGETS: dict[str, tuple[tuple[str, ...], ...]] = {
    "avx512": (
        ("-march=x86-64-v4",),
        ("-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl", "-mavx2", "-mfma"),
    ),
    "avx2": (("-march=x86-64-v3",), ("-mavx2", "-mfma")),
    "portable": ((),),
}
# The order default_target() tries them in: the fastest measured first (docs/performance.md).
PREFERENCE = ("avx512", "avx2", "portable")
# CPU flags (Linux /proc/cpuinfo names) each x86 level needs; the compiler may use any of them.
_X86_V3 = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}
_CPU_NEEDS = {
    "avx2": _X86_V3,
    "avx512": _X86_V3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags from /proc/cpuinfo, or None where there is no such file."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return set()


def cpu_runs(isa: str) -> bool:
    """Whether this CPU can run the ``isa`` build of the kernel ("portable" runs everywhere)."""
    if isa not in KERNEL_TARGETS:
        raise ValueError(f"isa must be one of {sorted(KERNEL_TARGETS)}, got {isa!r}")
    if isa == "portable":
        return True
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    flags = _cpu_flags()
    if flags is None:  # no /proc/cpuinfo: ask torch's cpuinfo
        probe = "_is_avx512_supported" if isa == "avx512" else "_is_avx2_supported"
        return bool(getattr(torch.cpu, probe, lambda: False)())
    return _CPU_NEEDS[isa] <= flags


def _compiler() -> str | None:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    return compiler or shutil.which("clang")


def _compile(compiler: str, isa: str, target: Path) -> tuple[str, ...] | str:
    """Build the ``isa`` library into ``target``: the flags that worked, or the error (str)."""
    error = ""
    for extra in KERNEL_TARGETS[isa]:
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        command = [compiler, *KERNEL_FLAGS, *extra, "-o", str(temporary), str(KERNEL_SOURCE)]
        try:
            done = subprocess.run([*command, "-lm"], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as failure:
            error = str(failure)
            continue
        if done.returncode == 0:
            os.replace(temporary, target)  # atomic: parallel test workers may race to build
            return extra
        temporary.unlink(missing_ok=True)
        error = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return error


@functools.lru_cache(maxsize=len(KERNEL_TARGETS))
def load_kernel(isa: str) -> tuple[ctypes.CDLL | None, str]:
    """(the ``isa`` build of the kernel, a note saying how it was got) or (None, why not).

    The library is kept in the cache under a key over the source, the flags and the target,
    not the CPU: it runs on every CPU with the target's instructions.
    """
    if not cpu_runs(isa):
        return None, f"this CPU cannot run the {isa} build"
    compiler = _compiler()
    if not compiler:
        return None, "no C compiler found (set CC to one)"
    flags = " ".join(KERNEL_FLAGS) + repr(KERNEL_TARGETS[isa]) + platform.machine()
    key = hashlib.sha256(KERNEL_SOURCE.read_bytes() + flags.encode())
    library = writable_cache_dir() / f"soft_kernel_{isa}_{key.hexdigest()[:16]}.so"
    note = f"{library.name} loaded from the cache"
    if not library.exists():
        built = _compile(compiler, isa, library)
        if isinstance(built, str):
            return None, f"could not compile soft_kernel.c for {isa} with {compiler}: {built}"
        how = " ".join(built) or "no target flag"
        note = f"compiled ({how}) with {Path(compiler).name} into the cache as {library.name}"
    lib = ctypes.CDLL(str(library))
    lib.soft_kernel_path.restype = ctypes.c_char_p
    ran = lib.soft_kernel_path().decode()
    if ran != isa:  # the flags did not give the path they are for: never run it as that
        return None, f"the {isa} build of soft_kernel.c runs the {ran} path"
    fn = lib.soft_attention_samples
    pointer, int64, single = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float
    fn.argtypes = [pointer, pointer, int64, int64, int64, int64, int64]  # x, out, n0, n1, C, H, W
    fn.argtypes += [pointer, single, single, single]  # 3x3 weights, bias, scale, shift
    fn.argtypes += [pointer, pointer, int64, pointer, pointer, pointer, pointer]
    fn.restype = ctypes.c_int
    return lib, f"{isa} path, {note}"


@functools.lru_cache(maxsize=1)
def default_target() -> str:
    """The kernel build to use here: the first of ``PREFERENCE`` the CPU runs and that builds."""
    for isa in PREFERENCE:
        if load_kernel(isa)[0] is not None:
            return isa
    return PREFERENCE[-1]


def kernel_available(isa: str | None = None) -> tuple[bool, str]:
    """(whether the ``isa`` build (default: ``default_target()``) can run here, how or why not)."""
    lib, note = load_kernel(isa or default_target())
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
    an exp accurate to about 2e-7). ``threads`` defaults to ``torch.get_num_threads()``;
    ``isa`` ("avx512", "avx2" or "portable") picks the kernel build, by default
    ``default_target()``. ``last_path`` says what the last call ran: "kernel (avx2)", say, or
    why the PyTorch path ran instead.
    """

    trains_instead = "SoftAttention"

    def __init__(
        self,
        soft: SoftAttention | FastSoftAttention,
        threads: int | None = None,
        fallback: nn.Module | None = None,
        isa: str | None = None,
    ) -> None:
        super().__init__()
        self.fast = soft if isinstance(soft, FastSoftAttention) else FastSoftAttention(soft)
        # What runs where the kernel cannot: the PyTorch path, perhaps under torch.compile.
        self.fallback = self.fast if fallback is None else fallback
        self.in_channels = self.fast.in_channels
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        if isa is not None and isa not in KERNEL_TARGETS:
            raise ValueError(f"isa must be one of {sorted(KERNEL_TARGETS)}, got {isa!r}")
        self.threads = threads
        self.isa = isa
        self.last_path = "none yet"  # "kernel (<isa>)" or why the PyTorch path ran instead
        self.train(False)

    def kernel_isa(self) -> str:
        """The kernel build this module runs: ``isa`` if given, else ``default_target()``."""
        return self.isa or default_target()

    def _why_not_kernel(self, x: torch.Tensor) -> str | None:
        if x.device.type != "cpu" or x.dtype != torch.float32 or not x.is_contiguous():
            return "PyTorch path: the kernel takes contiguous float32 CPU tensors only"
        buffers = dict(self.fast.named_buffers())
        if any(b.device.type != "cpu" or b.dtype != torch.float32 for b in buffers.values()):
            return "PyTorch path: the weights are not float32 on the CPU"
        ok, note = kernel_available(self.kernel_isa())
        return None if ok else f"PyTorch path: {note}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.in_channels, where="FusedSoftAttention")
        why = self._why_not_kernel(x)
        if why is not None:
            self.last_path = why
            return self.fallback(x)
        isa = self.kernel_isa()
        self.last_path = f"kernel ({isa})"
        return self._run_kernel(x, isa)

    def _run_kernel(self, x: torch.Tensor, isa: str) -> torch.Tensor:
        lib, _ = load_kernel(isa)
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
