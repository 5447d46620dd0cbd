"""Old import paths keep working for one release: each warns DeprecationWarning, names the new
place, and gives the very object that lives there now."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (old module, old name, new module, new name)
MOVED_NAMES = [
    ("tutorial_utils.common", "draw_hacnn", "tutorial_utils.hacnn", "draw_hacnn"),
    ("tutorial_utils.common", "hacnn_batch", "tutorial_utils.hacnn", "hacnn_batch"),
    ("tutorial_utils.common.images", "hacnn_batch", "tutorial_utils.hacnn", "hacnn_batch"),
    ("tutorial_utils.reid.cached", "normalise", "tutorial_utils.common", "normalize"),
    ("tutorial_utils.reid.cached", "IMAGENET_MEAN", "tutorial_utils.common.images",
     "IMAGENET_MEAN"),
    ("tutorial_utils.reid.cached", "IMAGENET_STD", "tutorial_utils.common.images", "IMAGENET_STD"),
    ("tutorial_utils.reid.synthetic", "show_pedestrians", "tutorial_utils.reid",
     "show_pedestrians"),
    ("tutorial_utils.reid.synthetic", "PART_COLOURS", "tutorial_utils.reid.pedestrian_figure",
     "PART_COLOURS"),
    ("tutorial_utils.reid.synthetic", "time_generation", "tutorial_utils.reid.difficulty",
     "time_generation"),
    ("tutorial_utils.reid.synthetic", "fixed_descriptors", "tutorial_utils.reid.difficulty",
     "fixed_descriptors"),
    ("tutorial_utils.reid.synthetic", "difficulty_probe", "tutorial_utils.reid.difficulty",
     "difficulty_probe"),
    ("tutorial_utils.reid.synthetic", "Rendered", "tutorial_utils.reid.rendering", "Rendered"),
]  # fmt: skip

# (old module, new module)
MOVED_MODULES = [
    ("tutorial_utils.reid.speed", "tutorial_utils.bench.training_speed"),
    ("tutorial_utils.bench.torchreid_reference", "tutorial_utils.hacnn.torchreid_reference"),
    ("tutorial_utils.common.diagram", "tutorial_utils.hacnn.diagram"),
]


def _id(case: tuple[str, ...]) -> str:
    return f"{case[0]}.{case[1]}" if len(case) == 4 else case[0]


@pytest.mark.parametrize("case", MOVED_NAMES, ids=_id)
def test_an_old_name_warns_and_gives_the_new_object(case: tuple[str, str, str, str]) -> None:
    old_module, old_name, new_module, new_name = case
    module = importlib.import_module(old_module)
    with pytest.warns(DeprecationWarning, match=rf"{old_module}\.{old_name}.*{new_module}"):
        found = getattr(module, old_name)
    assert found is getattr(importlib.import_module(new_module), new_name)


@pytest.mark.parametrize("case", MOVED_MODULES, ids=_id)
def test_an_old_module_warns_and_gives_the_new_module(case: tuple[str, str]) -> None:
    """A fresh interpreter, since a module warns only when it is first imported."""
    old, new = case
    code = (
        "import importlib, warnings\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        f"    import {old} as old\n"
        f"assert old is importlib.import_module({new!r}), old\n"
        "found = [str(w.message) for w in caught if w.category is DeprecationWarning]\n"
        "print(found)\n"
        f"assert any({old!r} in m and {new!r} in m for m in found), found\n"
        "assert all(w.filename == '<string>' for w in caught), [w.filename for w in caught]\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    module = importlib.import_module("tutorial_utils.common")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no_such_name"):
            module.no_such_name  # noqa: B018


def test_the_old_training_benchmark_command_still_runs() -> None:
    """``python -m tutorial_utils.reid.speed --help`` warns and shows the new command's help."""
    done = subprocess.run(
        [sys.executable, "-m", "tutorial_utils.reid.speed", "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "python -m tutorial_utils.bench training" in done.stdout
    assert "DeprecationWarning" in done.stderr and "tutorial_utils.reid.speed" in done.stderr
