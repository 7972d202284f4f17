"""The browser check itself: a page with the defects readers met must fail, a clean one must pass.

The browser tests run headless Chromium (Debian's chromium and chromium-driver, installed by
.ci/run). Two more tests need no browser: the book's kernel_environment extension, tried on a tiny
Jupyter Book built with MPLBACKEND=Agg, and the index page's chapter list against _toc.yml.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HAS_CHROMIUM = bool(shutil.which("chromium") and shutil.which("chromedriver"))

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>article {{ width: 700px; }} @media (max-width: 600px) {{ article {{ width: 350px; }} }}
div.cell_output pre {{ white-space: pre; margin: 0; }}</style>{head}</head>
<body><main><article>{body}</article></main></body></html>"""

# A code cell as myst-nb writes it: the input's <pre> scrolls inside its own box (the theme's CSS).
CODE = "<div class='cell_input'><div class='highlight'><pre style='overflow-x: auto'>{}</pre></div></div>"
# Printed output as book.css shows it: wrapped at the column instead of running off it.
WRAPPING = "<div class='cell_output'><pre style='white-space: pre-wrap'>{}</pre></div>"
TABLE_ROW = "epoch {:>3}   train loss {:8.2f}   test loss {:8.2f}   KL {:6.2f}   seconds {:6.1f}"
SHORT_TABLE = "\n".join(f"{e:>2}  {100 - e:6.2f}  {90 - e:6.2f}" for e in range(1, 6))

# A text-presentation symbol (the ballot x of chapter 2) is drawn by the text fonts: no emoji.
CLEAN = "<h1>A page</h1><p>Some prose and <a href='#top' id='top'>a link to itself</a> \u2717.</p>" \
        "<div class='cell_output'><pre>short output</pre></div>" \
        + CODE.format("x = vaelib.elbo_loss(*model(x), x)  # a line that fits") \
        + WRAPPING.format(SHORT_TABLE)

DEFECTS = {
    "pipe table": "<p>| model | nats |\n|---|---|\n| vae | 86 |</p>",
    "raw TeX": r"<p>the variance floor \texttt{min_log_var}</p>",
    "TeX accent": r"<p>[S{\o}nderby et al., 2016] Casper Kaae S{\o}nderby, Tapani Raiko</p>",
    "alpha label": "<p>[BGS16] Yuri Burda, Roger Grosse and Ruslan Salakhutdinov.</p>",
    "wide output": "<div class='cell_output'><pre>" + "x" * 200 + "</pre></div>",
    "broken link": "<p><a href='missing.html#nowhere'>gone</a></p>",
    "widget": "<div class='jupyter-widgets widget-area'></div>",
    "wrapped printed table": WRAPPING.format("\n".join(
        TABLE_ROW.format(e, 100 - e, 99 - e, 20 + e / 10, 12.5 * e) + "   " + "learning rate 0.001 " * 3
        for e in range(1, 6))),
    "clipped code line": CODE.format("loss = vaelib.elbo_loss(*model(x), x, reduction='sum', beta=beta)"
                                     " + penalty * torch.linalg.norm(model.decoder.weight) ** 2"
                                     " + another_term_that_makes_this_line_much_too_long"),
    "visible NBVAL marker": CODE.format("# NBVAL_CHECK_OUTPUT\nprint(elbo)"),
    # A collapsed (hide-input) cell is clipped as soon as the reader opens it.
    "clipped code line in a collapsed cell": "<details><summary>Check: ...</summary>" + CODE.format(
        "assert torch.allclose(negative_elbo(model, x, eps), vaelib.elbo_loss(*model(x), x).loss,"
        " atol=1e-5, rtol=1e-5), 'the teaching loss and vaelib disagree'") + "</details>",
    # myst-nb's execution table marks each notebook with a check-mark emoji (a box without the font).
    "status emoji": "<table><tr><td>notebooks/01_elbo</td><td>\u2705</td></tr></table>",
}
EXPECTED = {
    "pipe table": "pipe table",
    "raw TeX": "raw TeX",
    "TeX accent": "raw TeX left in the text: ['{\\\\o}'",
    "alpha label": "citation label [BGS16]",
    "wide output": "wider than the column",
    "broken link": "broken internal link missing.html#nowhere",
    "widget": "ipywidgets",
    "wrapped printed table": "a printed table wraps at laptop width",
    "clipped code line": "a code line is longer than its box at laptop width",
    "visible NBVAL marker": "nbval marker(s) visible on the page: ['NBVAL_CHECK_OUTPUT']",
    "clipped code line in a collapsed cell": "a code line is longer than its box at laptop width",
    "status emoji": "emoji on the page ['\u2705']",
}


