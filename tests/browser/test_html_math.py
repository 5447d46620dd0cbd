"""The offline HTML pages in a real browser: formulas typeset by the copied MathJax, no network.

Lessons 00 and 01 are rendered with ``write_html`` into a temporary folder and opened from
``file://`` in headless Chromium with the network switched off. Lesson 01 has 21 formulas in
its markdown; each must become MathJax output drawn with the copied STIX web fonts, and no
request may leave the machine. A screenshot of the output-size formula is saved to
``build/screenshots/html_math_01_convblock.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from tools.html_edition import write_html

from .conftest import REPO

pytestmark = pytest.mark.browser

LESSON = "01_convblock"
# $$...$$ or $...$ in markdown: the formulas MathJax must typeset.
FORMULA = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html")
    write_html(REPO / "notebooks", out, only=["00_start_here", LESSON])
    return out


@pytest.fixture
def offline_page(browser: object):
    """A page with the network off that records every request not served from disk."""
    context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.remote = []
    local = ("file:", "data:", "about:", "blob:")  # about:blank is MathJax's measuring frame
    page.on(
        "request",
        lambda request: None if request.url.startswith(local) else page.remote.append(request.url),
    )
    try:
        yield page
    finally:
        context.close()


def _typeset(page: object) -> None:
    """Wait until MathJax has loaded and finished every formula it queued."""
    page.wait_for_function("() => window.MathJax && MathJax.Hub && MathJax.isReady", timeout=30000)
    page.evaluate("() => new Promise(done => MathJax.Hub.Queue(done))")


def test_formulas_typeset_offline_with_the_copied_fonts(
    offline_page: object, html_dir: Path, screenshot_dir: Path
) -> None:
    page = offline_page
    lesson = nbformat.read(REPO / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    formulas = [
        formula
        for cell in lesson.cells
        if cell.cell_type == "markdown"
        for formula in FORMULA.findall(cell.source)
    ]
    assert len(formulas) >= 10, "lesson 01 no longer has the formulas this test reads"

    page.goto((html_dir / f"{LESSON}.html").as_uri())
    _typeset(page)

    rendered = page.locator(".jp-RenderedMarkdown .MathJax, .jp-RenderedMarkdown .MathJax_Display")
    assert rendered.count() >= len(formulas)
    assert page.locator(".MathJax_Error, .merror").count() == 0
    text = page.locator(".jp-RenderedMarkdown").all_inner_texts()
    raw = [formula for block in text for formula in FORMULA.findall(block)]
    assert not raw, f"formulas left as LaTeX source: {raw[:3]}"
    fonts = page.evaluate(
        "() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)"
    )
    assert any("STIXMathJax" in family for family in fonts), f"web fonts loaded: {fonts}"
    assert page.remote == [], f"the page tried the network: {page.remote}"

    display = page.locator(".jp-RenderedMarkdown .MathJax_Display").first
    display.scroll_into_view_if_needed()
    shot = screenshot_dir / f"html_math_{LESSON}.png"
    display.locator("xpath=..").screenshot(path=str(shot))
    assert shot.stat().st_size > 1000


def test_glossary_link_opens_the_glossary_page(offline_page: object, html_dir: Path) -> None:
    page = offline_page
    page.goto((html_dir / "00_start_here.html").as_uri())
    page.locator("a", has_text="glossary").first.click()
    page.wait_for_load_state()
    assert page.url == (html_dir / "docs" / "glossary.html").as_uri()
    assert page.locator("h1").first.inner_text().startswith("Glossary")
    assert page.locator("table tr").count() > 20
    assert page.remote == []
