"""Prose drift: numbers a lesson's markdown states that none of its outputs print.

A lesson's prose may only state a result the notebook itself shows. This module finds the
numbers in markdown cells that read as results and looks for each in the notebook's text
outputs (stdout, stderr, ``text/plain``, ``text/html``, ``text/markdown``, error messages) and,
as inputs the reader can see, in its code cells' literals.

What counts as a stated result (see CONTRIBUTING.md, "Numbers in prose"):

- a decimal: ``1.53``, ``0.64``, ``±0.26``, ``4.5M``;
- a percentage: ``79 %``, ``44.0%``;
- a ratio with a times sign: ``2.3x``, ``2×``; a difference in points: ``10 points``;
- a number with thousands separators: ``2,929,112``;
- an approximate integer: ``about 3``, ``≈ 40``, ``~12`` (not a time such as ``about 30 minutes``).

What does not: other integers (lesson, section, exercise and cell numbers, channel counts,
years), sizes written ``160 x 64`` or ``3×3``, versions (``torch 2.14.1``, ``Python 3.11``),
section numbers after "section"/"§" and in headings, anything in inline or fenced code,
LaTeX (``$...$``, ``$$...$$``: derivations), link targets, HTML tags and comments.

A number matches at the precision the prose states it: prose ``0.64`` matches an output
``0.6412`` or ``0.64`` (anything that rounds to it), ``79 %`` matches ``79.3`` or the fraction
``0.793``. Signs are ignored (prose often writes ``±`` or a typographic minus).

Exempt: a sentence that cites a paper or another project, shown by an author-year citation in
parentheses (``(Li et al., 2018)``, ``(Hu, Shen and Sun, CVPR 2018)``; not one that opens with
a month, which dates a run of ours), a narrative one (``Li et al. (2018)``), or by the marker
``<!-- cited -->`` placed in the sentence or right after its full stop.

Command line: ``python -m tools.prose_numbers [NOTEBOOK ...]`` prints each offending number
with its sentence, per notebook, and exits 1 when there is any (2 on a usage mistake).
"""

from __future__ import annotations

import bisect
import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

CITED_MARKER = "<!-- cited -->"

# An author-year citation: "(Li et al., 2018)", "(Hu, Shen and Sun, CVPR 2018)", "(2018)".
# A parenthesis that names authors and a year ("(Li, Zhu, Gong, CVPR 2018, Section 3.1)"), or
# "et al.". One that opens with a month ("(December 2026, 2-core CPU)") dates a run of ours.
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_CITATION = re.compile(
    r"\((?!(?:" + _MONTHS + r")\b)[A-Z][^()]*?\b(?:19|20)\d{2}[a-z]?\b[^()]*\)"
    r"|\([^()]*\bet al\.[^()]*\)"
    r"|\bet al\.\s*\((?:19|20)\d{2}[a-z]?\)"  # narrative: "Li et al. (2018) report ..."
)
_FENCED = re.compile(r"```.*?```|~~~.*?~~~", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$|\\\[.*?\\\]", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\s)[^$\n]+?(?<![\s\\])\$|\\\(.*?\\\)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"<[^>\n]+>")
_LINK_TARGET = re.compile(r"(\]\()[^)\s]*(?:\s+\"[^\"]*\")?\)")
_URL = re.compile(r"https?://\S+")
_HEADING_NUMBER = re.compile(r"^(\s*#+\s*)(?:[A-Z]?\d+(?:\.\d+)*[.)]?\s)", re.M)
_SECTION_REF = re.compile(
    r"(?:\b(?:sections?|§§?|steps?|parts?|exercises?|lessons?|chapters?|appendix|figures?|"
    r"sec\.|fig\.|tables?|eq\.|equations?|cells?|items?)\s*)\d+(?:\.\d+)*(?:\s*(?:-|–|and|,|to)\s*"
    r"\d+(?:\.\d+)*)*",
    re.I,
)
_VERSION = re.compile(
    r"\b(?:python|torch|pytorch|torchvision|cuda|cudnn|numpy|nbval|nbformat|jupyterlab|"
    r"ipywidgets|version|release|gcc|clang|glibc|avx|sm_|v|arxiv:|doi:)\s*\d+(?:\.\d+)+",
    re.I,
)
_DOTTED_VERSION = re.compile(r"\b\d+\.\d+\.\d+(?:\.\d+)*\b")
# Sizes and shapes: "160 x 64", "3×3", "256 × 128 × 3".
_SIZE = re.compile(r"\b\d+(?:\.\d+)?(?:\s*[x×]\s*\d+(?:\.\d+)?)+\b(?!\s*(?:faster|slower))")

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+"
_PROSE_NUMBER = re.compile(
    r"(?P<approx>\b(?:about|around|roughly|approximately|nearly|almost|some)\s+|[~≈]\s*)?"
    r"(?<![\w.])(?P<num>" + _NUM + r")(?![\w.]*\d)"
    r"(?P<suffix>\s?%|\s?[x×](?![\w\d])|[kKMG]\b|\s(?:percentage\s)?points\b)?"
)
_TIME_UNIT = re.compile(
    r"\s*(?:-|–|to)?\s*\d*\s*(?:min|mins|minutes?|s|sec|seconds?|h|hours?|days?|weeks?)\b", re.I
)
_OUTPUT_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+")
_CODE_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_ABBREVIATIONS = ("e.g.", "i.e.", "et al.", "cf.", "vs.", "approx.", "fig.", "eq.", "etc.", "no.")


@dataclass(frozen=True)
class Offender:
    """A number stated in a markdown cell that no output prints."""

    cell: int
    number: str
    sentence: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.number!r} in: {self.sentence}"


