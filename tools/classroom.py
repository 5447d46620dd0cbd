"""Classroom editions of the lessons: student copies, offline HTML, nbgrader assignments.

Run from the repository root::

    python -m tools.classroom student    # classroom/student/: NN_topic.ipynb, docs/, README.md
    python -m tools.classroom html       # build/html/NN_topic.html, index.html, docs/, mathjax/
    python -m tools.classroom nbgrader   # build/nbgrader/: an nbgrader course directory
    python -m tools.classroom link --hub URL --repo URL   # an nbgitpuller link

Student edition: cells tagged ``solution`` are removed, every output and execution count is
cleared, cells tagged ``exercise`` stay as runnable scaffolds (their body raises
NotImplementedError), and cells tagged ``check`` call ``check_exercise`` so that they print
"not solved yet" instead of stopping the notebook. A short note at the top says which edition
it is. The edition is committed to the repository, so a hub can pull it with nbgitpuller; the
docs the lessons link to are copied into it and the links rewritten to the copies.

HTML edition: the stored, executed lessons rendered with nbconvert's ``lab`` template, with no
script fetched from a CDN: MathJax is copied next to the pages from a Python package, so the
formulas typeset offline. Widget explorers cannot move in a static page: each one is replaced
by the picture it drew when the lesson was executed and the values its controls started at.
The docs the lessons link to are rendered as pages too.

nbgrader edition: see ``tools.nbgrader_export``.

A developer tool: it needs nbformat and nbconvert (the dev extras), so it lives outside the
package, which a runtime-only install must be able to import.
"""

from __future__ import annotations

import argparse
import copy
import html
import logging
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlparse

import nbformat
from nbformat import NotebookNode

from tools.links import embed_images, linked_files, rewrite_links
from tools.mathjax import HEAD_BLOCK, copy_mathjax, mathjax_url
from tools.nbgrader_export import write_nbgrader_course

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

STUDENT_DIR = "classroom/student"
# Extends nbconvert's lab template: empties every block that loads a script from a CDN
# (require.js, the widget manager, mermaid) and loads MathJax from the copy next to the pages.
# CSS is inlined by the lab template and images are base64 already, so a page needs no network.
_OFFLINE_TEMPLATE_NAME = "classroom_offline.html.j2"
_OFFLINE_TEMPLATE = (
    """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block widget_state -%}{%- endblock widget_state -%}
"""
    + HEAD_BLOCK
)


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


def _markdown_sources(lessons: Sequence[tuple[Path, NotebookNode]]) -> list[tuple[str, Path]]:
    """The markdown cells of ``(path, notebook)`` pairs, as ``(text, file)`` pairs."""
    return [
        (cell.source, path.resolve())
        for path, nb in lessons
        for cell in nb.cells
        if cell.cell_type == "markdown"
    ]


def _with_links(
    nb: NotebookNode,
    written_in: Path,
    placed_at: Path,
    placement: dict[Path, Path],
) -> NotebookNode:
    """``nb`` with the relative links of its markdown cells pointing into the copy."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source, written_in, placed_at, placement)
    return nb


def _doc_places(docs: Sequence[Path], repo: Path, out: Path, suffix: str) -> dict[Path, Path]:
    """Where each linked file goes in a copy: its path in the repository, under ``out``.

    Markdown files get ``suffix`` (``.md`` or ``.html``); other files keep their names.
    """
    places = {}
    for doc in docs:
        try:
            inside = doc.relative_to(repo)
        except ValueError:
            raise ValueError(f"a lesson links to {doc}, which is outside {repo}") from None
        places[doc] = out / (inside.with_suffix(suffix) if doc.suffix == ".md" else inside)
    return places


def _clear_folders(places: Iterable[Path], out: Path) -> None:
    """Remove the generated folders (such as ``out/docs``) before writing them again."""
    for top in {place.relative_to(out).parts[0] for place in places}:
        if (out / top).is_dir():
            shutil.rmtree(out / top)


def render_student_readme(entries: Sequence[tuple[str, str, int]], docs: Sequence[str]) -> str:
    """The student folder's README: ``(file, title, exercises)`` per lesson, then the docs."""
    rows = "\n".join(f"| [{title}]({href}) | {count} |" for href, title, count in entries)
    words = ", ".join(f"[{Path(href).stem}]({href})" for href in docs)
    return f"""# {COLLECTION_TITLE}: student edition

Exercise copies of the lessons: outputs cleared, solutions taken out. Open a lesson, run its
cells from the top, and fill in each exercise cell; the check cell below it says whether your
answer is right.

| lesson | exercises |
|---|---|
{rows}

{"Also here: " + words + "." if words else ""}

This folder is made from the lessons by `make student`. Work in your own copy: pulling a new
version (with nbgitpuller) keeps your edits, but changes made here in the repository are
overwritten.
"""


