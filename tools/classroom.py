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

HTML edition: see ``tools.html_edition`` (offline pages, MathJax copied from a package).

nbgrader edition: see ``tools.nbgrader_export``.

A developer tool: it needs nbformat and nbconvert (the dev extras), so it lives outside the
package, which a runtime-only install must be able to import.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlparse

import nbformat
from nbformat import NotebookNode

from tools.cells import put_note_first
from tools.links import linked_files, rewrite_links
from tools.nbgrader_export import write_nbgrader_course

LESSON_GLOB = "[0-9][0-9]_*.ipynb"
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"
STUDENT_NOTE_ID = "student-edition-note"
COLLECTION_TITLE = "Attention, step by step"

# Cell metadata written by an execution run; meaningless once outputs are cleared.
_EXECUTION_METADATA = ("execution", "collapsed", "scrolled")

STUDENT_DIR = "classroom/student"
# Translated editions: the lessons in notebooks/<lang>/ (``make zh``), each edition beside the
# English one (the HTML pages in a subfolder, so that one index can offer both).
LANGUAGES = ("zh",)
EDITION_DIRS = {
    "en": {"student": STUDENT_DIR, "html": "build/html", "nbgrader": "build/nbgrader"},
    "zh": {
        "student": "classroom/student-zh",
        "html": "build/html/zh",
        "nbgrader": "build/nbgrader-zh",
    },
}


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


def repository_of(source_dir: Path | str) -> Path:
    """The repository a lesson folder belongs to: ``notebooks/``'s parent, also for
    ``notebooks/<lang>/``, whose lessons link to the same docs."""
    source = Path(source_dir).resolve()
    if source.name in LANGUAGES and source.parent.name == "notebooks":
        return source.parent.parent
    return source.parent


def language_of(source_dir: Path | str) -> str:
    """``zh`` for a folder of translated lessons (``notebooks/zh``), else ``en``."""
    source = Path(source_dir).resolve()
    return source.name if source.name in LANGUAGES and source.parent.name == "notebooks" else "en"


def _student_note(name: str, counts: ExerciseCounts, lang: str = "en") -> str:
    if lang == "zh":
        source = f"`notebooks/zh/{name}`" if name else "课程文件夹"
        return (
            "> **学生版。** 输出已清除，解答已移除：其中的 "
            f"{counts.exercises} 道练习留给你来完成。请从头运行各单元格。每个检查单元格在你完成"
            "它上方的练习之前显示 “not solved yet”，完成后显示 “solved”。"
            f"带输出和解答的完整课程见 {source}。"
        )
    plural = "exercise is" if counts.exercises == 1 else "exercises are"
    source = f"`notebooks/{name}`" if name else "the lesson folder"
    return (
        "> **Student edition.** Outputs are cleared and the solutions are taken out: "
        f"its {counts.exercises} {plural} open for you. Run the cells from the top. Each "
        'check cell prints "not solved yet" until you fill in the exercise above it, then '
        f'"solved". The full lesson, with outputs and solutions, is {source}.'
    )


