"""Open every page of a built book in headless Chromium and check what a reader would see.

Each page is loaded at a laptop width (1280 px) and a phone width (390 px). It fails when:

- MathJax has not typeset a formula, or raw TeX / Markdown is left in the text (``\\frac``,
  ``\\texttt``, an accent such as ``S{\\o}nderby``, ``**bold**``, ``[link](url)``, a pipe table
  such as ``| a | b |`` over ``|---|``);
- a display equation, a cell's output or a figure is wider than its column
  (``scrollWidth > clientWidth``), a table or a figure reaches past the column (code cells,
  tables and, on a phone, figures may scroll sideways inside their own box), or the page itself
  scrolls sideways;
- a table or a figure scrolls sideways with no cue that there is more (``scroll-cue.js`` fades
  the edge with more to see);
- an image served by the book did not load, or is shown smaller than ``MIN_IMAGE_PX`` wide, or
  a matplotlib figure is scaled down until its 10 pt labels are under ``MIN_TEXT_PX`` high (at
  either width);
- an ipywidgets placeholder, widget state or a script from another origin (a CDN) is on the page;
- an internal link points at a missing page or anchor;
- a page whose source is not a notebook has a launch (Colab) button;
- a chapter shows fewer figures (``<img>`` in its outputs) than its executed notebook made
  (image/png or image/svg+xml outputs in ``<build>/_build/jupyter_execute/``), or its notebook calls
  a plotting function (``show_images``, ``plt.``, ``.plot(``, ...) and the page shows no figure at
  all (the kernel ran with ``MPLBACKEND=Agg``, say);
- a printed fixed-width table wraps (several lines of aligned columns take more rendered lines
  than they have), a code cell's line is longer than its box at the laptop width (it is clipped:
  ``scrollWidth > clientWidth``), or an nbval marker (``NBVAL_...``) is visible anywhere.

A full-page screenshot is kept for every page, at both widths, in light and dark mode.

    python tests/browser_check.py _build-smoke/_build/html --screenshots build-artifacts/screenshots

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver).
"""

from __future__ import annotations

import argparse
import functools
import html.parser
import http.server
import json
import posixpath
import re
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

SKIP_PAGES = {"genindex.html", "search.html"}
WIDTHS = {"laptop": 1280, "phone": 390}
MIN_IMAGE_PX = 120  # narrower than this, a figure's labels cannot be read
MIN_TEXT_PX = 9  # matplotlib's 10 pt labels, once the figure is scaled to the column, at least this high
MAX_SCREENSHOT_PX = 12_000
# A notebook that calls one of these draws a figure (vaelib's helpers and matplotlib's).
PLOT_CALL = re.compile(r"\b(show_images|plot_history|plot_latent_scatter|imshow)\s*\(|\bplt\.|\.plot\(")
FIGURE_MIMES = {"image/png", "image/svg+xml"}
# The order in which myst-nb picks one MIME type of an output for HTML (its default priority):
# an output with text/html and image/png shows the HTML, not a figure.
HTML_MIME_PRIORITY = ["application/vnd.jupyter.widget-view+json", "application/javascript", "text/html",
                      "image/svg+xml", "image/png", "image/gif", "image/jpeg", "text/markdown", "text/latex",
                      "text/plain"]

