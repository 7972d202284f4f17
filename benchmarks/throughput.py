"""Benchmark 3: training images per second, vaelib's in-memory pipeline against a torchvision
DataLoader with per-image ToTensor, same ConvVAE, same batch, same optimiser, in one run.

The two pipelines alternate for several rounds so that both see the same machine state, and
the ratio is computed from the medians.

    python benchmarks/throughput.py          # writes results/throughput.json (or throughput_gpu.json on a GPU)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torchvision

import vaelib
from common import write_results


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
    write_results("throughput_gpu" if device.type == "cuda" else "throughput", {
        "device": str(device),
        "batch_size": args.batch_size,
        "images_per_second": medians,
        "all_rounds": rates,
        "ratio_in_memory_over_dataloader": medians["in_memory"] / medians["dataloader"],
        "note": "absolute images/s are only meaningful on a GPU; on a shared CPU compare the ratio",
    })
    print(f"ratio in-memory / DataLoader: {medians['in_memory'] / medians['dataloader']:.2f}")


if __name__ == "__main__":
    main()
