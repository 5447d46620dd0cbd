"""The nbgrader export: merged solution cells, strict check cells, and nbgrader's own verdict.

The tests marked ``nbgrader`` run nbgrader itself in a temporary course directory:
``generate_assignment`` on every lesson's export, then ``autograde`` of lesson 01 twice (about
a minute): once with the solutions filled in, once as the student copy was generated.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools.classroom import LESSON_GLOB, main
from tools.nbgrader_export import (
    BEGIN_SOLUTION,
    CODE_STUB,
    END_SOLUTION,
    make_nbgrader_notebook,
    merge_exercise,
    strict_check,
    strip_solution_markers,
    write_nbgrader_course,
)

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob(LESSON_GLOB))
GRADED_LESSON = "01_convblock"
CELL_TIMEOUT_S = 120
SCAFFOLD = f'def double(x: int) -> int:\n    """Twice x."""\n    # hint: multiply\n    {CODE_STUB}'
SOLUTION = 'def double(x: int) -> int:\n    """Twice x."""\n    return 2 * x\n'


def _cell(source: str, tag: str | None = None):
    cell = new_code_cell(source, execution_count=1)
    cell.metadata["tags"] = [tag] if tag else []
    return cell


def _lesson(*cells) -> nbformat.NotebookNode:
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = new_notebook(metadata={"kernelspec": kernelspec})
    nb.cells = [new_markdown_cell("# Lesson 99"), *cells]
    return nb


def _doubling_lesson() -> nbformat.NotebookNode:
    return _lesson(
        _cell("from tutorial_utils import check_exercise"),
        _cell(SCAFFOLD, "exercise"),
        _cell(SOLUTION, "solution"),
        _cell("check_exercise('Exercise 1', lambda: double(3) == 6 or 1 / 0)", "check"),
    )


def _clear_solutions(source: str) -> str:
    """What nbgrader's ClearSolutions does with the configured stub (indent of BEGIN kept)."""
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN_SOLUTION:
            inside = True
            out.append(line[: len(line) - len(line.lstrip())] + CODE_STUB)
        elif line.strip() == END_SOLUTION:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


# --- merging an exercise with its solution --------------------------------------------------


def test_merge_keeps_the_scaffold_above_and_the_solution_between_markers() -> None:
    merged = merge_exercise(SCAFFOLD, SOLUTION)
    assert merged.splitlines() == [
        "def double(x: int) -> int:",
        '    """Twice x."""',
        "    # hint: multiply",
        f"    {BEGIN_SOLUTION}",
        "    return 2 * x",
        f"    {END_SOLUTION}",
    ]
    assert _clear_solutions(merged) == SCAFFOLD
    namespace: dict = {}
    exec(strip_solution_markers(merged), namespace)
    assert namespace["double"](4) == 8


@pytest.mark.parametrize(
    ("scaffold", "solution", "message"),
    [
        ("def f():\n    return 1", "def f():\n    return 2", "found 0"),
        (f"def f():\n    {CODE_STUB}\n    {CODE_STUB}", "def f():\n    return 2", "found 2"),
        (f"def f():\n    {CODE_STUB}", "def g():\n    return 2", "must start like the exercise"),
        (f"def f():\n    x = 1\n    {CODE_STUB}", "def f():\n    return 2", "changes the code"),
    ],
)
def test_merge_rejects_what_it_cannot_merge_faithfully(scaffold, solution, message) -> None:
    with pytest.raises(ValueError, match=message) as error:
        merge_exercise(scaffold, solution, "99_x.ipynb, cell 7")
    assert "99_x.ipynb, cell 7" in str(error.value)


# --- strict checks ----------------------------------------------------------------------------


