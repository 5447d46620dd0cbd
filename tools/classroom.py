"""Classroom editions of the lessons: student notebooks and an offline HTML copy.

Run from the repository root::

    python -m tools.classroom student   # build/student/NN_topic.ipynb
    python -m tools.classroom html      # build/html/NN_topic.html + index.html

Student edition: cells tagged ``solution`` are removed, every output and execution count is
cleared, cells tagged ``exercise`` stay as runnable scaffolds (their body raises
NotImplementedError), and cells tagged ``check`` call ``check_exercise`` so that they print
"not solved yet" instead of stopping the notebook. A short note at the top says which edition
it is.

HTML edition: the stored, executed lessons rendered with nbconvert's ``lab`` template, with every
script that would be fetched from a CDN left out, so a page opens offline. Widget explorers
cannot move in a static page: each one is replaced by the picture it drew when the lesson was
executed and the values its controls started at.

A developer tool: it needs nbformat and nbconvert (the dev extras), so it lives outside the
package, which a runtime-only install must be able to import.
"""

from __future__ import annotations

import argparse
import copy
import html
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

LESSON_GLOB = "[0-9][0-9]_*.ipynb"
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"
STUDENT_NOTE_ID = "student-edition-note"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
COLLECTION_TITLE = "Attention, step by step"

# Cell metadata written by an execution run; meaningless once outputs are cleared.
_EXECUTION_METADATA = ("execution", "collapsed", "scrolled")

