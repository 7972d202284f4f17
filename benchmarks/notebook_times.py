"""Benchmark 4: each notebook's execution time in smoke mode (VAELIB_SMOKE=1) and full mode.

    python benchmarks/notebook_times.py                 # both modes, writes results/notebook_times.json
    python benchmarks/notebook_times.py --modes full    # only full mode (the budget: 180 s a chapter)
    python benchmarks/notebook_times.py --only 07_evaluation   # re-measure one notebook, keep the others

Measure on an idle machine: the file records the load average before and after the run, and
the kernels start with the book's own kernel environment (book/_ext/kernel_environment.py).
The budget: every chapter at most 180 s in full mode, all of them at most 12 minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from common import RESULTS_DIR, write_results

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHAPTER_BUDGET_SECONDS = 180
TOTAL_BUDGET_SECONDS = 12 * 60


def book_kernel_environment() -> dict:
    """KERNEL_ENVIRONMENT of book/_ext/kernel_environment.py: the settings the book's kernels get."""
    spec = importlib.util.spec_from_file_location("kernel_environment", ROOT / "book" / "_ext" / "kernel_environment.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.KERNEL_ENVIRONMENT


def execute_seconds(path: Path, smoke: bool) -> float:
    """Execute a notebook in a fresh kernel and return the wall time in seconds."""
    os.environ["VAELIB_SMOKE"] = "1" if smoke else "0"
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", nargs="+", choices=("smoke", "full"), default=["smoke", "full"])
    parser.add_argument("--only", nargs="+", default=None, help="notebook names (e.g. 07_evaluation) to re-measure")
    args = parser.parse_args(argv)
    chosen = [p for p in NOTEBOOKS if args.only is None or p.stem in args.only]
    os.environ.update(book_kernel_environment())
    previous = RESULTS_DIR / "notebook_times.json"
    # A partial run (--only) keeps the other chapters' times; a whole run starts afresh.
    seconds = json.loads(previous.read_text())["seconds"] if previous.exists() and args.only else {}
    load_before = os.getloadavg()
    for mode in args.modes:
        seconds[mode] = seconds.get(mode, {})
        for path in chosen:
            seconds[mode][path.stem] = execute_seconds(path, smoke=mode == "smoke")
            print(f"{mode:>5} {path.stem:<28} {seconds[mode][path.stem]:7.1f} s")
        print(f"{mode:>5} total {sum(seconds[mode].values()):.0f} s")
    full = seconds.get("full", {})
    write_results("notebook_times", {
        "seconds": seconds,
        "totals": {m: sum(v.values()) for m, v in seconds.items()},
        "budget": {"chapter_seconds": CHAPTER_BUDGET_SECONDS, "total_seconds": TOTAL_BUDGET_SECONDS,
                   "full_mode_within_budget": bool(full) and max(full.values()) <= CHAPTER_BUDGET_SECONDS
                   and sum(full.values()) <= TOTAL_BUDGET_SECONDS},
        "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
    })


if __name__ == "__main__":
    main()