def test_strict_check_adds_strict_and_keeps_the_rest_of_the_cell() -> None:
    source = 'def t():\n    assert f() == "é"\n\n\ncheck_exercise("Exercise 2", t)  # graded\n'
    assert strict_check(source) == source.replace("t)  #", "t, strict=True)  #")
    trailing = 'check_exercise(\n    "Exercise 1",\n    t,\n);'
    rewritten = strict_check(trailing)
    call = ast.parse(rewritten).body[0].value
    assert [k.arg for k in call.keywords] == ["strict"] and call.keywords[0].value.value is True


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("assert f() == 2", "found 0"),
        ("check_exercise('a', t)\ncheck_exercise('b', t)", "found 2"),
        ("check_exercise('a', t, strict=False)", "already sets strict"),
    ],
)
def test_strict_check_rejects_cells_without_exactly_one_plain_call(source, message) -> None:
    with pytest.raises(ValueError, match=message):
        strict_check(source, "99_x.ipynb, cell 3")


# --- the source notebook ------------------------------------------------------------------


def test_source_notebook_has_nbgrader_solution_and_test_cells() -> None:
    lesson = _doubling_lesson()
    graded = make_nbgrader_notebook(lesson, "99_doubling.ipynb", points=2)

    meta = [cell.metadata.get("nbgrader") for cell in graded.cells]
    assert meta[:3] == [None, None, None]  # note, title, setup
    assert meta[3] == {
        "grade": False,
        "grade_id": "exercise-1",
        "locked": False,
        "schema_version": 3,
        "solution": True,
    }
    assert meta[4] == {
        "grade": True,
        "grade_id": "exercise-1-check",
        "locked": True,
        "points": 2,
        "schema_version": 3,
        "solution": False,
    }
    assert len(graded.cells) == len(lesson.cells)  # the solution cell went into the exercise
    assert "strict=True" in graded.cells[4].source
    assert all(
        cell.outputs == [] and cell.execution_count is None
        for cell in graded.cells
        if cell.cell_type == "code"
    )
    assert lesson.cells[3].metadata["tags"] == ["solution"]  # the lesson is untouched


def test_source_notebook_metadata_passes_nbgraders_validator() -> None:
    from nbgrader.nbgraderformat import MetadataValidator

    MetadataValidator().validate_nb(make_nbgrader_notebook(_doubling_lesson(), "99.ipynb"))


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ((_cell(SCAFFOLD, "exercise"),), "last exercise has no solution"),
        ((_cell(SOLUTION, "solution"),), "no exercise cell before it"),
        ((_cell(SCAFFOLD, "exercise"), _cell(SCAFFOLD, "exercise")), "has no solution cell"),
        (
            (
                _cell("check_exercise('Exercise 1', t)", "check"),
                _cell("check_exercise('Exercise 1', u)", "check"),
            ),
            "a second check named 'Exercise 1'",
        ),
    ],
)
def test_source_notebook_rejects_unpaired_cells(cells, message) -> None:
    with pytest.raises(ValueError, match=message) as error:
        make_nbgrader_notebook(_lesson(*cells), "99_x.ipynb")
    assert "99_x.ipynb" in str(error.value)


def test_source_notebook_rejects_non_positive_points() -> None:
    with pytest.raises(ValueError, match="got 0"):
        make_nbgrader_notebook(_doubling_lesson(), points=0)


# --- every lesson -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every lesson exported into a fresh nbgrader course directory."""
    root = tmp_path_factory.mktemp("course")
    assert main(["nbgrader", "--out", str(root)]) == 0
    return root


def _tagged(nb: nbformat.NotebookNode, tag: str) -> list:
    return [cell for cell in nb.cells if tag in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_every_lesson_exports_one_solution_cell_per_exercise(lesson: Path, course: Path) -> None:
    from nbgrader.nbgraderformat import MetadataValidator

    nb = nbformat.read(lesson, as_version=4)
    exercises, solutions = _tagged(nb, "exercise"), _tagged(nb, "solution")
    exported = course / "source" / lesson.stem / lesson.name
    if not exercises:
        assert not exported.exists(), f"{lesson.name} has no exercises, so no assignment"
        return
    graded = nbformat.read(exported, as_version=4)
    MetadataValidator().validate_nb(graded)
    merged = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("solution")]
    tests = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(merged) == len(exercises) == len(solutions)
    assert len(tests) == len(_tagged(nb, "check"))
    for cell, exercise, solution in zip(merged, exercises, solutions, strict=True):
        assert _clear_solutions(cell.source) == exercise.source
        solved = ast.dump(ast.parse(strip_solution_markers(cell.source)))
        assert solved == ast.dump(ast.parse(solution.source))
    for cell in tests:
        assert cell.metadata["nbgrader"]["locked"] and cell.metadata["nbgrader"]["points"] > 0
        assert "strict=True)" in cell.source