@dataclass(frozen=True)
class StatedNumber:
    """A number the prose states: its text, value, decimals shown, and whether it is a percent."""

    text: str
    value: float
    decimals: int  # digits after the point; negative for "4.5M" (to the nearest 10**5)
    percent: bool


def _strip_markup(source: str) -> str:
    """Markdown with everything removed that states no result (code, maths, targets, tags)."""
    text = _FENCED.sub(" ", source)
    text = _INLINE_CODE.sub(" ", text)
    text = _DISPLAY_MATH.sub(" ", text)
    text = _INLINE_MATH.sub(" ", text)
    text = _LINK_TARGET.sub(r"\1)", text)
    text = _URL.sub(" ", text)
    # Keep the citation marker as a word so it survives tag and comment stripping.
    text = text.replace(CITED_MARKER, " CITEDMARKER ")
    text = _COMMENT.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    return _HEADING_NUMBER.sub(r"\1", text)


def sentences(source: str) -> list[str]:
    """The sentences (and list items, table rows, headings) of a markdown cell, markup removed."""
    text = _strip_markup(source)
    pieces: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)|\n(?=\s*[|#])", text):
        parts = re.split(r"(?<=[.!?])\s+(?=[^a-z0-9])", " ".join(block.split()))
        merged: list[str] = []
        for part in parts:
            # An abbreviation does not end a sentence; a marker after the full stop belongs to
            # the sentence it follows.
            if merged and (
                merged[-1].lower().endswith(_ABBREVIATIONS) or part.startswith("CITEDMARKER")
            ):
                merged[-1] += " " + part
            else:
                merged.append(part)
        pieces.extend(p.strip() for p in merged if p.strip())
    return pieces


def is_cited(sentence: str) -> bool:
    """Whether a sentence cites a paper or another project (and so is exempt)."""
    return "CITEDMARKER" in sentence or bool(_CITATION.search(sentence))


def stated_numbers(sentence: str) -> list[StatedNumber]:
    """The numbers a sentence states as results, by the rules in the module docstring."""
    text = _VERSION.sub(" ", sentence)
    text = _DOTTED_VERSION.sub(" ", text)
    text = _SECTION_REF.sub(" ", text)
    text = _SIZE.sub(" ", text)
    found = []
    for m in _PROSE_NUMBER.finditer(text):
        num, suffix = m["num"], (m["suffix"] or "").strip()
        decimal = "." in num
        grouped = "," in num
        if not (
            decimal or grouped or suffix in ("%", "x", "×") or "points" in suffix or m["approx"]
        ):
            continue
        if m["approx"] and not (decimal or grouped or suffix) and _TIME_UNIT.match(text, m.end()):
            continue  # "about 30 minutes" is a reading time, not a result
        plain = num.replace(",", "")
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        # "4.5M" states 4,500,000 to the nearest 100,000.
        scale = {"k": 3, "K": 3, "M": 6, "G": 9}.get(suffix, 0)
        found.append(
            StatedNumber(
                m.group(0).strip(), float(plain) * 10**scale, decimals - scale, suffix == "%"
            )
        )
    return found


def _output_texts(nb: nbformat.NotebookNode) -> list[str]:
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                texts.append(out.get("text", ""))
            elif out.get("output_type") == "error":
                texts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
            else:
                data = out.get("data", {})
                for mime in ("text/plain", "text/markdown"):
                    if mime in data:
                        texts.append(_join(data[mime]))
                if "text/html" in data:
                    texts.append(html.unescape(_TAG.sub(" ", _join(data["text/html"]))))
    return texts


def _join(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


def _values(texts: list[str], pattern: re.Pattern[str]) -> list[float]:
    values = set()
    for text in texts:
        for m in pattern.finditer(text):
            token = m.group(0)
            try:
                values.add(abs(float(token.replace(",", ""))))
            except ValueError:
                continue
            if "," in token:  # "0,29,032" might be a list: the parts count too
                values.update(float(p) for p in token.split(",") if p and p[0].isdigit())
    return sorted(values)


def _near(values: list[float], target: float, tolerance: float) -> bool:
    i = bisect.bisect_left(values, target - tolerance)
    return i < len(values) and values[i] <= target + tolerance


def is_shown(number: StatedNumber, printed: list[float], code: list[float]) -> bool:
    """Whether an output prints ``number`` at its stated precision, or the code writes it."""
    # Anything that rounds to the stated digits; the 1e-9 absorbs binary fractions.
    tolerance = 0.5 * 10 ** (-number.decimals) + 1e-9
    if _near(printed, number.value, tolerance):
        return True
    if number.percent and _near(printed, number.value / 100, tolerance / 100):
        return True
    return _near(code, number.value, 1e-12)


def offenders(nb: nbformat.NotebookNode) -> list[Offender]:
    """Every number a markdown cell of ``nb`` states that no output prints, with its sentence."""
    printed = _values(_output_texts(nb), _OUTPUT_NUMBER)
    code = _values(
        [c.source for c in nb.cells if c.cell_type == "code"],
        _CODE_NUMBER,
    )
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for sentence in sentences(cell.source):
            if is_cited(sentence):
                continue
            for number in stated_numbers(sentence):
                if not is_shown(number, printed, code):
                    found.append(Offender(index, number.text, sentence))
    return found


def notebook_offenders(path: Path) -> list[Offender]:
    """``offenders`` of the notebook stored at ``path``."""
    return offenders(nbformat.read(path, as_version=4))


def main(argv: list[str] | None = None) -> int:
    """Print each notebook's offending numbers; 1 when there is any, 2 on a usage mistake."""
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"prose_numbers: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    total = 0
    for path in paths:
        found = notebook_offenders(path)
        total += len(found)
        if found:
            print(f"{path.name}: {len(found)} number(s) no output prints")
            for offender in found:
                print(f"  {offender}")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