# Runs in the page once MathJax has finished; returns what a reader would see as a dict.
FIND_PROBLEMS = r"""
const done = arguments[arguments.length - 1];
const ready = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
ready.then(() => {
  const article = document.querySelector('article') || document.querySelector('main') || document.body;
  const short = el => (el.textContent || el.getAttribute('src') || el.tagName).trim().replace(/\s+/g, ' ').slice(0, 70);
  const math = [...document.querySelectorAll('.math')];
  const untypeset = math.filter(el => !el.querySelector('mjx-container')).map(short);

  // Visible prose only: code, outputs of code, scripts and typeset maths are left out.
  const clone = article.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .math, .cell_input').forEach(el => el.remove());
  const text = clone.textContent;
  const rawTex = ['\\(', '\\[', '$$', '\\begin{'].filter(s => text.includes(s))
    .concat((text.match(/\\[A-Za-z]{2,}\{?/g) || []).slice(0, 3))
    .concat((text.match(/\{\\[^{}\s]{1,3}\}/g) || []).slice(0, 3));  // an accent left as TeX: S{\o}nderby
  const rawMarkdown = [];
  if (/(^|\n)\s*\|[\s:|-]*---[\s:|-]*\|?\s*(\n|$)/.test(text)) rawMarkdown.push('pipe table');
  if (/\*\*[^*\s][^*]*\*\*/.test(text)) rawMarkdown.push('**bold**');
  if (/\]\((https?:|\.{0,2}\/|#)[^)]*\)/.test(text)) rawMarkdown.push('[text](link)');
  if (text.includes('```')) rawMarkdown.push('``` fence');
  // The text cites "Burda et al., 2016"; the reference list must not label it "[BGS16]".
  const alphaLabel = text.match(/\[[A-Z][A-Za-z]{0,3}\+?\d{2}[a-z]?\]/);
  if (alphaLabel) rawMarkdown.push(`citation label ${alphaLabel[0]} unlike the author-year citations`);

  // Wider than the column: display maths, outputs, tables, figures. Code cells may scroll.
  const overflowing = [];
  const column = article.getBoundingClientRect();
  const wider = (el, room) => el.scrollWidth > room + 1;
  article.querySelectorAll('mjx-container[display="true"]').forEach(el => {
    if (wider(el, el.clientWidth)) overflowing.push(`equation ${el.scrollWidth}>${el.clientWidth}px: ${short(el)}`);
  });
  article.querySelectorAll('.cell_output > *, .cell_output pre').forEach(el => {
    if (wider(el, el.clientWidth)) overflowing.push(`output ${el.scrollWidth}>${el.clientWidth}px: ${short(el)}`);
  });
  // A table may scroll sideways inside a box of its own (as code does), never past the column.
  const scrollBox = el => {
    for (let box = el; box && box !== article; box = box.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) return box;
    }
    return null;
  };
  article.querySelectorAll('table').forEach(el => {
    const box = scrollBox(el);
    const room = box ? box.getBoundingClientRect().right : column.right;
    if (box ? room > column.right + 1 : el.getBoundingClientRect().right > column.right + 1) {
      overflowing.push(`table ${el.scrollWidth}px wide, beyond the column: ${short(el)}`);
    }
  });
  // A figure, too, may scroll inside a box of its own (on a phone), never past the column.
  article.querySelectorAll('img, canvas, svg:not(mjx-container svg)').forEach(el => {
    const box = el.getBoundingClientRect();
    const scroller = scrollBox(el);
    const right = scroller ? scroller.getBoundingClientRect().right : box.right;
    if (box.width > 0 && right > column.right + 1) overflowing.push(`figure ends at ${Math.round(right)}px beyond the column (${Math.round(column.right)}px): ${short(el)}`);
  });
  // A table or a figure that scrolls sideways must show that there is more (scroll-cue.js):
  // a reader on a phone otherwise takes the cut-off part for all of it.
  const uncued = [];
  article.querySelectorAll('.table-wrapper, .cell_output').forEach(el => {
    if (!['auto', 'scroll'].includes(getComputedStyle(el).overflowX)) return;
    if (el.scrollWidth > el.clientWidth + 1 && !el.classList.contains('book-more-right')) {
      uncued.push(`${el.scrollWidth}>${el.clientWidth}px: ${short(el)}`);
    }
  });
  const pageScroll = document.documentElement.scrollWidth > window.innerWidth + 1;
  // Display maths as large as inline maths, unless shrunk to fit the column (fit-equations.js).
  const size = el => parseFloat(getComputedStyle(el).fontSize);
  // The inline maths of running text (not of headings, which are larger): its median size.
  const inlineSizes = [...article.querySelectorAll('p mjx-container:not([display="true"]), '
                                                  + 'li mjx-container:not([display="true"])')]
    .map(size).sort((a, b) => a - b);
  const inlineSize = inlineSizes.length ? inlineSizes[Math.floor(inlineSizes.length / 2)] : 0;
  const smallEquations = [...article.querySelectorAll('mjx-container[display="true"]')]
    .filter(el => !el.dataset.fitScale && inlineSize > 0 && size(el) < 0.95 * inlineSize)
    .map(el => `${size(el).toFixed(1)}px against ${inlineSize.toFixed(1)}px inline: ${short(el)}`);

  const images = [...document.images].map(img => ({
    src: img.currentSrc || img.src, local: new URL(img.src, location.href).origin === location.origin,
    loaded: img.complete && img.naturalWidth > 0, inArticle: article.contains(img),
    shown: Math.round(img.getBoundingClientRect().width),
  }));
  const widgets = document.querySelectorAll(
    '.jupyter-widgets, .widget-area, script[type^="application/vnd.jupyter.widget"]').length;
  const foreignScripts = [...document.querySelectorAll('script[src]')]
    .map(s => s.src).filter(src => new URL(src, location.href).origin !== location.origin);
  const launchButtons = document.querySelectorAll('.dropdown-launch-buttons, a[href*="colab.research.google.com"]').length;
  const figures = article.querySelectorAll('.cell_output img').length;

  // A printed fixed-width table (several lines of columns aligned with runs of spaces) that wraps:
  // its box holds more rendered lines than the text has lines.
  const contentHeight = el => {
    const s = getComputedStyle(el);
    return el.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom);
  };
  const wrappedTables = [];
  article.querySelectorAll('.cell_output pre').forEach(pre => {
    const lines = pre.textContent.replace(/\n+$/, '').split('\n');
    if (lines.filter(line => /\S {2,}\S/.test(line.trim())).length < 3) return;
    const probe = pre.cloneNode(false);
    probe.textContent = 'x';
    pre.parentNode.insertBefore(probe, pre);
    const lineHeight = contentHeight(probe);
    probe.remove();
    const shown = lineHeight > 0 ? contentHeight(pre) / lineHeight : 0;
    if (shown > lines.length + 0.5) wrappedTables.push(`${lines.length} lines shown as ${Math.round(shown)}: ${short(pre)}`);
  });
  // A code cell's line longer than its box: the reader sees it cut off (or must scroll). Collapsed
  // cells (hide-input) are opened for the measurement, as a reader opens them, then closed again.
  const closed = [...article.querySelectorAll('details:not([open])')];
  closed.forEach(el => { el.open = true; });
  const clippedCode = [];
  article.querySelectorAll('.cell_input pre').forEach(pre => {
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const longest = pre.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
      clippedCode.push(`${pre.scrollWidth}>${pre.clientWidth}px, ${longest.length} characters: ${longest.trim().slice(0, 60)}`);
    }
  });
  closed.forEach(el => { el.open = false; });
  // nbval's markers belong in cell tags, never on the page (collapsed cells included).
  const bodyText = document.body.cloneNode(true);
  bodyText.querySelectorAll('script, style').forEach(el => el.remove());
  const nbvalMarkers = [...new Set(bodyText.textContent.match(/NBVAL_[A-Z_]*/g) || [])];
  // Emoji (characters drawn in colour by default) need an emoji font: without one, an empty box.
  const emoji = [...new Set(article.textContent.match(/\p{Emoji_Presentation}/gu) || [])];
  done({mathCount: math.length, typeset: document.querySelectorAll('mjx-container').length,
        untypeset, rawTex, rawMarkdown, overflowing, pageScroll, images, widgets, foreignScripts, launchButtons,
        figures, wrappedTables, clippedCode, nbvalMarkers, smallEquations, uncued, emoji,
        title: document.title, height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)});
}).catch(error => done({error: String(error)}));
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request."""

    def log_message(self, *args) -> None:
        pass


