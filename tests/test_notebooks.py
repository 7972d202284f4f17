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


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_there_are_nine_numbered_notebooks_all_in_the_toc():
    assert [p.name[:3] for p in NOTEBOOKS] == [f"{i:02d}_" for i in range(1, 10)]
    toc = (ROOT / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_except_nbval_references(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in code_cells(notebook):
        checked = "NBVAL_CHECK_OUTPUT" in cell.source
        if checked:  # nbval compares these: they carry a reference output (text only) and a count
            assert cell.outputs, f"{path.name}: a NBVAL_CHECK_OUTPUT cell lacks its reference output"
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
