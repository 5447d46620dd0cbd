"""Each widget lesson (02..06, 09) in a real JupyterLab: run all, widgets render, a move redraws.

Opens the lesson in headless Chromium, runs Run > Run All Cells, and checks that every cell ran,
that errors appear only in cells tagged raises-exception, that the explorers render as controls,
and that moving a slider (or picking a dropdown option) changes the picture it drives.
A full-page screenshot of each lesson goes to build/screenshots/NN_topic.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .lab import (
    CELLS,
    CONTROLS,
    WIDGET_FAILURE_TEXTS,
    WIDGET_VIEW,
    LabServer,
    cell_text,
    code_cell_plan,
    image_sources,
    move_control,
    open_notebook,
    run_all_cells,
    save_notebook,
    wait_all_run,
    wait_image_change,
    widget_lessons,
    widget_output_errors,
)

pytestmark = pytest.mark.browser

RUN_TIMEOUT_S = 240  # a lesson runs in under 60 s alone; the lab and a busy machine add to it
WIDGET_RENDER_TIMEOUT_S = 60
REDRAW_TIMEOUT_S = 60

LESSONS = [pytest.param(path, id=path.stem) for path in widget_lessons()] or [
    pytest.param(
        None,
        id="no-widget-lessons",
        marks=pytest.mark.skip(
            reason="no widget lessons notebooks/0[2-6]_*.ipynb or 09_*.ipynb yet"
        ),
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


def _move_and_check_redraw(page: Any, index: int) -> str:
    """Move the cell's controls one by one until the picture changes; return what moved it."""
    cell = page.locator(CELLS).nth(index)
    controls = cell.locator(", ".join(CONTROLS))
    tried = []
    for k in range(controls.count()):
        before = image_sources(page, index)
        done = move_control(controls.nth(k))
        if not done:
            continue
        tried.append(done)
        if wait_image_change(page, index, before, REDRAW_TIMEOUT_S):
            errors = widget_output_errors(page, index)
            assert not errors, f"cell {index}: the explorer printed an error after {done}: {errors}"
            return done
    raise AssertionError(f"cell {index}: the picture did not change after {tried}")


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
            _move_and_check_redraw(page, index)
    finally:
        first = _widget_cells(saved)[:1]
        if first:
            page.locator(CELLS).nth(first[0]).scroll_into_view_if_needed(timeout=5_000)
        page.screenshot(path=str(screenshot_dir / f"{lesson.stem}.png"), full_page=True)