def first_few(items: list, limit: int, message: str, rest: str) -> list[str]:
    """One problem per item (message.format(item)) up to limit, then one line for the rest."""
    problems = [message.format(item) for item in items[:limit]]
    if len(items) > limit:
        problems.append(f"... and {len(items) - limit} {rest}")
    return problems


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve `folder` on a free port of 127.0.0.1 in a background thread."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def start_browser(profile: str) -> webdriver.Chrome:
    """Headless Chromium with the flags this machine's closed network needs."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def set_viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    """Make the page's viewport exactly width x height CSS pixels, as a phone or laptop shows it."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def screenshots(driver: webdriver.Chrome, width: int, height: int, stem: Path) -> None:
    """Save full-page PNGs (up to MAX_SCREENSHOT_PX high) in light and in dark mode."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    set_viewport(driver, width, min(height, MAX_SCREENSHOT_PX))
    for mode in ("light", "dark"):
        driver.execute_script("document.documentElement.dataset.theme = arguments[0]; "
                              "document.documentElement.dataset.mode = arguments[0];", mode)
        driver.save_screenshot(f"{stem}-{mode}.png")
    driver.execute_script("document.documentElement.dataset.theme = 'light';")


def figure_text_px(path: Path, shown_width: int) -> float | None:
    """How many pixels high matplotlib's 10 pt text is on screen, for a figure shown shown_width
    pixels wide (None for images that matplotlib did not make)."""
    from PIL import Image

    with Image.open(path) as image:
        if "Matplotlib" not in image.info.get("Software", "") or "dpi" not in image.info:
            return None
        return 10 / 72 * image.info["dpi"][0] * shown_width / image.width


def small_figure_text(facts: dict, root: Path) -> list[str]:
    """Figures scaled down so far that their labels are unreadable (checked at both widths: on a
    phone, book.css keeps a figure at its laptop size and lets it scroll)."""
    problems = []
    for img in facts["images"]:
        if not (img["local"] and img["inArticle"] and img["loaded"] and img["src"].endswith(".png")):
            continue
        path = root / unquote(urlsplit(img["src"]).path).lstrip("/")
        text_px = figure_text_px(path, img["shown"]) if path.exists() else None
        if text_px is not None and text_px < MIN_TEXT_PX:
            problems.append(f"figure text shown {text_px:.1f} px high (< {MIN_TEXT_PX}): {path.name[:16]}... "
                            "make the figure narrower or its fonts larger")
    return problems


def check_view(facts: dict, width_name: str) -> list[str]:
    """Problems a reader sees at one window width."""
    problems = []
    if facts["untypeset"]:
        problems.append(f"{len(facts['untypeset'])} formula(s) not typeset, e.g. {facts['untypeset'][0]!r}")
    if facts["rawTex"]:
        problems.append(f"raw TeX left in the text: {facts['rawTex']}")
    if facts["rawMarkdown"]:
        problems.append(f"raw Markdown left in the text: {facts['rawMarkdown']}")
    problems += first_few(facts["overflowing"], 5, f"wider than the column at {width_name} width: {{}}",
                          f"more too wide at {width_name} width")
    if facts["pageScroll"]:
        problems.append(f"the page scrolls sideways at {width_name} width")
    problems += first_few(facts["smallEquations"], 3,
                          f"display maths smaller than inline maths at {width_name} width: {{}}",
                          "more small display equations")
    broken = [img["src"] for img in facts["images"] if img["local"] and not img["loaded"]]
    if broken:
        problems.append(f"{len(broken)} image(s) did not load, e.g. {broken[0]}")
    if width_name == "laptop":
        small = [img for img in facts["images"] if img["local"] and img["inArticle"] and 0 < img["shown"] < MIN_IMAGE_PX]
        if small:
            problems.append(f"{len(small)} figure(s) shown narrower than {MIN_IMAGE_PX} px, e.g. {small[0]['src']}")
    if facts["widgets"]:
        problems.append(f"{facts['widgets']} ipywidgets element(s): they render as nothing without a kernel")
    if facts["foreignScripts"]:
        problems.append(f"scripts from another origin (the book must work offline): {facts['foreignScripts'][:2]}")
    if "404" in facts["title"] or "not found" in facts["title"].lower():
        problems.append(f"page title {facts['title']!r}")
    for item in facts["wrappedTables"][:3]:
        problems.append(f"a printed table wraps at {width_name} width (make it an HTML table, "
                        f"vaelib.show_table): {item}")
    if width_name == "laptop":
        problems += first_few(facts["clippedCode"], 3, "a code line is longer than its box at laptop width "
                              "(clipped): {}", "more code cells with clipped lines")
    if facts["nbvalMarkers"]:
        problems.append(f"nbval marker(s) visible on the page: {facts['nbvalMarkers']} (use cell tags)")
    if facts["emoji"]:
        problems.append(f"emoji on the page {facts['emoji']}: an empty box where no emoji font is "
                        "installed; write a word")
    problems += first_few(facts["uncued"], 3, f"scrolls sideways at {width_name} width with nothing to show "
                          "there is more (book/_static/scroll-cue.js): {}", "more boxes scroll without a cue")
    return problems


def source_file(relative: str, root: Path) -> Path | None:
    """The page's source as Sphinx copied it to _sources/ (a notebook or a MyST Markdown file)."""
    for suffix in (".ipynb", ".md"):
        for path in ((root / "_sources" / relative).with_suffix(suffix),
                     (root / "_sources" / relative).with_suffix(suffix + ".txt")):
            if path.exists():
                return path
    return None


