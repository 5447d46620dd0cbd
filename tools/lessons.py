"""One source for each lesson's title, time and contents: notebooks/lessons.toml.

``python -m tools.lessons sync`` writes, from the catalogue and the reading model below:

- README.md's lesson map and lesson 00's map (between ``<!-- lessons:begin -->`` and
  ``<!-- lessons:end -->``);
- each lesson's time line in its title cell (the line that ends with ``<!-- lesson-time -->``);
- docs/teaching.md's table of times (between ``<!-- lesson-times:begin -->`` and
  ``<!-- lesson-times:end -->``).

``python -m tools.lessons check`` says what differs (exit status 1), ``times`` prints each
lesson's reading-model terms. A usage mistake is one line and exit status 2.

The reading model (CONTRIBUTING.md, "Time per lesson"): prose words at ``WORDS_PER_MINUTE``,
plus ``SECONDS_PER_CODE_LINE`` per non-blank code line (read, run, look at the output), plus
``MINUTES_PER_EXERCISE`` per exercise, plus ``SECONDS_PER_FIGURE`` per stored figure, rounded to
the nearest 5 minutes. Solutions are not counted (the exercise minutes cover them), nor are the
generated map and time line. The catalogue may override a lesson's minutes with a reason.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = Path("notebooks/lessons.toml")

WORDS_PER_MINUTE = 150
SECONDS_PER_CODE_LINE = 4
MINUTES_PER_EXERCISE = 5
SECONDS_PER_FIGURE = 30
ROUND_TO_MINUTES = 5
LONG_LESSON_MINUTES = 45  # past this a lesson should be split where it divides naturally

MAP_BEGIN, MAP_END = "<!-- lessons:begin -->", "<!-- lessons:end -->"
TIMES_BEGIN, TIMES_END = "<!-- lesson-times:begin -->", "<!-- lesson-times:end -->"
TIME_MARK = "<!-- lesson-time -->"
_FIELDS = {"number", "file", "title", "contents", "runs", "minutes", "minutes_reason"}
_REQUIRED = ("number", "file", "title", "contents", "runs")
_GENERATED = re.compile(
    re.escape(MAP_BEGIN) + r".*?" + re.escape(MAP_END) + r"|^[^\n]*" + re.escape(TIME_MARK),
    re.S | re.M,
)


@dataclass(frozen=True)
class Lesson:
    """One catalogue entry; ``minutes`` is set only where the catalogue overrides the model."""

    number: str
    file: str
    title: str
    contents: str
    runs: str
    minutes: int | None = None
    minutes_reason: str = ""


@dataclass(frozen=True)
class Estimate:
    """The reading model's terms for one notebook and the minutes they give."""

    words: int
    code_lines: int
    exercises: int
    figures: int

    @property
    def exact_minutes(self) -> float:
        return (
            self.words / WORDS_PER_MINUTE
            + self.code_lines * SECONDS_PER_CODE_LINE / 60
            + self.exercises * MINUTES_PER_EXERCISE
            + self.figures * SECONDS_PER_FIGURE / 60
        )

    @property
    def minutes(self) -> int:
        rounded = ROUND_TO_MINUTES * round(self.exact_minutes / ROUND_TO_MINUTES)
        return max(ROUND_TO_MINUTES, rounded)


