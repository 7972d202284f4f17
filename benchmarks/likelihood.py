"""Benchmark 1: -log p(x) of a shipped MNIST model on the literature's protocol.

Protocol (Burda et al. 2016): dynamically binarized MNIST; the test set binarized once (seed 0);
the importance-weighted bound L_K on all 10,000 test images, K = 5000 on a GPU and K = 1000 on a
CPU (where K = 5000 would take hours); the mean over images with its standard error. Written
with it: the ELBO on the same images, the estimator's speed in importance samples per second,
the hardware, the model's training budget, and its test ELBO after every epoch of training
(the budget curve).

    python benchmarks/likelihood.py                          # the "mnist-large" model
    python benchmarks/likelihood.py --model mnist --num-samples 1000 --out likelihood_mnist
"""

from __future__ import annotations

import argparse
import time

import torch

import vaelib
from common import PUBLISHED_MNIST_NLL, hardware, write_results


def budget_curve(history: list[dict]) -> list[dict]:
    """Test ELBO after each epoch of training, with the cumulative training time."""
    curve, seconds = [], 0.0
    for record in history:
        seconds += record["seconds"]
        curve.append({"epoch": record["epoch"], "seconds": round(seconds, 1), "test_elbo": -record["test_loss"]})
    return curve


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mnist-large", help="a shipped model (default: mnist-large)")
    parser.add_argument("--num-samples", type=int, default=None, help="K (default: 5000 on a GPU, 1000 on a CPU)")
    parser.add_argument("--num-images", type=int, default=10_000, help="test images (default: all 10,000)")
    parser.add_argument("--samples-per-call", type=int, default=1000,
                        help="decoder evaluations per call: images per batch x samples per chunk (default 1000)")
    parser.add_argument("--out", default="likelihood", help="results file name (default: likelihood)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: all cores)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    vaelib.seed_everything(0)
    device = vaelib.get_device()
    num_samples = args.num_samples or (5000 if device.type == "cuda" else 1000)
    checkpoint = vaelib.load_pretrained(args.model, device, train_if_missing=False)
    model = checkpoint.model.eval()
    test = vaelib.binarize_once(vaelib.load_dataset("mnist", "test").images, seed=0)[: args.num_images]
    elbo = vaelib.evaluate_elbo(model, test, seed=0)
    chunk = min(num_samples, args.samples_per_call)
    batch = max(1, args.samples_per_call // chunk)
    start = time.perf_counter()
    iwae = vaelib.evaluate_log_likelihood(model, test, num_samples, batch_size=batch, chunk_size=chunk, progress=True)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    config = checkpoint.train_config
    write_results(args.out, {
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
        },
        "budget_curve": budget_curve(checkpoint.history),
        "target_nll": 84.0,
        "published": PUBLISHED_MNIST_NLL,
    })
    print(f"{args.model}: -log p(x) {iwae['nll']:.2f} +- {iwae['standard_error']:.2f} nats "
          f"(K = {num_samples}, {iwae['num_images']:,} test images, ELBO {elbo['elbo']:.2f}), "
          f"{seconds:.0f} s, {num_samples * iwae['num_images'] / seconds:,.0f} samples/s on {hardware()}")


if __name__ == "__main__":
    main()