def source_code(path: Path) -> str:
    """The code cells of a notebook, or of a MyST Markdown notebook ({code-cell} blocks)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if ".ipynb" in path.name:
        cells = json.loads(text).get("cells", [])
        return "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                         for c in cells if c.get("cell_type") == "code")
    blocks = re.findall(r"^(`{3,}|~{3,})\s*\{code-cell\}[^\n]*\n(.*?)^\1", text, re.M | re.S)
    return "\n".join(code for _, code in blocks)


def executed_notebook(relative: str, root: Path) -> Path:
    """Where myst-nb left the executed copy of a page's notebook: <outdir>/../jupyter_execute/."""
    return (root.parent / "jupyter_execute" / relative).with_suffix(".ipynb")


def notebook_figures(path: Path) -> int:
    """How many figures an executed notebook's outputs hold, as the HTML page would show them
    (image/png or image/svg+xml chosen by myst-nb's priority; cells tagged remove-output left out)."""
    count = 0
    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell.get("cell_type") != "code" or tags & {"remove-output", "remove-cell"}:
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            shown = next((m for m in HTML_MIME_PRIORITY if m in output.get("data", {})), None)
            count += shown in FIGURE_MIMES
    return count


def missing_figures(relative: str, root: Path, shown: int) -> list[str]:
    """A chapter that shows fewer figures than its notebook made, or none while it plots."""
    problems = []
    executed = executed_notebook(relative, root)
    if executed.exists():
        made = notebook_figures(executed)
        if shown < made:
            problems.append(f"the page shows {shown} figure(s) but its executed notebook "
                            f"({executed.name}) made {made}")
    source = source_file(relative, root)
    if source is not None and shown == 0:
        call = PLOT_CALL.search(source_code(source))
        if call:
            problems.append(f"the notebook plots ({call.group(0)!r}...) but the page shows no figure "
                            "(did the kernel run with MPLBACKEND=Agg?)")
    return problems


