"""The notebooks as files: storage policy, structure, and agreement with _config.yml.

(Executing them is nbval's job: `pytest --nbval-lax notebooks` in the README's test command.)
"""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

import vaelib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPOSITORY = CONFIG["repository"]["url"].removesuffix("/")
BRANCH = CONFIG["repository"]["branch"]


CHECK_TAG = "nbval-check-output"  # nbval compares these cells' outputs (see update_notebook_references.py)
MAX_CODE_LINE = 88  # characters: longer lines are clipped in the book's code column at 1280 px
HIDDEN_TAGS = {"hide-input", "hide-cell", "hide-output"}


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_the_numbered_notebooks_run_from_01_without_gaps_all_in_the_toc():
    assert [p.name[:3] for p in NOTEBOOKS] == [f"{i:02d}_" for i in range(1, len(NOTEBOOKS) + 1)]
    assert len(NOTEBOOKS) >= 10
    toc = (ROOT / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_except_nbval_references(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in code_cells(notebook):
        assert "NBVAL_" not in cell.source, f"{path.name}: use the cell tag {CHECK_TAG!r}, not a comment"
        checked = CHECK_TAG in cell.metadata.get("tags", [])
        if checked:  # nbval compares these: they carry a reference output (text only) and a count
            assert cell.outputs, f"{path.name}: a {CHECK_TAG} cell lacks its reference output"
            assert all(o.output_type == "stream" for o in cell.outputs)
            assert cell.execution_count is not None, f"{path.name}: nbval skips a reference cell with no count"
        else:
            assert not cell.outputs, f"{path.name}: outputs are stored; run tests/update_notebook_references.py"
            assert cell.execution_count is None, f"{path.name}: execution counts are stored"
    assert "widgets" not in notebook.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_badge_points_at_the_configured_repository(path):
    notebook = nbformat.read(path, as_version=4)
    github = REPOSITORY.removeprefix("https://github.com/")
    expected = f"https://colab.research.google.com/github/{github}/blob/{BRANCH}/notebooks/{path.name}"
    links = re.findall(r"\(https://colab\.research\.google\.com/github/[^)]+\)", "".join(c.source for c in notebook.cells))
    assert links == [f"({expected})"], f"{path.name}: badge must link to {expected}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_title_badge_goals_and_setup_and_ends_with_summary_and_exercises(path):
    notebook = nbformat.read(path, as_version=4)
    first = notebook.cells[0].source
    assert first.startswith("# ") and "What you will learn" in first and "Prerequisites" in first
    setup = code_cells(notebook)[0].source
    pinned = f'"vaelib @ git+{REPOSITORY}@v{vaelib.__version__}"'
    assert pinned in setup, f"the set-up cell must install the book's own version of vaelib: {pinned}"
    assert 'find_spec("vaelib") is None' in setup, "install only when vaelib is missing"
    install_command = re.search(r"subprocess\.run\(\[(.*?)\]", setup).group(1)
    assert "torch" not in install_command, "the set-up cell must never install torch"
    assert "vaelib.seed_everything(" in setup and "vaelib.get_device()" in setup
    text = "".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "## Summary" in text and "## Exercises" in text and "<details>" in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_never_edit_sys_path(path):
    source = "".join(c.source for c in code_cells(nbformat.read(path, as_version=4)))
    assert "sys.path" not in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_use_only_names_that_vaelib_exports(path):
    """Chapters teach the public API: every vaelib.NAME they use is in vaelib.__all__."""
    import vaelib

    source = "".join(c.source for c in code_cells(nbformat.read(path, as_version=4)))
    used = set(re.findall(r"\bvaelib\.([A-Za-z_][A-Za-z0-9_]*)", source))
    assert used <= set(vaelib.__all__), f"{path.name} uses {sorted(used - set(vaelib.__all__))}, not exported by vaelib"
    assert "from vaelib." not in source and "import vaelib." not in source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_lines_fit_the_page(path):
    long = [(i, line) for i, cell in enumerate(code_cells(nbformat.read(path, as_version=4)))
            for line in cell.source.splitlines() if len(line) > MAX_CODE_LINE]
    assert not long, f"{path.name}: {len(long)} code lines over {MAX_CODE_LINE} characters, e.g. {long[0]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_hidden_cell_says_what_it_holds(path):
    """A collapsed check shows one line saying what it proves (myst-nb's code_prompt_show)."""
    for cell in code_cells(nbformat.read(path, as_version=4)):
        if HIDDEN_TAGS & set(cell.metadata.get("tags", [])):
            prompt = cell.metadata.get("mystnb", {}).get("code_prompt_show", "")
            assert prompt.strip(), f"{path.name}: a hidden cell has no code_prompt_show: {cell.source[:80]!r}"


GLUE_ROLE = re.compile(r"\{glue(?::[a-z]+)?\}`([A-Za-z_][A-Za-z0-9_]*)")
GLUE_CALL = re.compile(r"""\bglue\(\s*f?["']([A-Za-z_][A-Za-z0-9_]*)["']""")


def glue_keys(path):
    """(keys the prose inserts, keys the code cells record) of one notebook."""
    notebook = nbformat.read(path, as_version=4)
    used = {k for c in notebook.cells if c.cell_type == "markdown" for k in GLUE_ROLE.findall(c.source)}
    made = {k for c in code_cells(notebook) for k in GLUE_CALL.findall(c.source)}
    return used, made


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_the_prose_inserts_is_recorded_by_the_notebook(path):
    used, made = glue_keys(path)
    assert used <= made, f"{path.name}: the prose uses glue keys that no cell records: {sorted(used - made)}"


def test_the_glue_key_check_sees_a_missing_key(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("The loss is {glue:text}`loss` and {glue:text}`gap:.1f` nats."),
        nbformat.v4.new_code_cell('vaelib.glue("loss", 1.5, ".2f")'),
    ])
    path = tmp_path / "probe.ipynb"
    nbformat.write(notebook, path)
    used, made = glue_keys(path)
    assert used == {"loss", "gap"} and made == {"loss"}
