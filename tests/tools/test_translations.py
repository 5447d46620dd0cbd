"""tools.translations: the store knows which translated cells are stale, and the build copies
code and outputs from the English unchanged."""

from pathlib import Path

import nbformat
import pytest

from tools.lessons import TIME_MARK
from tools.translations import (
    Block,
    build,
    catalogue_stub,
    check,
    format_block,
    main,
    numbers,
    parse_store,
    relocate,
    scaffold,
    source_hash,
    store_path,
)

ROOT = Path(__file__).resolve().parents[2]
TITLE = (
    "# 01 · A lesson\n\nIt has 16 parameters and learning objectives.\n\n"
    f"**Time.** About 5 minutes to read; running every cell takes 2 s. {TIME_MARK}"
)
BODY = "## Step 1\n\nSee [the glossary](../docs/glossary.md) and [lesson 00](00_a.ipynb#top)."
TRANSLATED = {
    "title": f"# 01 · 一课\n\n它有 16 个参数和学习目标。\n\n**时间：** {TIME_MARK}",
    "body": "## 第 1 步\n\n见[术语表](../docs/glossary.md)和[第 00 课](00_a.ipynb#top)。",
}


def _translated(cell_id: str, lesson: str) -> str:
    return TRANSLATED[cell_id[:-2]].replace("01", lesson[:2], 1)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two lessons, a catalogue and a complete translation of lesson 01."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "glossary.md").write_text("# Glossary\n", encoding="utf-8")
    catalogue = ""
    for number, name in (("00", "00_a.ipynb"), ("01", "01_b.ipynb")):
        nb = nbformat.v4.new_notebook()
        title = nbformat.v4.new_markdown_cell(TITLE.replace("01", number, 1))
        title.id = f"title{number}"
        body = nbformat.v4.new_markdown_cell(BODY)
        body.id = f"body{number}"
        code = nbformat.v4.new_code_cell("print(16)", execution_count=1)
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="16\n")]
        nb.cells = [title, code, body]
        nbformat.write(nb, tmp_path / "notebooks" / name)
        catalogue += (
            f'[[lesson]]\nnumber = "{number}"\nfile = "{name}"\ntitle = "t{number}"\n'
            f'contents = "c{number}"\nruns = "2 s"\n\n'
        )
    (tmp_path / "notebooks" / "lessons.toml").write_text(catalogue, encoding="utf-8")
    for name in ("00_a.ipynb", "01_b.ipynb"):
        lesson = tmp_path / "notebooks" / name
        nb = nbformat.read(lesson, as_version=4)
        blocks = [
            format_block(
                cell.id,
                Block(
                    source_hash(cell.source), TRANSLATED[cell.id[:-2]].replace("01", name[:2], 1)
                ),
            )
            for cell in nb.cells
            if cell.cell_type == "markdown"
        ]
        path = store_path(tmp_path, "zh", lesson)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(blocks), encoding="utf-8")
    stub = catalogue_stub(tmp_path, "zh")
    (tmp_path / "translations" / "zh" / "lessons.toml").write_text(stub, encoding="utf-8")
    build(tmp_path, "zh")
    return tmp_path


def _edit_english(repo: Path, name: str, cell_id: str, new_source: str) -> None:
    path = repo / "notebooks" / name
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if c.id == cell_id).source = new_source
    nbformat.write(nb, path)


def test_a_complete_translation_is_in_step(repo: Path):
    assert check(repo, "zh") == []


def test_a_changed_english_cell_is_named_as_outdated(repo: Path):
    _edit_english(repo, "01_b.ipynb", "body01", BODY + " One more sentence.")
    problems = check(repo, "zh")
    new_hash = source_hash(BODY + " One more sentence.")
    expected = "translate the English again and set its hash to"
    assert f"01_b.ipynb: cell body01: outdated ({expected} {new_hash})" in problems
    assert not any("00_a" in line and "outdated" in line for line in problems)


def test_a_missing_or_todo_block_is_named_as_missing(repo: Path):
    path = store_path(repo, "zh", repo / "notebooks" / "00_a.ipynb")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("source", "source", 1).replace(" -->", " todo -->", 1), "utf-8")
    assert "00_a.ipynb: cell title00: missing" in check(repo, "zh")
    path.write_text(text.split("<!-- cell body00")[0], encoding="utf-8")
    assert "00_a.ipynb: cell body00: missing" in check(repo, "zh")


