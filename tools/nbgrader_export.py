"""nbgrader source notebooks from the lessons: one assignment per lesson with exercises.

Run from the repository root::

    python -m tools.classroom nbgrader   # build/nbgrader/source/NN_topic/NN_topic.ipynb

The folder written is an nbgrader course directory with its own ``nbgrader_config.py``.
Each exercise cell and the solution cell after it become one solution cell: the exercise's
lines down to its ``raise NotImplementedError`` line, then the solution's body between
``### BEGIN SOLUTION`` and ``### END SOLUTION``. nbgrader replaces that region with the
configured stub, which is the exercise's own ``raise`` line, so the student version is the
exercise's scaffold. Each check cell becomes a locked, autograded test cell whose
``check_exercise(...)`` call gets ``strict=True``: it prints the lesson's verdict and raises
when the answer is wrong, which nbgrader scores as zero.

nbgrader itself is not needed to write the export; it is needed to grade with it.
"""

from __future__ import annotations

import ast
import copy
import re
import shutil
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from tools.cells import put_note_first

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
# The line every exercise scaffold ends with; nbgrader writes it back in the student version.
CODE_STUB = 'raise NotImplementedError("your code here")'
NBGRADER_SCHEMA_VERSION = 3
GRADED_NOTE_ID = "graded-edition-note"

CONFIG_TEMPLATE = """\
# nbgrader course settings for the graded edition of "Attention, step by step".
c = get_config()  # noqa: F821 (nbgrader provides it)

# The student version of an exercise is its scaffold: nbgrader writes this line where the
# solution was, the same line the lessons' exercise cells end with.
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
# Lessons train small models and time code; a cell may take minutes on a shared hub.
c.Execute.timeout = {timeout}
"""


def _nbgrader_metadata(grade_id: str, *, solution: bool, points: float | None) -> dict:
    """nbgrader's cell metadata: a solution cell, or (points given) a locked test cell."""
    graded = points is not None
    metadata = {
        "grade": graded,
        "grade_id": grade_id,
        "locked": graded,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": solution,
    }
    if graded:
        metadata["points"] = points
    return metadata


def merge_exercise(scaffold: str, solution: str, where: str = "exercise") -> str:
    """One solution cell from an exercise scaffold and its solution.

    Keeps the scaffold's lines before its ``raise NotImplementedError`` line (signature,
    docstring, hints) and puts the solution's lines after the part both share, indented as the
    ``raise`` line was, between BEGIN/END SOLUTION markers. Raises ValueError naming ``where``
    when the scaffold has no single ``raise NotImplementedError`` line, when the solution
    starts differently, or when the merged cell would not run as the solution does.
    """
    lines, answer = scaffold.splitlines(), solution.rstrip("\n").splitlines()
    stubs = [
        i for i, line in enumerate(lines) if line.strip().startswith("raise NotImplementedError")
    ]
    if len(stubs) != 1:
        raise ValueError(
            f"{where}: expected one `raise NotImplementedError` line in the exercise, "
            f"found {len(stubs)}"
        )
    stub = stubs[0]
    shared = 0
    while shared < min(stub, len(answer)) and lines[shared] == answer[shared]:
        shared += 1
    if shared == 0:
        raise ValueError(
            f"{where}: the solution must start like the exercise; its first line is "
            f"{answer[0] if answer else ''!r}, the exercise's is {lines[0]!r}"
        )
    indent = re.match(r"\s*", lines[stub]).group(0)
    merged = [
        *lines[:stub],
        indent + BEGIN_SOLUTION,
        *answer[shared:],
        indent + END_SOLUTION,
        *lines[stub + 1 :],
    ]
    # The hints kept above the solution must be comments: the solved cell then runs exactly
    # as the lesson's solution does.
    solved = "\n".join(
        line for line in merged if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
    )
    if ast.dump(ast.parse(solved)) != ast.dump(ast.parse(solution)):
        raise ValueError(
            f"{where}: merging the exercise and its solution changes the code; the exercise's "
            f"lines before `raise NotImplementedError` must be the solution's first lines or "
            f"comments"
        )
    return "\n".join(merged)


def strip_solution_markers(source: str) -> str:
    """``source`` without its BEGIN/END SOLUTION lines: the cell with the solution filled in."""
    return "\n".join(
        line for line in source.splitlines() if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
    )


def _check_call(tree: ast.AST, where: str) -> ast.Call:
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "check_exercise"
    ]
    if len(calls) != 1:
        raise ValueError(f"{where}: expected one check_exercise(...) call, found {len(calls)}")
    return calls[0]


def check_name(source: str, where: str = "check cell") -> str | None:
    """The exercise name a check cell passes to ``check_exercise`` ("Exercise 1"), if literal."""
    call = _check_call(ast.parse(source), where)
    first = call.args[0] if call.args else None
    return first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None


