"""Links in the classroom editions, the committed student edition, MathJax, nbgitpuller links."""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools.classroom import (
    LESSON_GLOB,
    STUDENT_DIR,
    nbgitpuller_link,
    write_student_notebooks,
)
from tools.html_edition import write_html
from tools.links import linked_files, relative_links, rewrite_links
from tools.mathjax import MATHJAX_CONFIG, copy_mathjax, mathjax_url

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / STUDENT_DIR
# A 1x1 red PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5Erk"
    "Jggg=="
)
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


# --- finding and rewriting links ----------------------------------------------------------


def test_relative_links_skip_web_anchors_and_code() -> None:
    text = (
        "See [words](../docs/words.md#softmax), [web](https://example.org/a.md), "
        "[here](#top), [mail](mailto:a@b.c), `[not](a/link.md)` and\n"
        '```python\nx = [y](z.md)\n```\n![pixel](img/p.png "title")'
    )
    links = relative_links(text)
    assert [(link.path, link.anchor) for link in links] == [
        ("../docs/words.md", "softmax"),
        ("img/p.png", ""),
    ]


def test_rewrite_points_each_link_at_its_place_in_the_copy(tmp_path: Path) -> None:
    lesson, doc = tmp_path / "notebooks" / "01_x.ipynb", tmp_path / "docs" / "words.md"
    placement = {doc: tmp_path / "out" / "docs" / "words.html"}
    text = "Read [the words](../docs/words.md#softmax) and [again](../docs/words.md)."
    rewritten = rewrite_links(text, lesson, tmp_path / "out" / "01_x.html", placement)
    assert rewritten == "Read [the words](docs/words.html#softmax) and [again](docs/words.html)."


def test_rewrite_names_the_file_and_the_link_it_cannot_place(tmp_path: Path) -> None:
    lesson = tmp_path / "notebooks" / "01_x.ipynb"
    (tmp_path / "README.md").write_text("# r")
    with pytest.raises(ValueError, match=r"01_x.ipynb: the link '../docs/gone.md'.*does not exist"):
        rewrite_links("[g](../docs/gone.md)", lesson, tmp_path / "o.ipynb", {})
    with pytest.raises(ValueError, match="is not part of this copy"):
        rewrite_links("[r](../README.md)", lesson, tmp_path / "o.ipynb", {})


def _mini_repo(root: Path) -> Path:
    """notebooks/99_doubling.ipynb linking docs/words.md, which links more.md and the lesson."""
    (root / "notebooks").mkdir()
    (root / "docs").mkdir()
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [
        new_markdown_cell(
            "# Lesson 99\n\nTerms: [words](../docs/words.md#gate), $x^2$.\n\n"
            "![a pixel](../docs/pixel.png)"
        ),
        new_code_cell("print('[not a link](../docs/missing.md)')"),
    ]
    nbformat.write(nb, root / "notebooks" / "99_doubling.ipynb")
    (root / "docs" / "words.md").write_text(
        "# Words\n\nSee [more](more.md) and [the lesson](../notebooks/99_doubling.ipynb).\n"
    )
    (root / "docs" / "more.md").write_text("# More\n\nNothing else.\n")
    (root / "docs" / "pixel.png").write_bytes(base64.b64decode(PNG))
    (root / "docs" / "unlinked.md").write_text("# Not linked from any lesson\n")
    return root / "notebooks"


def test_linked_docs_are_followed_from_doc_to_doc(tmp_path: Path) -> None:
    source = _mini_repo(tmp_path)
    nb = nbformat.read(source / "99_doubling.ipynb", as_version=4)
    found = linked_files([(nb.cells[0].source, source / "99_doubling.ipynb")])
    assert [path.name for path in found] == ["more.md", "pixel.png", "words.md"]


def _targets(text: str, written_in: Path) -> list[Path]:
    return [written_in.parent / unquote(link.path) for link in relative_links(text)]


def _notebook_link_targets(folder: Path) -> list[tuple[Path, Path]]:
    """(file, target) for every relative link in the notebooks and markdown files of folder."""
    pairs = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
        elif path.suffix == ".md":
            texts = [path.read_text(encoding="utf-8")]
        else:
            continue
        pairs += [(path, target) for text in texts for target in _targets(text, path)]
    return pairs


def test_student_edition_carries_the_linked_docs_and_its_links_work(tmp_path: Path) -> None:
    source = _mini_repo(tmp_path)
    out = tmp_path / "student"
    written = write_student_notebooks(source, out)

    names = [path.relative_to(out).as_posix() for path in written]
    assert names == [
        "99_doubling.ipynb",
        "docs/more.md",
        "docs/pixel.png",
        "docs/words.md",
        "README.md",
    ]
    lesson = nbformat.read(out / "99_doubling.ipynb", as_version=4)
    assert "[words](docs/words.md#gate)" in lesson.cells[1].source
    assert "[the lesson](../99_doubling.ipynb)" in (out / "docs" / "words.md").read_text()
    pairs = _notebook_link_targets(out)
    assert "![a pixel](docs/pixel.png)" in lesson.cells[1].source
    assert len(pairs) == 7  # lesson -> words, pixel; words -> more, lesson; README -> 3
    assert all(target.is_file() for _, target in pairs), pairs


