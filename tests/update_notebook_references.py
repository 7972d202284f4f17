"""Strip the notebooks' outputs, keeping only the reference outputs that nbval compares.

Notebooks are stored without outputs, except for cells tagged ``nbval-check-output`` (a cell
tag, so no marker reaches the rendered page): nbval compares those cells' fresh output with the
stored one, so they keep a reference output.
Run after editing a notebook:

    VAELIB_SMOKE=1 python tests/update_notebook_references.py            # all notebooks
    VAELIB_SMOKE=1 python tests/update_notebook_references.py notebooks/03_architecture.ipynb
    python tests/update_notebook_references.py --strip-only               # no execution
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nbformat

CHECK_TAG = "nbval-check-output"
NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def is_checked(cell) -> bool:
    """True for code cells whose output nbval compares."""
    return cell.cell_type == "code" and CHECK_TAG in cell.metadata.get("tags", [])


def merged_stream_outputs(outputs) -> list:
    """The text a cell printed, merged into one stdout output (what nbval compares)."""
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")
    return [nbformat.v4.new_output("stream", name="stdout", text=text)] if text else []


def strip(notebook, executed=None) -> None:
    """Remove outputs and execution counts; checked cells take their output from ``executed``.

    nbval skips a reference cell without an execution count ("unrun"), so checked cells keep
    a count: their position among the code cells.
    """
    code_index = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        code_index += 1
        if not is_checked(cell):
            cell.outputs, cell.execution_count = [], None
            continue
        if executed is not None:
            cell.outputs = merged_stream_outputs(executed.cells[index].outputs)
        cell.execution_count = code_index
    notebook.metadata.pop("widgets", None)


def execute(path: Path):
    """Run a copy of the notebook from its folder and return the executed copy."""
    from nbclient import NotebookClient

    executed = nbformat.read(path, as_version=4)
    NotebookClient(executed, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return executed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook in notebooks/")
    parser.add_argument("--strip-only", action="store_true", help="strip outputs without executing (keeps stored references)")
    args = parser.parse_args(argv)
    if not args.strip_only and os.environ.get("VAELIB_SMOKE") != "1":
        parser.error("set VAELIB_SMOKE=1: references are recorded in smoke mode, as nbval runs them")
    for path in args.notebooks or sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        strip(notebook, None if args.strip_only else execute(path))
        nbformat.write(notebook, path)
        checked = sum(is_checked(c) for c in notebook.cells)
        print(f"{path.name}: {checked} reference output(s) kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
