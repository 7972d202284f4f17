"""Every chapter runs as a Colab user runs it: vaelib installed as a package (not editable),
the notebook alone in an empty folder, nothing read from the repository around it (smoke mode).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def installed_package(tmp_path_factory) -> Path:
    """vaelib built and installed from the source tree into a folder of its own, as pip does on Colab."""
    target = tmp_path_factory.mktemp("site-packages")
    build = tmp_path_factory.mktemp("source")
    source = build / "vaelib-source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "_build*", "node_modules", ".data",
                                                                "build-artifacts", "notebooks", "book", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, timeout=600)
    assert (target / "vaelib" / "pretrained" / "mnist.pt").exists(), "the shipped weights must be in the package"
    return target


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_alone_with_the_installed_package(path, installed_package, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("PYTHONPATH", str(installed_package))  # ahead of the editable install
    monkeypatch.setenv("VAELIB_SMOKE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    folder = tmp_path / "colab"
    folder.mkdir()
    notebook = nbformat.read(path, as_version=4)
    where = nbformat.v4.new_code_cell(
        "import vaelib, pathlib\n"
        f"assert pathlib.Path(vaelib.__file__).is_relative_to({str(installed_package)!r}), vaelib.__file__"
    )
    notebook.cells.insert(2, where)  # right after the set-up cell
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    leftovers = {p.name for p in folder.iterdir()}
    assert not leftovers - {"samples.png"}, f"the chapter wrote files into the reader's folder: {sorted(leftovers)}"
