"""CONTRIBUTING.md's recompile rule names exactly the sources that key the compiled HA-CNN."""

from __future__ import annotations

import re
from pathlib import Path

from tutorial_utils.infer.aot_package import GRAPH_SOURCES

ROOT = Path(__file__).resolve().parents[2]


def documented_graph_sources(text: str) -> set[str]:
    """The GRAPH_SOURCES patterns CONTRIBUTING.md's rule states, relative to the package."""
    rule = re.search(
        r"its key includes the source of every\s+module in `tutorial_utils/(\w+)/`(.*?)"
        r"\(`GRAPH_SOURCES` in `(\w+)/aot_package\.py`:(.*?)\)",
        text,
        re.DOTALL,
    )
    assert rule, "CONTRIBUTING.md no longer states which sources key the compiled HA-CNN"
    whole_room, _, room, files = rule.groups()
    return {f"{whole_room}/*.py"} | {f"{room}/{name}" for name in re.findall(r"`([\w.]+)`", files)}


def test_contributing_names_the_graph_sources() -> None:
    documented = documented_graph_sources((ROOT / "CONTRIBUTING.md").read_text())
    assert documented == set(GRAPH_SOURCES), (
        f"CONTRIBUTING.md names {sorted(documented - set(GRAPH_SOURCES))} that GRAPH_SOURCES "
        f"lacks and lacks {sorted(set(GRAPH_SOURCES) - documented)}"
    )


def test_the_rule_reader_sees_a_missing_file() -> None:
    """The reader itself: a rule that leaves out one file gives a different set."""
    text = (ROOT / "CONTRIBUTING.md").read_text().replace("`fold.py`,", "", 1)
    assert "infer/fold.py" not in documented_graph_sources(text)
    assert "infer/fast_soft.py" in documented_graph_sources(text)
