"""Every explorer in a real JupyterLab: run all, widgets render, every control acts.

Opens each lesson with an explorer in headless Chromium, runs Run > Run All Cells, and checks
that every cell ran, that errors appear only in cells tagged raises-exception and that the
explorers render as controls. Then, for each explorer, it moves every enabled control one step,
in the state the explorer starts in and again after each choice of a mode control (network,
model), and fails on a move after which the explorer's output (its pictures and printed text,
not the controls' read-outs) stays the same for a few seconds. A control that is disabled must
be disabled in the page, and only where EXPECTED_DISABLED says so. Each explorer's median and
largest redraw time per move are printed at the end of the run (conftest.py).
A full-page screenshot of each lesson goes to build/screenshots/NN_topic.png.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .lab import (
    CELLS,
    CONTROLS,
    REDRAW_TIMES,
    WIDGET_FAILURE_TEXTS,
    WIDGET_VIEW,
    LabServer,
    cell_text,
    code_cell_plan,
    control_states,
    image_sources,
    move_box,
    open_notebook,
    output_signature,
    run_all_cells,
    save_notebook,
    wait_all_run,
    wait_output_change,
    widget_lessons,
    widget_output_errors,
)

pytestmark = pytest.mark.browser

RUN_TIMEOUT_S = 480  # a lesson runs in about 1-2 min alone; the lab and a busy machine add to it
WIDGET_RENDER_TIMEOUT_S = 60
REDRAW_TIMEOUT_S = 60  # a busy machine can queue a redraw; a dead control fails much sooner
# A move after which the kernel has been idle this long with the output unchanged changed nothing.
DEAD_AFTER_S = float(os.environ.get("BROWSER_TEST_DEAD_AFTER_S", "3"))
MODE_CONTROLS = ("network", "model", "variant")  # controls that switch what the others act on
# Controls disabled on purpose, by lesson and state ("start" or "<mode>=<option>"), with why.
EXPECTED_DISABLED: dict[tuple[str, str], set[str]] = {
    # a given network keeps the r it was built with; the random one takes any r
    ("02_channel_attention_weights", "start"): {"r"},
    ("02_channel_attention_weights", "network=trained"): {"r"},
    ("02_channel_attention_weights", "network=initial"): {"r"},
}

LESSONS = [pytest.param(path, id=path.stem) for path in widget_lessons()] or [
    pytest.param(
        None,
        id="no-widget-lessons",
        marks=pytest.mark.skip(reason="no lesson builds an explorer (interact) yet"),
    )
]


# tqdm's text for a progress bar, e.g. "epoch 1/3:  25%|##5       | 1/4": a training cell's bar is
# a widget too, but closed when its loop ends (leave=False), so it is no explorer to move.
PROGRESS_BAR = re.compile(r"\d+%\|")


def _is_explorer(output: dict) -> bool:
    data = output.get("data", {})
    return WIDGET_VIEW in data and not PROGRESS_BAR.search("".join(data.get("text/plain", "")))


def _widget_cells(saved: Path) -> list[int]:
    """Indices of cells whose saved outputs hold a widget view other than a progress bar."""
    nb = nbformat.read(saved, as_version=4)
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and any(_is_explorer(out) for out in cell.get("outputs", []))
    ]


def _check_ran_without_errors(saved: Path, plan: dict[str, Any]) -> None:
    nb = nbformat.read(saved, as_version=4)
    errors = {
        i: f"{out.get('ename')}: {out.get('evalue')}"
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and i not in plan["raises"]
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    }
    assert not errors, f"error outputs in cells not tagged raises-exception: {errors}"
    not_run = [i for i in plan["code"] if nb.cells[i].get("execution_count") is None]
    assert not not_run, f"cells {not_run} did not run"


def _wait_widgets_rendered(page: Any, cells: list[int]) -> None:
    deadline = time.monotonic() + WIDGET_RENDER_TIMEOUT_S
    while True:
        problems = []
        for i in cells:
            cell = page.locator(CELLS).nth(i)
            text = cell_text(page, i)
            shown_instead = [t for t in WIDGET_FAILURE_TEXTS if t in text]
            if shown_instead:
                problems.append(
                    f"cell {i} shows {shown_instead} instead of controls: {text[:300]!r}"
                )
            elif cell.locator(".jupyter-widgets").count() == 0:
                problems.append(f"cell {i} has no rendered widget")
            elif cell.locator(", ".join(CONTROLS)).count() == 0:
                problems.append(f"cell {i} has no slider, dropdown, toggle or checkbox")
        if not problems:
            return
        if time.monotonic() > deadline:
            raise AssertionError("widgets did not render: " + "; ".join(problems))
        time.sleep(0.5)


def _move_and_time(page: Any, index: int, k: int, what: str, choice: str | None = None) -> float:
    """Move control ``k`` (or pick ``choice``); the seconds until the new output showed.

    Fails when the explorer's output stays the same, or when it shows an error.
    """
    before = output_signature(page, index)
    started = time.monotonic()
    done = move_box(page, index, k, choice)
    seconds = wait_output_change(page, index, before, started, DEAD_AFTER_S, REDRAW_TIMEOUT_S)
    assert seconds is not None, (
        f"cell {index}: moving {what} ({done}) changed nothing the explorer shows "
        f"(pictures and printed text the same {DEAD_AFTER_S:g} s after the kernel went idle)"
    )
    errors = widget_output_errors(page, index)
    assert not errors, f"cell {index}: the explorer printed an error after {what} {done}: {errors}"
    return seconds


def _check_disabled(page: Any, lesson: str, index: int, state: str) -> None:
    """The disabled controls are the expected ones, and a disabled one refuses a move."""
    controls = control_states(page, index)
    disabled = {c["description"] for c in controls if c["disabled"]}
    expected = EXPECTED_DISABLED.get((lesson, state), set())
    assert disabled == expected, (
        f"cell {index}, state {state}: disabled controls {sorted(disabled)}, "
        f"expected {sorted(expected)}"
    )
    for k, control in enumerate(controls):
        if control["disabled"] and control["kind"] == "slider":
            with_focus = (
                page.locator(CELLS)
                .nth(index)
                .locator(".noUi-handle")
                .nth(sum(1 for c in controls[:k] if c["kind"] == "slider"))
            )
            with_focus.press("ArrowRight")
            with_focus.press("ArrowLeft")
            time.sleep(0.5)
            assert control_states(page, index)[k]["value"] == control["value"], (
                f"cell {index}: the disabled control {control['description']!r} moved"
            )


def _move_every_control(page: Any, lesson: str, index: int, state: str) -> list[float]:
    """Move each enabled control that is not a mode control once; their redraw times."""
    _check_disabled(page, lesson, index, state)
    times = []
    for k, control in enumerate(control_states(page, index)):
        if control["disabled"] or control["description"] in MODE_CONTROLS:
            continue
        what = f"{control['description']!r} in state {state}"
        times.append(_move_and_time(page, index, k, what))
    return times


def _exercise_explorer(page: Any, lesson: str, index: int) -> list[float]:
    """Every enabled control moved in the starting state and after each mode choice."""
    times = _move_every_control(page, lesson, index, "start")
    controls = control_states(page, index)
    for k, control in enumerate(controls):
        if control["description"] not in MODE_CONTROLS or control["disabled"]:
            continue
        start = control["value"]
        for option in [o for o in control["options"] if o != start]:
            state = f"{control['description']}={option}"
            times.append(_move_and_time(page, index, k, f"mode {state}", choice=option))
            times += _move_every_control(page, lesson, index, state)
    return times


@pytest.mark.parametrize("lesson", LESSONS)
def test_widget_lesson_runs_and_redraws(
    lesson: Path, lab_page: Any, lab_server: LabServer, screenshot_dir: Path
) -> None:
    page = lab_page
    plan = code_cell_plan(lesson)
    saved = lab_server.root / lesson.name
    try:
        open_notebook(page, lab_server.url, lesson.name, plan["count"])
        run_all_cells(page)
        wait_all_run(page, plan["code"], RUN_TIMEOUT_S)
        save_notebook(page)  # into the temporary copy: its outputs tell exactly what ran
        _check_ran_without_errors(saved, plan)
        widget_cells = _widget_cells(saved)
        assert widget_cells, f"{lesson.name} displays no widget"
        _wait_widgets_rendered(page, widget_cells)
        for index in widget_cells:
            errors = widget_output_errors(page, index)
            assert not errors, f"cell {index}: the explorer shows an error: {errors}"
            assert image_sources(page, index), f"cell {index}: the explorer shows no picture"
            times = _exercise_explorer(page, lesson.stem, index)
            REDRAW_TIMES[f"{lesson.stem} cell {index}"] = times
            print(
                f"{lesson.stem} cell {index}: {len(times)} moves, redraw median "
                f"{statistics.median(times):.2f} s, max {max(times):.2f} s"
            )
    finally:
        first = _widget_cells(saved)[:1]
        if first:
            page.locator(CELLS).nth(first[0]).scroll_into_view_if_needed(timeout=5_000)
        page.screenshot(path=str(screenshot_dir / f"{lesson.stem}.png"), full_page=True)