class _Anchors(html.parser.HTMLParser):
    """Collects the ids and the link targets of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def parse_pages(root: Path) -> dict[str, _Anchors]:
    parsed = {}
    for page in root.rglob("*.html"):
        parser = _Anchors()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        parsed[page.relative_to(root).as_posix()] = parser
    return parsed


def broken_links(relative: str, parsed: dict[str, _Anchors], root: Path) -> list[str]:
    """Internal links of one page whose file or #anchor does not exist."""
    broken = []
    for href in parsed[relative].links:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
            continue
        target = relative if not parts.path else posixpath.normpath(posixpath.join(posixpath.dirname(relative), unquote(parts.path)))
        if target.endswith("/"):
            target += "index.html"
        if not (root / target).exists():
            broken.append(href)
        elif parts.fragment and target in parsed and unquote(parts.fragment) not in parsed[target].ids:
            broken.append(href)
    return sorted(set(broken))


def is_notebook_page(relative: str, root: Path) -> bool:
    """Whether a page was made from a .ipynb file (Sphinx copies the source to _sources/)."""
    return (root / "_sources" / relative).with_suffix(".ipynb").exists()


def redirect_target(path: Path) -> str | None:
    """Where a page that is only a <meta http-equiv="Refresh"> (Jupyter Book's index.html) sends the
    reader, or None for a real page."""
    head = path.read_text(encoding="utf-8", errors="replace")[:400]
    found = re.fullmatch(r'\s*<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"\s*/?>\s*', head, re.I)
    return found.group(1) if found else None


