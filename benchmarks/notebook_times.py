"""Benchmark 4: each notebook's execution time in smoke mode (VAELIB_SMOKE=1) and full mode.

    python benchmarks/notebook_times.py                 # both modes, writes results/notebook_times.json
    python benchmarks/notebook_times.py --modes smoke   # only smoke mode
    python benchmarks/notebook_times.py --only 07_evaluation   # re-measure one notebook, keep the others
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from common import RESULTS_DIR, write_results

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


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
    previous = RESULTS_DIR / "notebook_times.json"
    seconds = json.loads(previous.read_text())["seconds"] if previous.exists() else {}
    for mode in args.modes:
        seconds[mode] = seconds.get(mode, {}) if args.only else {}
        for path in chosen:
            seconds[mode][path.stem] = execute_seconds(path, smoke=mode == "smoke")
            print(f"{mode:>5} {path.stem:<28} {seconds[mode][path.stem]:7.1f} s")
        print(f"{mode:>5} total {sum(seconds[mode].values()):.0f} s")
    write_results("notebook_times", {"seconds": seconds, "totals": {m: sum(v.values()) for m, v in seconds.items()}})


if __name__ == "__main__":
    main()
