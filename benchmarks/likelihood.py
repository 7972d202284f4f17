"""Benchmark 1: test ELBO and importance-sampled log-likelihood of the book's main MNIST model.

Protocol of the literature: dynamically binarized MNIST, the test set binarized once (seed 0),
the IWAE bound with K = 5000. On a CPU the full test set takes hours, so --num-images picks
the first N test images for the IWAE bound (the ELBO always uses all 10,000).

    python benchmarks/likelihood.py --num-images 1000      # writes results/likelihood.json
"""

from __future__ import annotations

import argparse
import time


import vaelib
from common import PUBLISHED_MNIST_NLL, write_results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-samples", type=int, default=5000, help="K (default 5000)")
    parser.add_argument("--num-images", type=int, default=10_000, help="test images for the IWAE bound")
    parser.add_argument("--checkpoint", default=None, help="default: the shipped 'mnist' model")
    args = parser.parse_args(argv)

    vaelib.seed_everything(0)
    device = vaelib.get_device()
    checkpoint = vaelib.load_checkpoint(args.checkpoint, device) if args.checkpoint else vaelib.load_pretrained("mnist", device)
    model = checkpoint.model.eval()
    test = vaelib.binarize_once(vaelib.load_dataset("mnist", "test").images, seed=0)
    elbo = vaelib.evaluate_elbo(model, test, seed=0)
    start = time.perf_counter()
    iwae = vaelib.evaluate_log_likelihood(model, test[: args.num_images], args.num_samples, batch_size=10, chunk_size=500, progress=True)
    seconds = time.perf_counter() - start
    # The ELBO on the same images as the IWAE bound, so the gap between them is meaningful.
    elbo_subset = vaelib.evaluate_elbo(model, test[: args.num_images], seed=0)
    config = checkpoint.train_config
    training = f"{config.get('epochs')} epochs, batch {config.get('batch_size')}, Adam lr {config.get('lr')}"
    if "train_seconds" in checkpoint.metrics:
        training += f", {checkpoint.metrics['train_seconds'] / 60:.0f} minutes of training"
    write_results("likelihood", {
        "ours": {
            "elbo": elbo["elbo"], "elbo_recon": elbo["recon"], "elbo_kl": elbo["kl"], "elbo_num_images": len(test),
            "elbo_same_images": elbo_subset["elbo"],
            "nll": iwae["nll"], "bits_per_dim": iwae["bits_per_dim"], "num_samples": args.num_samples,
            "num_images": args.num_images, "iwae_seconds": seconds,
        },
        "target_nll": 84.0,
        "training": training,
        "model_config": model.config.to_dict(),
        "published": PUBLISHED_MNIST_NLL,
    })
    print(f"ELBO {elbo['elbo']:.2f} (10,000 images); IWAE K={args.num_samples} NLL {iwae['nll']:.2f} "
          f"on {args.num_images} images ({elbo_subset['elbo']:.2f} ELBO on those), {seconds:.0f} s")


if __name__ == "__main__":
    main()
