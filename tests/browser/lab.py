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
    """Every lesson whose code builds an explorer (``interact(`` or ``interactive(``), in order."""
    found = []
    for notebook in sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(notebook, as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        if re.search(r"\binteract(ive)?\(", code):
            found.append(notebook)
    return found


# Redraw seconds per move, by explorer ("NN_topic cell K"), for the run's summary (conftest).
REDRAW_TIMES: dict[str, list[float]] = {}


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


# One explorer control each: a slider (any kind), a dropdown, a row of toggle buttons, a checkbox.
CONTROL_BOXES = ".widget-slider, .widget-dropdown, .widget-toggle-buttons, .widget-checkbox"

_CONTROL_STATES = """(cell, selector) => Array.from(cell.querySelectorAll(selector)).map(box => {
    const label = box.querySelector(':scope > .widget-label');
    const description = label ? label.innerText.trim() : '';
    if (box.classList.contains('widget-toggle-buttons')) {
        const buttons = Array.from(box.querySelectorAll('button'));
        const active = buttons.find(b => b.classList.contains('mod-active'));
        return {description, kind: 'toggle', disabled: buttons.every(b => b.disabled),
                value: active ? active.innerText.trim() : '',
                options: buttons.map(b => b.innerText.trim())};
    }
    const select = box.querySelector('select');
    if (select) {
        return {description, kind: 'dropdown', disabled: select.disabled, value: select.value,
                options: Array.from(select.options).map(o => o.value)};
    }
    const handle = box.querySelector('.noUi-handle');
    if (handle) {
        const target = box.querySelector('.noUi-target');
        return {description, kind: 'slider',
                disabled: !!target && target.hasAttribute('disabled'),
                value: handle.getAttribute('aria-valuenow') || '', options: []};
    }
    const input = box.querySelector('input');
    return {description, kind: 'checkbox', disabled: !!input && input.disabled,
            value: input && input.checked ? 'true' : 'false', options: ['true', 'false']};
})"""


def control_states(page: Any, cell_index: int) -> list[dict[str, Any]]:
    """Each control of a cell's explorer, in page order: description (its label), kind
    ("slider", "dropdown", "toggle" or "checkbox"), disabled, value and options."""
    return page.locator(CELLS).nth(cell_index).evaluate(_CONTROL_STATES, CONTROL_BOXES)


def move_box(page: Any, cell_index: int, k: int, choice: str | None = None) -> str:
    """Move the cell's control number ``k`` one step, as a person would (or pick ``choice``
    on a dropdown or toggle); return what was done."""
    box = page.locator(CELLS).nth(cell_index).locator(CONTROL_BOXES).nth(k)
    state = control_states(page, cell_index)[k]
    if state["kind"] == "slider":
        return move_control(box.locator(".noUi-handle").first)
    if state["kind"] == "dropdown":
        select = box.locator("select").first
        options, current = state["options"], state["value"]
        choice = choice or options[(options.index(current) + 1) % len(options)]
        select.select_option(choice, timeout=5_000)
        return f"{current!r} -> {choice!r}"
    if state["kind"] == "toggle":
        options, current = state["options"], state["value"]
        choice = choice or options[(options.index(current) + 1) % len(options)]
        box.locator("button", has_text=re.compile(f"^{re.escape(choice)}$")).first.click(
            timeout=5_000
        )
        return f"{current!r} -> {choice!r}"
    box.locator("input").first.click(timeout=5_000)
    return "toggled"


# The explorer's output: its pictures (hashed) and printed text, inside the Output widget only,
# so the controls' own read-outs and notes do not count.
_OUTPUT_SIGNATURE = """cell => {
    const hash = s => {
        let h = 5381;
        for (let i = 0; i < s.length; i++) h = ((h * 33) ^ s.charCodeAt(i)) >>> 0;
        return h.toString(16) + ':' + s.length;
    };
    return Array.from(cell.querySelectorAll('.jp-Cell-outputWrapper .widget-output')).map(o =>
        Array.from(o.querySelectorAll('img')).map(i => hash(i.src)).join(',') + '|' +
        o.innerText.trim()).join('||');
}"""


def output_signature(page: Any, cell_index: int) -> str:
    """What the cell's explorer shows now: its pictures (hashed) and printed text."""
    return page.locator(CELLS).nth(cell_index).evaluate(_OUTPUT_SIGNATURE)


def shows_something(signature: str) -> bool:
    """False for an explorer output that is empty (as while it is cleared before a redraw)."""
    return bool(signature.replace("|", "").strip())


def wait_output_change(
    page: Any,
    cell_index: int,
    before: str,
    started: float,
    dead_after_s: float,
    timeout_s: float,
    settle_s: float = 0.6,
) -> float | None:
    """Seconds from ``started`` until the explorer showed its new output, or None if it
    did not change.

    A change is a non-empty output other than ``before`` (the moment the output is cleared is
    no change); it counts once the kernel is idle and the output has stayed the same for
    ``settle_s``. No change while the kernel stayed idle for ``dead_after_s`` (the move was
    handled, or never sent, and drew the same) or within ``timeout_s`` gives None.
    """
    last = before
    last_change = started
    idle_since = None
    stable_since = None
    while time.monotonic() - started < timeout_s:
        now_sig = output_signature(page, cell_index)
        now = time.monotonic()
        if now_sig != last:
            last, last_change, stable_since = now_sig, now, now
        idle = kernel_status(page) == "idle"
        idle_since = (idle_since or now) if idle else None
        changed = last != before and shows_something(last)
        if changed and idle and stable_since is not None and now - stable_since >= settle_s:
            return last_change - started
        if not changed and idle_since is not None and now - idle_since >= dead_after_s:
            return None
        time.sleep(0.1)
    return None