def _html_link_targets(folder: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for page in sorted(folder.rglob("*.html")):
        for href in re.findall(r'<a\s[^>]*href="([^"]+)"', page.read_text(encoding="utf-8")):
            href = html.unescape(href)
            if re.match(r"^[a-z][a-z0-9+.\-]*:|^#", href):
                continue
            pairs.append((page, page.parent / unquote(href.split("#")[0])))
    return pairs


def test_html_edition_renders_the_linked_docs_and_its_links_work(tmp_path: Path) -> None:
    source = _mini_repo(tmp_path)
    out = tmp_path / "html"
    written = write_html(source, out)

    names = [path.relative_to(out).as_posix() for path in written]
    assert names == ["99_doubling.html", "docs/more.html", "docs/words.html", "index.html"]
    page = (out / "99_doubling.html").read_text()
    assert 'href="docs/words.html#gate"' in page
    assert f"data:image/png;base64,{PNG}" in page and "pixel.png" not in page  # embedded
    words = (out / "docs" / "words.html").read_text()
    assert 'href="more.html"' in words and 'href="../99_doubling.html"' in words
    assert f'src="../mathjax/MathJax.js?config={MATHJAX_CONFIG}"' in words
    assert '<a href="docs/words.html">Words</a>' in (out / "index.html").read_text()
    pairs = _html_link_targets(out)
    assert len(pairs) >= 6
    assert all(target.is_file() for _, target in pairs), pairs


def test_html_of_the_real_start_page_links_to_the_rendered_glossary(tmp_path: Path) -> None:
    write_html(ROOT / "notebooks", tmp_path, only=["00_start_here"])
    page = (tmp_path / "00_start_here.html").read_text(encoding="utf-8")
    assert 'href="docs/glossary.html"' in page
    lessons = {f"{p.stem}.html" for p in (ROOT / "notebooks").glob(LESSON_GLOB)}
    # A page built alone links to its neighbours' pages and the index to the Chinese edition's,
    # which a whole build (make html) writes beside it.
    broken = [
        target
        for _, target in _html_link_targets(tmp_path)
        if not target.is_file()
        and not (target.resolve().parent == tmp_path.resolve() and target.name in lessons)
        and target != tmp_path / "zh" / "index.html"
    ]
    assert not broken
    with pytest.raises(ValueError, match="no lesson named"):
        write_html(ROOT / "notebooks", tmp_path, only=["99_nothing"])


# --- the committed student edition --------------------------------------------------------


def test_committed_student_edition_is_up_to_date(tmp_path: Path) -> None:
    """classroom/student must be what `make student` writes from the lessons now."""
    fresh = tmp_path / "student"
    write_student_notebooks(ROOT / "notebooks", fresh)
    expected = {p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()}
    committed = {p.relative_to(COMMITTED).as_posix() for p in COMMITTED.rglob("*") if p.is_file()}
    assert committed == expected, "classroom/student is out of date with notebooks/: make student"
    stale = [
        name
        for name in sorted(expected)
        if (fresh / name).read_bytes() != (COMMITTED / name).read_bytes()
    ]
    assert not stale, f"out of date with the lessons: {stale}; run `make student` and commit"


def test_committed_student_edition_links_work() -> None:
    pairs = _notebook_link_targets(COMMITTED)
    assert any(target.name == "glossary.md" for _, target in pairs)
    broken = [(str(f.relative_to(COMMITTED)), str(t)) for f, t in pairs if not t.is_file()]
    assert not broken


def test_committed_student_edition_has_every_lesson_and_no_solutions() -> None:
    lessons = sorted(path.name for path in (ROOT / "notebooks").glob(LESSON_GLOB))
    assert sorted(path.name for path in COMMITTED.glob(LESSON_GLOB)) == lessons
    for name in lessons:
        nb = nbformat.read(COMMITTED / name, as_version=4)
        assert not any("solution" in c.metadata.get("tags", []) for c in nb.cells), name


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_committed_student_edition_is_not_ignored_by_git() -> None:
    """nbgitpuller can only pull files git tracks: the edition must not be under build/."""
    paths = [str(p.relative_to(ROOT)) for p in sorted(COMMITTED.rglob("*")) if p.is_file()]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode == 128:
        pytest.skip(f"not a git checkout: {result.stderr.strip()}")
    assert result.stdout.strip() == "", f"git ignores: {result.stdout.split()}"


# --- MathJax --------------------------------------------------------------------------------

CDN_URL = re.compile(r"https?://[^\s\"']*(cdn|jsdelivr|unpkg)[^\s\"']*", re.IGNORECASE)


def test_mathjax_is_copied_without_anything_that_points_at_a_cdn(tmp_path: Path) -> None:
    script = copy_mathjax(tmp_path)
    assert script == tmp_path / "mathjax" / "MathJax.js" and script.is_file()
    assert (tmp_path / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert list((tmp_path / "mathjax" / "fonts").rglob("*.woff")), "no web fonts copied"
    found = [
        (path.name, match.group(0))
        for path in (tmp_path / "mathjax").rglob("*")
        if path.is_file() and path.suffix in (".js", ".css", ".html")
        for match in CDN_URL.finditer(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not found, found


def test_mathjax_url_is_relative_to_the_page() -> None:
    out = Path("/site")
    assert mathjax_url(out / "01.html", out) == f"mathjax/MathJax.js?config={MATHJAX_CONFIG}"
    nested = mathjax_url(out / "docs" / "g.html", out)
    assert nested == f"../mathjax/MathJax.js?config={MATHJAX_CONFIG}"


# --- nbgitpuller links ----------------------------------------------------------------------


def test_nbgitpuller_link_pulls_the_repository_and_opens_the_student_folder() -> None:
    link = nbgitpuller_link(
        "https://hub.example.org/", "https://github.com/course/attention-step-by-step.git"
    )
    parsed = urlparse(link)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == (
        "https://hub.example.org/hub/user-redirect/git-pull"
    )
    assert parse_qs(parsed.query) == {
        "repo": ["https://github.com/course/attention-step-by-step.git"],
        "branch": ["main"],
        "urlpath": ["lab/tree/attention-step-by-step/classroom/student"],
    }
    lesson = nbgitpuller_link(
        "https://hub.example.org",
        "https://github.com/course/attention-step-by-step",
        branch="spring",
        path="classroom/student/01_convblock.ipynb",
    )
    query = parse_qs(urlparse(lesson).query)
    assert query["branch"] == ["spring"]
    assert query["urlpath"] == [
        "lab/tree/attention-step-by-step/classroom/student/01_convblock.ipynb"
    ]


@pytest.mark.parametrize(
    ("hub", "repo", "message"),
    [
        ("hub.example.org", "https://github.com/c/r", "hub must be an http"),
        ("https://hub.example.org", "git@github.com:c/r.git", "repository must be an http"),
        ("https://hub.example.org", "https://github.com/", "names no repository"),
    ],
)
def test_nbgitpuller_link_rejects_urls_it_cannot_use(hub: str, repo: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nbgitpuller_link(hub, repo)


def test_teaching_guide_link_template_matches_the_link_command() -> None:
    guide = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    example = nbgitpuller_link(
        "https://hub.example.org", "https://github.com/ORG/attention-step-by-step"
    )
    assert example in guide, "docs/teaching.md's nbgitpuller example differs from the command"


# --- the Chinese edition ----------------------------------------------------------------------

COMMITTED_ZH = ROOT / "classroom" / "student-zh"


def test_committed_chinese_student_edition_is_up_to_date(tmp_path: Path) -> None:
    """classroom/student-zh must be what `make student` writes from notebooks/zh now."""
    fresh = tmp_path / "student-zh"
    write_student_notebooks(ROOT / "notebooks" / "zh", fresh)
    expected = {p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file()}
    committed = {
        p.relative_to(COMMITTED_ZH).as_posix() for p in COMMITTED_ZH.rglob("*") if p.is_file()
    }
    assert committed == expected, "classroom/student-zh is out of date: make zh && make student"
    stale = [
        n for n in sorted(expected) if (fresh / n).read_bytes() != (COMMITTED_ZH / n).read_bytes()
    ]
    assert not stale, f"out of date with notebooks/zh: {stale}; run make zh && make student"


def test_chinese_student_edition_has_every_lesson_a_chinese_note_and_working_links() -> None:
    lessons = sorted(path.name for path in (ROOT / "notebooks").glob(LESSON_GLOB))
    assert sorted(path.name for path in COMMITTED_ZH.glob(LESSON_GLOB)) == lessons
    first = nbformat.read(COMMITTED_ZH / lessons[1], as_version=4)
    assert first.cells[0].source.startswith("> **学生版。**")
    pairs = _notebook_link_targets(COMMITTED_ZH)
    assert any(target.name == "glossary.md" for _, target in pairs)
    broken = [(str(f.relative_to(COMMITTED_ZH)), str(t)) for f, t in pairs if not t.is_file()]
    assert not broken


def test_each_html_index_links_to_the_other_language(tmp_path: Path) -> None:
    zh = ROOT / "notebooks" / "zh"
    out = tmp_path / "html"
    write_html(ROOT / "notebooks", out, only=["01_convblock"])
    write_html(zh, out / "zh", only=["01_convblock"])
    write_html(ROOT / "notebooks", out, only=["01_convblock"])  # an English rebuild keeps zh/
    english = (out / "index.html").read_text(encoding="utf-8")
    chinese = (out / "zh" / "index.html").read_text(encoding="utf-8")
    assert '<a href="zh/index.html">中文版</a>' in english
    assert '<a href="../index.html">English edition</a>' in chinese
    assert '<html lang="zh-CN">' in chinese and (out / "zh" / "01_convblock.html").is_file()
