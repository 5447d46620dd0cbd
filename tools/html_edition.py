"""The HTML edition: the executed lessons as static pages that open without a network.

Rendered with nbconvert's ``lab`` template, with no script fetched from a CDN: MathJax is copied
next to the pages from a Python package (``tools.mathjax``), so formulas typeset offline. Widget
explorers cannot move in a static page: each one is replaced by the picture it drew when the
lesson was executed and the values its controls started at. The docs the lessons link to become
pages too, with the links rewritten; pictures are embedded.
"""

from __future__ import annotations

import copy
import html
import logging
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from tools.classroom import (
    COLLECTION_TITLE,
    LANGUAGES,
    check_output_folder,
    clear_generated_folders,
    language_of,
    lesson_paths,
    markdown_sources,
    notebook_title,
    place_linked_files,
    remove_stale,
    repository_of,
    with_links,
)
from tools.links import embed_images, linked_files, rewrite_links
from tools.mathjax import HEAD_BLOCK, copy_mathjax, mathjax_url
from tools.widget_state import WIDGET_STATE, WIDGET_VIEW, read_view

# Extends nbconvert's lab template: empties every block that loads a script from a CDN
# (require.js, the widget manager, mermaid) and loads MathJax from the copy next to the pages.
# CSS is inlined by the lab template and images are base64 already, so a page needs no network.
_OFFLINE_TEMPLATE_NAME = "classroom_offline.html.j2"
_OFFLINE_TEMPLATE = (
    """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block widget_state -%}{%- endblock widget_state -%}
"""
    + HEAD_BLOCK
)


_NBCONVERT_ALT = "No description has been provided for this image"
_FIGURE_ALT = "Figure drawn by the code cell above"
_QUIET_LOG = logging.getLogger("tools.classroom.nbconvert")
_QUIET_LOG.setLevel(logging.ERROR)


def freeze_widgets(nb: NotebookNode) -> NotebookNode:
    """A copy of ``nb`` in which each widget view is replaced by what it showed.

    A static page cannot run a widget. Each widget-view output becomes a short note (the
    controls' starting values) followed by the outputs its Output widgets captured when the
    notebook was executed (usually the figure). The stored widget state is dropped.
    """
    frozen = copy.deepcopy(nb)
    state = frozen.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in frozen.cells:
        if cell.cell_type != "code":
            continue
        new_outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                new_outputs.append(output)
                continue
            shown = read_view(view.get("model_id", ""), state)
            captured = shown.outputs
            png = output.get("data", {}).get("image/png")
            if not captured and png:  # no state saved, but the output carries the picture
                captured = [nbformat.v4.new_output("display_data", data={"image/png": png})]
            controls = [f"{k} = {v}" for k, v in shown.controls.items() if v is not None]
            note = "Interactive explorer: open the notebook in JupyterLab to move its controls."
            if controls:
                note += " Shown here at " + ", ".join(controls) + "."
            new_outputs.append(
                nbformat.v4.new_output(
                    "display_data",
                    data={
                        "text/html": f"<p><em>{html.escape(note)}</em></p>",
                        "text/plain": note,
                    },
                )
            )
            new_outputs.extend(nbformat.from_dict(o) for o in captured)
        cell.outputs = new_outputs
    return frozen


def export_html(
    nb: NotebookNode,
    name: str,
    resources_dir: Path | str = ".",
    mathjax: str = "",
) -> str:
    """Render one executed notebook as a self-contained HTML page (no CDN scripts).

    ``name`` is the page's fallback title; ``resources_dir`` is where images linked from
    markdown are looked up before being embedded as base64; ``mathjax`` is the URL of the
    MathJax.js copied next to the pages (``copy_mathjax``), relative to the page.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    page = freeze_widgets(nb)
    page.metadata["title"] = notebook_title(page, name)
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({_OFFLINE_TEMPLATE_NAME: _OFFLINE_TEMPLATE})],
        template_file=_OFFLINE_TEMPLATE_NAME,
        embed_images=True,
        mathjax_url=mathjax or mathjax_url(Path("page.html"), Path(".")),
        log=_QUIET_LOG,
    )
    body, _ = exporter.from_notebook_node(
        page, resources={"metadata": {"name": name, "path": str(resources_dir)}}
    )
    # nbconvert gives every output image a generic alt text (and logs a warning per page).
    return body.replace(f'alt="{_NBCONVERT_ALT}"', f'alt="{_FIGURE_ALT}"')


# The index page's words per language, and the link each index gives to the other edition.
_INDEX_WORDS = {
    "en": {
        "lang": "en",
        "title": f"{COLLECTION_TITLE}: lessons",
        "reference": "Reference",
        "intro": (
            "Static copies of the lessons with the outputs stored when they were last run. They "
            "open without a network connection. To run the code and move the widgets, open the "
            "notebooks in JupyterLab (<code>make lab</code>)."
        ),
        "other": '<p lang="zh-CN"><a href="zh/index.html">中文版</a> (Chinese edition)</p>',
    },
    "zh": {
        "lang": "zh-CN",
        "title": f"{COLLECTION_TITLE}：课程",
        "reference": "参考资料",
        "intro": (
            "课程的静态副本，带有最后一次运行时保存的输出，无需联网即可打开。要运行代码、拖动"
            "交互控件，请在 JupyterLab 中打开笔记本（<code>make lab</code>）。"
        ),
        "other": '<p lang="en"><a href="../index.html">English edition</a></p>',
    },
}


def render_index(
    entries: Sequence[tuple[str, str]],
    docs: Sequence[tuple[str, str]] = (),
    lang: str = "en",
    other_edition: bool = False,
) -> str:
    """The index page: one link per lesson, from ``(file name, title)`` pairs, then the docs;
    with ``other_edition``, a link to the edition in the other language."""
    words = _INDEX_WORDS[lang]

    def items(pairs: Sequence[tuple[str, str]]) -> str:
        return "\n".join(
            f'    <li><a href="{html.escape(href)}">{html.escape(title)}</a></li>'
            for href, title in pairs
        )

    reference = f"\n  <h2>{words['reference']}</h2>\n  <ul>\n{items(docs)}\n  </ul>" if docs else ""
    other = f"\n  {words['other']}" if other_edition else ""
    return f"""<!DOCTYPE html>