def load_browser_check():
    import importlib.util

    spec = importlib.util.spec_from_file_location("browser_check", Path(__file__).parent / "browser_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def browser():
    import tempfile

    if not HAS_CHROMIUM:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    module = load_browser_check()
    with tempfile.TemporaryDirectory() as profile:
        driver = module.start_browser(profile)
        try:
            yield module, driver
        finally:
            driver.quit()


def check(browser, tmp_path, body, head="", relative="page.html", root=None):
    """Write one page at root/relative (root: tmp_path), run the check on it, return its problems."""
    module, driver = browser
    root = root or tmp_path
    (root / relative).parent.mkdir(parents=True, exist_ok=True)
    (root / relative).write_text(PAGE.format(title="test page", head=head, body=body))
    server, base = module.serve(root)
    try:
        parsed = module.parse_pages(root)
        _, problems = module.check_page(driver, base, relative, parsed, root, tmp_path / "shots")
    finally:
        server.shutdown()
    return problems


def test_a_clean_page_passes_and_leaves_four_screenshots(browser, tmp_path):
    assert check(browser, tmp_path, CLEAN) == []
    shots = sorted(p.relative_to(tmp_path / "shots").as_posix() for p in (tmp_path / "shots").rglob("*.png"))
    assert shots == ["laptop/page-dark.png", "laptop/page-light.png", "phone/page-dark.png", "phone/page-light.png"]


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_defect_readers_met_fails_the_page(browser, tmp_path, defect):
    problems = check(browser, tmp_path, CLEAN + DEFECTS[defect])
    assert any(EXPECTED[defect] in p for p in problems), problems


def test_a_script_from_a_cdn_fails_the_page(browser, tmp_path):
    head = '<script src="https://cdn.jsdelivr.net/npm/@jupyter-widgets/html-manager/dist/embed-amd.js"></script>'
    problems = check(browser, tmp_path, CLEAN, head=head)
    assert any("scripts from another origin" in p for p in problems), problems


def test_display_maths_smaller_than_inline_maths_fails_unless_shrunk_to_fit(browser, tmp_path):
    inline = '<p>inline <mjx-container style="font-size: 127.3%">x</mjx-container></p>'
    small = '<mjx-container display="true" style="display:block">a formula at the page size</mjx-container>'
    problems = check(browser, tmp_path, CLEAN + inline + small)
    assert any("display maths smaller than inline maths" in p for p in problems), problems
    fitted = small.replace('display="true"', 'display="true" data-fit-scale="0.8"')
    assert check(browser, tmp_path, CLEAN + inline + fitted) == []


def test_an_equation_wider_than_a_phone_fails_only_at_phone_width(browser, tmp_path):
    wide = '<mjx-container display="true" style="display:block; overflow:hidden">' \
           '<span style="display:inline-block; width:500px">a long formula</span></mjx-container>'
    problems = check(browser, tmp_path, CLEAN + wide)
    assert any("at phone width: equation" in p for p in problems), problems
    assert not any("at laptop width" in p for p in problems), problems


def book_static(root, *names):
    """Copy the book's own CSS and scripts next to a test page; return the <head> lines for them."""
    tags = []
    for name in names:
        shutil.copy(ROOT / "book" / "_static" / name, root / name)
        tags.append(f"<link rel='stylesheet' href='{name}'>" if name.endswith(".css") else f"<script src='{name}'></script>")
    return "".join(tags)


WIDE_TABLE = "<div class='table-wrapper'><table><tr>" + "<td>a&nbsp;wide&nbsp;column</td>" * 12 + "</tr></table></div>"


def test_a_table_that_scrolls_without_a_cue_fails_and_the_books_cue_passes(browser, tmp_path):
    problems = check(browser, tmp_path, CLEAN + WIDE_TABLE.replace("<div class='table-wrapper'>",
                     "<div class='table-wrapper' style='overflow-x: auto'>"))
    assert any("scrolls sideways at phone width with nothing to show there is more" in p for p in problems), problems
    head = book_static(tmp_path, "book.css", "scroll-cue.js")
    assert check(browser, tmp_path, CLEAN + WIDE_TABLE, head=head) == []


def matplotlib_png(path, width, dpi=100):
    """A blank PNG that says it is a matplotlib figure of `width` pixels at `dpi`."""
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "Matplotlib version3.9.0, https://matplotlib.org/")
    Image.new("RGB", (width, width // 3), "white").save(path, pnginfo=info, dpi=(dpi, dpi))


def test_a_figure_shrunk_on_a_phone_fails_and_the_books_css_keeps_it_readable(browser, tmp_path):
    # 1000 px at 100 dpi: 10 pt labels are 13.9 px, 9.7 px in the 700 px laptop column and 4.9 px
    # in the 350 px phone column; book.css keeps it at 666 px (9.3 px) and lets it scroll.
    matplotlib_png(tmp_path / "wide.png", 1000)
    figure = "<div class='cell_output'><img src='wide.png' alt='a wide figure'></div>"
    problems = check(browser, tmp_path, CLEAN + figure, head="<style>div.cell_output img { max-width: 100%; }</style>")
    assert any("figure text shown 4.9 px" in p and "at phone width" in p for p in problems), problems
    assert not any("figure text" in p and "at laptop width" in p for p in problems), problems
    head = book_static(tmp_path, "book.css", "scroll-cue.js")
    assert check(browser, tmp_path, CLEAN + figure, head=head) == []


# --- Figures: a chapter page against its executed notebook ------------------------------------

def notebook(cells):
    """A minimal .ipynb: cells given as (source, outputs)."""
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": source, "outputs": outputs}
        for source, outputs in cells]})


