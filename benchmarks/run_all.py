"""Run every benchmark in turn (about an hour on 2 CPU cores, most of it the likelihood on all
10,000 test images); each writes results/<name>.json."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = [
    ["throughput.py"],
    ["equal_wallclock.py"],
    ["likelihood.py"],
    ["notebook_times.py"],
]

for step in STEPS:
    print(f"=== {' '.join(step)}", flush=True)
    subprocess.run([sys.executable, str(HERE / step[0]), *step[1:]], check=True, cwd=HERE.parent)
