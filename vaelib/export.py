"""Export decoders to ONNX for the book's in-browser latent-space explorer.

The rendered book cannot run Python, but a browser can run a small decoder: ``make explorer``
writes, for each pretrained model named, ``NAME.onnx`` (latent codes z (N, D) -> images
(N, C, H, W) in [0, 1], the decoder mean) and ``NAME.json`` (what the page needs to draw its
controls), which ``book/_static/explorer.js`` runs with onnxruntime-web.

    python -m vaelib.export --out book/_static/explorer mnist-2d mnist

Needs the ``onnx`` and ``onnxscript`` packages (the ``book`` extra).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
from pathlib import Path

import torch
from torch import nn

from .data import iterate_batches, load_dataset
from .disentanglement import discretize, mutual_information_matrix
from .files import atomic_write_text
from .losses import gaussian_kl_per_dim
from .model import ConvVAE
from .pretrained import RECIPES, load_pretrained

ONNX_OPSET = 18  # fixed, so the file does not change with the exporter's default
INPUT_NAME, OUTPUT_NAME = "z", "image"
FACTOR_SHARE = 0.2  # a dimension is named after a factor when it holds more than this share of it


def _entropy(labels: torch.Tensor) -> torch.Tensor:
    """H in nats of a discrete column (N,) of non-negative integers, from its histogram."""
    counts = torch.bincount(labels)
    p = counts[counts > 0].double() / counts.sum()
    return -(p * p.log()).sum()


class DecoderMean(nn.Module):
    """The decoder as a graph to export: z (N, D) -> the mean of p(x|z), images (N, C, H, W) in [0, 1]."""

    def __init__(self, model: ConvVAE):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decoder_mean(self.model.decode(z))


def export_decoder_onnx(model: ConvVAE, path: str | Path, opset: int = ONNX_OPSET) -> Path:
    """Write the model's decoder to ``path`` as ONNX: input "z" (N, latent_dim) float32, output
    "image" (N, C, H, W) float32 in [0, 1], what ``model.decode_images`` returns; N is dynamic.

    Uses torch's torch.export-based exporter with a fixed opset; the weights are stored inside
    the one file. Returns the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    decoder = DecoderMean(copy.deepcopy(model)).to("cpu").eval()  # the caller's model stays where it is
    z = torch.zeros(2, model.config.latent_dim)
    batch = torch.export.Dim("batch", min=1, max=65536)
    temporary = path.with_name(path.name + ".tmp")
    with torch.no_grad():
        program = torch.onnx.export(
            decoder, (z,), dynamo=True, opset_version=opset, input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME], dynamic_shapes={"z": {0: batch}}, verbose=False,
        )
    program.save(str(temporary), external_data=False)
    temporary.replace(path)
    return path


def _rounded(values: torch.Tensor, digits: int) -> list:
    """A tensor as nested lists of short decimals (float64 first, so 0.1 prints as 0.1)."""
    return values.double().round(decimals=digits).tolist()