def write_student_notebooks(source_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Write the student edition of every lesson in ``source_dir`` to ``out_dir``.

    Also copies the docs the lessons link to (and the docs those link to) into ``out_dir``
    at their repository paths, rewrites the links to the copies, and writes a README with
    the list of lessons. Returns the written paths: notebooks, docs, README. Student copies
    of lessons that no longer exist are removed.
    """
    sources = lesson_paths(source_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lessons = [(path, nbformat.read(path, as_version=4)) for path in sources]
    docs = linked_files(_markdown_sources(lessons))
    repo, where = Path(source_dir).resolve().parent, out.resolve()
    doc_places = _doc_places(docs, repo, where, ".md")
    placement = {path.resolve(): where / path.name for path in sources} | doc_places
    written = []
    entries = []
    for path, nb in lessons:
        student = make_student_notebook(nb, path.name)
        target = out / path.name
        _with_links(student, path.resolve(), where / path.name, placement)
        nbformat.write(student, target)
        written.append(target)
        counts = count_exercise_cells(nb, path.name)
        entries.append((path.name, notebook_title(nb, path.stem), counts.exercises))
    _remove_stale(out, (p.name for p in written), ".ipynb")
    _clear_folders(doc_places.values(), where)
    for doc, place in doc_places.items():
        place.parent.mkdir(parents=True, exist_ok=True)
        if doc.suffix == ".md":
            text = rewrite_links(doc.read_text(encoding="utf-8"), doc, place, placement)
            place.write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(doc, place)
        written.append(out / place.relative_to(where))
    readme = out / "README.md"
    doc_hrefs = [
        place.relative_to(where).as_posix()
        for doc, place in doc_places.items()
        if doc.suffix == ".md"
    ]
    readme.write_text(render_student_readme(entries, doc_hrefs), encoding="utf-8")
    return [*written, readme]


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


def export_html(
    nb: NotebookNode,
    name: str,
    resources_dir: Path | str = ".",
    mathjax: str = "",
) -> str:
    """Render one executed notebook as a self-contained HTML page (no CDN scripts).

    ``name`` is the page's fallback title; ``resources_dir`` is where images linked from
    markdown are looked up before being embedded as base64; ``mathjax`` is the URL of the
    MathJax.js copied next to the pages (``copy_mathjax``), relative to the page.
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
        mathjax_url=mathjax or mathjax_url(Path("page.html"), Path(".")),
        log=_QUIET_LOG,
    )
    body, _ = exporter.from_notebook_node(
        page, resources={"metadata": {"name": name, "path": str(resources_dir)}}
    )
    # nbconvert gives every output image a generic alt text (and logs a warning per page).
    return body.replace(f'alt="{_NBCONVERT_ALT}"', f'alt="{_FIGURE_ALT}"')


def render_index(entries: Sequence[tuple[str, str]], docs: Sequence[tuple[str, str]] = ()) -> str:
    """The index page: one link per lesson, from ``(file name, title)`` pairs, then the docs."""

    def items(pairs: Sequence[tuple[str, str]]) -> str:
        return "\n".join(
            f'    <li><a href="{html.escape(href)}">{html.escape(title)}</a></li>'
            for href, title in pairs
        )

    reference = f"\n  <h2>Reference</h2>\n  <ul>\n{items(docs)}\n  </ul>" if docs else ""
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
{items(entries)}
  </ul>{reference}
