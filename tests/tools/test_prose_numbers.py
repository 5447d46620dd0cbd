"""tools.prose_numbers finds numbers a lesson's prose states that none of its outputs print."""

import shutil
from pathlib import Path

import nbformat
import pytest

from tools.prose_numbers import main, notebook_offenders, offenders, sentences, stated_numbers

ROOT = Path(__file__).resolve().parents[2]


def _nb(markdown: str, printed: str = "", code: str = "pass") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(code)
    if printed:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    nb.cells = [nbformat.v4.new_markdown_cell(markdown), cell]
    return nb


def _stated(markdown: str) -> list[str]:
    return [n.text for s in sentences(markdown) for n in stated_numbers(s)]


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("The ratio is 1.53 here.", ["1.53"]),
        ("It reaches 44.0 % of the roof.", ["44.0 %"]),
        ("The fast path is 2.3x faster.", ["2.3x"]),
        ("HA-CNN has 2,929,112 parameters.", ["2,929,112"]),
        ("The best mass ratio is about 3.", ["about 3"]),
        ("Hard attention is 10 points ahead.", ["10 points"]),
        ("torchreid quotes 4.5M.", ["4.5M"]),
    ],
)
def test_results_are_stated_numbers(sentence, expected):
    assert _stated(sentence) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "Lesson 04, section 3.2, exercise 2 of 2018.",
        "The input is 160 x 64 and the conv is 3×3.",
        "Made with torch 2.14.1 on Python 3.11.",
        "The range is `0.635` in code and $\\tanh(0.75) = 0.635$ in maths.",
        "See [the notes](docs/reid.md#3.5-results) and https://example.org/v1.2.",
        "It takes about 30 minutes.",
        "<img src='a.png' width='700.5'> <!-- 0.25 -->",
        "```\nprint(0.125)\n```",
        "## 3.1 Channel attention",
    ],
)
def test_inputs_code_maths_and_section_numbers_are_not(sentence):
    assert _stated(sentence) == []


@pytest.mark.parametrize(
    "prose, printed",
    [
        ("The mean is 0.64.", "mean 0.6412"),
        ("The mean is 0.64.", "mean 0.64"),
        ("It reaches 79 % of the roof.", "fraction of roof 0.793"),
        ("It reaches 79 % of the roof.", "79.4 %"),
        ("It has 2,929,112 parameters.", "2929112"),
        ("The zoo says 4.5M.", "4,507,928"),
        ("The offset is -0.635 at first.", "tensor([0.6351])"),
    ],
)
def test_a_number_printed_at_the_stated_precision_is_shown(prose, printed):
    assert offenders(_nb(prose, printed)) == []


@pytest.mark.parametrize(
    "prose, printed",
    [
        ("The mean is 0.64.", "mean 0.6512"),
        ("The mean is 0.64.", "mean 0.6"),
        ("It reaches 79 % of the roof.", "0.77"),
        ("The ratio is 1.53.", ""),
    ],
)
def test_a_number_no_output_prints_is_an_offender(prose, printed):
    (found,) = offenders(_nb(prose, printed))
    assert found.sentence == prose


def test_a_number_written_in_the_code_is_an_input_not_drift():
    assert offenders(_nb("The learning rate is 0.005.", code="lr = 5e-3")) == []
    assert offenders(_nb("The learning rate is 0.005.", code="lr = 0.05")) != []


@pytest.mark.parametrize(
    "sentence",
    [
        "The paper reports 2.7M parameters (Li et al., 2018).",
        "Li et al. (2018) report 2.7M parameters.",
        "SE-Net gains 1.51 points (Hu, Shen and Sun, CVPR 2018, Table 2).",
        "torchreid's model zoo quotes 4.5M. <!-- cited -->",
    ],
)
def test_a_sentence_that_cites_is_exempt(sentence):
    assert offenders(_nb(sentence)) == []


@pytest.mark.parametrize(
    "sentence",
    [
        "One run (December 2026, 2-core CPU) gave 0.40 s.",
        "A median of 0.40 s (2026).",
    ],
)
def test_a_date_in_parentheses_is_not_a_citation(sentence):
    assert [f.number for f in offenders(_nb(sentence))] == ["0.40"]


def test_only_the_citing_sentence_is_exempt():
    found = offenders(_nb("The paper reports 2.7M (Li et al., 2018). We measured 3.1M."))
    assert [f.number for f in found] == ["3.1M"]


def test_the_offender_names_its_cell_number_and_sentence():
    (found,) = offenders(_nb("First sentence.\n\nThe gate's ceiling is 1.53 here."))
    assert (found.cell, found.number) == (0, "1.53")
    assert str(found) == "cell 0: '1.53' in: The gate's ceiling is 1.53 here."


def test_a_stray_number_planted_in_a_real_lesson_fails_the_check(tmp_path):
    source = ROOT / "notebooks" / "02_channel_attention.ipynb"
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    before = [(f.number, f.sentence) for f in notebook_offenders(copy)]
    nb = nbformat.read(copy, as_version=4)
    planted = "The trained gate keeps 87.625 % of the channels."
    nb.cells.insert(3, nbformat.v4.new_markdown_cell(planted))
    nbformat.write(nb, copy)
    found = [(f.number, f.sentence) for f in notebook_offenders(copy)]
    assert sorted(found) == sorted([("87.625 %", planted), *before])
    assert main([str(copy)]) == 1


def test_the_command_line_names_a_missing_notebook(tmp_path, capsys):
    assert main([str(tmp_path / "missing.ipynb")]) == 2
    assert "missing.ipynb" in capsys.readouterr().err
