"""Relative links in the lessons' markdown, and where they point in a copy of the lessons.

A lesson links to the docs with repository paths such as ``../docs/glossary.md``. A student or
HTML copy lives elsewhere and carries its own copy of those docs, so each relative link is
resolved against the file it was written in and rewritten to where its target is in the copy.
Links to the web, to anchors on the same page and inside code are left alone.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

# [text](target) and ![alt](target "title"); the target has no spaces or parentheses.
_LINK = re.compile(r"(!?\[[^\]\n]*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
# Fenced code blocks and inline code spans, where bracket-paren text is code, not a link.
_CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$|(`+)[^`\n].*?\2", re.DOTALL | re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True)
class Link:
    """One relative link: its text position, its path part and its ``#anchor`` (or "")."""

    start: int
    end: int
    path: str
    anchor: str
    image: bool


def relative_links(markdown: str) -> list[Link]:
    """The relative links in ``markdown``, outside code; web, mail and ``#anchor`` links skipped."""
    code = [match.span() for match in _CODE.finditer(markdown)]
    links = []
    for match in _LINK.finditer(markdown):
        start, end = match.span(2)
        if any(lo <= start < hi for lo, hi in code):
            continue
        target = match.group(2)
        if _SCHEME.match(target) or target.startswith(("#", "/")):
            continue
        path, _, anchor = target.partition("#")
        links.append(Link(start, end, path, anchor, match.group(1).startswith("!")))
    return links


def resolve(link: Link, written_in: Path) -> Path:
    """The file ``link`` points to, as an absolute path, from the file it was written in."""
    return (written_in.parent / unquote(link.path)).resolve()


def rewrite_links(
    markdown: str,
    written_in: Path,
    placed_at: Path,
    placement: Mapping[Path, Path],
) -> str:
    """``markdown`` with every relative link pointing where its target is in the copy.

    ``written_in`` is the source file the text comes from, ``placed_at`` the file it is written
    to, and ``placement`` maps each source file (absolute) to its place in the copy.
    Raises ValueError naming the file and the link when a target does not exist, or exists but
    is not part of the copy (its link would be broken there).
    """
    pieces = []
    last = 0
    for link in relative_links(markdown):
        target = resolve(link, written_in)
        if target not in placement:
            state = "is not part of this copy" if target.exists() else "does not exist"
            raise ValueError(
                f"{written_in.name}: the link {link.path!r} points to {target}, which {state}"
            )
        href = Path(os.path.relpath(placement[target], placed_at.parent)).as_posix()
        pieces += [markdown[last : link.start], href + (f"#{link.anchor}" if link.anchor else "")]
        last = link.end
    pieces.append(markdown[last:])
    return "".join(pieces)


def embed_images(markdown: str, written_in: Path) -> str:
    """``markdown`` with each relative image link that exists replaced by a ``data:`` URL.

    An HTML page then carries its pictures wherever they sat in the repository (nbconvert
    embeds only images under the notebook's own folder). Missing images are left for
    ``rewrite_links`` to report.
    """
    pieces = []
    last = 0
    for link in relative_links(markdown):
        target = resolve(link, written_in)
        if not link.image or not target.is_file():
            continue
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        data = base64.b64encode(target.read_bytes()).decode("ascii")
        pieces += [markdown[last : link.start], f"data:{mime};base64,{data}"]
        last = link.end
    pieces.append(markdown[last:])
    return "".join(pieces)


def linked_files(sources: Iterable[tuple[str, Path]]) -> list[Path]:
    """Every file reached by relative links from ``sources``, following links in ``.md`` files.

    ``sources`` are ``(markdown text, file it comes from)`` pairs. Returns absolute paths,
    sorted, of the files that exist, notebooks left out (a copy places the lessons itself;
    broken links are reported by ``rewrite_links``).
    """
    found: set[Path] = set()
    todo = list(sources)
    while todo:
        text, written_in = todo.pop()
        for link in relative_links(text):
            target = resolve(link, written_in)
            if target.suffix == ".ipynb" or not target.is_file() or target in found:
                continue
            found.add(target)
            if target.suffix == ".md":
                todo.append((target.read_text(encoding="utf-8"), target))
    return sorted(found)