def test_stale_assignments_are_removed(tmp_path: Path) -> None:
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(_doubling_lesson(), source / "99_doubling.ipynb")
    (tmp_path / "course" / "source" / "98_gone").mkdir(parents=True)
    written = write_nbgrader_course(sorted(source.glob(LESSON_GLOB)), tmp_path / "course")
    assert [p.name for p in written] == ["99_doubling.ipynb", "nbgrader_config.py"]
    assert sorted(p.name for p in (tmp_path / "course" / "source").iterdir()) == ["99_doubling"]


# --- nbgrader itself ----------------------------------------------------------------------


def _nbgrader(course: Path, *args: str, timeout: float = 900) -> str:
    """Run nbgrader's command line in ``course`` with this interpreter and this checkout."""
    env = dict(os.environ)
    # nbgrader starts the `alembic` command to set up its database: it must be on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["JUPYTER_CONFIG_DIR"] = str(course / ".jupyter")  # no user-wide nbgrader settings
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def released(course: Path) -> Path:
    """nbgrader's generate_assignment run on every exported lesson."""
    _nbgrader(course, "generate_assignment", "*", "--force")
    return course / "release"


@pytest.mark.nbgrader
@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_generate_assignment_gives_each_exercise_its_scaffold(lesson: Path, released: Path) -> None:
    exercises = _tagged(nbformat.read(lesson, as_version=4), "exercise")
    if not exercises:
        return
    release = nbformat.read(released / lesson.stem / lesson.name, as_version=4)
    student = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert [c.source for c in student] == [c.source for c in exercises]
    assert not any(BEGIN_SOLUTION in cell.source for cell in release.cells)
    assert not _tagged(release, "solution")


def _scores(course: Path, student: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(GRADED_LESSON, GRADED_LESSON, student)
        return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}


@pytest.mark.nbgrader
def test_autograde_gives_full_marks_to_solutions_and_zero_to_the_student_copy(
    course: Path, released: Path
) -> None:
    name = f"{GRADED_LESSON}.ipynb"
    release = nbformat.read(released / GRADED_LESSON / name, as_version=4)
    source = nbformat.read(course / "source" / GRADED_LESSON / name, as_version=4)
    answers = {
        cell.metadata["nbgrader"]["grade_id"]: strip_solution_markers(cell.source)
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }
    solved = nbformat.from_dict(release)
    for cell in solved.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    for student, nb in (("solved", solved), ("as-released", release)):
        # A learner may delete ungraded cells. Dropping the widget explorers keeps nbclient's
        # missed-reply race after an interact cell out of this test; grading is unchanged.
        nb.cells = [
            cell
            for cell in nb.cells
            if "nbgrader" in cell.metadata or "widgets.interact(" not in cell.source
        ]
        folder = course / "submitted" / student / GRADED_LESSON
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / name)

    # Lesson 01's cells take seconds. nbclient can miss a cell's reply after a widget cell and
    # wait out the whole cell timeout; a short one bounds that wait (the cell is interrupted,
    # and it is not a graded cell).
    _nbgrader(course, "autograde", GRADED_LESSON, "--force", f"--Execute.timeout={CELL_TIMEOUT_S}")

    solved_scores, blank_scores = _scores(course, "solved"), _scores(course, "as-released")
    print(
        f"nbgrader autograde, {GRADED_LESSON}: solved {solved_scores}, as released {blank_scores}"
    )
    assert len(solved_scores) == len(_tagged(source, "check")) == 4
    assert all(score == total > 0 for score, total in solved_scores.values()), solved_scores
    assert all(score == 0 for score, _ in blank_scores.values()), blank_scores
