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
    return {_name(r) for r in requirements}


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
