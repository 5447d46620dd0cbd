"""optimize_for_inference's defaults: the C kernel for soft attention, a compile-once package
for HA-CNN (cached across processes, keyed, eager fallback that says why), bfloat16 opt-in."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import tutorial_utils.infer.aot_package as aot_package
import tutorial_utils.infer.optimize as optimize_module
import tutorial_utils.infer.soft_kernel as soft_kernel
from tutorial_utils import HACNN, SoftAttention, optimize_for_inference
from tutorial_utils.infer import (
    CompiledOrEager,
    FastHACNN,
    FusedSoftAttention,
    PackagedHACNN,
    compile_available,
    crop_stripes,
    cxx_compiler,
    kernel_available,
    package_key,
)
from tutorial_utils.infer.low_precision import BFloat16HACNN

from .test_optimize import trained_like

ROOT = Path(__file__).resolve().parents[2]


def small_hacnn(seed: int) -> HACNN:
    torch.manual_seed(seed)
    return trained_like(HACNN(10, nchannels=(16, 32, 48), feat_dim=24), seed=seed)


def test_soft_attention_default_is_the_kernel() -> None:
    if not kernel_available()[0]:
        pytest.skip(f"the C kernel cannot be built here: {kernel_available()[1]}")
    soft = trained_like(SoftAttention(16), seed=1)
    x = torch.randn(3, 16, 9, 7)
    fast = optimize_for_inference(soft)
    assert isinstance(fast, FusedSoftAttention)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), soft(x), atol=1e-5, rtol=0)
    assert fast.last_path == f"kernel ({soft_kernel.default_target()})"


def test_soft_attention_without_kernel_falls_back_to_compiled_pytorch(monkeypatch) -> None:
    ok, why = compile_available()
    if not ok:
        pytest.skip(why)
    missing = lambda isa=None: (False, "no C compiler found")  # noqa: E731
    monkeypatch.setattr(soft_kernel, "kernel_available", missing)
    monkeypatch.setattr(optimize_module, "kernel_available", missing)
    soft = trained_like(SoftAttention(16), seed=2)
    x = torch.randn(2, 16, 6, 5)
    fast = optimize_for_inference(soft)
    assert isinstance(fast.fallback, CompiledOrEager)  # today's default where there is no kernel
    with torch.no_grad():
        torch.testing.assert_close(fast(x), soft(x), atol=1e-5, rtol=0)
    assert fast.last_path == "PyTorch path: no C compiler found"
    assert str(fast.compile_info) == "PyTorch path: no C compiler found"


def test_kernel_false_and_compile_true_keep_the_pytorch_path() -> None:
    soft = trained_like(SoftAttention(16), seed=3)
    assert not isinstance(optimize_for_inference(soft, kernel=False), FusedSoftAttention)
    assert not isinstance(optimize_for_inference(soft, compile=True), FusedSoftAttention)
    with pytest.raises(ValueError, match="kernel must be True, False or 'auto', got 'yes'"):
        optimize_for_inference(soft, kernel="yes")  # type: ignore[arg-type]


def test_package_key_covers_weights_size_cpu_and_torch(monkeypatch) -> None:
    model = small_hacnn(seed=4)
    key = package_key(model)
    assert key == package_key(small_hacnn(seed=4))  # same weights, same key
    assert key != package_key(small_hacnn(seed=5))
    resized = HACNN(10, nchannels=(16, 32, 48), feat_dim=24, input_size=(256, 128))
    resized.load_state_dict(model.state_dict())
    assert key != package_key(resized)
    monkeypatch.setattr(aot_package, "cpu_fingerprint", lambda: "model name: another CPU")
    other_cpu = package_key(model)
    assert other_cpu != key
    monkeypatch.setattr(torch, "__version__", "9.9.9")
    assert package_key(model) not in (key, other_cpu)


def test_no_cxx_compiler_runs_eager_and_says_so(monkeypatch) -> None:
    monkeypatch.setattr(optimize_module, "cxx_compiler", lambda: None)
    model = small_hacnn(seed=6)
    with pytest.warns(RuntimeWarning, match="HA-CNN runs eager .no C\\+\\+ compiler found"):
        fast = optimize_for_inference(model)
    assert isinstance(fast, FastHACNN)
    assert "no C++ compiler" in str(fast.compile_info)
    x = torch.randn(2, 3, 160, 64)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), atol=1e-4, rtol=0)


def test_failed_compile_runs_eager_and_says_why(monkeypatch) -> None:
    def fail(model: HACNN, progress: bool = True, dtype: torch.dtype = torch.float32) -> None:
        raise RuntimeError("the linker is out to lunch")

    monkeypatch.setattr(optimize_module, "cxx_compiler", lambda: "/usr/bin/c++")
    monkeypatch.setattr(optimize_module, "load_or_compile", fail)
    with pytest.warns(RuntimeWarning, match="RuntimeError: the linker is out to lunch"):
        fast = optimize_for_inference(small_hacnn(seed=7))
    assert isinstance(fast, FastHACNN) and not fast.compile_info.used


def test_compile_false_stays_eager_without_warning(recwarn) -> None:
    fast = optimize_for_inference(small_hacnn(seed=8), compile=False)
    assert isinstance(fast, FastHACNN) and str(fast.compile_info) == "eager (compile=False)"
    assert not [w for w in recwarn if w.category is RuntimeWarning]


@pytest.fixture(scope="module")
def compiled_once(tmp_path_factory) -> tuple[Path, Path, PackagedHACNN, HACNN]:
    """One real ahead-of-time compile of a small HACNN into a fresh cache (a few minutes)."""
    ok, why = compile_available()
    if not ok or cxx_compiler() is None:
        pytest.skip(why or "no C++ compiler")
    cache = tmp_path_factory.mktemp("cache")
    weights = cache / "model.pt"
    model = small_hacnn(seed=9)
    torch.save(model.state_dict(), weights)
    patch = pytest.MonkeyPatch()
    patch.setenv("TUTORIAL_UTILS_CACHE", str(cache))
    try:
        fast = optimize_for_inference(model, progress=False)
    finally:
        patch.undo()
    return cache, weights, fast, model


def test_default_hacnn_is_compiled_ahead_of_time_and_matches(compiled_once) -> None:
    cache, _, fast, model = compiled_once
    assert isinstance(fast, PackagedHACNN), str(fast.compile_info)
    assert not fast.package.loaded_from_cache
    assert fast.package.path.parent == cache and fast.package.path.is_file()
    assert fast.package.path.name == f"hacnn_{package_key(model)}.pt2"
    assert str(fast.compile_info).startswith("ahead-of-time package compiled and cached in")
    for batch in (1, 5):  # exported with the batch size free
        x = torch.randn(batch, 3, 160, 64)
        with torch.no_grad():
            torch.testing.assert_close(fast(x), model(x), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="float32 CPU tensors, got a torch.float64"):
        fast(torch.randn(1, 3, 160, 64, dtype=torch.float64))
    with pytest.raises(ValueError, match="eval-only"):
        fast.train()


def test_second_process_loads_the_package_within_ten_seconds(compiled_once) -> None:
    cache, weights, _, _ = compiled_once
    child = textwrap.dedent(
        f"""
        import time
        import torch
        from tutorial_utils import HACNN, optimize_for_inference
        model = HACNN(10, nchannels=(16, 32, 48), feat_dim=24).eval()
        model.load_state_dict(torch.load({str(weights)!r}, weights_only=True))
        fast = optimize_for_inference(model)
        with torch.no_grad():
            fast(torch.randn(2, 3, 160, 64))
        ready = time.time()
        print(ready)
        print(type(fast).__name__, "|", fast.compile_info)
        """
    )
    env_cache = {"TUTORIAL_UTILS_CACHE": str(cache)}
    # Ready means: loaded and one batch run. The child's exit comes after that (and takes over a
    # second once torch's compiler is imported), so it reports the moment, on the same clock.
    start = time.time()
    done = subprocess.run(
        [sys.executable, "-c", child],
        cwd=ROOT,
        env={**_environment(), **env_cache},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    *_, ready, last = done.stdout.strip().splitlines()
    seconds = float(ready) - start
    assert last.startswith("PackagedHACNN | ahead-of-time package loaded from the cache in"), last
    assert "compiling HA-CNN" not in done.stderr  # nothing was compiled again
    assert seconds < 10, f"a second process took {seconds:.1f} s to be ready"


def _environment() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_bfloat16_is_an_opt_in_close_to_float32() -> None:
    model = small_hacnn(seed=10)
    x = torch.randn(4, 3, 160, 64)
    low = optimize_for_inference(model, precision="bfloat16", compile=False)
    assert isinstance(low, BFloat16HACNN)
    assert str(low.compile_info).startswith("eager (bfloat16 (compile=False); this CPU")
    with torch.no_grad():
        features, reference = low(x), model(x)
    assert features.dtype == torch.float32 and not torch.isnan(features).any()
    cosine = torch.nn.functional.cosine_similarity(features, reference, dim=1)
    assert float(cosine.min()) > 0.99
    assert not torch.equal(features, reference)  # it did run in lower precision
    with pytest.raises(ValueError, match="precision='bfloat16' is for HACNN only"):
        optimize_for_inference(SoftAttention(16), precision="bfloat16")
    with pytest.raises(ValueError, match="precision must be 'float32' or 'bfloat16', got 'fp8'"):
        optimize_for_inference(model, precision="fp8")  # type: ignore[arg-type]


def test_bfloat16_stripes_on_channels_last_input_have_no_nan() -> None:
    """torch 2.14.1's grid_sample on channels-last bfloat16 CPU input returned NaNs in about
    one call in three here (uninitialised memory, so not every time); crop_stripes copies to
    NCHW first. Thirty tries make a return of the NaNs all but certain to show."""
    torch.manual_seed(0)
    scale = torch.tensor([[1.0, 0.0], [0.0, 0.25]])
    for _ in range(30):
        x = torch.randn(4, 32, 80, 32).to(torch.bfloat16)
        x = x.contiguous(memory_format=torch.channels_last)
        translations = (torch.rand(4, 4, 2) * 1.6 - 0.8).to(torch.bfloat16)
        stripes = crop_stripes(x, translations, scale, (24, 28))
        assert not torch.isnan(stripes).any()


def test_package_key_follows_the_compiled_sources_only() -> None:
    """Editing the model's code must compile anew; editing the C kernel must not."""
    digest = aot_package._source_digest()
    names = {
        p.relative_to(aot_package.Path(aot_package.__file__).resolve().parents[1]).as_posix()
        for pattern in aot_package.GRAPH_SOURCES
        for p in aot_package.Path(aot_package.__file__).resolve().parents[1].glob(pattern)
    }
    assert {"hacnn/model.py", "hacnn/soft_attention.py", "infer/fast_hacnn.py"} <= names
    assert "infer/soft_kernel.py" not in names and "infer/optimize.py" not in names
    assert digest == aot_package._source_digest()


