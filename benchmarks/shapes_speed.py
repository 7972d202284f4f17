"""How fast vaelib generates the colour-shapes data set (vectorised rendering, no loop per image).

    python benchmarks/shapes_speed.py            # writes results/shapes_speed.json
    python benchmarks/shapes_speed.py --threads 1

Times the generation of both fixed splits of ``vaelib.load_dataset("shapes", ...)`` (median of
several rounds) and checks a bound: at least 2,000 images of 3x64x64 per second on these
2 CPU cores, so the 20,000 training images take seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import vaelib
from common import write_results

MIN_IMAGES_PER_SECOND = 2_000


def time_split(split: str, rounds: int) -> tuple[float, int]:
    """Median seconds to generate one split, and its number of images."""
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        data = vaelib.load_dataset("shapes", split)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), len(data)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = {"image_shape": [3, 64, 64], "splits": {}}
    for split in ("test", "train"):
        seconds, n = time_split(split, args.rounds)
        results["splits"][split] = {"images": n, "seconds": seconds, "images_per_second": n / seconds}
        print(f"{split}: {n} images in {seconds:.2f} s ({n / seconds:,.0f} images/s)")
    rate = results["splits"]["train"]["images_per_second"]
    results["bound_images_per_second"] = MIN_IMAGES_PER_SECOND
    results["within_bound"] = rate >= MIN_IMAGES_PER_SECOND
    write_results("shapes_speed", results)
    if not results["within_bound"]:
        print(f"slower than the bound of {MIN_IMAGES_PER_SECOND} images/s")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