def make_student_notebook(nb: NotebookNode, name: str = "", lang: str = "en") -> NotebookNode:
    """The student edition of a lesson, as a new notebook (``nb`` is left unchanged).

    Removes cells tagged ``solution``, clears every output and execution count, keeps
    exercise and check cells, keeps the notebook's and the cells' metadata (tags, kernelspec)
    except stale execution records and stored widget state, and puts a note on top.
    ``name`` is the lesson's file name, used in messages and in the note; ``lang`` is the
    note's language.
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
    note = nbformat.v4.new_markdown_cell(_student_note(name, counts, lang))
    note.metadata["tags"] = ["student-note"]
    return put_note_first(student, note, STUDENT_NOTE_ID, kept)


def remove_stale(out_dir: Path, keep: Iterable[str], suffix: str) -> None:
    keep = set(keep)
    for path in out_dir.glob(LESSON_GLOB.replace(".ipynb", suffix)):
        if path.name not in keep:
            path.unlink()


def markdown_sources(lessons: Sequence[tuple[Path, NotebookNode]]) -> list[tuple[str, Path]]:
    """The markdown cells of ``(path, notebook)`` pairs, as ``(text, file)`` pairs."""
    return [
        (cell.source, path.resolve())
        for path, nb in lessons
        for cell in nb.cells
        if cell.cell_type == "markdown"
    ]


def with_links(
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


def place_linked_files(
    docs: Sequence[Path], repo: Path, out: Path, suffix: str
) -> dict[Path, Path]:
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


def check_output_folder(source_dir: Path | str, out_dir: Path | str) -> None:
    """Refuse an output folder that holds the lessons or the repository: it gets emptied.

    Raises ValueError naming both folders.
    """
    source, out = Path(source_dir).resolve(), Path(out_dir).resolve()
    if out == source or source.parent.is_relative_to(out):
        raise ValueError(
            f"output folder {str(out_dir)!r} holds the lessons in {str(source_dir)!r}; "
            "its subfolders would be replaced: choose a folder of its own"
        )


def clear_generated_folders(out: Path, keep: Iterable[str] = ()) -> None:
    """Remove the subfolders of a generated copy (``docs/``, ...) before writing them again,
    except those named in ``keep`` (another language's edition inside this one)."""
    keep = set(keep)
    for folder in out.iterdir():
        if folder.is_dir() and folder.name not in keep:
            shutil.rmtree(folder)


def render_student_readme(
    entries: Sequence[tuple[str, str, int]], docs: Sequence[str], lang: str = "en"
) -> str:
    """The student folder's README: ``(file, title, exercises)`` per lesson, then the docs."""
    rows = "\n".join(f"| [{title}]({href}) | {count} |" for href, title, count in entries)
    words = ", ".join(f"[{Path(href).stem}]({href})" for href in docs)
    if lang == "zh":
        return f"""# {COLLECTION_TITLE}：学生版

课程的练习副本：输出已清除，解答已移除。打开一课，从头运行各单元格，并完成每个练习单元格；
它下方的检查单元格会告诉你答案是否正确。

| 课 | 练习 |
|---|---|
{rows}

{"另见：" + words + "。" if words else ""}

本文件夹由 `make student` 根据课程生成；请修改课程本身，而不是这些副本。
"""
    return f"""# {COLLECTION_TITLE}: student edition

Exercise copies of the lessons: outputs cleared, solutions taken out. Open a lesson, run its
cells from the top, and fill in each exercise cell; the check cell below it says whether your
answer is right.

| lesson | exercises |
|---|---|
{rows}

{"Also here: " + words + "." if words else ""}

This folder is written from the lessons by `make student`; edit the lessons, not these copies.
When your lecturer publishes a corrected version, pulling it again (nbgitpuller) merges it into
your folder and keeps your own edits.
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
    check_output_folder(source_dir, out)
    out.mkdir(parents=True, exist_ok=True)
    lang = language_of(source_dir)
    lessons = [(path, nbformat.read(path, as_version=4)) for path in sources]
    docs = linked_files(markdown_sources(lessons))
    repo, where = repository_of(source_dir), out.resolve()
    doc_places = place_linked_files(docs, repo, where, ".md")
    placement = {path.resolve(): where / path.name for path in sources} | doc_places
    written = []
    entries = []
    for path, nb in lessons:
        student = make_student_notebook(nb, path.name, lang)
        target = out / path.name
        with_links(student, path.resolve(), where / path.name, placement)
        nbformat.write(student, target)
        written.append(target)
        counts = count_exercise_cells(nb, path.name)
        entries.append((path.name, notebook_title(nb, path.stem), counts.exercises))
    remove_stale(out, (p.name for p in written), ".ipynb")
    clear_generated_folders(where)
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
    readme.write_text(render_student_readme(entries, doc_hrefs, lang), encoding="utf-8")
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
    helps = {
        "student": "student notebooks a hub can pull (committed)",
        "html": "offline HTML pages with MathJax",
        "nbgrader": "an nbgrader course directory with one assignment per lesson",
    }
    for edition in helps:
        command = commands.add_parser(edition, help=helps[edition])
        command.add_argument(
            "--lang",
            choices=("en", *LANGUAGES),
            default="en",
            help="en: notebooks/; zh: notebooks/zh/ (made by make zh), written beside the English",
        )
        command.add_argument("--source", help="lesson folder (default notebooks or notebooks/LANG)")
        out = " or ".join(EDITION_DIRS[lang][edition] for lang in EDITION_DIRS)
        command.add_argument("--out", help=f"output folder (default {out})")
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
    if args.source is None:
        args.source = "notebooks" if args.lang == "en" else f"notebooks/{args.lang}"
    if args.out is None:
        args.out = EDITION_DIRS[args.lang][args.edition]
    if args.edition == "student":
        written = write_student_notebooks(args.source, args.out)
    elif args.edition == "html":
        from tools.html_edition import write_html  # it builds on this module

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