</body>
</html>
"""


def write_html(
    source_dir: Path | str, out_dir: Path | str, only: Iterable[str] | None = None
) -> list[Path]:
    """Write ``NN_topic.html`` for every lesson in ``source_dir``, the docs and an index.

    The docs the lessons link to become pages under their repository paths (``docs/X.html``)
    and the links are rewritten to them; MathJax is copied to ``mathjax/``. ``only`` limits
    the pages to the lessons with those stems. Returns the written lesson pages, the doc
    pages, then the index.
    """
    sources = lesson_paths(source_dir)
    if only is not None:
        wanted = set(only)
        unknown = wanted - {path.stem for path in sources}
        if unknown:
            raise ValueError(f"no lesson named {sorted(unknown)} in {source_dir}")
        sources = [path for path in sources if path.stem in wanted]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    where = out.resolve()
    lessons = [(path, nbformat.read(path, as_version=4)) for path in sources]
    # Pictures are embedded in the pages, so only the other linked files are carried.
    for path, nb in lessons:
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = embed_images(cell.source, path.resolve())
    docs = linked_files(_markdown_sources(lessons))
    doc_places = _doc_places(docs, Path(source_dir).resolve().parent, where, ".html")
    placement = {path.resolve(): where / f"{path.stem}.html" for path in sources} | doc_places
    copy_mathjax(out)
    written = []
    entries = []
    for path, nb in lessons:
        target = where / f"{path.stem}.html"
        page = _with_links(copy.deepcopy(nb), path.resolve(), target, placement)
        body = export_html(page, path.stem, path.parent, mathjax_url(target, where))
        target.write_text(body, encoding="utf-8")
        written.append(out / target.name)
        entries.append((target.name, notebook_title(nb, path.stem)))
    _remove_stale(out, (p.name for p in written), ".html")
    _clear_folders(doc_places.values(), where)
    doc_entries = []
    for doc, place in doc_places.items():
        place.parent.mkdir(parents=True, exist_ok=True)
        if doc.suffix != ".md":
            shutil.copyfile(doc, place)
            written.append(out / place.relative_to(where))
            continue
        text = embed_images(doc.read_text(encoding="utf-8"), doc)
        text = rewrite_links(text, doc, place, placement)
        page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
        place.write_text(
            export_html(page, doc.stem, doc.parent, mathjax_url(place, where)), encoding="utf-8"
        )
        href = place.relative_to(where).as_posix()
        written.append(out / href)
        doc_entries.append((href, notebook_title(page, doc.stem)))
    index = out / "index.html"
    index.write_text(render_index(entries, doc_entries), encoding="utf-8")
    return [*written, index]


def nbgitpuller_link(
    hub: str, repo: str, branch: str = "main", path: str = STUDENT_DIR, app: str = "lab"
) -> str:
    """An nbgitpuller link: the hub pulls ``branch`` of ``repo`` and opens ``path`` in it.

    nbgitpuller clones into a folder named after the repository, so ``path`` (a folder or a
    notebook inside the repository) is opened under that folder. ``app`` is ``lab`` or
    ``tree`` (the classic file view). Raises ValueError naming a hub or repository that is not
    an http(s) URL.
    """
    for label, url in (("hub", hub), ("repository", repo)):
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"the {label} must be an http(s) URL, got {url!r}")
    if app not in ("lab", "tree"):
        raise ValueError(f"app must be 'lab' or 'tree', got {app!r}")
    folder = urlparse(repo).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    if not folder:
        raise ValueError(f"the repository URL {repo!r} names no repository")
    query = urlencode(
        {"repo": repo, "branch": branch, "urlpath": f"{app}/tree/{folder}/{path.strip('/')}"}
    )
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``student``, ``html``, ``nbgrader`` (``--source``, ``--out``) or ``link``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.classroom",
        description="Build the classroom editions of the lessons, or an nbgitpuller link.",
    )
    commands = parser.add_subparsers(dest="edition", required=True)
    defaults = {"student": STUDENT_DIR, "html": "build/html", "nbgrader": "build/nbgrader"}
    helps = {
        "student": "student notebooks a hub can pull (committed)",
        "html": "offline HTML pages with MathJax",
        "nbgrader": "an nbgrader course directory with one assignment per lesson",
    }
    for edition, out in defaults.items():
        command = commands.add_parser(edition, help=helps[edition])
        command.add_argument("--source", default="notebooks", help="lesson folder")
        command.add_argument("--out", default=out, help=f"output folder (default {out})")
        if edition == "nbgrader":
            command.add_argument("--points", type=float, default=1.0, help="points per check")
    link = commands.add_parser("link", help="print an nbgitpuller link to the student edition")
    link.add_argument("--hub", required=True, help="the hub's URL, e.g. https://hub.example.org")
    link.add_argument("--repo", required=True, help="the repository's URL, as git clones it")
    link.add_argument("--branch", default="main")
    link.add_argument("--path", default=STUDENT_DIR, help="folder or notebook to open")
    args = parser.parse_args(argv)
    if args.edition == "link":
        print(nbgitpuller_link(args.hub, args.repo, args.branch, args.path))
        return 0
    if args.edition == "student":
        written = write_student_notebooks(args.source, args.out)
    elif args.edition == "html":
        written = write_html(args.source, args.out)
    else:
        written = write_nbgrader_course(lesson_paths(args.source), args.out, args.points)
    for path in written:
        print(f"wrote {path}")
    if not lesson_paths(args.source):
        print(f"no lessons matching {LESSON_GLOB} in {args.source}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