@torch.no_grad()
def explorer_metadata(model: ConvVAE, images: torch.Tensor, labels: torch.Tensor, classes: list[str],
                      num_codes: int = 2000, num_dims: int = 6, factors: torch.Tensor | None = None,
                      factor_names: list[str] | None = None) -> dict:
    """What the page needs beside the ONNX file, computed from test images (N, C, H, W) and labels.

    Every model: latent_dim, the image shape, the input and output names, and one base code per
    class (the posterior mean of its first test image). A 2-D model: the posterior means of the
    first ``num_codes`` test images with their labels, and the pad's extent (a square around
    the origin that holds 99% of them). A larger model: its ``num_dims`` most informative
    dimensions, ranked by their average KL over those images, each with a slider range; with
    known ``factors`` (N, K) and their ``factor_names``, each dimension also gets the factor it
    holds the largest share of, I(z_j; v_k) / H(v_k) (``"mixed"`` where no share reaches
    FACTOR_SHARE, as in chapter 9's figure of shares), and that share.
    """
    images, labels = images[:num_codes], labels[:num_codes]
    factors = None if factors is None else factors[:num_codes]
    cfg = model.config
    parts = [model.encode(x) for x in iterate_batches(images, 500, shuffle=False, device=model.device)]
    mu = torch.cat([p[0] for p in parts]).cpu()  # (n, D) posterior means
    log_var = torch.cat([p[1] for p in parts]).cpu()  # (n, D)
    firsts = [int((labels == k).nonzero()[0]) for k in range(len(classes)) if (labels == k).any()]
    meta = {
        "latent_dim": cfg.latent_dim, "channels": cfg.in_channels, "height": cfg.image_size[0],
        "width": cfg.image_size[1], "input": INPUT_NAME, "output": OUTPUT_NAME, "opset": ONNX_OPSET,
        "classes": [str(c) for c in classes],
        "bases": [{"label": int(labels[i]), "code": _rounded(mu[i], 4)} for i in firsts],
        "start_label": int(labels[0]),
    }
    if cfg.latent_dim == 2:
        bound = mu.abs().max(dim=1).values.quantile(0.99).item()
        meta["extent"] = max(3.0, math.ceil(bound * 2) / 2)  # the pad shows [-extent, extent] on both axes
        meta["codes"] = _rounded(mu, 2)
        meta["labels"] = [int(v) for v in labels]
    else:
        kl = gaussian_kl_per_dim(mu, log_var).mean(0)  # (D,) nats
        spread = mu.std(0)
        if factors is not None:
            entropy = torch.stack([_entropy(column) for column in discretize(factors).T])  # (K,)
            shares = mutual_information_matrix(mu, factors) / entropy  # (D, K)
        dims = []
        for d in kl.argsort(descending=True)[:num_dims].tolist():
            # the slider covers [-3, 3], 99% of the test codes and every base code
            low = min(mu[:, d].quantile(0.005).item(), mu[firsts, d].min().item())
            high = max(mu[:, d].quantile(0.995).item(), mu[firsts, d].max().item())
            dims.append({"index": d, "kl": round(kl[d].item(), 3), "std": round(spread[d].item(), 3),
                         "range": [min(-3.0, math.floor(low * 2) / 2), max(3.0, math.ceil(high * 2) / 2)]})
            if factors is not None:
                k = int(shares[d].argmax())
                share = shares[d, k].item()
                dims[-1]["factor"] = factor_names[k] if share > FACTOR_SHARE else "mixed"
                dims[-1]["share"] = round(share, 2)
        meta["dims"] = dims
    return meta


def export_explorer(name: str, out_dir: str | Path, num_codes: int = 2000, num_dims: int = 6) -> tuple[Path, Path]:
    """Export pretrained model ``name``'s decoder to OUT/NAME.onnx and its metadata to OUT/NAME.json."""
    checkpoint = load_pretrained(name, "cpu")
    model = checkpoint.model
    test = load_dataset(checkpoint.train_config.get("dataset", RECIPES[name].dataset), "test")
    out_dir = Path(out_dir)
    onnx_path = export_decoder_onnx(model, out_dir / f"{name}.onnx")
    known = {"factors": test.factors, "factor_names": list(test.factor_names)} if getattr(
        test, "factors", None) is not None else {}  # data with known factors: label the sliders
    meta = {"name": name, "model": onnx_path.name, "description": RECIPES[name].description,
            **explorer_metadata(model, test.images, test.labels, test.classes, num_codes, num_dims,
                                **known)}
    json_path = out_dir / f"{name}.json"
    atomic_write_text(json_path, json.dumps(meta, separators=(",", ":")) + "\n")
    return onnx_path, json_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vaelib.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", choices=sorted(RECIPES), metavar="NAME",
                        help=f"pretrained models to export: {', '.join(sorted(RECIPES))}")
    parser.add_argument("--out", type=Path, default=Path("book/_static/explorer"), help="output folder")
    parser.add_argument("--codes", type=int, default=2000, help="test images whose codes a 2-D model's JSON holds")
    parser.add_argument("--dims", type=int, default=6, help="dimensions (sliders) a larger model's JSON lists")
    args = parser.parse_args(argv)
    for name in args.names:
        onnx_path, json_path = export_explorer(name, args.out, args.codes, args.dims)
        print(f"{name}: {onnx_path} ({onnx_path.stat().st_size:,} bytes), {json_path} "
              f"({json_path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