# Extends nbconvert's lab template and empties every block that loads a script from a CDN
# (require.js, the widget manager, MathJax, mermaid). CSS is inlined by the lab template and
# images are base64 already, so the page needs no network.
_OFFLINE_TEMPLATE_NAME = "classroom_offline.html.j2"
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block widget_state -%}{%- endblock widget_state -%}
"""


_NBCONVERT_ALT = "No description has been provided for this image"
_FIGURE_ALT = "Figure drawn by the code cell above"
_QUIET_LOG = logging.getLogger("tools.classroom.nbconvert")
_QUIET_LOG.setLevel(logging.ERROR)


@dataclass(frozen=True)
class ExerciseCounts:
    """How many cells of each exercise kind a lesson has."""

    exercises: int
    solutions: int
    checks: int


def lesson_paths(source_dir: Path | str) -> list[Path]:
    """The lessons ``NN_topic.ipynb`` in ``source_dir``, sorted by name."""
    source = Path(source_dir)
    if not source.is_dir():
        raise ValueError(f"lesson folder {str(source)!r} does not exist or is not a folder")
    return sorted(source.glob(LESSON_GLOB))


def cell_tags(cell: NotebookNode) -> list[str]:
    """The tags of a cell (``cell.metadata["tags"]``), an empty list when it has none."""
    return list(cell.get("metadata", {}).get("tags", []))


def count_exercise_cells(nb: NotebookNode, name: str = "notebook") -> ExerciseCounts:
    """Count exercise, solution and check cells, and check that they follow the convention.

    Raises ValueError naming the notebook and the cell when a cell carries two of the three
    tags, when an exercise code cell has no ``raise NotImplementedError`` scaffold, or when a
    check code cell does not call ``check_exercise``.
    """
    exercises = solutions = checks = 0
    for index, cell in enumerate(nb.cells):
        tags = set(cell_tags(cell)) & {EXERCISE_TAG, SOLUTION_TAG, CHECK_TAG}
        if len(tags) > 1:
            raise ValueError(
                f"{name}, cell {index}: tagged {sorted(tags)}; expected at most one of "
                f"'exercise', 'solution', 'check'"
            )
        is_code = cell.cell_type == "code"
        if EXERCISE_TAG in tags:
            exercises += 1
            if is_code and "NotImplementedError" not in cell.source:
                raise ValueError(
                    f"{name}, cell {index}: exercise cell has no `raise NotImplementedError` "
                    f"scaffold; expected a function whose body raises it"
                )
        elif SOLUTION_TAG in tags:
            solutions += 1
        elif CHECK_TAG in tags:
            checks += 1
            if is_code and "check_exercise(" not in cell.source:
                raise ValueError(
                    f"{name}, cell {index}: check cell does not call check_exercise(...); "
                    f"expected check_exercise('Exercise N', lambda: ...) so that it reports "
                    f"instead of raising"
                )
    return ExerciseCounts(exercises=exercises, solutions=solutions, checks=checks)


def _student_note(name: str, counts: ExerciseCounts) -> str:
    plural = "exercise is" if counts.exercises == 1 else "exercises are"
    source = f"`notebooks/{name}`" if name else "the lesson folder"
    return (
        "> **Student edition.** Outputs are cleared and the solutions are taken out: "
        f"its {counts.exercises} {plural} open for you. Run the cells from the top. Each "
        'check cell prints "not solved yet" until you fill in the exercise above it, then '
        f'"solved". The full lesson, with outputs and solutions, is {source}.'
    )


def make_student_notebook(nb: NotebookNode, name: str = "") -> NotebookNode:
    """The student edition of a lesson, as a new notebook (``nb`` is left unchanged).

    Removes cells tagged ``solution``, clears every output and execution count, keeps
    exercise and check cells, keeps the notebook's and the cells' metadata (tags, kernelspec)
    except stale execution records and stored widget state, and puts a note on top.
    ``name`` is the lesson's file name, used in messages and in the note.
    """
    if not isinstance(nb, NotebookNode) or "cells" not in nb:
        raise TypeError(f"expected a notebook read with nbformat, got {type(nb).__name__}")
    counts = count_exercise_cells(nb, name or "notebook")
    student = copy.deepcopy(nb)
    student.metadata.pop("widgets", None)
    kept = []
    for cell in student.cells:
        if SOLUTION_TAG in cell_tags(cell):
            continue
        for key in _EXECUTION_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        kept.append(cell)
    note = nbformat.v4.new_markdown_cell(_student_note(name, counts))
    note.metadata["tags"] = ["student-note"]
    if (student.nbformat, student.nbformat_minor) >= (4, 5):
        note["id"] = STUDENT_NOTE_ID
    else:
        note.pop("id", None)
    student.cells = [note, *kept]
    nbformat.validate(student)
    return student


def _remove_stale(out_dir: Path, keep: Iterable[str], suffix: str) -> None:
    keep = set(keep)
    for path in out_dir.glob(LESSON_GLOB.replace(".ipynb", suffix)):
        if path.name not in keep:
            path.unlink()


def write_student_notebooks(source_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Write the student edition of every lesson in ``source_dir`` to ``out_dir``.

    Returns the written paths. Student copies of lessons that no longer exist are removed.
    """
    sources = lesson_paths(source_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sources:
        nb = nbformat.read(path, as_version=4)
        student = make_student_notebook(nb, path.name)
        target = out / path.name
        nbformat.write(student, target)
        written.append(target)
    _remove_stale(out, (p.name for p in written), ".ipynb")
    return written


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")


def notebook_title(nb: NotebookNode, fallback: str) -> str:
    """The text of the notebook's first markdown heading, without markdown emphasis.

    ``fallback`` is returned when no markdown cell has a heading.
    """
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            match = _HEADING.match(line)
            if match:
                title = re.sub(r"(\*\*|__|`|\*)", "", match.group(1))
                title = re.sub(r"(?<!\w)_([^_]+)_(?!\w)", r"\1", title).strip()
                if title:
                    return title
    return fallback


def _control_value(values: dict) -> str | None:
    """A control's value as text: ``value`` for sliders, the label for dropdowns (``index``)."""
    if "value" in values:
        return str(values["value"])
    labels, index = values.get("_options_labels"), values.get("index")
    if isinstance(labels, list) and isinstance(index, int) and 0 <= index < len(labels):
        return str(labels[index])
    return None


def _widget_outputs(model_id: str, state: dict, seen: set[str]) -> tuple[list, list[str]]:
    """Outputs captured by Output widgets under ``model_id``, and its controls' start values."""
    if model_id in seen or model_id not in state:
        return [], []
    seen.add(model_id)
    model = state[model_id]
    values = model.get("state", {})
    outputs: list = []
    controls: list[str] = []
    if model.get("model_name") == "OutputModel":
        outputs.extend(values.get("outputs", []))
    elif values.get("description"):
        value = _control_value(values)
        if value is not None:
            controls.append(f"{values['description']} = {value}")
    for child in values.get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            child_outputs, child_controls = _widget_outputs(
                child.removeprefix("IPY_MODEL_"), state, seen
            )
            outputs.extend(child_outputs)
            controls.extend(child_controls)
    return outputs, controls


def freeze_widgets(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` in which each widget view is replaced by what it showed.

    A static page cannot run a widget. Each widget-view output becomes a short note (the
    controls' starting values) followed by the outputs its Output widgets captured when the
    notebook was executed (usually the figure). The stored widget state is dropped.
    """
    frozen = copy.deepcopy(nb)
    state = frozen.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in frozen.cells:
        if cell.cell_type != "code":
            continue
        new_outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                new_outputs.append(output)
                continue
            captured, controls = _widget_outputs(view.get("model_id", ""), state, set())
            note = "Interactive explorer: open the notebook in JupyterLab to move its controls."
            if controls:
                note += " Shown here at " + ", ".join(controls) + "."
            new_outputs.append(
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": f"<p><em>{html.escape(note)}</em></p>",
                        "text/plain": note,
                    },
                )
            )
            new_outputs.extend(nbformat.from_dict(o) for o in captured)
        cell.outputs = new_outputs
    return frozen


def export_html(nb: NotebookNode, name: str, resources_dir: Path | str = ".") -> str:
    """Render one executed notebook as a self-contained HTML page (no CDN scripts).

    ``name`` is the page's fallback title; ``resources_dir`` is where images linked from
    markdown are looked up before being embedded as base64.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    page = freeze_widgets(nb)
    page.metadata["title"] = notebook_title(page, name)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
        template_file=_OFFLINE_TEMPLATE_NAME,
        embed_images=True,
        log=_QUIET_LOG,
    )
    body, _ = exporter.from_notebook_node(
        page, resources={"metadata": {"name": name, "path": str(resources_dir)}}
    )
    # nbconvert gives every output image a generic alt text (and logs a warning per page).
    return body.replace(f'alt="{_NBCONVERT_ALT}"', f'alt="{_FIGURE_ALT}"')


def render_index(entries: Sequence[tuple[str, str]]) -> str:
    """The index page: one link per lesson, from ``(file name, title)`` pairs."""
    items = "\n".join(
        f'    <li><a href="{html.escape(href)}">{html.escape(title)}</a></li>'
        for href, title in entries
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>{COLLECTION_TITLE}: lessons</title>
  <style>
    body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto;
           padding: 0 1rem; line-height: 1.5; color: #222; }}
    ul {{ list-style: none; padding-left: 0; }}
    li {{ margin: 0.4rem 0; }}
    a {{ color: #0b5cad; }}
  </style>
</head>
<body>
  <h1>{COLLECTION_TITLE}</h1>
  <p>Static copies of the lessons with the outputs stored when they were last run. They open
  without a network connection. To run the code and move the widgets, open the notebooks in
  JupyterLab (<code>make lab</code>).</p>
  <ul>
{items}
  </ul>
</body>
</html>
"""


def write_html(source_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Write ``NN_topic.html`` for every lesson in ``source_dir`` and an ``index.html``.

    Returns the written lesson pages followed by the index.
    """
    sources = lesson_paths(source_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    entries = []
    for path in sources:
        nb = nbformat.read(path, as_version=4)
        target = out / f"{path.stem}.html"
        target.write_text(export_html(nb, path.stem, path.parent), encoding="utf-8")
        written.append(target)
        entries.append((target.name, notebook_title(nb, path.stem)))
    _remove_stale(out, (p.name for p in written), ".html")
    index = out / "index.html"
    index.write_text(render_index(entries), encoding="utf-8")
    return [*written, index]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``student`` or ``html``, with optional ``--source`` and ``--out``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.classroom",
        description="Build the student notebooks or the offline HTML copy of the lessons.",
    )
    parser.add_argument("edition", choices=["student", "html"])
    parser.add_argument("--source", default="notebooks", help="lesson folder (default notebooks)")
    parser.add_argument("--out", default=None, help="output folder (default build/<edition>)")
    args = parser.parse_args(argv)
    out = Path(args.out or f"build/{args.edition}")
    if args.edition == "student":
        written = write_student_notebooks(args.source, out)
    else:
        written = write_html(args.source, out)
    for path in written:
        print(f"wrote {path}")
    if not lesson_paths(args.source):
        print(f"no lessons matching {LESSON_GLOB} in {args.source}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