def load_catalogue(path: Path) -> list[Lesson]:
    """The lessons in ``path`` (TOML, ``[[lesson]]`` tables), checked field by field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no lesson catalogue at {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML ({err})") from None
    lessons = []
    for index, entry in enumerate(data.get("lesson", [])):
        where = f"{path}, lesson {index + 1}"
        unknown = set(entry) - _FIELDS
        if unknown:
            raise ValueError(
                f"{where}: unknown fields {sorted(unknown)}; expected {sorted(_FIELDS)}"
            )
        missing = [name for name in _REQUIRED if not entry.get(name)]
        if missing:
            raise ValueError(f"{where}: missing {missing}")
        minutes = entry.get("minutes")
        if minutes is not None and (not isinstance(minutes, int) or minutes <= 0):
            raise ValueError(f"{where}: minutes must be a positive whole number, got {minutes!r}")
        if minutes is not None and not entry.get("minutes_reason"):
            raise ValueError(
                f"{where}: minutes = {minutes} overrides the model; give minutes_reason"
            )
        lessons.append(Lesson(**entry))
    if not lessons:
        raise ValueError(f"{path}: no [[lesson]] entries")
    return lessons


def strip_generated(text: str) -> str:
    """``text`` with the generated time line and lesson map replaced by a space."""
    return _GENERATED.sub(" ", text)


def estimate(nb: nbformat.NotebookNode) -> Estimate:
    """The reading model's terms for ``nb``: prose words, code lines, exercises, figures."""
    words = code_lines = exercises = figures = 0
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.cell_type == "markdown":
            words += len(re.findall(r"\w+", strip_generated(cell.source)))
        elif cell.cell_type == "code" and "solution" not in tags:
            exercises += "exercise" in tags
            code_lines += sum(1 for line in cell.source.splitlines() if line.strip())
            figures += sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))
    return Estimate(words, code_lines, exercises, figures)


def lesson_minutes(lesson: Lesson, root: Path) -> int | None:
    """The lesson's minutes: the catalogue's override, else the model's; None when no notebook."""
    if lesson.minutes is not None:
        return lesson.minutes
    path = root / "notebooks" / lesson.file
    if not path.is_file():
        return None
    return estimate(nbformat.read(path, as_version=4)).minutes


def _name(lesson: Lesson) -> str:
    return f"{lesson.number} {lesson.title}"


# The lesson map's words, so that a translated edition (tools.translations) can reuse its shape.
MAP_WORDS = {
    "header": (
        "| lesson | what you build or measure | runs in (2-core CPU) | read and try |\n"
        "|---|---|---|---|"
    ),
    "row": "| {name} | {contents} | {runs} | {minutes} min |",
    "total": (
        "About {hours} h {minutes:02d} min in all, read with the exercises done "
        '(the reading model is in CONTRIBUTING.md, "Time per lesson").'
    ),
}


