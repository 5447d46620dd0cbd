"""tools.lessons: one catalogue for titles, times and contents, and the files made from it."""

import shutil
from pathlib import Path

import nbformat
import pytest

from tools.lessons import (
    CATALOGUE,
    MINUTES_PER_EXERCISE,
    SECONDS_PER_CODE_LINE,
    TIME_MARK,
    WORDS_PER_MINUTE,
    estimate,
    load_catalogue,
    main,
    stale_files,
    sync,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_matches_its_catalogue():
    assert stale_files(ROOT) == [], "run python -m tools.lessons sync"


def test_every_lesson_is_in_the_catalogue():
    listed = {lesson.file for lesson in load_catalogue(ROOT / CATALOGUE)}
    on_disk = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert on_disk <= listed


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the files the catalogue generates, to plant mismatches in."""
    for name in ("README.md", "docs/teaching.md", str(CATALOGUE)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        shutil.copy(path, tmp_path / "notebooks" / path.name)
    return tmp_path


def test_a_planted_time_in_a_lesson_header_is_found_and_synced(repo: Path):
    path = repo / "notebooks" / "03_spatial_attention.ipynb"
    nb = nbformat.read(path, as_version=4)
    lines = nb.cells[0].source.split("\n")
    index = next(i for i, line in enumerate(lines) if TIME_MARK in line)
    correct = lines[index]
    lines[index] = f"**Time.** About 5 minutes to read and do the exercises. {TIME_MARK}"
    nb.cells[0].source = "\n".join(lines)
    nbformat.write(nb, path)
    assert stale_files(repo) == [path]
    assert sync(repo) == [path]
    assert correct in nbformat.read(path, as_version=4).cells[0].source
    assert stale_files(repo) == []


def test_a_changed_title_in_the_catalogue_reaches_readme_lesson_00_and_teaching(repo: Path):
    catalogue = repo / CATALOGUE
    catalogue.write_text(
        catalogue.read_text().replace('title = "ConvBlock"', 'title = "The ConvBlock"')
    )
    assert set(stale_files(repo)) == {
        repo / "README.md",
        repo / "docs" / "teaching.md",
        repo / "notebooks" / "00_start_here.ipynb",
    }
    sync(repo)
    assert "[01 The ConvBlock](notebooks/01_convblock.ipynb)" in (repo / "README.md").read_text()


def test_an_override_needs_a_reason_and_is_shown(repo: Path):
    catalogue = repo / CATALOGUE
    text = catalogue.read_text()
    entry = 'file = "01_convblock.ipynb"'
    catalogue.write_text(text.replace(entry, f"{entry}\nminutes = 20", 1))
    with pytest.raises(ValueError, match="minutes = 20 overrides the model; give minutes_reason"):
        load_catalogue(catalogue)
    catalogue.write_text(
        text.replace(entry, f'{entry}\nminutes = 20\nminutes_reason = "taught"', 1)
    )
    sync(repo)
    assert "| 01 ConvBlock | 20 min (taught) |" in (repo / "docs" / "teaching.md").read_text()


def test_a_lesson_missing_from_the_catalogue_is_named(repo: Path):
    shutil.copy(repo / "notebooks" / "01_convblock.ipynb", repo / "notebooks" / "11_extra.ipynb")
    with pytest.raises(ValueError, match="no entry for 11_extra.ipynb"):
        stale_files(repo)


def test_the_reading_model_counts_words_code_lines_exercises_and_skips_solutions():
    nb = nbformat.v4.new_notebook()
    words = " ".join(["word"] * WORDS_PER_MINUTE * 10)  # ten minutes of prose
    code = "\n".join(f"x{i} = {i}" for i in range(60 * 5 // SECONDS_PER_CODE_LINE))  # five
    exercise = nbformat.v4.new_code_cell("raise NotImplementedError")
    exercise.metadata["tags"] = ["exercise"]
    solution = nbformat.v4.new_code_cell("\n".join(["y = 1"] * 500))
    solution.metadata["tags"] = ["solution"]
    nb.cells = [
        nbformat.v4.new_markdown_cell(words + f"\n**Time.** About 99 minutes. {TIME_MARK}"),
        nbformat.v4.new_code_cell(code),
        exercise,
        solution,
    ]
    e = estimate(nb)
    assert (e.words, e.exercises, e.figures) == (WORDS_PER_MINUTE * 10, 1, 0)
    assert e.exact_minutes == pytest.approx(10 + 5 + MINUTES_PER_EXERCISE + 1 * 4 / 60)
    assert e.minutes == 20


@pytest.mark.parametrize("argv", [[], ["publish"], ["sync", "check"]])
def test_the_command_line_refuses_a_wrong_command(argv, capsys):
    assert main(argv) == 2
    assert "usage: python -m tools.lessons {sync|check|times}" in capsys.readouterr().err
