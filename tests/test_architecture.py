"""The package's rooms and their arrows (docs/architecture.md): imports point down only, and
importing the package needs no developer tool."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tutorial_utils"

# Which rooms each room may import (itself included). Nothing imports a room listed above it
# in docs/architecture.md; the reference model and the shared room import no room that uses them.
MAY_IMPORT = {
    "common": {"common"},
    "hacnn": {"hacnn", "common"},
    "infer": {"infer", "hacnn", "common"},
    "digits": {"digits", "hacnn", "common"},
    "explore": {"explore", "hacnn", "common"},
    "reid": {"reid", "hacnn", "common"},  # re-identification: data, training, evaluation
    "explain": {"explain", "hacnn", "common"},  # Grad-CAM and activation maps; only lessons use it
    "bench": {"bench", "infer", "reid", "hacnn", "common"},  # reid: the training benchmark
}
# Old import paths kept for one release with a DeprecationWarning (common.deprecation): the
# only arrows that point up, each reached only when the old name is used. Remove with them.
DEPRECATED_ARROWS = {
    "common/__init__.py": {"hacnn"},  # common.draw_hacnn, common.hacnn_batch
    "common/images.py": {"hacnn"},  # common.images.hacnn_batch
    "common/diagram.py": {"hacnn"},  # the module moved to hacnn.diagram
    "reid/speed.py": {"bench"},  # the module moved to bench.training_speed
}
NOT_CODE = {"data"}  # package data: photos, weights and their README
# Developer extras (pyproject.toml's "dev"), which a runtime-only install lacks.
DEV_TOOLS = {
    "nbformat",
    "nbclient",
    "nbconvert",
    "nbval",
    "jupyterlab",
    "jupyter_server",
    "ipykernel",
    "playwright",
    "pytest",
    "hypothesis",
    "ruff",
}


def _rooms_imported(path: Path, source: str | None = None) -> set[str]:
    """The rooms (and "tutorial_utils" for the package root) that the file at ``path`` imports.

    ``from tutorial_utils import HACNN`` counts as the root, not as the room HACNN comes from:
    rooms import rooms, never the root. ``source`` stands in for the file's text when given.
    """
    # tutorial_utils/room/x.py and tutorial_utils/room/__init__.py both sit in package room.
    package = list(path.relative_to(PACKAGE.parent).parts[:-1])
    rooms: set[str] = set()

    def add(module: list[str], names: list[str]) -> None:
        if module[:1] != ["tutorial_utils"]:
            return
        if len(module) > 1:
            rooms.add(module[1])
            return
        if not names:  # import tutorial_utils: the whole package
            rooms.add("tutorial_utils")
        for name in names:  # from tutorial_utils import NAME: a room itself, or the root
            rooms.add(name if (PACKAGE / name).is_dir() else "tutorial_utils")

    text = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name.split("."), [])
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                base = package[: len(package) - node.level + 1]
                add(base + (node.module.split(".") if node.module else []), names)
            else:
                add(node.module.split("."), names)
    return rooms


def _room_files() -> list[tuple[str, Path]]:
    return [
        (path.relative_to(PACKAGE).parts[0], path)
        for path in sorted(PACKAGE.rglob("*.py"))
        if len(path.relative_to(PACKAGE).parts) > 1
    ]


def test_the_package_is_rooms_and_nothing_else():
    entries = {p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    rooms = entries - {"__init__.py"} - NOT_CODE
    assert rooms <= set(MAY_IMPORT), (
        f"rooms without a place in the arrows: {rooms - set(MAY_IMPORT)}"
    )
    for room in rooms:
        assert (PACKAGE / room / "__init__.py").is_file(), f"{room}/ has no __init__.py"


def test_the_package_docstring_names_every_room():
    """``tutorial_utils/__init__.py`` lists every room, so a reader finds each one there."""
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text())) or ""
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    missing = sorted(room for room in rooms if f"``{room}``" not in doc)
    assert not missing, f"tutorial_utils/__init__.py's docstring does not name {missing}"


def _file_id(value: object) -> str:
    return str(value.relative_to(PACKAGE)) if isinstance(value, Path) else str(value)


@pytest.mark.parametrize(("room", "path"), _room_files(), ids=_file_id)
def test_imports_point_down_only(room: str, path: Path):
    imported = _rooms_imported(path)
    assert "tutorial_utils" not in imported, (
        f"{path.relative_to(ROOT)} imports the package root; import from a room "
        "(for example `from ..hacnn.model import HACNN`) instead"
    )
    allowed = MAY_IMPORT[room] | DEPRECATED_ARROWS.get(str(path.relative_to(PACKAGE)), set())
    upward = imported - allowed
    assert not upward, f"{path.relative_to(ROOT)} ({room}) imports {sorted(upward)}"


def test_deprecated_arrows_are_only_old_names():
    """Each allowed upward arrow belongs to a file that still holds an old name's shim."""
    for name, rooms in DEPRECATED_ARROWS.items():
        source = (PACKAGE / name).read_text()
        assert "warn_moved" in source, f"{name} has no deprecated name left; drop its arrow"
        assert rooms - MAY_IMPORT[name.split("/")[0]], f"{name}: {rooms} is not an upward arrow"


