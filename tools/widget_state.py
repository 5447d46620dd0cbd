"""The widget state stored in an executed notebook, and what each explorer shows in it.

A notebook saved by ``tools.execute`` carries, in ``metadata.widgets``, the state of every
widget its kernel made (``application/vnd.jupyter.widget-state+json``): the controls with their
start values and the Output widgets with what they captured, usually the explorer's first
picture. Pages that cannot run a kernel (nbviewer, the HTML edition) draw the explorer from it.
``add_first_pictures`` also puts that picture into the explorer's own output bundle as
``image/png``, beside the widget view: JupyterLab shows the live widget, a viewer that knows no
widgets (GitHub) shows the picture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nbformat import NotebookNode

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# An explorer cell builds its widget with ipywidgets' interact or interactive.
_EXPLORER_CALL = re.compile(r"\binteract(?:ive)?\s*\(")
_DESCRIPTION = re.compile(r"""\bdescription\s*=\s*(?P<q>["'])(?P<text>.*?)(?P=q)""")


@dataclass
class WidgetView:
    """What one widget view holds in the stored state: its controls and captured outputs."""

    controls: dict[str, str | None] = field(default_factory=dict)  # description -> start value
    outputs: list = field(default_factory=list)
    found: bool = False  # the view's own model is in the state


def stored_state(nb: NotebookNode) -> dict:
    """The ``model_id -> model`` mapping stored in ``nb``'s metadata (empty when none)."""
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def control_value(values: dict) -> str | None:
    """A control's value as text: ``value`` for sliders, the label for dropdowns (``index``)."""
    if "value" in values:
        return str(values["value"])
    labels, index = values.get("_options_labels"), values.get("index")
    if isinstance(labels, list) and isinstance(index, int) and 0 <= index < len(labels):
        return str(labels[index])
    return None


def read_view(model_id: str, state: dict) -> WidgetView:
    """The controls and captured outputs under ``model_id``, following the children."""
    view = WidgetView(found=model_id in state)
    _walk(model_id, state, set(), view)
    return view


def _walk(model_id: str, state: dict, seen: set[str], view: WidgetView) -> None:
    if model_id in seen or model_id not in state:
        return
    seen.add(model_id)
    model = state[model_id]
    values = model.get("state", {})
    if model.get("model_name") == "OutputModel":
        view.outputs.extend(values.get("outputs", []))
    elif values.get("description"):
        view.controls[values["description"]] = control_value(values)
    for child in values.get("children", []):
        if isinstance(child, str) and child.startswith("IPY_MODEL_"):
            _walk(child.removeprefix("IPY_MODEL_"), state, seen, view)


def widget_views(cell: NotebookNode) -> list[dict]:
    """The widget-view outputs of a code cell (their ``model_id`` and version)."""
    return [
        out["data"][WIDGET_VIEW]
        for out in cell.get("outputs", [])
        if WIDGET_VIEW in out.get("data", {})
    ]


def is_explorer(cell: NotebookNode) -> bool:
    """Whether a cell builds an explorer: a code cell calling ``interact``/``interactive``."""
    return cell.cell_type == "code" and bool(_EXPLORER_CALL.search(cell.source))


def declared_controls(cell: NotebookNode) -> list[str]:
    """The control descriptions an explorer cell's source declares (``description="..."``)."""
    return [m["text"] for m in _DESCRIPTION.finditer(cell.source)]


def first_picture(view: WidgetView) -> str | None:
    """The first PNG (base64) an explorer's Output widgets captured, or None."""
    for out in view.outputs:
        png = out.get("data", {}).get("image/png")
        if png:
            return png
    return None


def explorer_problems(nb: NotebookNode) -> list[str]:
    """What is missing from the saved state for each explorer cell of ``nb`` (empty: all saved).

    Each explorer's view must be in the state, hold every control the cell declares, and carry
    its first picture, both in an Output widget and in the view's own output bundle.
    """
    state = stored_state(nb)
    problems = []
    for index, cell in enumerate(nb.cells):
        if not is_explorer(cell):
            continue
        views = widget_views(cell)
        if not views:
            problems.append(f"cell {index}: the explorer has no widget view output")
            continue
        view = read_view(views[-1].get("model_id", ""), state)
        if not view.found:
            problems.append(f"cell {index}: the explorer's view is not in the saved widget state")
            continue
        missing = [d for d in declared_controls(cell) if d not in view.controls]
        if missing:
            problems.append(f"cell {index}: saved state lacks the controls {missing}")
        if first_picture(view) is None:
            problems.append(f"cell {index}: the saved state holds no picture of the first view")
        bundles = [o for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]
        if not bundles[-1]["data"].get("image/png"):
            problems.append(f"cell {index}: the explorer's output carries no static picture")
    return problems


def add_first_pictures(nb: NotebookNode) -> int:
    """Put each widget view's first captured picture into its output bundle; how many got one.

    The bundle then holds the widget view and an ``image/png``: a viewer ranks the widget first
    when it can run it and falls back to the picture when it cannot.
    """
    state = stored_state(nb)
    added = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            png = first_picture(read_view(data[WIDGET_VIEW].get("model_id", ""), state))
            if png is None:
                data.pop("image/png", None)  # a picture from an earlier run would be stale
            else:
                data["image/png"] = png
                added += 1
    return added
