"""Small cell helpers shared by the student and nbgrader editions."""

from __future__ import annotations

import nbformat
from nbformat import NotebookNode


def put_note_first(nb: NotebookNode, note: NotebookNode, note_id: str, cells: list) -> NotebookNode:
    """``nb`` with ``note`` followed by ``cells`` as its cells, validated.

    The note gets a fixed id (so regenerated copies are byte-identical) where the notebook's
    format has cell ids (4.5 and later), and none where ids are not allowed.
    """
    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
        note["id"] = note_id
    else:
        note.pop("id", None)
    nb.cells = [note, *cells]
    nbformat.validate(nb)
    return nb
