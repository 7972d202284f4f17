"""Benchmark 2: vaelib against the official PyTorch VAE example, at equal wall-clock time.

The reference is written from the recipe of pytorch/examples' vae/main.py: an MLP 784-400-20
with ReLU, sigmoid output, BCE summed over gray-level pixels plus the KL, Adam at 1e-3, batch
128, 10 epochs, a torchvision DataLoader with ToTensor. In one run on the same machine we train
it, record its wall time and its test loss (the example's metric: summed BCE + KL per test
image, gray-level targets), then train vaelib's default ConvVAE with vaelib's in-memory
pipeline for the same wall time on the same gray-level targets and report the same metric.

    python benchmarks/equal_wallclock.py          # writes results/equal_wallclock.json
"""

from __future__ import annotations

import argparse
import time

import torch
import torchvision
from torch import nn
from torch.nn import functional as F

import vaelib
from common import write_results


class ReferenceVAE(nn.Module):
    """The MLP VAE of the PyTorch examples (784-400-20), as written there."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h), self.fc22(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def reference_loss(recon_x, x, mu, logvar):
    """Summed BCE over pixels and images plus the summed KL: the example's loss_function."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    return bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


def train_reference(data_dir, epochs: int) -> tuple[float, float]:
    """Train the reference for `epochs`; return (seconds, test loss per image)."""
    transform = torchvision.transforms.ToTensor()
    train = torchvision.datasets.MNIST(data_dir, train=True, download=True, transform=transform)
    test = torchvision.datasets.MNIST(data_dir, train=False, download=True, transform=transform)
    train_loader = torch.utils.data.DataLoader(train, batch_size=128, shuffle=True)
    test_loader = torch.utils.data.DataLoader(test, batch_size=128, shuffle=False)
    model = ReferenceVAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        for x, _ in train_loader:
            optimizer.zero_grad()
            loss = reference_loss(*_forward(model, x))
            loss.backward()
            optimizer.step()
        print(f"reference epoch {epoch + 1}: {time.perf_counter() - start:.0f} s")
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        test_loss = sum(reference_loss(*_forward(model, x)).item() for x, _ in test_loader) / len(test)
    return seconds, test_loss


def _forward(model, x):
    """The reference's forward pass, arranged as reference_loss's arguments."""
    recon, mu, logvar = model(x)
    return recon, x, mu, logvar


def vaelib_test_loss(model, images) -> float:
    """The reference's metric for a vaelib model: summed BCE (gray-level targets) + KL per image."""
    return -vaelib.evaluate_elbo(model, images, seed=0)["elbo"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10, help="reference epochs (default 10, as in the example)")
    args = parser.parse_args(argv)
    vaelib.seed_everything(0)
    data_dir = vaelib.resolve_data_dir()

    reference_seconds, reference_loss_value = train_reference(str(data_dir), args.epochs)
    print(f"reference: {reference_seconds:.0f} s, test loss {reference_loss_value:.2f}")

    vaelib.seed_everything(0)
    train = vaelib.load_dataset("mnist", "train")
    test = vaelib.load_dataset("mnist", "test")
    model = vaelib.ConvVAE(1, 28, latent_dim=20)
    config = vaelib.TrainConfig(epochs=1000, dynamic_binarization=False, max_seconds=reference_seconds, device="cpu" if not torch.cuda.is_available() else None)
    start = time.perf_counter()
    history = vaelib.fit(model, train, None, config)
    vaelib_seconds = time.perf_counter() - start
    ours = vaelib_test_loss(model.cpu(), test.images)
    images_seen = sum(h["steps"] for h in history) * config.batch_size
    print(f"vaelib: {vaelib_seconds:.0f} s ({images_seen / len(train):.2f} epochs), test loss {ours:.2f}")
    write_results("equal_wallclock", {
        "metric": "test loss: BCE summed over gray-level pixels + KL, nats per image (the PyTorch example's)",
        "reference": {"recipe": "MLP 784-400-20, Adam 1e-3, batch 128, DataLoader + ToTensor", "epochs": args.epochs,
                      "seconds": reference_seconds, "test_loss": reference_loss_value},
        "vaelib": {"recipe": "ConvVAE defaults (latent 20, channels 32-64, hidden 256), Adam 1e-3, batch 128, in-memory data",
                   "seconds": vaelib_seconds, "epochs": images_seen / len(train), "test_loss": ours},
        "improvement_nats": reference_loss_value - ours,
        "target_improvement_nats": 5.0,
    })


if __name__ == "__main__":
    main()
