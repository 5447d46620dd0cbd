"""docs/terminology.md, the Chinese edition's word list, holds every glossary term with the
glossary's Chinese, so the two cannot drift apart."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (?P<english>[^|]+?) \| (?P<chinese>[^|]+?) \|")


def _table(path: Path, columns: int) -> dict[str, str]:
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.count("|") != columns + 1 or line.startswith("|---"):
            continue
        match = ROW.match(line)
        if match and match["english"] != "English":
            rows[match["english"]] = match["chinese"]
    return rows


def test_every_glossary_term_is_in_the_terminology_table_with_its_chinese():
    glossary = _table(ROOT / "docs" / "glossary.md", columns=4)
    terminology = _table(ROOT / "docs" / "terminology.md", columns=2)
    assert len(glossary) > 50, "the glossary table was not read"
    missing = sorted(set(glossary) - set(terminology))
    assert not missing, f"add to docs/terminology.md: {missing}"
    differ = {term: (glossary[term], terminology[term]) for term in glossary}
    differ = {term: pair for term, pair in differ.items() if pair[0] != pair[1]}
    assert not differ, f"glossary and terminology give other Chinese: {differ}"


def test_the_terminology_table_is_sorted_and_has_no_repeated_term():
    terms = list(_table(ROOT / "docs" / "terminology.md", columns=2))
    assert len(terms) == len(set(terms))
    keys = [term.strip("`").lower() for term in terms]
    assert keys == sorted(keys)
