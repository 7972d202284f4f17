"""Train the checkpoints shipped in vaelib/pretrained/ from their recipes, and record how.

    python benchmarks/train_pretrained.py            # all of them
    python benchmarks/train_pretrained.py mnist      # one of them
    nohup python benchmarks/train_pretrained.py mnist-large --threads 1 > train.log 2>&1 &

A run saves a checkpoint after every epoch under runs/pretrained/ and resumes from it when
started again; the shipped half-precision file is written only at the end.

The recipes live in one place, ``vaelib.pretrained.RECIPES``. Each checkpoint stores its model
config, training config (with the data set), history and test metrics;
vaelib/pretrained/manifest.json lists the command, hardware, time and metrics of each.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

import vaelib
from vaelib.pretrained import PRETRAINED_DIR, RECIPES, pretrained_path, summary_path

MANIFEST = PRETRAINED_DIR / "manifest.json"
RUNS = Path("runs/pretrained")


def train_one(name: str, epochs: int | None = None) -> dict:
    """Train one recipe, save its half-precision checkpoint, and return its manifest entry."""
    RUNS.mkdir(parents=True, exist_ok=True)
    checkpoint = vaelib.train_pretrained(name, epochs=epochs, checkpoint_path=RUNS / f"{name}.pt")
    # Wall time of all epochs, summed from the history so that a resumed run counts each epoch once.
    seconds = sum(record["seconds"] for record in checkpoint.history)
    model = checkpoint.model.cpu()
    metrics = {**checkpoint.metrics, "train_seconds": seconds}
    if RECIPES[name].ships == "summary":  # only what the chapter plots ships, not the weights
        shipped = summary_path(name)
        summary = {**vaelib.run_summary(name, checkpoint), "train_seconds": seconds}
        vaelib.atomic_write_text(shipped, json.dumps(summary) + "\n")
    else:
        shipped = pretrained_path(name)
        vaelib.save_checkpoint(shipped, model, checkpoint.history, metrics=metrics,
                               train_config=checkpoint.train_config, half_precision=True)
    command = f"python benchmarks/train_pretrained.py {name}" + (f" --epochs {epochs}" if epochs else "")
    return {
        "description": RECIPES[name].description,
        "command": command,
        "dataset": RECIPES[name].dataset,
        "family": RECIPES[name].family,
        "starts_from": RECIPES[name].starts_from,  # fine-tuned from that shipped model, or None
        "model_config": model.config.to_dict(),
        "train_config": checkpoint.train_config,
        "test_metrics": metrics,
        "hardware": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        + ("GPU " + torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU only"),
        "torch": torch.__version__,
        "file_bytes": shipped.stat().st_size,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"recipes to train, among {list(RECIPES)} (default: all)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    unknown = [name for name in args.names if name not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {unknown}; choose among {list(RECIPES)}")
    for name in args.names or list(RECIPES):
        entry = train_one(name, args.epochs)
        manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
        manifest[name] = entry
        vaelib.atomic_write_text(MANIFEST, json.dumps(manifest, indent=2) + "\n")
        print(f"{name}: {entry['test_metrics']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