def lesson_map(
    lessons: list[Lesson],
    minutes: dict[str, int],
    link_prefix: str | None,
    words: dict[str, str] = MAP_WORDS,
) -> str:
    """The markdown table of the lessons that exist, each linked through ``link_prefix``.

    With ``link_prefix`` None the names are not links (lesson 00's map: a page of the HTML
    edition built on its own must not link to lessons outside it). ``words`` gives the header,
    the row and the total line (another language's, for a translated edition).
    """
    rows = [words["header"]]
    for lesson in lessons:
        if lesson.file in minutes:
            name = _name(lesson)
            if link_prefix is not None:
                name = f"[{name}]({link_prefix}{lesson.file})"
            rows.append(
                words["row"].format(
                    name=name,
                    contents=lesson.contents,
                    runs=lesson.runs,
                    minutes=minutes[lesson.file],
                )
            )
    total = sum(minutes.values())
    rows += ["", words["total"].format(hours=total // 60, minutes=total % 60)]
    return "\n".join(rows)


def times_table(lessons: list[Lesson], minutes: dict[str, int]) -> str:
    """docs/teaching.md's table: each lesson's minutes to read and try, and its run time."""
    rows = ["| lesson | read and try (model) | runs in |", "|---|---|---|"]
    for lesson in lessons:
        if lesson.file in minutes:
            note = f" ({lesson.minutes_reason})" if lesson.minutes is not None else ""
            rows.append(f"| {_name(lesson)} | {minutes[lesson.file]} min{note} | {lesson.runs} |")
    return "\n".join(rows)


def time_line(lesson: Lesson, minutes: int) -> str:
    """The title cell's time line for ``lesson``."""
    return (
        f"**Time.** About {minutes} minutes to read and do the exercises; running every cell "
        f"takes {lesson.runs} on a 2-core CPU. {TIME_MARK}"
    )


def _replace_between(text: str, begin: str, end: str, body: str, where: str) -> str:
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"{where}: no {begin} ... {end} block to fill")
    return text[: start + len(begin)] + "\n" + body + "\n" + text[stop:]


def _set_time_line(source: str, line: str, where: str) -> str:
    lines = source.split("\n")
    marked = [i for i, text in enumerate(lines) if TIME_MARK in text]
    if len(marked) != 1:
        raise ValueError(f"{where}: the title cell needs one line ending with {TIME_MARK}")
    lines[marked[0]] = line
    return "\n".join(lines)


def all_minutes(lessons: list[Lesson], root: Path) -> dict[str, int]:
    """Each existing lesson's minutes, by file."""
    minutes = {}
    for lesson in lessons:
        value = lesson_minutes(lesson, root)
        if value is not None:
            minutes[lesson.file] = value
    return minutes


def planned_files(root: Path) -> dict[Path, str]:
    """Every file the catalogue generates a part of, with the text it should have."""
    lessons = load_catalogue(root / CATALOGUE)
    minutes = all_minutes(lessons, root)
    files: dict[Path, str] = {}
    readme = root / "README.md"
    files[readme] = _replace_between(
        readme.read_text(encoding="utf-8"),
        MAP_BEGIN,
        MAP_END,
        lesson_map(lessons, minutes, "notebooks/"),
        "README.md",
    )
    teaching = root / "docs" / "teaching.md"
    files[teaching] = _replace_between(
        teaching.read_text(encoding="utf-8"),
        TIMES_BEGIN,
        TIMES_END,
        times_table(lessons, minutes),
        "docs/teaching.md",
    )
    for lesson in lessons:
        path = root / "notebooks" / lesson.file
        if lesson.file not in minutes or not path.is_file():
            continue
        nb = nbformat.read(path, as_version=4)
        where = f"notebooks/{lesson.file}"
        nb.cells[0].source = _set_time_line(
            nb.cells[0].source, time_line(lesson, minutes[lesson.file]), where
        )
        if lesson.number == "00":
            maps = [c for c in nb.cells if c.cell_type == "markdown" and MAP_BEGIN in c.source]
            if len(maps) != 1:
                raise ValueError(f"{where}: needs one markdown cell with the {MAP_BEGIN} block")
            maps[0].source = _replace_between(
                maps[0].source, MAP_BEGIN, MAP_END, lesson_map(lessons, minutes, None), where
            )
        text = nbformat.writes(nb)
        files[path] = text if text.endswith("\n") else text + "\n"  # as nbformat.write does
    unlisted = sorted(
        p.name
        for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb")
        if p.name not in {lesson.file for lesson in lessons}
    )
    if unlisted:
        raise ValueError(f"{CATALOGUE}: no entry for {', '.join(unlisted)}")
    return files


def stale_files(root: Path) -> list[Path]:
    """The generated files whose text differs from what the catalogue gives."""
    return [
        path
        for path, text in planned_files(root).items()
        if path.read_text(encoding="utf-8") != text
    ]


def sync(root: Path) -> list[Path]:
    """Write every generated part; returns the files that changed."""
    changed = []
    for path, text in planned_files(root).items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``sync``, ``check`` or ``times``; exit status 1 when ``check`` finds a stale file."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in ("sync", "check", "times"):
        print("usage: python -m tools.lessons {sync|check|times}", file=sys.stderr)
        return 2
    try:
        if args[0] == "times":
            for lesson in load_catalogue(ROOT / CATALOGUE):
                path = ROOT / "notebooks" / lesson.file
                if not path.is_file():
                    print(f"{lesson.number}: no notebook yet")
                    continue
                e = estimate(nbformat.read(path, as_version=4))
                flag = "  (past 45 min)" if e.minutes > LONG_LESSON_MINUTES else ""
                print(
                    f"{lesson.number}: {e.words} words, {e.code_lines} code lines, "
                    f"{e.exercises} exercises, {e.figures} figures -> {e.exact_minutes:.1f} min, "
                    f"{e.minutes} min{flag}"
                )
            return 0
        if args[0] == "check":
            stale = stale_files(ROOT)
            for path in stale:
                print(
                    f"{path.relative_to(ROOT)} differs from {CATALOGUE}: "
                    "run python -m tools.lessons sync"
                )
            return 1 if stale else 0
        for path in sync(ROOT):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    except (ValueError, FileNotFoundError) as err:
        print(f"lessons: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
