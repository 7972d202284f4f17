"""The browser check itself: a page with the defects readers met must fail, a clean one must pass.

Runs headless Chromium (Debian's chromium and chromium-driver, installed by .ci/run).
"""

import shutil
from pathlib import Path

import pytest


pytestmark = pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>article {{ width: 700px; }} @media (max-width: 600px) {{ article {{ width: 350px; }} }}
div.cell_output pre {{ white-space: pre; margin: 0; }}</style>{head}</head>
<body><main><article>{body}</article></main></body></html>"""

CLEAN = "<h1>A page</h1><p>Some prose and <a href='#top' id='top'>a link to itself</a>.</p>" \
        "<div class='cell_output'><pre>short output</pre></div>"

DEFECTS = {
    "pipe table": "<p>| model | nats |\n|---|---|\n| vae | 86 |</p>",
    "raw TeX": r"<p>the variance floor \texttt{min_log_var}</p>",
    "alpha label": "<p>[BGS16] Yuri Burda, Roger Grosse and Ruslan Salakhutdinov.</p>",
    "wide output": "<div class='cell_output'><pre>" + "x" * 200 + "</pre></div>",
    "broken link": "<p><a href='missing.html#nowhere'>gone</a></p>",
    "widget": "<div class='jupyter-widgets widget-area'></div>",
}
EXPECTED = {
    "pipe table": "pipe table",
    "raw TeX": "raw TeX",
    "alpha label": "citation label [BGS16]",
    "wide output": "wider than the column",
    "broken link": "broken internal link missing.html#nowhere",
    "widget": "ipywidgets",
}


@pytest.fixture(scope="module")
def browser():
    import importlib.util

    spec = importlib.util.spec_from_file_location("browser_check", Path(__file__).parent / "browser_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import tempfile

    with tempfile.TemporaryDirectory() as profile:
        driver = module.start_browser(profile)
        try:
            yield module, driver
        finally:
            driver.quit()


def check(browser, tmp_path, body, head=""):
    module, driver = browser
    (tmp_path / "page.html").write_text(PAGE.format(title="test page", head=head, body=body))
    server, base = module.serve(tmp_path)
    try:
        parsed = module.parse_pages(tmp_path)
        _, problems = module.check_page(driver, base, "page.html", parsed, tmp_path, tmp_path / "shots")
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


def test_an_equation_wider_than_a_phone_fails_only_at_phone_width(browser, tmp_path):
    wide = '<mjx-container display="true" style="display:block; overflow:hidden">' \
           '<span style="display:inline-block; width:500px">a long formula</span></mjx-container>'
    problems = check(browser, tmp_path, CLEAN + wide)
    assert any("at phone width: equation" in p for p in problems), problems
    assert not any("at laptop width" in p for p in problems), problems
