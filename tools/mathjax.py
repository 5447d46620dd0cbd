"""MathJax for the offline HTML pages, copied from an installed package instead of a CDN.

The files come from ``jupyter-server-mathjax`` (MathJax 2.7 with its STIX web fonts, the
build the classic Jupyter Notebook served), a developer dependency. They are copied next to
the pages, so the pages typeset ``$...$`` and ``$$...$$`` without a network connection,
opened from disk or from any web server.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

MATHJAX_PACKAGE = "jupyter_server_mathjax"
MATHJAX_FOLDER = "mathjax"
# TeX input, HTML-CSS output (the package ships no CommonHTML fonts), and the Safe extension,
# which keeps markdown's math from running scripts or loading URLs.
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
# The speech-rule engine of the accessibility explorer fetches its rules from a CDN when a
# reader turns it on; typesetting never needs it, and an offline copy must not point away.
_NOT_COPIED = ("a11y",)

# Replaces nbconvert's MathJax block (which loads MathJax from a CDN). The settings must exist
# before MathJax.js runs; they are those of nbconvert's block, with the web font the package
# ships and HTML-CSS output even in browsers with native MathML (no NativeMML jax is copied).
HEAD_BLOCK = r"""
{%- block html_head_js_mathjax -%}
<script>
window.MathJax = {
  tex2jax: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  MMLorHTML: {prefer: "HTML"},
  "HTML-CSS": {
    availableFonts: [], imageFont: null, preferredFont: null, webFont: "STIX-Web",
    linebreaks: {automatic: true}
  },
  displayAlign: "center",
  messageStyle: "none"
};
</script>
<script src="{{ resources.mathjax_url }}"></script>
{%- endblock html_head_js_mathjax -%}
"""


def mathjax_source() -> Path:
    """The folder of MathJax files in the installed package.

    Raises RuntimeError naming the package when it is not installed.
    """
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"offline math needs the {MATHJAX_PACKAGE.replace('_', '-')} package "
            "(a developer dependency: make install)"
        )
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    if not (static / "MathJax.js").is_file():
        raise RuntimeError(f"{static} has no MathJax.js; reinstall {MATHJAX_PACKAGE}")
    return static


def copy_mathjax(out_dir: Path | str) -> Path:
    """Copy MathJax into ``out_dir/mathjax`` (replacing an older copy); returns MathJax.js."""
    target = Path(out_dir) / MATHJAX_FOLDER
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(mathjax_source(), target, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    return target / "MathJax.js"


def mathjax_url(page: Path, out_dir: Path) -> str:
    """The relative URL of the copied MathJax.js as seen from ``page`` (a file in ``out_dir``)."""
    script = Path(out_dir) / MATHJAX_FOLDER / "MathJax.js"
    relative = Path(os.path.relpath(script, Path(page).parent)).as_posix()
    return f"{relative}?config={MATHJAX_CONFIG}"
