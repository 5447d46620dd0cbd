"""Small helpers that drive a JupyterLab notebook page with Playwright (sync API)."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

REPO = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
CONTROLS = (
    ".widget-slider .noUi-handle",
    ".widget-dropdown select",
    ".widget-toggle-buttons button",
    ".widget-checkbox input",
)
# What a cell shows instead of a control when the widget manager is missing or broken.
WIDGET_FAILURE_TEXTS = (
    "Error displaying widget",
    "Loading widget...",
    "IntSlider(",
    "FloatSlider(",
    "Dropdown(",
    "interactive(children=",
)


@dataclass(frozen=True)
class LabServer:
    url: str
    root: Path
    log: Path


def notebooks_dir() -> Path:
    """The folder of lessons the browser tests open (BROWSER_TEST_NOTEBOOKS overrides it)."""
    return Path(os.environ.get("BROWSER_TEST_NOTEBOOKS", REPO / "notebooks")).resolve()


def widget_lessons() -> list[Path]:
    """The widget lessons 02..06 and 09 that exist now, in order."""
    folder = notebooks_dir()
    return sorted([*folder.glob("0[2-6]_*.ipynb"), *folder.glob("09_*.ipynb")])


class LabError(AssertionError):
    """The page did not reach the state a test waited for."""


def code_cell_plan(notebook: Path) -> dict[str, Any]:
    """What the stored notebook says about its code cells, by cell index.

    Returns {"code": indices of code cells with source (the ones Run All executes),
    "raises": indices of cells tagged raises-exception, "count": number of cells}.
    """
    nb = nbformat.read(notebook, as_version=4)
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
    raises = [i for i, c in enumerate(nb.cells) if "raises-exception" in c.metadata.get("tags", [])]
    return {"code": code, "raises": raises, "count": len(nb.cells)}


def open_notebook(page: Any, url: str, name: str, cell_count: int) -> None:
    """Open the notebook alone in a reset workspace and wait for its kernel."""
    page.goto(f"{url}/lab/tree/{name}?reset", wait_until="domcontentloaded")
    page.locator(CELLS).nth(cell_count - 1).wait_for(state="attached", timeout=90_000)
    wait_kernel_idle(page, timeout_s=90)


def kernel_status(page: Any) -> str:
    indicator = page.locator(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator"
    )
    if indicator.count() == 0:
        return ""
    return indicator.first.get_attribute("data-status") or ""


def wait_kernel_idle(page: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while kernel_status(page) != "idle":
        if time.monotonic() > deadline:
            raise LabError(
                f"kernel not idle after {timeout_s:.0f} s (status {kernel_status(page)!r})"
            )
        time.sleep(0.25)


def run_all_cells(page: Any, attempts: int = 3) -> None:
    """Run > Run All Cells, through the menu bar as a person would.

    Right after the page loads the menu item can still be disabled, and a click on it does
    nothing: so check that some cell was queued, and try again if none was.
    """
    for _ in range(attempts):
        page.keyboard.press("Escape")
        page.locator(CELLS).first.click(position={"x": 5, "y": 5})
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        item = page.locator(".lm-Menu-item").filter(
            has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))
        )
        item.wait_for(state="visible", timeout=10_000)
        if "lm-mod-disabled" in (item.get_attribute("class") or ""):
            page.keyboard.press("Escape")
            time.sleep(2)
            continue
        item.click()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(p.startswith("[*") or p[1:2].isdigit() for p in prompts(page)):
                return
            time.sleep(0.25)
    raise LabError(f"Run > Run All Cells started no cell in {attempts} attempts")


def prompts(page: Any) -> list[str]:
    """The input prompt of every cell, "" for markdown cells ("[3]:", "[*]:", "[ ]:")."""
    return page.eval_on_selector_all(
        CELLS,
        """cells => cells.map(c => {
            const p = c.querySelector(':scope > .jp-Cell-inputWrapper .jp-InputPrompt');
            return c.classList.contains('jp-CodeCell') && p ? p.textContent.trim() : '';
        })""",
    )


def wait_all_run(page: Any, code_cells: list[int], timeout_s: float) -> list[str]:
    """Wait until no cell is queued or running and the kernel is idle; return the prompts.

    The notebook starts with no execution counts (the server's copy is cleared), so a numbered
    prompt means the cell ran in this run.
    """
    deadline = time.monotonic() + timeout_s
    seen_busy = False
    while True:
        current = prompts(page)
        busy = any(p.startswith("[*") for p in current)
        seen_busy = seen_busy or busy
        all_numbered = all(current[i][1:2].isdigit() for i in code_cells if i < len(current))
        if not busy and (seen_busy or all_numbered) and kernel_status(page) == "idle":
            time.sleep(0.5)  # a last message may still be on its way
            if not any(p.startswith("[*") for p in prompts(page)):
                return prompts(page)
        if time.monotonic() > deadline:
            raise LabError(f"cells still running after {timeout_s:.0f} s: {current}")
        time.sleep(0.5)


def save_notebook(page: Any, timeout_s: float = 30) -> None:
    page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.keyboard.press("Control+s")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    deadline = time.monotonic() + timeout_s
    while "jp-mod-dirty" in (tab.first.get_attribute("class") or ""):
        if time.monotonic() > deadline:
            raise LabError("the notebook was not saved")
        time.sleep(0.25)


def image_sources(page: Any, cell_index: int) -> list[str]:
    return (
        page.locator(CELLS)
        .nth(cell_index)
        .evaluate(
            "c => Array.from(c.querySelectorAll('.jp-Cell-outputWrapper img')).map(i => i.src)"
        )
    )


def cell_text(page: Any, cell_index: int) -> str:
    return page.locator(CELLS).nth(cell_index).locator(".jp-Cell-outputWrapper").inner_text()


def widget_output_errors(page: Any, cell_index: int) -> list[str]:
    """stderr/tracebacks shown inside a cell's widget outputs (errors of a widget callback)."""
    return (
        page.locator(CELLS)
        .nth(cell_index)
        .evaluate(
            """c => Array.from(c.querySelectorAll(
                '.jupyter-widgets [data-mime-type="application/vnd.jupyter.stderr"]'))
            .map(e => e.textContent.trim()).filter(t => t)"""
        )
    )


def move_control(control: Any) -> str:
    """Change one control by a step, as a person would; return what was done."""
    classes = control.evaluate("e => e.className + ' ' + e.tagName")
    if "noUi-handle" in classes:
        now = float(control.get_attribute("aria-valuenow") or 0)
        top = float(control.get_attribute("aria-valuemax") or 0)
        key = "ArrowLeft" if now >= top else "ArrowRight"
        control.focus()
        control.press(key)
        return f"slider {key} from {now:g}"
    if "SELECT" in classes:
        options = control.evaluate("s => Array.from(s.options).map(o => o.value)")
        current = control.input_value()
        if len(options) < 2:
            return ""
        choice = options[(options.index(current) + 1) % len(options)]
        control.select_option(choice)
        return f"dropdown {current!r} -> {choice!r}"
    control.click()
    return "click"


def wait_image_change(
    page: Any, cell_index: int, before: list[str], timeout_s: float, idle_grace_s: float = 5.0
) -> bool:
    """True once the cell's pictures differ from ``before``.

    False when they have not changed after the kernel stayed idle for ``idle_grace_s`` (the
    callback is done and drew the same picture), or after ``timeout_s``.
    """
    start = time.monotonic()
    idle_since = None
    while time.monotonic() - start < timeout_s:
        after = image_sources(page, cell_index)
        if after and after != before:
            return True
        now = time.monotonic()
        if kernel_status(page) == "idle":
            idle_since = idle_since or now
            if now - idle_since >= idle_grace_s:
                return False
        else:
            idle_since = None
        time.sleep(0.25)
    return False
