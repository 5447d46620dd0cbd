"""Translated lessons, kept in step with the English: the store, its check and the build.

The store is ``translations/<lang>/``: one ``<lesson stem>.md`` per English lesson, holding one
block per markdown cell of the English notebook,

    <!-- cell 827dd022 source 3f2a9c0e1b7d -->
    # 03 · 空间注意力：看*哪里*
    ...

keyed by the English cell's id and a hash of its source (``source_hash``; the generated time line
and lesson map are left out of the hash, so ``tools.lessons sync`` stales nothing). A block whose
hash differs from the English cell's is *outdated*; a cell with no block, or with a block marked
``todo``, is *missing*. ``lessons.toml`` beside the blocks translates the catalogue (title,
contents and run time of each lesson, hashed the same way).

``python -m tools.translations status`` prints, per lesson, how many cells are in step, outdated
and missing; ``check`` names every outdated or missing cell by lesson and cell id, every block
whose numbers differ from its English cell's, and every built file that is out of date (exit
status 1); ``build`` writes ``notebooks/<lang>/`` (the English notebooks with the translated
markdown: code, outputs and widget state are the English ones, so strict nbval on the English
lessons covers them) and the translated README's lesson map; ``scaffold LESSON...`` appends a
``todo`` block holding the English text for each missing cell, to be translated in place;
``relocate`` moves each block to the lesson that now holds its English cell (after a cell moved
between lessons, e.g. when a lesson is split in two). A usage mistake is one line and exit status 2.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tools.lessons import (
    CATALOGUE,
    MAP_BEGIN,
    MAP_END,
    TIME_MARK,
    all_minutes,
    lesson_minutes,
    load_catalogue,
    strip_generated,
)
from tools.lessons import lesson_map as english_lesson_map
from tools.links import rewrite_links

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("zh",)
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
HASH_DIGITS = 12

_BLOCK = re.compile(
    r"^<!-- cell (?P<id>\S+) source (?P<hash>[0-9a-f]+)(?P<todo> todo)? -->[ \t]*$", re.M
)
# A number as the prose writes it: 2,929,112 · 1.38 · 160×64 gives 160 and 64. Only Latin
# letters, digits and "." before it make it part of a name; Chinese may touch it (约2.9).
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Block:
    """One translated cell: the English source hash it was made from, its text, todo or not."""

    source: str
    text: str
    todo: bool = False


@dataclass(frozen=True)
class CellState:
    """One English markdown cell and the state of its translation."""

    lesson: str
    cell_id: str
    state: str  # "in step", "outdated" or "missing"
    detail: str = ""


# Words for the generated parts of a translated lesson, per language: the time line, the
# lesson map's header, row and total (tools.lessons.MAP_WORDS in English), "appendix".
WORDS = {
    "zh": {
        "time": (
            "**时间：**阅读并完成练习约 {minutes} 分钟；在 2 核 CPU 上运行全部单元格需要 {runs}。"
        ),
        "header": (
            "| 课 | 构建或测量的内容 | 运行时间（2 核 CPU） | 阅读与练习 |\n|---|---|---|---|"
        ),
        "row": "| {name} | {contents} | {runs} | {minutes} 分钟 |",
        "total": (
            "合计约 {hours} 小时 {minutes:02d} 分钟（含练习；阅读模型见 CONTRIBUTING.md 的"
            " “Time per lesson” 一节）。"
        ),
        "appendix": "附录",
    }
}


def source_hash(text: str) -> str:
    """A short hash of an English cell's source, its generated parts left out."""
    return hashlib.sha256(strip_generated(text).encode("utf-8")).hexdigest()[:HASH_DIGITS]


def numbers(text: str) -> Counter[str]:
    """The numbers ``text`` states, as written, with how often each occurs."""
    return Counter(_NUMBER.findall(strip_generated(text)))


def parse_store(text: str, where: str) -> dict[str, Block]:
    """The blocks of one store file, by English cell id; ValueError on a repeated id."""
    blocks: dict[str, Block] = {}
    heads = list(_BLOCK.finditer(text))
    for head, following in zip(heads, [*heads[1:], None], strict=True):
        end = following.start() if following else len(text)
        cell_id = head["id"]
        if cell_id in blocks:
            raise ValueError(f"{where}: cell {cell_id} has two blocks")
        body = text[head.end() : end].strip("\n")
        blocks[cell_id] = Block(head["hash"], body, bool(head["todo"]))
    return blocks


def format_block(cell_id: str, block: Block) -> str:
    """One block as the store writes it."""
    todo = " todo" if block.todo else ""
    return f"<!-- cell {cell_id} source {block.source}{todo} -->\n{block.text.strip()}\n"


def lessons(root: Path) -> list[Path]:
    """The English lessons, sorted by name."""
    return sorted((root / "notebooks").glob(LESSON_GLOB))