# Rooms that only the lessons import: no other room and not the package's __init__.
LESSONS_ONLY = {"explain"}


def test_lesson_only_rooms_are_imported_by_no_room_and_not_by_the_package():
    importers = {
        room for room, allowed in MAY_IMPORT.items() if allowed & LESSONS_ONLY
    } - LESSONS_ONLY
    assert not importers, f"MAY_IMPORT lets {sorted(importers)} import {sorted(LESSONS_ONLY)}"
    found = _rooms_imported(PACKAGE / "__init__.py") & LESSONS_ONLY
    assert not found, f"tutorial_utils/__init__.py imports {sorted(found)}; only lessons may"


def test_the_rule_sees_relative_absolute_and_top_level_imports():
    """The checker itself: each way of importing a room is seen, inside functions too."""
    source = (
        "from ..infer import optimize_for_inference\n"
        "from .model import HACNN\n"
        "import tutorial_utils.bench.cli\n"
        "from tutorial_utils import draw_hacnn, explore\n"
        "def f():\n    from .. import digits\n"
    )
    found = _rooms_imported(PACKAGE / "hacnn" / "probe.py", source)
    assert found == {"infer", "hacnn", "bench", "tutorial_utils", "explore", "digits"}
    assert _rooms_imported(PACKAGE / "hacnn" / "__init__.py", "from .blocks import X\n") == {
        "hacnn"
    }
    for root_import in (
        "import tutorial_utils\n",
        "from tutorial_utils import HACNN\n",
        "from .. import HACNN\n",
        "def f():\n    from tutorial_utils import pick_device\n",
    ):
        assert _rooms_imported(PACKAGE / "reid" / "x.py", root_import) == {"tutorial_utils"}


def test_no_developer_tool_in_the_package_source():
    for _, path in _room_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                tops = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                tops = {node.module.split(".")[0]}
            else:
                continue
            assert not tops & DEV_TOOLS, f"{path.relative_to(ROOT)} imports {tops & DEV_TOOLS}"


def test_importing_the_package_loads_no_developer_tool():
    """Run in a fresh interpreter: ``import tutorial_utils``, then every module of every room."""
    code = f"""
import importlib, json, pkgutil, sys
dev = {sorted(DEV_TOOLS)!r}
loaded = lambda: sorted({{m.split(".")[0] for m in sys.modules}} & set(dev))
import tutorial_utils
first = loaded()
for info in pkgutil.walk_packages(tutorial_utils.__path__, "tutorial_utils."):
    if not info.name.endswith("__main__"):  # those run a command line
        importlib.import_module(info.name)
print(json.dumps({{"package": first, "every_module": loaded(), "file": tutorial_utils.__file__}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(found["file"]).resolve() == PACKAGE / "__init__.py"
    assert found["package"] == [], f"import tutorial_utils loads {found['package']}"
    assert found["every_module"] == [], f"importing every module loads {found['every_module']}"


# Machinery a lesson, a command line or a worker process must not pay for on import: the
# compiler stack (loaded by optimize_for_inference and torch.compile on first use) and pyplot
# (loaded by the drawing functions).
HEAVY_ON_IMPORT = ("torch._dynamo", "torch._inductor", "sympy", "matplotlib.pyplot")


def test_importing_the_package_loads_no_compiler_and_no_pyplot():
    """A fresh interpreter: ``import tutorial_utils`` leaves the heavy modules unloaded."""
    code = f"""
import json, sys
import tutorial_utils
heavy = {list(HEAVY_ON_IMPORT)!r}
print(json.dumps({{"loaded": [m for m in heavy if m in sys.modules],
                   "file": tutorial_utils.__file__}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(found["file"]).resolve() == PACKAGE / "__init__.py"
    assert found["loaded"] == [], f"import tutorial_utils loads {found['loaded']}"
