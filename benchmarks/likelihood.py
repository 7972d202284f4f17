"""Benchmark 1: -log p(x) of a shipped MNIST model on the literature's protocol.

Protocol (Burda et al. 2016): dynamically binarized MNIST; the test set binarized once (seed 0);
the importance-weighted bound L_K on all 10,000 test images, K = 5000 on a GPU and K = 1000 on a
CPU (where K = 5000 would take hours); the mean over images with its standard error. Written
with it: the ELBO on the same images, the estimator's speed in importance samples per second,
the hardware, the model's training budget, and its test ELBO after every epoch of training
(the budget curve).

    python benchmarks/likelihood.py                          # the "mnist-large" model
    python benchmarks/likelihood.py --model mnist --num-samples 1000 --out likelihood_mnist
    python benchmarks/likelihood.py --speed-only             # only the estimator's speed, before and now

``--speed-only`` compares the estimator on today's model with vaelib 0.1.0's code paths
(benchmarks/before.py) in one run, alternating, on the same images and noise, and adds the
samples per second of both, their ratio and how far the two estimates differ to the results file.
"""

from __future__ import annotations

import argparse
import time

import torch

import json
import statistics

import vaelib
from before import as_before
from common import PUBLISHED_MNIST_NLL, RESULTS_DIR, command_line, hardware, write_results


def budget_curve(history: list[dict]) -> list[dict]:
    """Test ELBO after each epoch of training, with the cumulative training time."""
    curve, seconds = [], 0.0
    for record in history:
        seconds += record["seconds"]
        curve.append({"epoch": record["epoch"], "seconds": round(seconds, 1), "test_elbo": -record["test_loss"]})
    return curve


def estimator_speed(model, images, num_samples: int, batch: int, chunk: int, rounds: int = 5) -> dict:
    """Importance samples per second of vaelib's estimator now and with 0.1.0's code paths."""
    contenders = {"before": as_before(model), "now": model}
    rates = {name: [] for name in contenders}
    estimates = {}
    for _ in range(rounds):
        for name, candidate in contenders.items():
            vaelib.seed_everything(0)  # the same noise for both
            start = time.perf_counter()
            result = vaelib.evaluate_log_likelihood(candidate, images, num_samples, batch_size=batch, chunk_size=chunk)
            rates[name].append(num_samples * len(images) / (time.perf_counter() - start))
            estimates[name] = result["log_likelihood"]
        print("estimator: " + ", ".join(f"{n} {r[-1]:,.0f} samples/s" for n, r in rates.items()))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {
        "num_images": len(images), "num_samples": num_samples, "samples_per_decoder_call": batch * chunk,
        "samples_per_second": medians, "all_rounds": rates, "ratio_now_over_before": medians["now"] / medians["before"],
        "log_likelihood": estimates, "difference_nats": abs(estimates["now"] - estimates["before"]),
        "hardware": hardware(), "date": time.strftime("%Y-%m-%d"),
    }


def save(name: str, entry: dict, main_model: bool) -> None:
    """Write the results: the benchmark's own model fills the file's top level (the Results page's
    main table); any other shipped model goes under ``"models"``, beside it, so one file holds both."""
    path = RESULTS_DIR / f"{name}.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    if main_model:
        keep = {key: previous[key] for key in ("models", "estimator_speed") if key in previous}
        write_results(name, {**entry, **keep})
        return
    stamped = {"command": command_line(), "hardware": hardware(), "date": time.strftime("%Y-%m-%d"), **entry}
    previous.setdefault("models", {})[entry["model"]] = stamped
    vaelib.atomic_write_text(path, json.dumps(previous, indent=2) + "\n")
    print(f"wrote {path} (models / {entry['model']})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mnist-large", help="a shipped model (default: mnist-large)")
    parser.add_argument("--num-samples", type=int, default=None, help="K (default: 5000 on a GPU, 1000 on a CPU)")
    parser.add_argument("--num-images", type=int, default=10_000, help="test images (default: all 10,000)")
    parser.add_argument("--samples-per-call", type=int, default=1000,
                        help="decoder evaluations per call: images per batch x samples per chunk (default 1000)")
    parser.add_argument("--out", default="likelihood", help="results file name (default: likelihood)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    parser.add_argument("--speed-only", action="store_true",
                        help="only measure the estimator before and now on 100 images and add it to the results file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    vaelib.seed_everything(0)
    device = vaelib.get_device()
    num_samples = args.num_samples or (5000 if device.type == "cuda" else 1000)
    checkpoint = vaelib.load_pretrained(args.model, device, train_if_missing=False)
    model = checkpoint.model.eval()
    test = vaelib.binarize_once(vaelib.load_dataset("mnist", "test").images, seed=0)[: args.num_images]
    chunk = min(num_samples, args.samples_per_call)
    batch = max(1, args.samples_per_call // chunk)
    if args.speed_only:
        path = RESULTS_DIR / f"{args.out}.json"
        results = json.loads(path.read_text())
        results["estimator_speed"] = estimator_speed(model, test[:100], num_samples, batch, chunk)
        results["estimator_speed"]["command"] = "python benchmarks/likelihood.py --speed-only"
        results["published"] = PUBLISHED_MNIST_NLL  # the literature's numbers with their protocol
        vaelib.atomic_write_text(path, json.dumps(results, indent=2) + "\n")
        speed = results["estimator_speed"]
        print(f"estimator now / before: {speed['ratio_now_over_before']:.2f}, estimates differ by {speed['difference_nats']:.4f} nats")
        return
    elbo = vaelib.evaluate_elbo(model, test, seed=0)
    start = time.perf_counter()
    iwae = vaelib.evaluate_log_likelihood(model, test, num_samples, batch_size=batch, chunk_size=chunk, progress=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    config = checkpoint.train_config
    entry = {
        "model": args.model,
        "description": vaelib.RECIPES[args.model].description,
        "model_config": model.config.to_dict(),
        "protocol": "dynamically binarized MNIST, test set binarized once with seed 0, importance-weighted bound L_K",
        "ours": {
            "nll": iwae["nll"], "standard_error": iwae["standard_error"], "bits_per_dim": iwae["bits_per_dim"],
            "num_samples": num_samples, "num_images": iwae["num_images"],
            "elbo": elbo["elbo"], "elbo_recon": elbo["recon"], "elbo_kl": elbo["kl"],
            "seconds": seconds, "samples_per_second": num_samples * iwae["num_images"] / seconds,
            "device": str(device), "samples_per_decoder_call": batch * chunk,
        },
        "training": {
            "epochs": config.get("epochs"), "batch_size": config.get("batch_size"), "lr": config.get("lr"),
            "lr_final": config.get("lr_final"), "kl_warmup_epochs": config.get("kl_warmup_epochs"),
            "seconds": checkpoint.metrics.get("train_seconds"),
            "objective": config.get("objective", "elbo"), "num_samples": config.get("num_samples", 1),
            "starts_from": vaelib.RECIPES[args.model].starts_from,
        },
        "budget_curve": budget_curve(checkpoint.history),
        "published": PUBLISHED_MNIST_NLL,
    }
    save(args.out, entry, main_model=args.model == "mnist-large")
    print(f"{args.model}: -log p(x) {iwae['nll']:.2f} +- {iwae['standard_error']:.2f} nats "
          f"(K = {num_samples}, {iwae['num_images']:,} test images, ELBO {elbo['elbo']:.2f}), "
          f"{seconds:.0f} s, {num_samples * iwae['num_images'] / seconds:,.0f} samples/s on {hardware()}")


if __name__ == "__main__":
    main()