<html lang="{words["lang"]}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>{words["title"]}</title>
  <style>
    body {{ font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto;
           padding: 0 1rem; line-height: 1.5; color: #222; }}
    ul {{ list-style: none; padding-left: 0; }}
    li {{ margin: 0.4rem 0; }}
    a {{ color: #0b5cad; }}
  </style>
</head>
<body>
  <h1>{COLLECTION_TITLE}</h1>{other}
  <p>{words["intro"]}</p>
  <ul>
{items(entries)}
  </ul>{reference}
</body>
</html>
"""


def write_html(
    source_dir: Path | str, out_dir: Path | str, only: Iterable[str] | None = None
) -> list[Path]:
    """Write ``NN_topic.html`` for every lesson in ``source_dir``, the docs and an index.

    The docs the lessons link to become pages under their repository paths (``docs/X.html``)
    and the links are rewritten to them; MathJax is copied to ``mathjax/``. ``only`` limits
    the pages to the lessons with those stems. Returns the written lesson pages, the doc
    pages, then the index.
    """
    sources = everything = lesson_paths(source_dir)
    if only is not None:
        wanted = set(only)
        unknown = wanted - {path.stem for path in sources}
        if unknown:
            raise ValueError(f"no lesson named {sorted(unknown)} in {source_dir}")
        sources = [path for path in sources if path.stem in wanted]
    out = Path(out_dir)
    check_output_folder(source_dir, out)
    out.mkdir(parents=True, exist_ok=True)
    where = out.resolve()
    lessons = [(path, nbformat.read(path, as_version=4)) for path in sources]
    # Pictures are embedded in the pages, so only the other linked files are carried.
    for path, nb in lessons:
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = embed_images(cell.source, path.resolve())
    docs = linked_files(markdown_sources(lessons))
    doc_places = place_linked_files(docs, repository_of(source_dir), where, ".html")
    # Every lesson has its place, so a page built alone (``only``) still links to its neighbours.
    placement = {path.resolve(): where / f"{path.stem}.html" for path in everything} | doc_places
    written = []
    entries = []
    for path, nb in lessons:
        target = where / f"{path.stem}.html"
        page = with_links(copy.deepcopy(nb), path.resolve(), target, placement)
        body = export_html(page, path.stem, path.parent, mathjax_url(target, where))
        target.write_text(body, encoding="utf-8")
        written.append(out / target.name)
        entries.append((target.name, notebook_title(nb, path.stem)))
    remove_stale(out, (p.name for p in written), ".html")
    lang = language_of(source_dir)
    clear_generated_folders(where, keep=LANGUAGES if lang == "en" else ())
    copy_mathjax(out)
    doc_entries = []
    for doc, place in doc_places.items():
        place.parent.mkdir(parents=True, exist_ok=True)
        if doc.suffix != ".md":
            shutil.copyfile(doc, place)
            written.append(out / place.relative_to(where))
            continue
        text = embed_images(doc.read_text(encoding="utf-8"), doc)
        text = rewrite_links(text, doc, place, placement)
        page = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
        place.write_text(
            export_html(page, doc.stem, doc.parent, mathjax_url(place, where)), encoding="utf-8"
        )
        href = place.relative_to(where).as_posix()
        written.append(out / href)
        doc_entries.append((href, notebook_title(page, doc.stem)))
    index = out / "index.html"
    # The English index offers the Chinese edition where one is built from these lessons.
    translated = repository_of(source_dir) / "notebooks" / "zh"
    other = lang != "en" or (translated.is_dir() and bool(lesson_paths(translated)))
    index.write_text(render_index(entries, doc_entries, lang, other), encoding="utf-8")
    return [*written, index]
