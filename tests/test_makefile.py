"""The Makefile's install recipes, read with `make -n` (what would run, nothing installed)."""

from __future__ import annotations

import importlib
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tutorial_utils.bench.allocator import TUNED_ALLOCATOR

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _plan(target: str, tmp_path: Path, *assignments: str) -> list[str]:
    """The commands `make TARGET` would run for a new virtual environment at tmp_path."""
    result = subprocess.run(
        ["make", "-n", "-B", target, f"VENV={tmp_path / 'venv'}", *assignments],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.splitlines()


def test_lab_installs_the_learner_set_only(tmp_path: Path):
    installs = [line for line in _plan("lab", tmp_path) if "pip install" in line]
    assert any('-e ".[lab]"' in line for line in installs), installs
    assert not any(".[dev]" in line for line in installs), "make lab installs developer tools"


def test_test_adds_the_developer_tools(tmp_path: Path):
    installs = [line for line in _plan("install", tmp_path) if "pip install" in line]
    assert any('-e ".[dev]"' in line for line in installs), installs


def _environment(line: str) -> dict[str, str]:
    """The NAME=VALUE words a shell command line sets, in the order given."""
    return dict(
        word.split("=", 1)
        for word in shlex.split(line)
        if re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", word)
    )


def test_lab_and_nbval_kernels_get_the_benchmarks_tuned_allocator(tmp_path: Path):
    """The Makefile's allocator settings are the ones the benchmark re-runs itself with."""
    for target in ("lab", "nbval"):
        runs = [
            line for line in _plan(target, tmp_path) if "jupyter lab" in line or "--nbval" in line
        ]
        assert runs, f"make {target} runs neither jupyter lab nor nbval"
        for line in runs:
            settings = {k: v for k, v in _environment(line).items() if k.startswith("MALLOC_")}
            assert settings == TUNED_ALLOCATOR, line


def test_install_fetches_torchreids_reference_file(tmp_path: Path):
    """The install step's Python names a function that exists (the module may move)."""
    lines = [line for line in _plan("install", tmp_path) if "fetch_torchreid_hacnn" in line]
    assert lines, "make install does not fetch torchreid's hacnn.py"
    code = shlex.split(lines[0].rstrip("\\"))[-1]  # the -c argument
    found = re.fullmatch(r"from ([\w.]+) import (\w+) as f; f\(\)", code.strip())
    assert found, f"unexpected fetch command: {code!r}"
    module = importlib.import_module(found.group(1))
    assert callable(getattr(module, found.group(2), None)), code


def test_every_install_uses_the_constraints(tmp_path: Path):
    installs = [line for line in _plan("install", tmp_path, "TORCH=cpu") if "pip install" in line]
    assert installs and all("-c requirements/constraints.txt" in line for line in installs)


def test_torch_cpu_comes_first_from_the_cpu_index(tmp_path: Path):
    installs = [
        line for line in _plan("install-lab", tmp_path, "TORCH=cpu") if "pip install" in line
    ]
    assert "--index-url https://download.pytorch.org/whl/cpu" in installs[0]
    assert "torch torchvision" in installs[0]
    default = [line for line in _plan("install-lab", tmp_path) if "pip install" in line]
    assert not any("download.pytorch.org" in line for line in default)


def test_nbval_runs_on_two_numeric_paths(tmp_path: Path):
    runs = [line for line in _plan("nbval", tmp_path) if "--nbval " in line]
    assert len(runs) == 2, runs
    second = [line for line in runs if "ATEN_CPU_CAPABILITY=avx2" in line]
    assert second and "OMP_NUM_THREADS=1" in second[0] and "DNNL_MAX_CPU_ISA=AVX2" in second[0]