def store_path(root: Path, lang: str, lesson: Path) -> Path:
    return root / "translations" / lang / f"{lesson.stem}.md"


def read_store(root: Path, lang: str, lesson: Path) -> dict[str, Block]:
    path = store_path(root, lang, lesson)
    if not path.is_file():
        return {}
    return parse_store(path.read_text(encoding="utf-8"), str(path.relative_to(root)))


def markdown_cells(nb: nbformat.NotebookNode) -> Iterator[nbformat.NotebookNode]:
    """The English notebook's markdown cells that have text."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            yield cell


def cell_states(root: Path, lang: str, lesson: Path) -> list[CellState]:
    """The state of every markdown cell of ``lesson`` in language ``lang``."""
    nb = nbformat.read(lesson, as_version=4)
    store = read_store(root, lang, lesson)
    states = []
    for cell in markdown_cells(nb):
        block = store.get(cell.id)
        if block is None or block.todo:
            states.append(CellState(lesson.name, cell.id, "missing"))
        elif block.source != source_hash(cell.source):
            detail = f"translate the English again and set its hash to {source_hash(cell.source)}"
            states.append(CellState(lesson.name, cell.id, "outdated", detail))
        else:
            english, translated = numbers(cell.source), numbers(block.text)
            lost = sorted((english - translated).elements())
            added = sorted((translated - english).elements())
            detail = ""
            if lost or added:
                detail = f"numbers differ from the English: lost {lost}, added {added}"
            states.append(CellState(lesson.name, cell.id, "in step", detail))
    return states


@dataclass(frozen=True)
class CatalogueEntry:
    """The translated catalogue entry of one lesson."""

    file: str
    title: str
    contents: str
    runs: str
    source: str


def _catalogue_source(title: str, contents: str, runs: str) -> str:
    return source_hash("\n".join((title, contents, runs)))


def read_catalogue(root: Path, lang: str) -> dict[str, CatalogueEntry]:
    """``translations/<lang>/lessons.toml``: the translated title, contents and runs by file."""
    path = root / "translations" / lang / "lessons.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path.relative_to(root)}: not valid TOML ({err})") from None
    entries = {}
    for index, entry in enumerate(data.get("lesson", [])):
        fields = ("file", "title", "contents", "runs", "source")
        missing = [name for name in fields if not entry.get(name)]
        if missing:
            raise ValueError(f"{path.relative_to(root)}, lesson {index + 1}: missing {missing}")
        entries[entry["file"]] = CatalogueEntry(**{name: entry[name] for name in fields})
    return entries


def catalogue_problems(root: Path, lang: str) -> list[str]:
    """Catalogue entries missing or made from another English title, contents or runs."""
    translated = read_catalogue(root, lang)
    problems = []
    for lesson in load_catalogue(root / CATALOGUE):
        entry = translated.get(lesson.file)
        where = f"translations/{lang}/lessons.toml, {lesson.file}"
        if entry is None:
            problems.append(f"{where}: missing")
        elif entry.source != _catalogue_source(lesson.title, lesson.contents, lesson.runs):
            problems.append(f"{where}: outdated (the English title, contents or runs changed)")
    return problems


class _Placement(Mapping[Path, Path]):
    """Where each link target sits for a translated notebook: lessons in the translation's
    folder where it has them, everything else where it is."""

    def __init__(self, root: Path, lang: str) -> None:
        self.english = (root / "notebooks").resolve()
        self.translated = self.english / lang

    def __getitem__(self, target: Path) -> Path:
        if target.parent == self.english and target.suffix == ".ipynb":
            return self.translated / target.name
        if target.exists():
            return target
        raise KeyError(target)

    def __iter__(self) -> Iterator[Path]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __contains__(self, target: object) -> bool:
        try:
            self[target]  # type: ignore[index]
        except KeyError:
            return False
        return True


def lesson_map(root: Path, lang: str, link_prefix: str | None) -> str:
    """The lesson map in ``lang``: tools.lessons' map of the translated catalogue entries."""
    words = WORDS[lang]
    translated = read_catalogue(root, lang)
    english = load_catalogue(root / CATALOGUE)
    lessons = []
    for lesson in english:
        entry = translated.get(lesson.file)
        number = lesson.number.replace("appendix", words["appendix"])
        if entry is None:
            lessons.append(dataclasses.replace(lesson, number=number))
            continue
        lessons.append(
            dataclasses.replace(
                lesson, number=number, title=entry.title, contents=entry.contents, runs=entry.runs
            )
        )
    return english_lesson_map(lessons, all_minutes(english, root), link_prefix, words)