def figure_output(mime="image/png"):
    return {"output_type": "display_data", "metadata": {},
            "data": {mime: "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"}}


def chapter(browser, tmp_path, source_cells, executed_cells, images):
    """A built chapter notebooks/ch.html showing `images` figures, with its source notebook in
    _sources/ and its executed copy where myst-nb leaves it (<build>/_build/jupyter_execute/)."""
    from PIL import Image

    html_root = tmp_path / "book" / "_build" / "html"
    (html_root / "_images").mkdir(parents=True)
    Image.new("RGB", (300, 200), "white").save(html_root / "_images" / "figure.png")  # fits a phone
    (html_root / "_sources" / "notebooks").mkdir(parents=True)
    (html_root / "_sources" / "notebooks" / "ch.ipynb").write_text(notebook(source_cells))
    executed = tmp_path / "book" / "_build" / "jupyter_execute" / "notebooks" / "ch.ipynb"
    executed.parent.mkdir(parents=True)
    executed.write_text(notebook(executed_cells))
    body = CLEAN + "<div class='cell_output'><img src='../_images/figure.png' alt='figure'></div>" * images
    return check(browser, tmp_path, body, relative="notebooks/ch.html", root=html_root)


PLOTTING = [("fig, ax = plt.subplots()\nax.plot([0, 1])\nplt.show()", [])]


def test_a_chapter_showing_every_figure_its_notebook_made_passes(browser, tmp_path):
    executed = [("plt.show()", [figure_output()]), ("show_images(x)", [figure_output("image/svg+xml")])]
    assert chapter(browser, tmp_path, PLOTTING, executed, images=2) == []


def test_a_chapter_showing_fewer_figures_than_its_notebook_made_fails(browser, tmp_path):
    executed = [("plt.show()", [figure_output()]), ("show_images(x)", [figure_output()])]
    problems = chapter(browser, tmp_path, PLOTTING, executed, images=1)
    assert any("shows 1 figure(s) but its executed notebook (ch.ipynb) made 2" in p for p in problems), problems


def test_a_chapter_whose_notebook_plots_but_shows_no_figure_fails(browser, tmp_path):
    # What MPLBACKEND=Agg in the build's environment gives: the plots ran and drew nothing.
    problems = chapter(browser, tmp_path, PLOTTING, [("plt.show()", [])], images=0)
    assert any("the notebook plots" in p and "shows no figure" in p for p in problems), problems


def test_figures_count_as_myst_nb_would_show_them():
    module = load_browser_check()
    hidden = {"output_type": "display_data", "metadata": {}, "data": {"text/html": "<b>t</b>", "image/png": "x"}}
    cells = [("a", [figure_output(), figure_output("image/svg+xml"), hidden]), ("b", [figure_output()])]
    path = Path(__import__("tempfile").mkdtemp()) / "nb.ipynb"
    path.write_text(notebook(cells))
    assert module.notebook_figures(path) == 3  # the HTML output is shown as HTML, not as a figure
    data = json.loads(path.read_text())
    data["cells"][1]["metadata"]["tags"] = ["remove-output"]
    path.write_text(json.dumps(data))
    assert module.notebook_figures(path) == 2


# --- The kernel_environment extension, on a tiny book built with MPLBACKEND=Agg -----------------------

FIGURE_NOTEBOOK = notebook([(
    "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(3, 2))\nax.plot([0, 1], [1, 0])\n"
    "ax.set_xlabel('x')\nplt.show()", [])])


