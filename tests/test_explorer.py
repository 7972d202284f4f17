"""The in-page latent-space explorer of chapter 6: ONNX export, and the page in headless Chromium.

Unit tests check vaelib.export (the ONNX graph and the JSON beside it). The browser tests open
chapter 6 of the built smoke book (`make book-smoke`, as CI does before `make test`), or, when no
book is built, a bare page that holds the same two explorers and the files `make explorer` puts in
book/_static; they skip only when neither is there (or Chromium is missing). They check that the
explorers load within LOAD_BUDGET_S, that moving the pointer (mouse, touch, keyboard) and the
sliders redraw the image, that the decoder run by onnxruntime-web equals PyTorch's, that the
drawn canvas equals PyTorch's image to one grey level, that it fits a phone and a laptop column in
light and dark mode, and that a browser without WebAssembly gets a note, not a broken widget.
Screenshots go to build-artifacts/screenshots/explorer-*.png.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest
import torch

import vaelib
from vaelib.export import FACTOR_SHARE, ONNX_OPSET, explorer_metadata, export_decoder_onnx

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "book" / "_static"
MODELS = ("mnist-2d", "mnist", "shapes-beta4")
CHAPTER = "notebooks/06_generation.html"  # the page the browser tests open in a built book
COLOUR_CHAPTER = "notebooks/09_colour_shapes.html"  # where the colour model's sliders are
CHAPTER_MODELS = {CHAPTER: ("mnist-2d", "mnist"), COLOUR_CHAPTER: ("shapes-beta4",)}
BOOKS = (ROOT / "_build-smoke" / "_build" / "html", ROOT / "_build" / "html")
SHOTS = ROOT / "build-artifacts" / "screenshots"
LOAD_BUDGET_S = 10.0  # from scrolling to an explorer to its first decoded image, on 2 busy CPU cores
DECODE_ATOL = 1e-4  # onnxruntime-web (float32, wasm) against PyTorch (float32, CPU), pixel values in [0, 1]
# The continuous Bernoulli's mean, lambda / (2 lambda - 1) + 1 / (2 atanh(1 - 2 lambda)), is a difference
# of two terms near +-250 just outside the (0.499, 0.501) band where torch uses a Taylor series; float32
# kernels that round atanh differently leave up to a few 1e-3 there. That is under one grey level (1/255).
DECODE_ATOL_CONTINUOUS_BERNOULLI = 5e-3
CANVAS_ATOL = 1  # grey levels out of 255: the canvas holds round(255 * p)


# ---------------------------------------------------------------------------- export (no browser)


def graph_shapes(path: Path) -> tuple[list, list, int]:
    """The input and output shapes (names for dynamic sizes) and the opset of a checked ONNX file."""
    onnx = pytest.importorskip("onnx", reason="onnx is in the book extra: pip install -e '.[book]'")
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)

    def dims(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return dims(model.graph.input[0]), dims(model.graph.output[0]), opset


@pytest.mark.parametrize("kwargs", [
    dict(in_channels=1, image_size=28, latent_dim=3),
    dict(in_channels=3, image_size=(12, 10), latent_dim=4, hidden_dim=16, likelihood="continuous-bernoulli"),
    dict(in_channels=1, image_size=12, latent_dim=2, hidden_dim=0, likelihood="gaussian", gaussian_variance="decoder"),
], ids=["bernoulli", "continuous-bernoulli-rgb", "gaussian-decoder-variance"])
def test_export_decoder_onnx_writes_a_checked_graph_from_z_to_images(tmp_path, kwargs):
    torch.manual_seed(0)
    model = vaelib.ConvVAE(**kwargs).eval()
    path = export_decoder_onnx(model, tmp_path / "decoder.onnx")
    inputs, outputs, opset = graph_shapes(path)
    cfg = model.config
    assert opset == ONNX_OPSET
    assert len(inputs) == 2 and isinstance(inputs[0], str) and inputs[1] == cfg.latent_dim  # (N, D), N dynamic
    assert len(outputs) == 4 and isinstance(outputs[0], str)
    assert outputs[1:] == [cfg.in_channels, *cfg.image_size]  # the mean image only, never 2C channels
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob("*.data"))  # one self-contained file
    assert next(model.parameters()).device.type == "cpu" and not model.training  # the model is left as it was


def test_explorer_metadata_of_a_2d_and_a_larger_model():
    torch.manual_seed(0)
    images = (torch.rand(300, 1, 28, 28) < 0.2).to(torch.uint8) * 255
    labels = torch.arange(300) % 10
    classes = [str(k) for k in range(10)]
    meta_2d = explorer_metadata(vaelib.ConvVAE(1, 28, latent_dim=2).eval(), images, labels, classes, num_codes=200)
    assert (meta_2d["latent_dim"], meta_2d["height"], meta_2d["width"], meta_2d["channels"]) == (2, 28, 28, 1)
    assert len(meta_2d["codes"]) == len(meta_2d["labels"]) == 200 and meta_2d["labels"][:3] == [0, 1, 2]
    inside = sum(max(abs(x), abs(y)) <= meta_2d["extent"] for x, y in meta_2d["codes"])
    assert meta_2d["extent"] >= 3 and inside >= 0.99 * 200
    assert [b["label"] for b in meta_2d["bases"]] == list(range(10)) and meta_2d["start_label"] == 0
    model = vaelib.ConvVAE(1, 28, latent_dim=8).eval()
    meta = explorer_metadata(model, images, labels, classes, num_codes=300, num_dims=3)
    assert "codes" not in meta and len(meta["dims"]) == 3
    with torch.no_grad():
        mu, log_var = model.encode(vaelib.to_float(images))
    kl = vaelib.gaussian_kl_per_dim(mu, log_var).mean(0)
    assert [d["index"] for d in meta["dims"]] == kl.argsort(descending=True)[:3].tolist()
    assert all(d["range"][0] <= -3 and d["range"][1] >= 3 for d in meta["dims"])
    assert len(meta["bases"][0]["code"]) == 8
    json.dumps(meta)  # plain JSON


def test_explorer_metadata_names_each_slider_after_the_factor_it_holds_most_of():
    torch.manual_seed(0)
    n = 400
    factors = torch.stack([torch.randint(0, 3, (n,)).float(), torch.rand(n), torch.rand(n)], dim=1)
    model = vaelib.ConvVAE(1, 12, latent_dim=4, hidden_dim=16).eval()
    images = (torch.rand(n, 1, 12, 12) * 255).to(torch.uint8)
    labels = factors[:, 0].long()
    names = ["shape", "a", "b"]
    meta = explorer_metadata(model, images, labels, ["s0", "s1", "s2"], num_codes=n, num_dims=3,
                             factors=factors, factor_names=names)
    with torch.no_grad():
        mu, _ = model.encode(vaelib.to_float(images))
    mi = vaelib.mutual_information_matrix(mu, factors)
    entropy = mi.new_tensor([vaelib.mutual_information_matrix(f[:, None], f[:, None])[0, 0]
                             for f in factors.T])  # H(v) = I(v; v)
    for dim in meta["dims"]:
        share = mi[dim["index"]] / entropy
        k = int(share.argmax())
        assert dim["share"] == round(share[k].item(), 2)
        assert dim["factor"] == (names[k] if share[k] > FACTOR_SHARE else "mixed")
    # random weights hold little of any factor: the label says so
    assert all(d["factor"] == "mixed" for d in meta["dims"])
    plain = explorer_metadata(model, images, labels, ["s0", "s1", "s2"], num_codes=n, num_dims=3)
    assert all("factor" not in d for d in plain["dims"])  # no factors, no labels


def built_files_or_skip() -> Path:
    folder = STATIC / "explorer"
    missing = [f"{folder / m}.{ext}" for m in MODELS for ext in ("onnx", "json") if not (folder / f"{m}.{ext}").exists()]
    if missing:
        pytest.skip(f"the explorer files are not built ({missing[0]} is missing): run `make explorer`")
    return folder


@pytest.mark.parametrize("name", MODELS)
def test_built_explorer_files_match_the_pretrained_models(name):
    folder = built_files_or_skip()
    meta = json.loads((folder / f"{name}.json").read_text())
    model = vaelib.load_pretrained(name).model
    inputs, outputs, _ = graph_shapes(folder / meta["model"])
    assert inputs[1] == meta["latent_dim"] == model.config.latent_dim
    assert outputs[1:] == [meta["channels"], meta["height"], meta["width"]] == [model.config.in_channels, *model.config.image_size]
    assert (folder / meta["model"]).stat().st_size < 8_000_000  # a few MB: fine for a page
    if name == "mnist-2d":
        assert len(meta["codes"]) == len(meta["labels"]) >= 1000
    else:
        assert len(meta["dims"]) == 6


# ---------------------------------------------------------------------------- the page in Chromium
def page_folder_and_path(tmp_root: Path) -> tuple[Path, str, bool]:
    """The built chapter when there is one, else a bare page with the explorers over book/_static."""
    for html in BOOKS:
        chapter = html / CHAPTER
        if chapter.exists() and 'class="vae-explorer"' in chapter.read_text():
            if not all((html / "_static" / "explorer" / f"{m}.onnx").exists() for m in MODELS):
                pytest.fail(f"{chapter} has the explorer but {html}/_static lacks its files: rebuild the book")
            return html, CHAPTER, True
    built_files_or_skip()
    if not (STATIC / "ort" / "ort.wasm.min.js").exists():
        pytest.skip("onnxruntime-web is not in book/_static/ort: run `make explorer` (or build the book)")
    (tmp_root / "_static").mkdir(parents=True)
    for name in ("explorer.js", "explorer.css", "ort", "explorer"):
        (tmp_root / "_static" / name).symlink_to(STATIC / name)
    divs = "".join(f'<h2>{m}</h2><div class="vae-explorer" data-model="{m}"><p>fallback</p></div>' for m in MODELS)
    (tmp_root / "explorer.html").write_text(
        '<!DOCTYPE html><html data-theme="light"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="_static/explorer.css"><script src="_static/explorer.js"></script>'
        f'</head><body><main style="max-width:740px;margin:auto">{divs}</main></body></html>')
    return tmp_root, "explorer.html", False


@pytest.fixture(scope="module")
def browser():
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        pytest.skip("Chromium and ChromeDriver are needed (apt-get install chromium chromium-driver)")
    from browser_check import serve, start_browser  # tests/ is on pytest's path, as for conftest.py

    with tempfile.TemporaryDirectory() as tmp:
        folder, path, is_book = page_folder_and_path(Path(tmp) / "site")
        server, base = serve(folder)
        profile = Path(tmp) / "profile"
        driver = start_browser(str(profile))
        try:
            yield driver, f"{base}/{path}", is_book
        finally:
            driver.quit()
            server.shutdown()


def set_viewport(driver, width: int, height: int = 900) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


LOAD_ALL = """
const done = arguments[arguments.length - 1];
const start = performance.now();
(async () => {
  // explorer.js may register its explorers just after the load event (seen on a busy machine)
  while (!(window.vaeExplorer && window.vaeExplorer.explorers.length) && performance.now() - start < 10000) {
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  const explorers = window.vaeExplorer ? window.vaeExplorer.explorers : [];
  const results = [];
  for (const x of explorers) {
    x.element.scrollIntoView({block: 'center'});   // loading starts when an explorer comes near the screen
    const t = performance.now();
    try { await x.ready; results.push({model: x.model, ok: true, ms: performance.now() - t}); }
    catch (e) { results.push({model: x.model, ok: false, error: String(e)}); }
  }
  done({results, total: performance.now() - start});
})();
"""


def open_page(driver, url: str, width: int = 1280) -> dict:
    set_viewport(driver, width)
    driver.get(url)
    return driver.execute_async_script(LOAD_ALL)


@pytest.fixture(scope="module")
def page(browser):
    driver, url, is_book = browser
    facts = open_page(driver, url)
    return driver, url, is_book, facts


def canvas_pixels(driver, index: int, channels: int = 1) -> list[int]:
    """The drawn image's first `channels` colour planes (R; or R, G, B), one after the other, as the
    decoder's (C, H, W) output is laid out."""
    return driver.execute_script("""
        const c = window.vaeExplorer.explorers[arguments[0]].image;
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const n = d.length / 4;
        return Array.from({length: arguments[1] * n}, (_, i) => d[4 * (i % n) + Math.floor(i / n)]);""", index, channels)


def explorer_index(driver, model: str) -> int:
    models = driver.execute_script("return window.vaeExplorer.explorers.map(x => x.model)")
    return models.index(model)


def test_both_explorers_load_within_the_budget(page):
    driver, url, is_book, facts = page
    print(f"page: {url} ({'the built book' if is_book else 'a bare page over book/_static'})")
    for result in facts["results"]:
        print(f"  {result}")
    assert sorted(r["model"] for r in facts["results"]) == sorted(CHAPTER_MODELS[CHAPTER] if is_book else MODELS)
    assert all(r["ok"] for r in facts["results"]), facts["results"]
    assert max(r["ms"] for r in facts["results"]) < LOAD_BUDGET_S * 1000
    if is_book:  # the chapter's static figures are still there
        assert driver.execute_script("return document.querySelectorAll('.cell_output img').length") >= 5


@pytest.mark.parametrize("name", MODELS)
def test_decoder_in_the_page_equals_pytorch_and_the_canvas_shows_it(page, name):
    driver, url, is_book = page[0], page[1], page[2]
    chapter = next(c for c, models in CHAPTER_MODELS.items() if name in models)
    if is_book and chapter != CHAPTER:  # the colour model's sliders are on another page of the book
        facts = open_page(driver, url.replace(CHAPTER, chapter))
        assert [r["model"] for r in facts["results"]] == list(CHAPTER_MODELS[chapter]), facts
        assert all(r["ok"] for r in facts["results"]), facts
    try:
        check_decoder_and_canvas(driver, name)
    finally:
        if driver.current_url != url:
            open_page(driver, url)  # back to the page the other tests use


def check_decoder_and_canvas(driver, name: str) -> None:
    model = vaelib.load_pretrained(name).model
    generator = torch.Generator().manual_seed(0)
    codes = torch.cat([torch.zeros(1, model.config.latent_dim),
                       2 * torch.randn(3, model.config.latent_dim, generator=generator)])
    expected = model.decode_images(codes).reshape(len(codes), -1)  # (4, C * H * W) in [0, 1]
    channels = model.config.in_channels
    index = explorer_index(driver, name)
    worst_decode, worst_canvas = 0.0, 0
    for z, reference in zip(codes, expected):
        decoded = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.vaeExplorer.decode(arguments[0], arguments[1]).then(d => done(Array.from(d)), e => done(String(e)));",
            name, z.tolist())
        assert isinstance(decoded, list), decoded
        worst_decode = max(worst_decode, (torch.tensor(decoded) - reference).abs().max().item())
        driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "window.vaeExplorer.explorers[arguments[0]].setZ(arguments[1]).then(() => done(true), e => done(String(e)));",
            index, z.tolist())
        drawn = torch.tensor(canvas_pixels(driver, index, channels))
        worst_canvas = max(worst_canvas, (drawn - (255 * reference).round()).abs().max().item())
    print(f"{name}: max |onnxruntime-web - PyTorch| = {worst_decode:.2e}; canvas off by at most {worst_canvas} grey level(s)")
    assert worst_decode < (DECODE_ATOL_CONTINUOUS_BERNOULLI if model.config.likelihood == "continuous-bernoulli" else DECODE_ATOL)
    assert worst_canvas <= CANVAS_ATOL


