"""Run every benchmark in turn (roughly 20 minutes on 2 CPU cores); each writes results/<name>.json."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = [
    ["throughput.py"],
    ["equal_wallclock.py"],
    ["likelihood.py", "--num-images", "1000"],
    ["notebook_times.py"],
]

for step in STEPS:
    print(f"=== {' '.join(step)}", flush=True)
    subprocess.run([sys.executable, str(HERE / step[0]), *step[1:]], check=True, cwd=HERE.parent)