def _fill_generated(text: str, root: Path, lang: str, lesson: Path) -> str:
    """The translated time line and lesson map put into a translated cell's markers."""
    catalogue = {entry.file: entry for entry in load_catalogue(root / CATALOGUE)}
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip().endswith(TIME_MARK) and lesson.name in catalogue:
            english = catalogue[lesson.name]
            entry = read_catalogue(root, lang).get(lesson.name)
            line = WORDS[lang]["time"].format(
                minutes=lesson_minutes(english, root), runs=entry.runs if entry else english.runs
            )
            lines[i] = f"{line} {TIME_MARK}"
    text = "\n".join(lines)
    start, stop = text.find(MAP_BEGIN), text.find(MAP_END)
    if 0 <= start < stop:
        body = lesson_map(root, lang, None)
        text = text[: start + len(MAP_BEGIN)] + "\n" + body + "\n" + text[stop:]
    return text


def translated_notebook(root: Path, lang: str, lesson: Path) -> str:
    """The translated notebook of ``lesson`` as JSON text (English where a cell is missing)."""
    nb = nbformat.read(lesson, as_version=4)
    store = read_store(root, lang, lesson)
    placement = _Placement(root, lang)
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type != "markdown" or not cell.source.strip():
            continue
        block = store.get(cell.id)
        text = block.text if block is not None and not block.todo else cell.source
        text = _fill_generated(text, root, lang, lesson)
        cell.source = rewrite_links(text, lesson, placement.translated / lesson.name, placement)
    out.metadata["translation"] = {"language": lang, "from": f"../{lesson.name}"}
    return nbformat.writes(out) + "\n"


README_NAME = {"zh": "README.zh-CN.md"}


def planned_files(root: Path, lang: str) -> dict[Path, str]:
    """Every file ``build`` writes for ``lang``, with its text."""
    files = {
        root / "notebooks" / lang / lesson.name: translated_notebook(root, lang, lesson)
        for lesson in lessons(root)
    }
    readme = root / README_NAME[lang]
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        start, stop = text.find(MAP_BEGIN), text.find(MAP_END)
        if not 0 <= start < stop:
            raise ValueError(f"{readme.name}: no {MAP_BEGIN} ... {MAP_END} block to fill")
        body = lesson_map(root, lang, f"notebooks/{lang}/")
        files[readme] = text[: start + len(MAP_BEGIN)] + "\n" + body + "\n" + text[stop:]
    return files


def stale_builds(root: Path, lang: str) -> list[str]:
    """Built files that differ from what ``build`` would write, and built lessons with no
    English lesson."""
    problems = []
    for path, text in planned_files(root, lang).items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            problems.append(f"{path.relative_to(root)} is not up to date: run make zh")
    english = {lesson.name for lesson in lessons(root)}
    for path in sorted((root / "notebooks" / lang).glob(LESSON_GLOB)):
        if path.name not in english:
            problems.append(f"{path.relative_to(root)} has no English lesson: run make zh")
    return problems


def build(root: Path, lang: str) -> list[Path]:
    """Write ``notebooks/<lang>/`` and the translated README's map; returns what changed."""
    changed = []
    for path, text in planned_files(root, lang).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    english = {lesson.name for lesson in lessons(root)}
    for path in sorted((root / "notebooks" / lang).glob(LESSON_GLOB)):
        if path.name not in english:
            path.unlink()
            changed.append(path)
    return changed


def check(root: Path, lang: str) -> list[str]:
    """Every problem ``check`` reports, one line each; empty when all is in step."""
    problems = []
    for lesson in lessons(root):
        for state in cell_states(root, lang, lesson):
            if state.state != "in step":
                detail = f" ({state.detail})" if state.detail else ""
                problems.append(f"{state.lesson}: cell {state.cell_id}: {state.state}{detail}")
            elif state.detail:
                problems.append(f"{state.lesson}: cell {state.cell_id}: {state.detail}")
        store = read_store(root, lang, lesson)
        english_ids = {cell.id for cell in markdown_cells(nbformat.read(lesson, as_version=4))}
        for cell_id in sorted(set(store) - english_ids):
            problems.append(f"{lesson.name}: block {cell_id} has no English markdown cell")
    problems += catalogue_problems(root, lang)
    problems += stale_builds(root, lang)
    return problems


def scaffold(root: Path, lang: str, lesson: Path) -> int:
    """Append a ``todo`` block with the English text for each missing cell; returns how many."""
    path = store_path(root, lang, lesson)
    store = read_store(root, lang, lesson)
    nb = nbformat.read(lesson, as_version=4)
    added = [
        format_block(cell.id, Block(source_hash(cell.source), cell.source, todo=True))
        for cell in markdown_cells(nb)
        if cell.id not in store
    ]
    if added:
        path.parent.mkdir(parents=True, exist_ok=True)
        head = (
            path.read_text(encoding="utf-8")
            if path.is_file()
            else (
                f"<!-- {lang} translation of notebooks/{lesson.name}: one block per English "
                "markdown cell (python -m tools.translations status) -->\n"
            )
        )
        path.write_text(head.rstrip("\n") + "\n\n" + "\n".join(added), encoding="utf-8")
    return len(added)


