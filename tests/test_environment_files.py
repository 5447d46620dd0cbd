"""environment.yml (conda / Binder) and pyproject.toml name the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"pytorch": "torch"}
CONDA_ONLY = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_packages() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [
        r for extra in project["optional-dependencies"].values() for r in extra
    ]
    own_name = _name(project["name"])  # dev pulls in the lab extra as "attention-step-by-step[lab]"
    return {_name(r) for r in requirements} - {own_name}


def _environment_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        match = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)", line)
        if match and not line.strip().startswith("- -e"):
            name = _name(match.group(1))
            names.add(CONDA_TO_PYPI.get(name, name))
    return names - CONDA_ONLY


def test_same_packages():
    conda, pip = _environment_packages(), _pyproject_packages()
    assert conda == pip, (
        f"only in environment.yml: {sorted(conda - pip)}; "
        f"only in pyproject.toml: {sorted(pip - conda)}"
    )


def test_environment_uses_conda_forge_and_python_311():
    text = (ROOT / "environment.yml").read_text()
    assert "conda-forge" in text and re.search(r"python\s*=\s*3\.11", text)


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)$", line.strip())
        if match:
            pins[_name(match.group(1))] = match.group(2)
    return pins


def test_constraints_pin_every_dependency():
    """make install uses requirements/constraints.txt: every package pyproject names is pinned."""
    pinned = _pins(ROOT / "requirements" / "constraints.txt")
    missing = sorted(_pyproject_packages() - set(pinned))
    assert not missing, f"not pinned in requirements/constraints.txt: {missing} (run make lock)"


def test_binder_image_uses_the_pinned_cpu_torch():
    pinned = _pins(ROOT / "requirements" / "constraints.txt")
    binder = _pins(ROOT / "binder" / "requirements.txt")
    for name in ("torch", "torchvision"):
        assert binder[name] == pinned[name] + "+cpu", (
            f"binder/requirements.txt has {name}=={binder[name]}, the lock has {pinned[name]}"
        )
    text = (ROOT / "binder" / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in text and "-c ../requirements/constraints.txt" in text


def test_binder_scripts_are_executable_and_cap_threads():
    for name in ("postBuild", "start"):
        assert (ROOT / "binder" / name).stat().st_mode & 0o111, f"binder/{name} is not executable"
    assert "OMP_NUM_THREADS" in (ROOT / "binder" / "start").read_text()
    assert ".[lab]" in (ROOT / "binder" / "postBuild").read_text()
