"""The hand-written one-pass soft attention computes the eval module's function, on every path
its builds can run (avx512, avx2, portable) that this CPU has."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import torch

import tutorial_utils.infer.soft_kernel as soft_kernel
from tutorial_utils import HACNN, SoftAttention, optimize_for_inference, randomize_batchnorm
from tutorial_utils.infer import FusedSoftAttention, kernel_available
from tutorial_utils.infer.soft_kernel import (
    KERNEL_FLAGS,
    KERNEL_SOURCE,
    KERNEL_TARGETS,
    PREFERENCE,
    cpu_runs,
    default_target,
    load_kernel,
)


@pytest.fixture(scope="module")
def x86_gcc() -> str:
    """gcc targeting x86-64: the vectorisation tests read its reports and macros."""
    compiler = shutil.which("gcc")
    if (
        compiler is None
        or "x86_64"
        not in subprocess.run([compiler, "-dumpmachine"], capture_output=True, text=True).stdout
    ):
        pytest.skip("needs gcc targeting x86-64")
    return compiler


@pytest.fixture(scope="module")
def kernel_here() -> None:
    ok, note = kernel_available()
    if not ok:
        pytest.skip(note)


@pytest.fixture(scope="module", params=sorted(KERNEL_TARGETS))
def isa(request) -> str:
    """Every build of the kernel this CPU can run; the others are skipped, saying why."""
    name = request.param
    if not cpu_runs(name):
        pytest.skip(f"this CPU lacks the instructions of the {name} build")
    lib, note = load_kernel(name)
    if lib is None:
        pytest.skip(note)
    return name


@pytest.mark.parametrize(
    ("shape", "threads"),
    [
        ((2, 16, 8, 6), 2),
        ((3, 32, 9, 7), 2),  # odd sizes: the conv's right and bottom padding, hidden width 2
        ((1, 16, 1, 1), 2),  # one sample, one pixel
        ((2, 16, 5, 12), 1),
        ((5, 16, 2, 3), 3),  # three threads: samples split 2, 1, 2
        ((4, 16, 64, 33), 2),  # the per-channel loop: whole vectors, then a tail
        ((3, 16, 8, 16), 2),  # H * W a multiple of 16: the four-channel loop on every width
        ((3, 16, 4, 6), 2),  # 24 positions: four channels on 8 lanes, one by one on 16
    ],
)
def test_kernel_matches_eager(isa: str, shape: tuple[int, ...], threads: int) -> None:
    soft = randomize_batchnorm(SoftAttention(shape[1]), seed=sum(shape)).eval()
    fused = FusedSoftAttention(soft, threads=threads, isa=isa)
    x = torch.randn(shape) * 2
    with torch.no_grad():
        got = fused(x)
        torch.testing.assert_close(got, soft(x), atol=1e-5, rtol=0)
    assert fused.last_path == f"kernel ({isa})"
    assert got.shape == x.shape and got.is_contiguous()


@pytest.mark.parametrize("channels", [6, 18])
def test_kernel_matches_eager_when_channels_are_not_a_multiple_of_four(
    isa: str, channels: int
) -> None:
    """H * W a multiple of the lanes takes the four-channel loop: its last channels go alone."""
    soft = SoftAttention(channels, reduction_rate=2)
    soft = randomize_batchnorm(soft, seed=channels).eval()
    x = torch.randn(3, channels, 8, 16) * 2
    with torch.no_grad():
        got = FusedSoftAttention(soft, isa=isa)(x)
        torch.testing.assert_close(got, soft(x), atol=1e-5, rtol=0)


def test_kernel_matches_eager_on_an_input_that_starts_off_a_vector_boundary(isa: str) -> None:
    """A contiguous view one float into its storage: the loops that need aligned rows step aside."""
    soft = randomize_batchnorm(SoftAttention(16), seed=5).eval()
    shape = (2, 16, 8, 16)
    x = (torch.randn(2 * 16 * 8 * 16 + 1) * 2)[1:].view(shape)
    assert x.is_contiguous() and x.data_ptr() % 32 != 0
    fused = FusedSoftAttention(soft, isa=isa)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), soft(x), atol=1e-5, rtol=0)
    assert fused.last_path == f"kernel ({isa})"


def test_each_build_runs_the_path_it_was_built_for(isa: str) -> None:
    lib, note = load_kernel(isa)
    assert lib.soft_kernel_path().decode() == isa
    assert note.startswith(f"{isa} path, ")


def test_an_avx512_cpu_runs_the_avx512_path_by_default(kernel_here) -> None:
    """The fastest build this CPU runs is the default: on AVX-512 CPUs never a slower one."""
    expected = next(name for name in PREFERENCE if load_kernel(name)[0] is not None)
    assert default_target() == expected
    if cpu_runs("avx512") and load_kernel("avx512")[0] is not None:
        assert default_target() == "avx512"
    fused = FusedSoftAttention(randomize_batchnorm(SoftAttention(16), seed=6).eval())
    with torch.no_grad():
        fused(torch.randn(2, 16, 8, 8))
    assert fused.last_path == f"kernel ({default_target()})"


def test_which_builds_a_cpu_runs_follows_its_flags(monkeypatch) -> None:
    zen3 = ["fpu", "sse2", "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"]
    monkeypatch.setattr(soft_kernel.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(soft_kernel, "_cpu_flags", lambda: set(zen3))
    assert [cpu_runs(name) for name in ("avx512", "avx2", "portable")] == [False, True, True]
    zen4 = zen3 + ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]
    monkeypatch.setattr(soft_kernel, "_cpu_flags", lambda: set(zen4))
    assert [cpu_runs(name) for name in ("avx512", "avx2", "portable")] == [True, True, True]
    no_fma = [flag for flag in zen4 if flag != "fma"]
    monkeypatch.setattr(soft_kernel, "_cpu_flags", lambda: set(no_fma))
    assert [cpu_runs(name) for name in ("avx512", "avx2", "portable")] == [False, False, True]
    monkeypatch.setattr(soft_kernel.platform, "machine", lambda: "aarch64")
    assert [cpu_runs(name) for name in ("avx512", "avx2", "portable")] == [False, False, True]
    with pytest.raises(ValueError, match="isa must be one of .*got 'sse9'"):
        cpu_runs("sse9")


@pytest.mark.parametrize("name", sorted(KERNEL_TARGETS))
def test_every_flag_set_of_a_target_selects_its_path(name: str, x86_gcc: str) -> None:
    """The preprocessor alone (no CPU support needed): each target's flags, the x86-64 level
    and the older compilers' -m flags, give the path of that name."""
    for extra in KERNEL_TARGETS[name]:
        command = [x86_gcc, *KERNEL_FLAGS, *extra, "-dM", "-E", str(KERNEL_SOURCE)]
        macros = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        assert f'#define KERNEL_PATH "{name}"' in macros, extra