def _header(lang: str, lesson: Path) -> str:
    return (
        f"<!-- {lang} translation of notebooks/{lesson.name}: one block per English "
        "markdown cell (python -m tools.translations status) -->\n"
    )


def write_store(root: Path, lang: str, lesson: Path, blocks: dict[str, Block]) -> None:
    """Write ``blocks`` as ``lesson``'s store, in the English cells' order (others last)."""
    order = {
        cell.id: i for i, cell in enumerate(markdown_cells(nbformat.read(lesson, as_version=4)))
    }
    ids = sorted(blocks, key=lambda cell_id: order.get(cell_id, len(order)))
    text = _header(lang, lesson) + "\n" + "\n".join(format_block(i, blocks[i]) for i in ids)
    path = store_path(root, lang, lesson)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def relocate(root: Path, lang: str) -> list[str]:
    """Move each block to the store of the lesson that now holds its English cell (a cell
    moved to another lesson, e.g. when a lesson is split); returns one line per move."""
    everyone = lessons(root)
    owner = {
        cell.id: lesson
        for lesson in everyone
        for cell in markdown_cells(nbformat.read(lesson, as_version=4))
    }
    stores = {lesson: read_store(root, lang, lesson) for lesson in everyone}
    moves = []
    for lesson, blocks in stores.items():
        for cell_id in list(blocks):
            target = owner.get(cell_id)
            if target is not None and target != lesson and cell_id not in stores[target]:
                stores[target][cell_id] = blocks.pop(cell_id)
                moves.append(f"cell {cell_id}: {lesson.name} -> {target.name}")
    if moves:
        for lesson, blocks in stores.items():
            if blocks or store_path(root, lang, lesson).is_file():
                write_store(root, lang, lesson, blocks)
    return moves


def catalogue_stub(root: Path, lang: str) -> str:
    """TOML for the catalogue entries that are missing or outdated, English text to translate."""
    translated = read_catalogue(root, lang)
    out = []
    for lesson in load_catalogue(root / CATALOGUE):
        source = _catalogue_source(lesson.title, lesson.contents, lesson.runs)
        entry = translated.get(lesson.file)
        if entry is not None and entry.source == source:
            continue
        out.append(
            f'[[lesson]]\nfile = "{lesson.file}"\nsource = "{source}"\n'
            f'title = "{lesson.title}"\ncontents = "{lesson.contents}"\nruns = "{lesson.runs}"\n'
        )
    return "\n".join(out)


def _usage() -> int:
    print(
        "usage: python -m tools.translations"
        " {status|check|build|relocate|scaffold LESSON...|catalogue}"
        " [--lang zh]",
        file=sys.stderr,
    )
    return 2


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    lang = "zh"
    if "--lang" in args:
        at = args.index("--lang")
        if at + 1 >= len(args) or args[at + 1] not in LANGUAGES:
            got = args[at + 1] if at + 1 < len(args) else "nothing"
            print(f"translations: --lang must be one of {LANGUAGES}, got {got}", file=sys.stderr)
            return 2
        lang = args[at + 1]
        del args[at : at + 2]
    if not args or args[0] not in ("status", "check", "build", "relocate", "scaffold", "catalogue"):
        return _usage()
    command, rest = args[0], args[1:]
    if command != "scaffold" and rest:
        return _usage()
    try:
        if command == "status":
            print(f"{'lesson':44s} {'in step':>8s} {'outdated':>9s} {'missing':>8s}")
            for lesson in lessons(ROOT):
                counts = Counter(state.state for state in cell_states(ROOT, lang, lesson))
                print(
                    f"{lesson.name:44s} {counts['in step']:8d} {counts['outdated']:9d}"
                    f" {counts['missing']:8d}"
                )
            return 0
        if command == "check":
            problems = check(ROOT, lang)
            for line in problems:
                print(line)
            if problems:
                print(f"translations ({lang}): {len(problems)} problems", file=sys.stderr)
            return 1 if problems else 0
        if command == "build":
            for path in build(ROOT, lang):
                print(f"wrote {path.relative_to(ROOT)}")
            return 0
        if command == "relocate":
            for line in relocate(ROOT, lang):
                print(line)
            return 0
        if command == "catalogue":
            print(catalogue_stub(ROOT, lang), end="")
            return 0
        if not rest:
            return _usage()
        for name in rest:
            lesson = ROOT / "notebooks" / Path(name).name
            if not lesson.is_file():
                print(f"translations: no lesson {name!r} under notebooks/", file=sys.stderr)
                return 2
            print(f"{lesson.name}: {scaffold(ROOT, lang, lesson)} todo blocks added")
        return 0
    except ValueError as err:
        print(f"translations: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