def strict_check(source: str, where: str = "check cell") -> str:
    """``source`` with its ``check_exercise(...)`` call given ``strict=True``, so it raises."""
    call = _check_call(ast.parse(source), where)
    if any(keyword.arg == "strict" for keyword in call.keywords):
        raise ValueError(
            f"{where}: check_exercise(...) already sets strict; leave it to the export"
        )
    # Positions are in UTF-8 bytes. Insert before the call's closing parenthesis, so the
    # rest of the cell keeps its formatting.
    encoded = source.encode("utf-8")
    lines = encoded.splitlines(keepends=True)
    end = sum(len(line) for line in lines[: call.end_lineno - 1]) + call.end_col_offset - 1
    head = encoded[:end].rstrip()
    keyword = b" strict=True" if head.endswith((b",", b"(")) else b", strict=True"
    rewritten = head + keyword + encoded[end:]
    return rewritten.decode("utf-8")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _graded_note(exercises: int, points: float) -> NotebookNode:
    note = nbformat.v4.new_markdown_cell(
        "> **Graded edition.** Fill in the code of each exercise cell where it says "
        '`raise NotImplementedError("your code here")`, then run the check cell below it. '
        "A check prints the same verdict as in the lesson and stops with an error until the "
        f"exercise is right. {exercises} exercise{'s' if exercises != 1 else ''}, "
        f"{points:g} point{'s' if points != 1 else ''} per check."
    )
    note.metadata["tags"] = ["graded-note"]
    return note


def make_nbgrader_notebook(
    nb: NotebookNode, name: str = "notebook", points: float = 1.0
) -> NotebookNode:
    """The nbgrader source version of a lesson, as a new notebook (``nb`` is unchanged).

    Every ``exercise`` cell is merged with the ``solution`` cell that follows it into an
    nbgrader solution cell; every ``check`` cell becomes a locked, autograded test cell worth
    ``points``. Outputs, execution counts and widget state are cleared. Raises ValueError
    naming the lesson and cell when an exercise has no solution after it (or a solution no
    exercise before it), when an exercise is not a code cell, or when two checks share a name.
    """
    if points <= 0:
        raise ValueError(f"points must be positive, got {points}")
    source = copy.deepcopy(nb)
    source.metadata.pop("widgets", None)
    cells: list[NotebookNode] = []
    exercise_index: int | None = None
    exercises = 0
    grade_ids: set[str] = set()
    for index, cell in enumerate(source.cells):
        where = f"{name}, cell {index}"
        tags = set(cell.get("metadata", {}).get("tags", []))
        for key in ("execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "exercise" in tags:
            if cell.cell_type != "code":
                raise ValueError(f"{where}: only code exercises can be graded automatically")
            if exercise_index is not None:
                raise ValueError(f"{where}: the exercise before it has no solution cell")
            exercise_index = len(cells)
            cells.append(cell)
        elif "solution" in tags:
            if exercise_index is None:
                raise ValueError(f"{where}: solution cell with no exercise cell before it")
            exercise = cells[exercise_index]
            exercises += 1
            exercise.source = merge_exercise(exercise.source, cell.source, where)
            exercise.metadata["nbgrader"] = _nbgrader_metadata(
                f"exercise-{exercises}", solution=True, points=None
            )
            exercise_index = None
        elif "check" in tags:
            if cell.cell_type != "code":
                raise ValueError(f"{where}: a check cell must be a code cell")
            label = check_name(cell.source, where) or f"check {len(grade_ids) + 1}"
            grade_id = f"{_slug(label)}-check"
            if grade_id in grade_ids:
                raise ValueError(f"{where}: a second check named {label!r}")
            grade_ids.add(grade_id)
            cell.source = strict_check(cell.source, where)
            cell.metadata["nbgrader"] = _nbgrader_metadata(grade_id, solution=False, points=points)
            cells.append(cell)
        else:
            cells.append(cell)
    if exercise_index is not None:
        raise ValueError(f"{name}: the last exercise has no solution cell")
    return put_note_first(source, _graded_note(exercises, points), GRADED_NOTE_ID, cells)


def write_nbgrader_course(
    lessons: list[Path], out_dir: Path | str, points: float = 1.0, timeout_s: int = 900
) -> list[Path]:
    """Write ``source/NN_topic/NN_topic.ipynb`` for each lesson with exercises, and the config.

    ``out_dir`` becomes an nbgrader course directory: ``nbgrader_config.py`` sets the code
    stub and the cell timeout. Lessons without exercises are skipped. Returns the written
    notebooks followed by the config file. Assignments of lessons that are gone are removed
    from ``source/``.
    """
    out = Path(out_dir)
    (out / "source").mkdir(parents=True, exist_ok=True)
    written = []
    for path in lessons:
        nb = nbformat.read(path, as_version=4)
        graded = make_nbgrader_notebook(nb, path.name, points)
        if not any("nbgrader" in cell.metadata for cell in graded.cells):
            continue
        target = out / "source" / path.stem / path.name
        target.parent.mkdir(exist_ok=True)
        nbformat.write(graded, target)
        written.append(target)
    keep = {path.parent.name for path in written}
    for folder in (out / "source").iterdir():
        if folder.is_dir() and re.fullmatch(r"\d\d_.+", folder.name) and folder.name not in keep:
            shutil.rmtree(folder)
    config = out / "nbgrader_config.py"
    config.write_text(CONFIG_TEMPLATE.format(stub=CODE_STUB, timeout=timeout_s), encoding="utf-8")
    return [*written, config]
