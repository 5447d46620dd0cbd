"""Stored notebooks are executed top to bottom, clean, and free of machine-specific text."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The English lessons and the translated ones built from them (notebooks/zh/, `make zh`).
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb")
)
MACHINE_PATHS = re.compile(
    "|".join(
        re.escape(p)
        for p in {str(Path.home()) + "/", tempfile.gettempdir() + "/", str(ROOT.parent) + "/"}
    )
    + r"|[A-Z]:\\\\Users"
)
WARNINGS = re.compile(r"\b(Deprecation|Future|User|Runtime)Warning\b")


def _text(output: dict) -> str:
    if output["output_type"] == "stream":
        return "".join(output["text"])
    data = output.get("data", {})
    return "".join(data.get("text/plain", "")) + "".join(output.get("traceback", []))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_there_are_lessons():
    assert NOTEBOOKS, "no lessons found under notebooks/"


@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix()
)
def test_notebook_is_clean(path: Path):
    nb = _load(path)
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    title = "".join(cells[0]["source"]).lower()
    assert "learning objectives" in title or "学习目标" in title
    code = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1)), (
        "execution counts must run 1..n: re-run the notebook top to bottom after a kernel restart"
    )
    problems = []
    for i, cell in enumerate(cells):
        source = "".join(cell["source"])
        if MACHINE_PATHS.search(source):
            problems.append(f"cell {i}: machine path in source")
        tags = set(cell.get("metadata", {}).get("tags", []))
        for output in cell.get("outputs", []):
            text = _text(output)
            if output["output_type"] == "error" and "raises-exception" not in tags:
                problems.append(f"cell {i}: stored error {output['ename']} in an untagged cell")
            if (
                output["output_type"] == "stream"
                and output["name"] == "stderr"
                and WARNINGS.search(text)
            ):
                problems.append(f"cell {i}: warning in stored output")
            if MACHINE_PATHS.search(text):
                problems.append(f"cell {i}: machine path in output")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix()
)
def test_raises_exception_cells_really_raise(path: Path):
    """A pitfall shown 'by running it' must have its error stored, not just claimed."""
    for i, cell in enumerate(_load(path)["cells"]):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            kinds = [o["output_type"] for o in cell.get("outputs", [])]
            assert "error" in kinds, f"cell {i} is tagged raises-exception but stored no error"


@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix()
)
def test_exercises_have_solutions_and_checks(path: Path):
    tags = [set(c.get("metadata", {}).get("tags", [])) for c in _load(path)["cells"]]
    exercises = sum("exercise" in t for t in tags)
    if path.stem.startswith("00_"):
        return  # the start page has no exercises
    assert exercises >= 2, "each lesson ends with at least two exercises"
    assert sum("solution" in t for t in tags) >= exercises
    assert sum("check" in t for t in tags) >= exercises


# Figures must stay legible when projected (at least 100 dpi, about 700 px wide); photo grids
# that would push a notebook past this should be stored as JPEG rather than drawn smaller.
MAX_NOTEBOOK_BYTES = 5 * 1024 * 1024


def test_notebooks_are_small():
    for path in NOTEBOOKS:
        size = path.stat().st_size
        assert size < MAX_NOTEBOOK_BYTES, f"{path.name} is {size // 1024} KiB, over 5 MB"


INSTALL_LINE = "%pip install --quiet"


@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix()
)
def test_first_code_cell_installs_the_package_when_missing(path: Path):
    """Colab and fresh kernels: the first code cell installs the package, never pinning torch."""
    code = [c for c in _load(path)["cells"] if c["cell_type"] == "code"]
    first = code[0]
    source = "".join(first["source"])
    tags = set(first.get("metadata", {}).get("tags", []))
    assert 'find_spec("tutorial_utils") is None' in source and INSTALL_LINE in source, (
        "the first code cell must install the package only when it is missing"
    )
    assert "nbval-ignore-output" in tags, "its output (pip's) differs per machine: tag it"
    assert "torch" not in source.split(INSTALL_LINE, 1)[1], "do not pin or install torch there"


PACKAGE_IMPORT = re.compile(
    r"^\s*(?:from\s+(tutorial_utils[\w.]*)\s+import\s+(.+)|import\s+(tutorial_utils[\w.]*))"
)


@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix()
)
def test_notebooks_import_public_names_only(path: Path):
    """From tutorial_utils or a room's __init__, never a room's module, a CLI or a _private name."""
    rooms = {p.name for p in (ROOT / "tutorial_utils").iterdir() if (p / "__init__.py").is_file()}
    problems = []
    for i, cell in enumerate(_load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        # Parenthesised name lists span lines: join them so each import is one line.
        source = re.sub(r"\(([^)]*)\)", lambda m: m.group(1).replace("\n", " "), source)
        for line in source.splitlines():
            match = PACKAGE_IMPORT.match(line)
            if not match:
                continue
            module = (match.group(1) or match.group(3)).split(".")
            names = [n.strip() for n in (match.group(2) or "").split(",") if n.strip()]
            if len(module) > 2 or (len(module) == 2 and module[1] not in rooms):
                problems.append(f"cell {i}: imports the module {'.'.join(module)}")
            problems += [f"cell {i}: imports the private name {n}" for n in names if n[0] == "_"]
    assert not problems, "\n".join(problems)