def wait_for_change(driver, index: int, before: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = canvas_pixels(driver, index)
        if now != before:
            return now
        time.sleep(0.05)
    raise AssertionError("the canvas did not change")


def test_moving_the_pointer_over_the_pad_redraws_the_image(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = page[0]
    index = explorer_index(driver, "mnist-2d")
    pad = driver.execute_script("const x = window.vaeExplorer.explorers[arguments[0]]; "
                                "x.pad.scrollIntoView({block: 'center'}); return x.pad;", index)
    size = pad.size["width"]
    before = canvas_pixels(driver, index)
    caption_before = driver.execute_script("return window.vaeExplorer.explorers[arguments[0]].caption.textContent", index)
    ActionChains(driver).move_to_element_with_offset(pad, -size // 3, -size // 3).perform()  # hovering a mouse
    after_mouse = wait_for_change(driver, index, before)
    z = driver.execute_script("return window.vaeExplorer.explorers[arguments[0]].getZ()", index)
    assert z[0] < 0 < z[1]  # upper left: z1 negative, z2 positive
    caption = driver.execute_script("return window.vaeExplorer.explorers[arguments[0]].caption.textContent", index)
    assert caption != caption_before
    # a finger: touch events, as a phone sends them
    rect = driver.execute_script("return arguments[0].getBoundingClientRect().toJSON()", pad)
    x0, y0 = rect["left"] + 0.75 * rect["width"], rect["top"] + 0.75 * rect["height"]
    for kind, x in (("touchStart", x0), ("touchMove", x0 + 5), ("touchEnd", None)):
        points = [] if x is None else [{"x": x, "y": y0}]
        driver.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
    after_touch = wait_for_change(driver, index, after_mouse)
    z = driver.execute_script("return window.vaeExplorer.explorers[arguments[0]].getZ()", index)
    assert z[0] > 0 > z[1]  # lower right
    pad.send_keys(Keys.ARROW_LEFT * 5)  # the keyboard moves it too
    wait_for_change(driver, index, after_touch)


def test_sliders_redraw_the_image(page):
    from selenium.webdriver.common.keys import Keys

    driver = page[0]
    index = explorer_index(driver, "mnist")
    sliders = driver.execute_script("const x = window.vaeExplorer.explorers[arguments[0]]; "
                                    "x.element.scrollIntoView({block: 'center'}); return x.sliders.map(s => s.input);", index)
    assert len(sliders) == 6
    before = canvas_pixels(driver, index)
    z_before = driver.execute_script("return window.vaeExplorer.explorers[arguments[0]].getZ()", index)
    sliders[0].send_keys(Keys.ARROW_RIGHT * 20)
    wait_for_change(driver, index, before)
    z_after = driver.execute_script("return window.vaeExplorer.explorers[arguments[0]].getZ()", index)
    dim = json.loads((STATIC / "explorer" / "mnist.json").read_text())["dims"][0]["index"]
    changed = [i for i, (a, b) in enumerate(zip(z_before, z_after)) if abs(a - b) > 1e-9]
    assert changed == [dim]


FITS = """
const x = arguments[0], box = x.getBoundingClientRect();
const overflow = [...x.querySelectorAll('*')].filter(e => {
  const r = e.getBoundingClientRect(); return r.width && (r.right > box.right + 1 || r.left < box.left - 1);
}).map(e => e.className || e.tagName);
return {width: box.width, right: box.right, viewport: document.documentElement.clientWidth,
        scrollWidth: x.scrollWidth, clientWidth: x.clientWidth, overflow};
"""


@pytest.mark.parametrize("width", [1280, 390])
def test_explorers_fit_the_column_and_the_phone_in_light_and_dark_mode(page, width):
    driver, url = page[0], page[1]
    set_viewport(driver, width, 900)
    driver.execute_async_script(LOAD_ALL)
    for name in driver.execute_script("return window.vaeExplorer.explorers.map(x => x.model)"):
        index = explorer_index(driver, name)
        element = driver.execute_script("const x = window.vaeExplorer.explorers[arguments[0]]; "
                                        "x.element.scrollIntoView({block: 'center'}); return x.element;", index)
        facts = driver.execute_script(FITS, element)
        assert facts["overflow"] == [] and facts["scrollWidth"] <= facts["clientWidth"] + 1, facts
        assert facts["right"] <= facts["viewport"], facts
        assert facts["width"] <= (760 if width > 1000 else width), facts
        for mode in ("light", "dark"):
            driver.execute_script("document.documentElement.dataset.theme = arguments[0];"
                                  "document.documentElement.dataset.mode = arguments[0];", mode)
            time.sleep(0.2)  # the pad redraws on the theme change
            if name == "mnist-2d":  # the pad's background follows the theme
                corner = driver.execute_script(
                    "const c = window.vaeExplorer.explorers[arguments[0]].pad;"
                    "return Array.from(c.getContext('2d').getImageData(2, 2, 1, 1).data).slice(0, 3);", index)
                assert (sum(corner) > 600) if mode == "light" else (sum(corner) < 150), (mode, corner)
            SHOTS.mkdir(parents=True, exist_ok=True)
            element.screenshot(str(SHOTS / f"explorer-{name}-{width}px-{mode}.png"))
    driver.execute_script("document.documentElement.dataset.theme = 'light'; document.documentElement.dataset.mode = 'light';")
    set_viewport(driver, 1280, 900)


def test_without_webassembly_the_page_says_so_and_keeps_its_figures(page):
    driver, url, is_book = page[0], page[1], page[2]
    script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.WebAssembly;"})
    try:
        facts = open_page(driver, url)
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
    assert facts["results"] and not any(r["ok"] for r in facts["results"]), facts
    notes = driver.execute_script(
        "return [...document.querySelectorAll('.vae-explorer')].map(e => "
        "[e.classList.contains('vae-explorer--failed'), e.querySelectorAll('canvas').length, e.textContent])")
    for failed, canvases, text in notes:
        assert failed and canvases == 0 and "WebAssembly" in text and "figures on this page" in text
    if is_book:
        assert driver.execute_script("return document.querySelectorAll('.cell_output img').length") >= 5
    open_page(driver, url)  # leave the page working for any later test
