"""Compile HA-CNN once: an ahead-of-time package, kept on disk and loaded by later processes.

``torch.compile`` compiles again in every new process (minutes for HA-CNN on two cores).
Here the network is exported once (``torch.export``, batch size left free) and compiled by
AOTInductor, with inductor's *freezing* (weights become constants: BatchNorm folded, each conv
prepacked for oneDNN), into one ``.pt2`` file in ``cache_dir()``. A later process, or a later
call in this one, loads that file in well under a second.

The file holds native code for one CPU and the weights of one model, so its name is a key
over everything that changes the code or the answer: torch's version, the CPU's model and
flags, the source files whose code is compiled, the input size, every weight, and the
precision it computes in (float32, or bfloat16 for ``precision="bfloat16"`` on CPUs with
bfloat16 units). The weights stay in the key because freezing is what makes the package fast:
without it the same package ran 1.3x slower (docs/performance.md).
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..hacnn.model import HACNN, check_hacnn_input
from .cache import cpu_fingerprint, writable_cache_dir
from .eval_only import EvalOnly
from .fast_hacnn import hacnn_for_compiler

FORMAT = "hacnn-aot-1"  # bump when the compiled form changes in a way the sources do not show
# The source files whose code ends up in the compiled graph: the model, and the forms of its
# modules that hacnn_for_compiler swaps in (a change to the C kernel compiles nothing anew).
GRAPH_SOURCES = ("hacnn/*.py", "infer/fast_hacnn.py", "infer/fast_soft.py", "infer/fold.py")
GRAPH_SOURCES += ("infer/eval_only.py", "infer/separable_crop.py", "infer/aot_package.py")


@dataclass
class PackageInfo:
    """How the compiled form was got: its path, and whether it was loaded or compiled now."""

    path: Path
    loaded_from_cache: bool
    seconds: float  # to load, or to export + compile + load


def cxx_compiler() -> str | None:
    """The C++ compiler inductor would use ($CXX, else c++ / g++ / clang++), or None."""
    chosen = os.environ.get("CXX")
    if chosen:
        return shutil.which(chosen)
    return shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


def _source_digest() -> bytes:
    package_root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for pattern in GRAPH_SOURCES:
        for path in sorted(package_root.glob(pattern)):
            digest.update(path.relative_to(package_root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.digest()


def package_key(model: HACNN, dtype: torch.dtype = torch.float32) -> str:
    """A 20-hex-digit key over torch, CPU, sources, input size, every tensor of ``model`` and
    the precision ``dtype`` the package computes in."""
    digest = hashlib.sha256()
    parts = [FORMAT, torch.__version__, cpu_fingerprint(), repr(model.input_size)]
    if dtype != torch.float32:  # float32 keys stay what they were, so caches stay valid
        parts.append(str(dtype))
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(_source_digest())
    for name, tensor in model.state_dict().items():
        flat = tensor.detach().to("cpu").contiguous().view(-1)
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:20]


def check_package_dtype(dtype: torch.dtype) -> None:
    """Raise a ValueError naming ``dtype`` unless a package can compute in it."""
    if dtype not in (torch.float32, torch.bfloat16):
        raise ValueError(f"a package computes in torch.float32 or torch.bfloat16, got {dtype}")


def package_path(model: HACNN, dtype: torch.dtype = torch.float32) -> Path:
    """Where the compiled package of ``model`` in ``dtype`` is (or will be) kept."""
    check_package_dtype(dtype)
    tag = "" if dtype == torch.float32 else "bf16_"
    return writable_cache_dir() / f"hacnn_{tag}{package_key(model, dtype)}.pt2"


def compile_package(model: HACNN, path: Path, dtype: torch.dtype = torch.float32) -> None:
    """Export ``model`` (eval, batch size free) in ``dtype`` and compile it with AOTInductor
    into ``path``.

    Written under a temporary name and renamed, so a process that reads the cache while
    another one compiles never sees half a file.
    """
    from torch._inductor import config as inductor_config

    check_package_dtype(dtype)
    # hacnn_for_compiler changes its argument: a copy. Folding happens in float32, then the
    # folded weights are rounded once to dtype.
    target = hacnn_for_compiler(copy.deepcopy(model).float().cpu()).to(dtype)
    example = torch.zeros(2, 3, *model.input_size, dtype=dtype)  # 2: export specialises a 1
    batch = torch.export.Dim("batch", min=1)
    temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp.pt2")
    with torch.no_grad():
        exported = torch.export.export(target, (example,), dynamic_shapes=({0: batch},))
        # Freezing is a global inductor setting; passed as an option it was not applied.
        with inductor_config.patch(freezing=True):
            torch._inductor.aoti_compile_and_package(exported, package_path=str(temporary))
    os.replace(temporary, path)


def load_or_compile(
    model: HACNN, progress: bool = True, dtype: torch.dtype = torch.float32
) -> tuple[object, PackageInfo]:
    """(a callable running the compiled ``model`` in ``dtype``, how it was got). Compiles if
    not cached.

    Raises what export, compilation or loading raise; the caller falls back to eager.
    """
    path = package_path(model, dtype)
    start = time.perf_counter()
    cached = path.is_file()
    if not cached:
        if progress:
            print(
                f"compiling HA-CNN ahead of time for this CPU and torch {torch.__version__} "
                "(once; a few minutes on two cores) ...",
                file=sys.stderr,
                flush=True,
            )
        compile_package(model, path, dtype)
    runner = torch._inductor.aoti_load_package(str(path))
    seconds = time.perf_counter() - start
    if progress and not cached:
        print(f"compiled in {seconds:.0f} s, kept as {path}", file=sys.stderr, flush=True)
    return runner, PackageInfo(path, cached, seconds)


class PackagedHACNN(EvalOnly):
    """HA-CNN run by its ahead-of-time compiled package: (N, 3, H, W) -> (N, 2 * feat_dim).

    Takes float32 CPU batches of the model's input size, any batch size (the package was
    exported with the batch size free), and returns float32 features. A package compiled in
    bfloat16 gets the batch rounded to bfloat16 and its features converted back.
    """

    trains_instead = "HACNN"

    def __init__(
        self,
        runner: object,
        input_size: tuple[int, int],
        info: PackageInfo,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        check_package_dtype(dtype)
        self.runner = runner
        self.input_size = tuple(input_size)
        self.package = info
        self.dtype = dtype
        self.train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_hacnn_input(x, where="PackagedHACNN", input_size=self.input_size)
        if x.device.type != "cpu" or x.dtype != torch.float32:
            raise ValueError(
                "PackagedHACNN runs code compiled for float32 CPU tensors, got a "
                f"{x.dtype} tensor on {x.device}; optimize a model on that device instead"
            )
        if self.dtype == torch.float32:
            return self.runner(x.contiguous())
        return self.runner(x.to(self.dtype).contiguous()).float()