def test_inputs_the_kernel_does_not_take_use_the_pytorch_path(kernel_here) -> None:
    soft = randomize_batchnorm(SoftAttention(16), seed=3).eval()
    fused = FusedSoftAttention(soft)
    x = torch.randn(2, 16, 6, 5)
    with torch.no_grad():
        for odd_input in (x.to(memory_format=torch.channels_last), x.transpose(2, 3)):
            torch.testing.assert_close(fused(odd_input), soft(odd_input), atol=1e-5, rtol=0)
            assert fused.last_path.startswith("PyTorch path: the kernel takes contiguous")
        torch.testing.assert_close(
            fused.double()(x.double()), soft.double()(x.double()), atol=1e-6, rtol=0
        )
        assert "PyTorch path" in fused.last_path


def test_optimize_for_inference_kernel_option(kernel_here) -> None:
    soft = randomize_batchnorm(SoftAttention(16), seed=4).eval()
    x = torch.randn(3, 16, 10, 8)
    fused = optimize_for_inference(soft, kernel=True, example_input=x)
    assert isinstance(fused, FusedSoftAttention)
    assert fused.compile_info.kernel and str(fused.compile_info).startswith("hand-written")
    with torch.no_grad():
        torch.testing.assert_close(fused(x), soft(x), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="eval-only"):
        fused.train()


def test_kernel_option_refuses_other_modules_and_bad_input() -> None:
    with pytest.raises(ValueError, match="replaces torch.compile"):
        optimize_for_inference(SoftAttention(16), compile=True, kernel=True)
    with pytest.raises(ValueError, match="SoftAttention only, got HACNN"):
        optimize_for_inference(HACNN(10, nchannels=(16, 32, 48), feat_dim=8), kernel=True)
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        FusedSoftAttention(SoftAttention(16), threads=0)
    with pytest.raises(ValueError, match="isa must be one of .*got 'avx3'"):
        FusedSoftAttention(SoftAttention(16), isa="avx3")
    fused = FusedSoftAttention(SoftAttention(16))
    with pytest.raises(ValueError, match="16 channels"):
        fused(torch.randn(1, 8, 4, 4))


@pytest.mark.parametrize("isa", [[], ["-mavx2"]])
def test_the_portable_gate_loop_vectorises_without_masked_lanes(
    tmp_path, isa: list[str], x86_gcc: str
) -> None:
    """With gcc, the portable build's gate loop must compile to vector code on the x86-64
    baseline (SSE2) and on AVX2 without FMA, neither of which has masked lanes.

    Without -fno-trapping-math gcc 12 left it scalar there: several times slower.
    """
    lines = KERNEL_SOURCE.read_text().splitlines()
    (gate_line,) = [i + 1 for i, line in enumerate(lines) if "the gate loop" in line]
    command = [x86_gcc, *KERNEL_FLAGS, *isa, "-fopt-info-vec-optimized"]
    command += ["-o", str(tmp_path / "k.so")]
    report = subprocess.run(
        [*command, str(KERNEL_SOURCE), "-lm"], capture_output=True, text=True, check=True
    ).stderr
    at_loop = (f".c:{gate_line}:", f".c:{gate_line + 1}:")  # gcc names the for or its body
    vectorised = [line for line in report.splitlines() if any(a in line for a in at_loop)]
    assert any("loop vectorized" in line for line in vectorised), report
