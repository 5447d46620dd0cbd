"""Classroom editions: student notebooks (solutions out, outputs cleared) and offline HTML.

The last test executes the student copy of every lesson top to bottom, so it takes as long
as running all lessons once; select it alone with
``pytest -m student tests/tools/test_classroom.py``
or leave it out with ``-m "not student"``.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools.classroom import (
    LESSON_GLOB,
    STUDENT_NOTE_ID,
    count_exercise_cells,
    main,
    make_student_notebook,
    notebook_title,
    write_student_notebooks,
)
from tools.execute import poll_in_slices
from tools.html_edition import WIDGET_STATE, WIDGET_VIEW, freeze_widgets, write_html

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted((ROOT / "notebooks").glob(LESSON_GLOB))
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
# A 1x1 red PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5Erk"
    "Jggg=="
)


def _code(source: str, tags: list[str] | None = None, count: int | None = 1, outputs=()) -> object:
    cell = new_code_cell(source, execution_count=count, outputs=list(outputs))
    cell.metadata["tags"] = list(tags or [])
    return cell


def _lesson() -> nbformat.NotebookNode:
    """A small executed-looking lesson with one exercise, its solution and its check."""
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {}, "version_major": 2, "version_minor": 0}}
    title = new_markdown_cell("# Lesson 99: **Doubling** `x`\n\nLearning objectives: double.")
    setup = _code(
        "from tutorial_utils import check_exercise\nprint('ready')",
        ["setup"],
        1,
        [new_output("stream", name="stdout", text="ready\n")],
    )
    setup.metadata["execution"] = {"iopub.status.idle": "2026-01-01T00:00:00Z"}
    exercise = _code(
        "def double(x: int) -> int:\n    # hint: multiply\n"
        '    raise NotImplementedError("your code here")',
        ["exercise"],
        2,
    )
    solution = _code("def double(x: int) -> int:\n    return 2 * x", ["solution"], 3)
    check = _code(
        "check_exercise('Exercise 1', lambda: double(3) == 6 or 1 / 0);",
        ["check"],
        4,
        [new_output("stream", name="stdout", text="Exercise 1: solved\n")],
    )
    pitfall = _code(
        "1 / 0",
        ["raises-exception"],
        5,
        [new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])],
    )
    figure = _code(
        "plt.show()",
        [],
        6,
        [new_output("display_data", data={"image/png": PNG, "text/plain": "F"})],
    )
    nb.cells = [title, setup, exercise, solution, check, pitfall, figure]
    return nb


def test_student_edition_removes_solutions_and_clears_outputs() -> None:
    lesson = _lesson()
    student = make_student_notebook(lesson, "99_doubling.ipynb")

    sources = [cell.source for cell in student.cells]
    assert not any("return 2 * x" in source for source in sources)
    assert all("solution" not in cell.metadata.get("tags", []) for cell in student.cells)
    code = [cell for cell in student.cells if cell.cell_type == "code"]
    assert len(code) == len([c for c in lesson.cells if c.cell_type == "code"]) - 1
    assert all(cell.outputs == [] for cell in code)
    assert all(cell.execution_count is None for cell in code)
    assert all("execution" not in cell.metadata for cell in student.cells)
    exercise = [cell for cell in code if "exercise" in cell.metadata["tags"]]
    assert len(exercise) == 1
    assert 'raise NotImplementedError("your code here")' in exercise[0].source
    assert "# hint: multiply" in exercise[0].source
    nbformat.validate(student)


def test_student_edition_keeps_metadata_and_adds_a_note_on_top() -> None:
    lesson = _lesson()
    student = make_student_notebook(lesson, "99_doubling.ipynb")

    assert student.metadata["kernelspec"] == KERNELSPEC
    assert student.metadata["language_info"] == {"name": "python"}
    assert "widgets" not in student.metadata
    note = student.cells[0]
    assert note.cell_type == "markdown"
    assert note.id == STUDENT_NOTE_ID
    assert "Student edition" in note.source
    assert "its 1 exercise is open" in note.source
    assert "notebooks/99_doubling.ipynb" in note.source
    assert student.cells[1].source.startswith("# Lesson 99")
    tags = [cell.metadata.get("tags") for cell in student.cells[1:]]
    assert tags == [None, ["setup"], ["exercise"], ["check"], ["raises-exception"], []]
    # the lesson itself is untouched
    assert lesson.cells[3].metadata["tags"] == ["solution"]
    assert lesson.cells[1].outputs and lesson.cells[1].execution_count == 1


@pytest.mark.parametrize(
    ("index", "source", "tags", "message"),
    [
        (2, "def double(x):\n    return x", ["exercise"], "NotImplementedError"),
        (4, "assert double(3) == 6", ["check"], "check_exercise"),
        (3, "def double(x):\n    return 2 * x", ["solution", "check"], "at most one"),
    ],
)
def test_student_edition_rejects_cells_that_break_the_convention(
    index: int, source: str, tags: list[str], message: str
) -> None:
    lesson = _lesson()
    lesson.cells[index].source = source
    lesson.cells[index].metadata["tags"] = tags
    with pytest.raises(ValueError, match=message) as error:
        make_student_notebook(lesson, "99_doubling.ipynb")
    assert f"cell {index}" in str(error.value)
    assert "99_doubling.ipynb" in str(error.value)


def test_student_edition_rejects_a_non_notebook() -> None:
    with pytest.raises(TypeError, match="dict"):
        make_student_notebook({"cells": "no"}, "x.ipynb")


def test_count_exercise_cells() -> None:
    counts = count_exercise_cells(_lesson())
    assert (counts.exercises, counts.solutions, counts.checks) == (1, 1, 1)


def test_write_student_notebooks_mirrors_the_lesson_folder(tmp_path: Path) -> None:
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(_lesson(), source / "99_doubling.ipynb")
    nbformat.write(_lesson(), source / "scratch.ipynb")  # not a lesson name
    out = tmp_path / "build" / "student"
    out.mkdir(parents=True)
    (out / "98_removed.ipynb").write_text("{}")

    written = write_student_notebooks(source, out)

    assert [path.name for path in written] == ["99_doubling.ipynb", "README.md"]
    assert sorted(path.name for path in out.iterdir()) == ["99_doubling.ipynb", "README.md"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "| [Lesson 99: Doubling x](99_doubling.ipynb) | 1 |" in readme
    student = nbformat.read(out / "99_doubling.ipynb", as_version=4)
    assert student.cells[0].id == STUDENT_NOTE_ID
    with pytest.raises(ValueError, match="missing"):
        write_student_notebooks(tmp_path / "missing", out)
    (out / "docs").mkdir()  # a folder from an earlier run is generated, so it goes
    write_student_notebooks(source, out)
    assert not (out / "docs").exists()
    for folder in (tmp_path, source):
        with pytest.raises(ValueError, match="holds the lessons"):
            write_student_notebooks(source, folder)


def test_command_line_builds_both_editions(tmp_path: Path, capsys) -> None:
    source = tmp_path / "notebooks"
    source.mkdir()
    nbformat.write(_lesson(), source / "99_doubling.ipynb")
    assert main(["student", "--source", str(source), "--out", str(tmp_path / "s")]) == 0
    assert main(["html", "--source", str(source), "--out", str(tmp_path / "h")]) == 0
    assert (tmp_path / "s" / "99_doubling.ipynb").is_file()
    assert (tmp_path / "h" / "99_doubling.html").is_file()
    assert (tmp_path / "h" / "index.html").is_file()
    assert (tmp_path / "h" / "mathjax" / "MathJax.js").is_file()
    assert capsys.readouterr().out.count("wrote ") == 4  # notebook, README, page, index


def test_notebook_title_is_the_first_heading_without_emphasis() -> None:
    assert notebook_title(_lesson(), "fallback") == "Lesson 99: Doubling x"
    emphasised = new_notebook(
        cells=[new_markdown_cell("## 03 · *where* to look, _not_ `align_corners`")]
    )
    assert notebook_title(emphasised, "x") == "03 · where to look, not align_corners"
    untitled = new_notebook(cells=[new_markdown_cell("no heading here"), new_code_cell("# x")])
    assert notebook_title(untitled, "99_x") == "99_x"


def _widget_lesson() -> nbformat.NotebookNode:
    """A lesson with a widget explorer whose Output widget captured a figure."""
    nb = _lesson()
    state = {
        "box": {
            "model_name": "VBoxModel",
            "state": {"children": ["IPY_MODEL_slider", "IPY_MODEL_photo", "IPY_MODEL_out"]},
        },
        "photo": {
            "model_name": "DropdownModel",
            "state": {"description": "image", "index": 1, "_options_labels": ["cat", "dog"]},
        },
        "slider": {"model_name": "FloatSliderModel", "state": {"description": "r", "value": 16}},
        "out": {
            "model_name": "OutputModel",
            "state": {
                "outputs": [
                    {"output_type": "display_data", "data": {"image/png": PNG}, "metadata": {}}
                ]
            },
        },
    }
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": state, "version_major": 2}}
    view = {"model_id": "box", "version_major": 2, "version_minor": 0}
    explorer = _code(
        "interact(explore, r=(1, 32))",
        ["nbval-ignore-output"],
        7,
        [new_output("display_data", data={WIDGET_VIEW: view, "text/plain": "interactive(...)"})],
    )
    nb.cells.append(explorer)
    return nb


def test_freeze_widgets_shows_the_captured_figure_and_the_start_values() -> None:
    frozen = freeze_widgets(_widget_lesson())
    outputs = frozen.cells[-1].outputs
    assert "widgets" not in frozen.metadata
    assert "r = 16, image = dog" in outputs[0].data["text/plain"]
    assert outputs[1].data["image/png"] == PNG
    assert all(WIDGET_VIEW not in output.get("data", {}) for output in outputs)


def test_html_edition_is_offline_with_embedded_images_and_an_index(tmp_path: Path) -> None:
    source = tmp_path / "notebooks"
    source.mkdir()
    (source / "pixel.png").write_bytes(base64.b64decode(PNG))
    nb = _widget_lesson()
    nb.cells.insert(1, new_markdown_cell("A picture: ![pixel](pixel.png)"))
    nbformat.write(nb, source / "99_doubling.ipynb")
    out = tmp_path / "html"

    written = write_html(source, out)

    assert [path.name for path in written] == ["99_doubling.html", "index.html"]
    page = (out / "99_doubling.html").read_text(encoding="utf-8")
    assert "<title>Lesson 99: Doubling x</title>" in page
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", page)
    assert scripts == ["mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"]
    assert (out / scripts[0].split("?")[0]).is_file(), "MathJax is not next to the page"
    assert not re.search(r"<link[^>]*href=\"https?:", page), "page loads a stylesheet"
    assert "cdn" not in page.lower()
    assert "pixel.png" not in page, "markdown image was not embedded"
    # markdown image, figure output and the widget's captured figure
    assert page.count(f"data:image/png;base64,{PNG}") >= 3
    assert "open the notebook in JupyterLab" in page
    assert 'alt="Figure drawn by the code cell above"' in page
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert "return 2 * x" in text  # the HTML copy is the full lesson
    index = (out / "index.html").read_text(encoding="utf-8")
    assert '<a href="99_doubling.html">Lesson 99: Doubling x</a>' in index
    assert "<script" not in index


# --- every lesson's student copy, executed -------------------------------------------------


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("student")
    write_student_notebooks(ROOT / "notebooks", out)
    return out


def _stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(
        output.get("text", "")
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


@pytest.mark.student
@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_student_notebook_runs_and_every_check_is_open(lesson: Path, student_dir: Path) -> None:
    """Run the student copy in a fresh kernel of this interpreter; nothing may crash."""
    nb = nbformat.read(student_dir / lesson.name, as_version=4)
    counts = count_exercise_cells(nb, lesson.name)
    assert counts.solutions == 0
    assert counts.checks >= counts.exercises, f"{lesson.name}: an exercise has no check cell"

    # nbclient lets a cell tagged raises-exception fail and stops on any other error.
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        allow_errors=False,
        resources={"metadata": {"path": str(student_dir)}},
    )
    client.on_notebook_start = lambda notebook: poll_in_slices(client.kc)
    client.execute()

    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" not in tags:
            assert not errors, f"{lesson.name}, cell {index}: {errors[0].ename}"
        if "check" in tags:
            printed = _stdout(cell)
            assert "not solved yet" in printed, (
                f"{lesson.name}, cell {index}: check printed {printed!r}"
            )
