"""Open every page of a built book in headless Chromium and check what a reader would see.

For each HTML page: it loads; MathJax has typeset every formula (each Sphinx math element holds
an mjx-container, and no raw TeX delimiters are left in the text); every image served by the
book itself has loaded (external images, such as the Colab badge, are counted but need a
network); a full-page screenshot is kept.

    python tests/browser_check.py _build-smoke/_build/html --screenshots build-artifacts/screenshots

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import tempfile
import threading
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

SKIP_PAGES = {"genindex.html", "search.html"}
WIDTH = 1280

FIND_PROBLEMS = """
const done = arguments[arguments.length - 1];
const ready = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
ready.then(() => {
  const math = [...document.querySelectorAll('.math')];
  const untypeset = math.filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 60));
  const clone = document.querySelector('main, article, body').cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .math').forEach(el => el.remove());
  const text = clone.textContent;
  const rawTex = ['\\\\(', '\\\\[', '$$', '\\\\frac', '\\\\mathcal', '\\\\begin{'].filter(s => text.includes(s));
  const images = [...document.images].map(img => ({
    src: img.currentSrc || img.src, local: new URL(img.src, location.href).origin === location.origin,
    loaded: img.complete && img.naturalWidth > 0,
  }));
  done({mathCount: math.length, typeset: document.querySelectorAll('mjx-container').length,
        untypeset, rawTex, images, title: document.title,
        height: Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)});
}).catch(error => done({error: String(error)}));
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request."""

    def log_message(self, *args) -> None:
        pass


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
                 "--disable-dev-shm-usage", f"--window-size={WIDTH},1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


def screenshot(driver: webdriver.Chrome, height: int, path: Path) -> None:
    """Save a PNG of the whole page (up to 12,000 pixels high) by growing the window to fit it."""
    driver.set_window_size(WIDTH, min(height, 12_000) + 150)  # + the browser's own frame
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, 1000)


def check_page(driver, url: str) -> tuple[dict, list[str]]:
    """Load one page; return its facts and a list of problems (empty when it passes)."""
    driver.get(url)
    facts = driver.execute_async_script(FIND_PROBLEMS)
    if "error" in facts:
        return facts, [f"MathJax failed: {facts['error']}"]
    problems = []
    if facts["untypeset"]:
        problems.append(f"{len(facts['untypeset'])} formula(s) not typeset, e.g. {facts['untypeset'][0]!r}")
    if facts["rawTex"]:
        problems.append(f"raw TeX left in the text: {facts['rawTex']}")
    broken = [img["src"] for img in facts["images"] if img["local"] and not img["loaded"]]
    if broken:
        problems.append(f"{len(broken)} image(s) did not load, e.g. {broken[0]}")
    if "404" in facts["title"] or "not found" in facts["title"].lower():
        problems.append(f"page title {facts['title']!r}")
    return facts, problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path, help="the built HTML folder, e.g. _build/html")
    parser.add_argument("--screenshots", type=Path, default=Path("build-artifacts/screenshots"))
    args = parser.parse_args(argv)
    if not (args.html / "index.html").exists():
        parser.error(f"{args.html} has no index.html: build the book first (make book-smoke)")
    pages = sorted(p for p in args.html.rglob("*.html") if p.name not in SKIP_PAGES and "_static" not in p.parts)
    server, base = serve(args.html)
    failures = 0
    with tempfile.TemporaryDirectory() as profile:
        driver = start_browser(profile)
        try:
            for page in pages:
                relative = page.relative_to(args.html).as_posix()
                facts, problems = check_page(driver, f"{base}/{relative}")
                if "height" in facts:
                    screenshot(driver, facts["height"], args.screenshots / relative.replace("/", "__").replace(".html", ".png"))
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
    print(f"screenshots in {args.screenshots}")
    print(f"browser: {len(pages) - failures} passed, {failures} failed")
    return 1 if failures or not pages else 0


if __name__ == "__main__":
    sys.exit(main())