def test_bfloat16_without_bfloat16_units_stays_eager_and_says_why(monkeypatch) -> None:
    import tutorial_utils.infer.optimize as optimize

    monkeypatch.setattr(optimize, "native_bfloat16", lambda: (False, "no units here"))
    low = optimize_for_inference(small_hacnn(seed=11), precision="bfloat16")
    assert isinstance(low, BFloat16HACNN)
    assert "compiled only on a CPU with bfloat16 units" in str(low.compile_info)


def test_package_key_and_path_follow_the_precision() -> None:
    model = small_hacnn(seed=12)
    assert package_key(model, torch.bfloat16) != package_key(model)
    assert package_key(model, torch.float32) == package_key(model)
    assert aot_package.package_path(model, torch.bfloat16).name.startswith("hacnn_bf16_")
    with pytest.raises(ValueError, match="got torch.float16"):
        aot_package.package_path(model, torch.float16)


def test_bfloat16_on_a_cpu_with_bfloat16_units_is_compiled_and_close(tmp_path, monkeypatch):
    """The opt-in compiles its own package where the CPU has bfloat16 units (a few minutes)."""
    from tutorial_utils.infer.low_precision import native_bfloat16

    native, note = native_bfloat16()
    ok, why = compile_available()
    if not native or not ok or cxx_compiler() is None:
        pytest.skip(note if not native else why or "no C++ compiler")
    monkeypatch.setenv("TUTORIAL_UTILS_CACHE", str(tmp_path))
    model = small_hacnn(seed=13)
    low = optimize_for_inference(model, precision="bfloat16", progress=False)
    assert isinstance(low, PackagedHACNN) and low.dtype == torch.bfloat16, str(low.compile_info)
    assert low.package.path.name == f"hacnn_bf16_{package_key(model, torch.bfloat16)}.pt2"
    assert str(low.compile_info).startswith("bfloat16 ahead-of-time package compiled")
    x = torch.randn(5, 3, 160, 64)
    with torch.no_grad():
        features, reference = low(x), model(x)
    assert features.dtype == torch.float32
    cosine = torch.nn.functional.cosine_similarity(features, reference, dim=1)
    assert float(cosine.min()) > 0.99
    assert not torch.equal(features, reference)  # it did compute in bfloat16