def page_facts(driver, url: str) -> dict:
    """Load a page and read what a reader sees. A load that looks cut short (MathJax failed, formulas
    or local images unfinished), as a busy machine's Chromium now and then gives, is tried once more;
    a real defect fails both times and is reported."""
    for _ in range(2):
        driver.get(url)
        facts = driver.execute_async_script(FIND_PROBLEMS)
        unfinished = "error" in facts or facts["untypeset"] or any(
            img["local"] and not img["loaded"] for img in facts["images"])
        if not unfinished:
            break
    return facts


def check_page(driver, base: str, relative: str, parsed, root: Path, shots: Path) -> tuple[dict, list[str]]:
    """Load one page at every width; return the laptop view's facts and all problems."""
    target = redirect_target(root / relative)
    if target is not None:  # nothing to see: the target must exist, and is checked as a page itself
        path = posixpath.normpath(posixpath.join(posixpath.dirname(relative), urlsplit(target).path))
        return {}, [] if (root / path).exists() else [f"redirects to a missing page {target}"]
    problems = [f"broken internal link {href}" for href in broken_links(relative, parsed, root)]
    laptop_facts = {}
    for width_name, width in WIDTHS.items():
        set_viewport(driver, width, 900)
        facts = page_facts(driver, f"{base}/{relative}")
        if "error" in facts:
            return facts, problems + [f"MathJax failed: {facts['error']}"]
        problems += [p for p in check_view(facts, width_name) if p not in problems]
        problems += [f"{p} at {width_name} width" for p in small_figure_text(facts, root)]
        if width_name == "laptop":
            laptop_facts = facts
            problems += missing_figures(relative, root, facts["figures"])
            if facts["launchButtons"] and not is_notebook_page(relative, root):
                problems.append("a launch (Colab) button on a page that is not a notebook")
        stem = shots / width_name / relative.replace("/", "__").removesuffix(".html")
        screenshots(driver, width, facts["height"], stem)
    return laptop_facts, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path, help="the built HTML folder, e.g. _build/html")
    parser.add_argument("--screenshots", type=Path, default=Path("build-artifacts/screenshots"))
    parser.add_argument("--pages", nargs="*", help="check only these pages (paths relative to the HTML folder)")
    args = parser.parse_args(argv)
    if not (args.html / "index.html").exists():
        parser.error(f"{args.html} has no index.html: build the book first (make book-smoke)")
    pages = sorted(p.relative_to(args.html).as_posix() for p in args.html.rglob("*.html")
                   if p.name not in SKIP_PAGES and "_static" not in p.parts)
    if args.pages:
        pages = [p for p in pages if p in args.pages]
    parsed = parse_pages(args.html)
    server, base = serve(args.html)
    failures = 0
    with tempfile.TemporaryDirectory() as profile:
        driver = start_browser(profile)
        try:
            for relative in pages:
                facts, problems = check_page(driver, base, relative, parsed, args.html, args.screenshots)
                local = [i for i in facts.get("images", []) if i["local"]]
                external = len(facts.get("images", [])) - len(local)
                status = "ok  " if not problems else "FAIL"
                print(f"{status} {relative:<40} {facts.get('typeset', 0):>4} formulas typeset, "
                      f"{len(local):>3} images loaded, {external} external skipped")
                for problem in problems:
                    print(f"     - {problem}")
                failures += bool(problems)
        finally:
            driver.quit()
            server.shutdown()
    print(f"screenshots (light and dark, {' and '.join(f'{w} px' for w in WIDTHS.values())}) in {args.screenshots}")
    print(f"browser: {len(pages) - failures} passed, {failures} failed")
    return 1 if failures or not pages else 0


if __name__ == "__main__":
    sys.exit(main())
