"""Benchmark 3: training images per second, in one run:

- vaelib's in-memory pipeline against a torchvision DataLoader with per-image ToTensor, same
  ConvVAE, same batch, same optimiser;
- vaelib's training step now against the step of vaelib 0.1.0 (benchmarks/before.py: oneDNN for
  the decoder's last layer, no channels-last feature maps, per-tensor Adam, three host reads per
  step), same batches and noise, and how far their weights drift apart over the same steps.

The contenders alternate for several rounds so that all see the same machine state, and the
ratios are computed from the medians.

    python benchmarks/throughput.py          # writes results/throughput.json (or throughput_gpu.json on a GPU)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

import vaelib
from before import as_before, old_adam, old_train_step
from common import write_results
from vaelib.training import make_adam, train_step


def timed_steps(model, optimizer, batches, num_steps: int, device) -> float:
    """Images per second over num_steps training steps drawn from the iterator `batches`."""
    images = 0
    start = time.perf_counter()
    for _ in range(num_steps):
        x = next(batches).to(device, non_blocking=True)
        terms = vaelib.elbo_loss(*model(x), x)
        optimizer.zero_grad(set_to_none=True)
        terms.loss.backward()
        optimizer.step()
        images += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return images / (time.perf_counter() - start)


def binarized_batches(images, batch_size, latent_dim, seed):
    """(x, eps) pairs as fit draws them: shuffled, freshly binarized, with reparameterization noise."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        for x in vaelib.iterate_batches(images, batch_size, dynamic_binarization=True, generator=generator):
            yield x, torch.randn(len(x), latent_dim, generator=generator)


def timed_training_steps(step, batches, num_steps: int) -> float:
    """Images per second of ``step(x, eps)`` over num_steps batches."""
    pairs = [next(batches) for _ in range(num_steps)]  # drawn before the clock starts
    start = time.perf_counter()
    for x, eps in pairs:
        step(x, eps)
    return num_steps * len(pairs[0][0]) / (time.perf_counter() - start)


def compare_training_steps(images, batch_size: int, num_steps: int, rounds: int) -> dict:
    """vaelib's step against 0.1.0's on the CPU: images per second (medians) and weight drift."""
    vaelib.seed_everything(0)
    now = vaelib.ConvVAE(1, 28, latent_dim=20)
    before = as_before(now)
    steps = {
        "before": (lambda m, o: lambda x, eps: old_train_step(m, o, x, eps))(before, old_adam(before)),
        "now": (lambda m, o: lambda x, eps: train_step(m, m, o, x, eps, 1.0))(now, make_adam(now, 1e-3)),
    }
    # Same start, same batches, same noise: the two must stay together (they differ by rounding).
    for x, eps in [next(binarized_batches(images, batch_size, 20, seed=1)) for _ in range(1)] * 20:
        for step in steps.values():
            step(x, eps)
    drift = max((a - b).abs().max().item() for a, b in zip(before.state_dict().values(), now.state_dict().values()))
    rates = {name: [] for name in steps}
    batches = binarized_batches(images, batch_size, 20, seed=2)
    for round_index in range(rounds):
        for name, step in steps.items():
            rates[name].append(timed_training_steps(step, batches, num_steps))
        print(f"training step, round {round_index + 1}: " + ", ".join(f"{n} {r[-1]:.0f} img/s" for n, r in rates.items()))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return {"images_per_second": medians, "all_rounds": rates, "ratio_now_over_before": medians["now"] / medians["before"],
            "max_weight_difference_after_20_identical_steps": drift}


def in_memory_batches(images, batch_size, device):
    """vaelib's pipeline: slice the uint8 tensor, divide by 255, on every epoch forever."""
    while True:
        yield from vaelib.iterate_batches(images, batch_size, shuffle=True, device=device)


def dataloader_batches(root, batch_size):
    """The usual pipeline: torchvision's MNIST with ToTensor, one PIL image at a time."""
    dataset = torchvision.datasets.MNIST(root, train=True, download=True, transform=torchvision.transforms.ToTensor())
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)
    while True:
        for x, _ in loader:
            yield x


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="training steps per timing round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args(argv)
    vaelib.seed_everything(0)
    device = vaelib.get_device()
    images = vaelib.load_dataset("mnist", "train").images
    pipelines = {
        "in_memory": in_memory_batches(images, args.batch_size, device),
        "dataloader": dataloader_batches(str(vaelib.resolve_data_dir()), args.batch_size),
    }
    model = vaelib.ConvVAE(1, 28, latent_dim=20).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for batches in pipelines.values():  # warm-up: first batches, allocator, kernels
        timed_steps(model, optimizer, batches, 5, device)
    rates = {name: [] for name in pipelines}
    for round_index in range(args.rounds):
        for name, batches in pipelines.items():
            rates[name].append(timed_steps(model, optimizer, batches, args.steps, device))
        print(f"round {round_index + 1}: " + ", ".join(f"{n} {r[-1]:.0f} img/s" for n, r in rates.items()))
    medians = {name: statistics.median(values) for name, values in rates.items()}
    training_step = compare_training_steps(images, args.batch_size, args.steps, args.rounds) if device.type == "cpu" else None
    write_results("throughput_gpu" if device.type == "cuda" else "throughput", {
        "device": str(device),
        "batch_size": args.batch_size,
        "images_per_second": medians,
        "all_rounds": rates,
        "ratio_in_memory_over_dataloader": medians["in_memory"] / medians["dataloader"],
        "training_step_before_and_now": training_step,
        "note": "absolute images/s are only meaningful on a GPU; on a shared CPU compare the ratio",
    })
    if training_step:
        print(f"training step, now / before: {training_step['ratio_now_over_before']:.2f}")
    print(f"ratio in-memory / DataLoader: {medians['in_memory'] / medians['dataloader']:.2f}")


if __name__ == "__main__":
    main()