def build_tiny_book(folder: Path, with_extension: bool) -> subprocess.Popen:
    """Start `jupyter-book build` on a one-notebook book (and a page with the notebook-run table,
    as on the Results page), with or without the book's extensions; the kernel has MPLBACKEND=Agg."""
    folder.mkdir(parents=True)
    extensions = "".join(f"    {name}: {ROOT / 'book' / '_ext'}\n"
                         for name in ("kernel_environment", "execution_status_words"))
    extension = f"sphinx:\n  local_extensions:\n{extensions}" if with_extension else ""
    (folder / "_config.yml").write_text(
        "title: figures\nexecute:\n  execute_notebooks: force\n  allow_errors: false\n" + extension)
    (folder / "_toc.yml").write_text("format: jb-book\nroot: figure\nchapters:\n- file: runs\n")
    (folder / "runs.md").write_text("# Runs\n\n```{nb-exec-table}\n```\n")  # as on the Results page
    data = json.loads(FIGURE_NOTEBOOK)
    data["metadata"] = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    (folder / "figure.ipynb").write_text(json.dumps(data))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.Popen([str(jupyter_book), "build", str(folder), "-q"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_kernel_environment_extension_draws_figures_under_mplbackend_agg(tmp_path):
    """With the extension the figure is in the page; without it (same Agg environment) it is not,
    so this test fails if the extension stops working. The same two builds try the notebook-run
    table's extension (words, not emoji)."""
    if not Path(sys.executable).with_name("jupyter-book").exists():
        pytest.skip("needs jupyter-book in the test environment (pip install -e '.[book]')")
    builds = {flag: build_tiny_book(tmp_path / ("with" if flag else "without"), flag) for flag in (True, False)}
    pages = {}
    for flag, process in builds.items():
        log, _ = process.communicate(timeout=300)
        assert process.returncode == 0, log
        pages[flag] = (tmp_path / ("with" if flag else "without") / "_build" / "html" / "figure.html").read_text()
    figure = re.compile(r"<img [^>]*src=\"_images/[^\"]+\.png\"")
    assert figure.search(pages[True]), "the extension did not bring the figure back under MPLBACKEND=Agg"
    assert not figure.search(pages[False]), "without the extension a figure appeared: the test cannot fail"

    # The notebook-run table: words with the book's extension, myst-nb's emoji without it.
    runs = {flag: (tmp_path / ("with" if flag else "without") / "_build" / "html" / "runs.html").read_text()
            for flag in (True, False)}
    assert "<p>ran</p>" in runs[True] and "\u2705" not in runs[True]
    assert "\u2705" in runs[False], "myst-nb no longer writes the emoji: the words test cannot fail"

    # The browser check's figure rules on these real builds: where jupyter-book leaves the executed
    # notebook (<build>/_build/jupyter_execute/), and the source it copies to _sources/.
    module = load_browser_check()
    for flag in (True, False):
        html_root = tmp_path / ("with" if flag else "without") / "_build" / "html"
        assert module.executed_notebook("figure.html", html_root).exists()
        assert module.notebook_figures(module.executed_notebook("figure.html", html_root)) == int(flag)
        problems = module.missing_figures("figure.html", html_root, len(figure.findall(pages[flag])))
        if flag:
            assert problems == [], problems
        else:
            assert any("the notebook plots" in p for p in problems), problems


# --- The index page lists the chapters the sidebar lists ------------------------------------------

def test_the_index_page_lists_every_chapter_of_the_toc_in_order():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    intro = (ROOT / "book" / "intro.md").read_text()
    listed = [f"notebooks/{name}" for name in re.findall(r"^\d+\. \{doc\}`\.\./notebooks/([\w-]+)`", intro, re.M)]
    assert listed == [c for c in chapters if c.startswith("notebooks/")] and listed, (listed, chapters)
    numbers = [int(n) for n in re.findall(r"^(\d+)\. \{doc\}`\.\./notebooks/", intro, re.M)]
    assert numbers == list(range(1, len(listed) + 1)), numbers


def test_bibliography_labels_decode_tex_names():
    """The reference list showed "[S{\\o}nderby et al., 2016]": the label style decodes TeX."""
    import importlib.util

    from pybtex.database import parse_file

    spec = importlib.util.spec_from_file_location("author_year_bibliography",
                                                  ROOT / "book" / "_ext" / "author_year_bibliography.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    entries = parse_file(str(ROOT / "book" / "references.bib")).entries
    labels = dict(zip(entries, module.AuthorYearLabels().format_labels(entries.values())))
    assert labels["sonderby2016ladder"] == "Sønderby et al., 2016"
    assert labels["kingma2014auto"] == "Kingma and Welling, 2014"
    assert not [label for label in labels.values() if "{" in label or "\\" in label], labels