def test_a_number_that_differs_from_the_english_is_reported(repo: Path):
    path = store_path(repo, "zh", repo / "notebooks" / "01_b.ipynb")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("16 个参数", "61 个参数"), encoding="utf-8")
    problems = check(repo, "zh")
    assert any("cell title01" in p and "lost ['16']" in p and "added ['61']" in p for p in problems)


def test_numbers_next_to_chinese_characters_are_read():
    assert numbers("约2.9M个参数，第1步") == numbers("about 2.9M parameters, step 1")
    assert numbers("x2 and conv1 hold no number") == {}


def test_regenerated_time_lines_stale_nothing(repo: Path):
    title = TITLE.replace("About 5 minutes", "About 45 minutes")
    assert source_hash(title) == source_hash(TITLE)
    assert numbers(title) == numbers(TITLE)


def test_the_build_keeps_code_and_outputs_and_fixes_links(repo: Path):
    english = nbformat.read(repo / "notebooks" / "01_b.ipynb", as_version=4)
    built = nbformat.read(repo / "notebooks" / "zh" / "01_b.ipynb", as_version=4)
    assert [c.cell_type for c in built.cells] == [c.cell_type for c in english.cells]
    for ours, theirs in zip(built.cells, english.cells, strict=True):
        assert ours.id == theirs.id
        if theirs.cell_type == "code":
            assert ours.source == theirs.source and ours.outputs == theirs.outputs
    body = built.cells[2].source
    assert "](../../docs/glossary.md)" in body and "](00_a.ipynb#top)" in body
    assert "约 5 分钟" in built.cells[0].source and "2 s" in built.cells[0].source


def test_a_stale_build_is_reported_and_rebuilt(repo: Path):
    path = store_path(repo, "zh", repo / "notebooks" / "01_b.ipynb")
    path.write_text(path.read_text(encoding="utf-8").replace("一课", "一节课"), "utf-8")
    assert check(repo, "zh") == ["notebooks/zh/01_b.ipynb is not up to date: run make zh"]
    build(repo, "zh")
    assert check(repo, "zh") == []


def test_a_changed_catalogue_entry_is_outdated(repo: Path):
    catalogue = repo / "notebooks" / "lessons.toml"
    catalogue.write_text(catalogue.read_text().replace('title = "t00"', 'title = "new"'), "utf-8")
    assert any("00_a.ipynb: outdated" in line for line in check(repo, "zh"))


def test_scaffold_adds_todo_blocks_for_missing_cells_only(repo: Path):
    lesson = repo / "notebooks" / "01_b.ipynb"
    _edit_english(repo, "01_b.ipynb", "body01", BODY)  # unchanged: nothing to add
    assert scaffold(repo, "zh", lesson) == 0
    nb = nbformat.read(lesson, as_version=4)
    extra = nbformat.v4.new_markdown_cell("A new paragraph.")
    nb.cells.append(extra)
    nbformat.write(nb, lesson)
    assert scaffold(repo, "zh", lesson) == 1
    blocks = parse_store(store_path(repo, "zh", lesson).read_text(encoding="utf-8"), "store")
    assert blocks[extra.id].todo and blocks[extra.id].text == "A new paragraph."
    assert f"01_b.ipynb: cell {extra.id}: missing" in check(repo, "zh")


def test_a_repeated_block_is_refused():
    block = format_block("abc", Block("0" * 12, "文本"))
    with pytest.raises(ValueError, match="cell abc has two blocks"):
        parse_store(block + "\n" + block, "store.md")


def test_cli_mistakes_are_one_line_and_status_2(capsys):
    assert main(["check", "--lang", "xx"]) == 2
    assert "--lang must be one of ('zh',), got xx" in capsys.readouterr().err
    assert main(["translate"]) == 2
    assert main(["scaffold", "99_none.ipynb"]) == 2
    assert "no lesson '99_none.ipynb'" in capsys.readouterr().err


def test_relocate_moves_a_block_with_its_cell_to_another_lesson(repo: Path):
    first, second = repo / "notebooks" / "00_a.ipynb", repo / "notebooks" / "01_b.ipynb"
    nb_first, nb_second = (nbformat.read(p, as_version=4) for p in (first, second))
    moved = nb_first.cells.pop(2)  # body00 leaves lesson 00 for lesson 01
    nb_second.cells.append(moved)
    nbformat.write(nb_first, first)
    nbformat.write(nb_second, second)
    assert "01_b.ipynb: cell body00: missing" in check(repo, "zh")
    assert relocate(repo, "zh") == ["cell body00: 00_a.ipynb -> 01_b.ipynb"]
    build(repo, "zh")
    assert check(repo, "zh") == []
    assert relocate(repo, "zh") == []
