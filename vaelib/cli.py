"""The command line: ``python -m vaelib train | evaluate | sample`` (also installed as ``vaelib``).

Examples::

    python -m vaelib train --dataset mnist --epochs 10 --out runs/mnist
    torchrun --nproc_per_node=4 -m vaelib train --dataset mnist --out runs/mnist-ddp
    python -m vaelib evaluate runs/mnist/checkpoint.pt --importance-samples 5000
    python -m vaelib sample runs/mnist/checkpoint.pt --num 64 --out samples.png
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from . import data as data_module
from .data import to_float
from .checkpoint import CheckpointError, load_checkpoint
from .distributed import cleanup_distributed, init_distributed, is_main_process, launched_by_torchrun
from .evaluation import evaluate_elbo, evaluate_log_likelihood, iwae_log_likelihood
from .files import atomic_write_text, save_image_grid
from .losses import LIKELIHOODS
from .model import ConvVAE
from .objectives import OBJECTIVES
from .flows import IAFVAE
from .priors import PRIORS, PriorVAE
from .training import NonFiniteLossError, TrainConfig, fit, prepare_test_images, resume_differences, evaluation_protocol
from .utils import get_device, seed_everything


class UsageError(Exception):
    """A problem with the command's arguments or files, reported as one line and exit code 2."""


def _number(text: str, cast, minimum: float, inclusive: bool):
    """Parse ``text`` with ``cast`` and check it against ``minimum``; argparse shows the message."""
    try:
        value = cast(text)
    except ValueError:
        kind = "a whole number" if cast is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
    if not (value >= minimum if inclusive else value > minimum):
        bound = f"at least {minimum}" if inclusive else f"greater than {minimum}"
        raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    return _number(text, int, 1, inclusive=True)


def positive_float(text: str) -> float:
    """argparse type: a number greater than 0."""
    return _number(text, float, 0, inclusive=False)


def non_negative_float(text: str) -> float:
    """argparse type: a number of at least 0."""
    return _number(text, float, 0, inclusive=True)


def device_name(text: str) -> str:
    """argparse type: a device torch understands ("cpu", "cuda", "cuda:1", "mps")."""
    try:
        torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"expected a device such as cpu, cuda, cuda:1 or mps, got {text!r}") from None
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its three sub-commands."""
    parser = argparse.ArgumentParser(prog="vaelib", description="Train, evaluate and sample convolutional VAEs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,evaluate,sample}")

    train = commands.add_parser("train", help="train a VAE (resumes from OUT/checkpoint.pt if it exists)",
                                description="Train a VAE; works under torchrun for several processes.")
    train.add_argument("--dataset", default="mnist", choices=data_module.DATASETS, help="training data (default: mnist)")
    train.add_argument("--data-dir", default=None, help="data folder (default: $VAELIB_DATA_DIR or ~/.cache/vaelib/data)")
    train.add_argument("--out", required=True, help="output folder for checkpoint.pt, history.json and samples.png")
    train.add_argument("--epochs", type=positive_int, default=10)
    train.add_argument("--batch-size", type=positive_int, default=128, help="images per step and process (default: 128)")
    train.add_argument("--lr", type=positive_float, default=1e-3, help="Adam learning rate (default: 1e-3)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--latent-dim", type=positive_int, default=20)
    train.add_argument("--hidden-channels", type=positive_int, nargs="+", default=[32, 64], help="channels of the stride-2 convolutions")
    train.add_argument("--hidden-dim", type=int, default=256, help="fully connected width (0: none)")
    train.add_argument("--likelihood", choices=LIKELIHOODS, default=None,
                       help="decoder likelihood (default: bernoulli for mnist and fashion-mnist, gaussian for "
                            "frey-face, continuous-bernoulli for cifar10 and shapes)")
    train.add_argument("--beta", type=non_negative_float, default=1.0, help="KL weight (default: 1)")
    train.add_argument("--kl-warmup-epochs", type=non_negative_float, default=0.0)
    train.add_argument("--prior", choices=("standard", *PRIORS), default="standard",
                       help="p(z): N(0, I), a learned mixture of Gaussians, or the VampPrior (default: standard)")
    train.add_argument("--prior-components", type=positive_int, default=100,
                       help="components of the mixture, or pseudo-inputs of the VampPrior (default: 100)")
    train.add_argument("--flow-steps", type=int, default=0,
                       help="steps of an inverse autoregressive flow on q(z|x) (default: 0, a diagonal Gaussian)")
    train.add_argument("--flow-hidden", type=positive_int, default=128,
                       help="hidden units of each flow step (default: 128)")
    train.add_argument("--objective", choices=OBJECTIVES, default="elbo",
                       help="what training minimises: the negative ELBO, the importance-weighted bound "
                            "(with --num-samples codes per image) or the beta-TCVAE loss (default: elbo)")
    train.add_argument("--num-samples", type=positive_int, default=1,
                       help="codes per image for --objective iwae (default: 1)")
    train.add_argument("--tc-weight", type=non_negative_float, default=1.0,
                       help="weight of the total correlation for --objective tcvae (default: 1)")
    train.add_argument("--no-binarize", action="store_true", help="train on gray levels instead of dynamic binarization")
    train.add_argument("--limit", type=positive_int, default=None, help="use only the first N training images")
    train.add_argument("--max-seconds", type=positive_float, default=None, help="stop after this much training time")
    train.add_argument("--device", type=device_name, default=None, help="cpu, cuda, mps (default: best available)")
    train.add_argument("--restart", action="store_true", help="ignore an existing checkpoint in OUT and start over")
    train.add_argument("--no-progress", action="store_true",
                       help="no progress bar (it is shown only on a terminal anyway); the per-epoch lines stay")
    train.add_argument("--quiet", action="store_true", help="print nothing but errors and the final line")

    evaluate = commands.add_parser("evaluate", help="test ELBO and importance-sampled log-likelihood of a checkpoint")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--dataset", default=None, choices=data_module.DATASETS, help="default: the one it was trained on")
    evaluate.add_argument("--data-dir", default=None)
    evaluate.add_argument("--importance-samples", "-k", type=positive_int, default=1000, help="K of the IWAE bound (default: 1000)")
    evaluate.add_argument("--limit", type=positive_int, default=None, help="evaluate only the first N test images")
    evaluate.add_argument("--batch-size", type=positive_int, default=10, help="images per importance-sampling batch")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the test set's binarization and the samples")
    evaluate.add_argument("--json", default=None, help="also write the results to this JSON file")
    evaluate.add_argument("--device", type=device_name, default=None)

    sample = commands.add_parser("sample", help="write a PNG grid of samples from the prior")
    sample.add_argument("checkpoint")
    sample.add_argument("--num", type=positive_int, default=64, help="number of images (default: 64)")
    sample.add_argument("--out", default="samples.png", help="PNG file to write (default: samples.png)")
    sample.add_argument("--seed", type=int, default=0)
    return parser


def _checkpoint_file(path: str) -> Path:
    """The checkpoint a path names: a file, or a run folder that holds checkpoint.pt."""
    path = Path(path)
    if path.is_dir():
        if (path / "checkpoint.pt").is_file():
            return path / "checkpoint.pt"
        raise UsageError(f"{path} is a folder without a checkpoint.pt; pass a checkpoint file, e.g. RUN/checkpoint.pt")
    return path


def _load(path: str, device=None):
    try:
        return load_checkpoint(_checkpoint_file(path), map_location=device or "cpu")
    except (FileNotFoundError, CheckpointError) as error:
        raise UsageError(str(error)) from error


def _check_writable_folder(folder: Path) -> None:
    """Fail before training, not after it, when the output folder cannot be written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"cannot write to {folder} ({error.strerror}); choose a writable --out") from error


def _train_setup(args):
    """Everything that can go wrong because of the arguments, checked before any training.

    Returns (model, train_data, test_data, config, checkpoint_path, epochs_done).
    """
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; --out names a folder for checkpoint.pt, history.json and samples.png")
    if is_main_process():
        _check_writable_folder(out)
    checkpoint_path = out / "checkpoint.pt"
    if args.num_samples > 1 and args.objective != "iwae":
        raise UsageError(f"--num-samples {args.num_samples} applies to --objective iwae; add it, or drop --num-samples")
    if args.objective == "tcvae" and args.prior != "standard":
        raise UsageError("--objective tcvae splits the KL to N(0, I); use it with --prior standard")
    if args.flow_steps < 0:
        raise UsageError(f"--flow-steps must be 0 (no flow) or more, got {args.flow_steps}")
    if args.flow_steps and args.prior != "standard":
        raise UsageError("--flow-steps and --prior are separate model families in this vaelib; choose one")
    if args.flow_steps and args.objective == "tcvae":
        raise UsageError("--objective tcvae splits the KL of a diagonal Gaussian q(z|x); drop --flow-steps")
    if args.flow_hidden != 128 and not args.flow_steps:
        raise UsageError(f"--flow-hidden {args.flow_hidden} applies to a flow; add --flow-steps, or drop --flow-hidden")
    if args.tc_weight != 1.0 and args.objective != "tcvae":
        raise UsageError(f"--tc-weight {args.tc_weight:g} applies to --objective tcvae; add it, or drop --tc-weight")
    likelihood = args.likelihood or data_module.DEFAULT_LIKELIHOODS[args.dataset]
    train_data = data_module.load_dataset(args.dataset, "train", args.data_dir)
    test_data = data_module.load_dataset(args.dataset, "test", args.data_dir)
    if args.limit:
        train_data = train_data.subset(args.limit)
    channels, height, width = train_data.image_shape
    architecture = dict(hidden_channels=tuple(args.hidden_channels), hidden_dim=args.hidden_dim, likelihood=likelihood)
    if args.flow_steps:
        model = IAFVAE(channels, (height, width), args.latent_dim, flow_steps=args.flow_steps,
                       flow_hidden=args.flow_hidden, **architecture)
    elif args.prior == "standard":
        model = ConvVAE(channels, (height, width), args.latent_dim, **architecture)
    else:
        model = PriorVAE(channels, (height, width), args.latent_dim, prior=args.prior,
                         prior_components=args.prior_components, **architecture)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed, beta=args.beta,
        kl_warmup_epochs=args.kl_warmup_epochs, dynamic_binarization=likelihood == "bernoulli" and not args.no_binarize,
        dynamic_dequantization=likelihood != "bernoulli",  # continuous densities see dequantized pixels
        max_seconds=args.max_seconds, device=str(args.device_chosen),
        progress=not args.quiet, progress_bar=False if args.no_progress else None, dataset=args.dataset,
        objective=args.objective, num_samples=args.num_samples, tc_weight=args.tc_weight,
    )
    epochs_done = 0
    if checkpoint_path.exists() and not args.restart:
        try:
            checkpoint = load_checkpoint(checkpoint_path)
        except CheckpointError as error:
            raise UsageError(f"{error}; or pass --restart to start over (it replaces the file after the first epoch)") from error
        differences = resume_differences(checkpoint, model.config, config)
        if differences:
            raise UsageError(
                f"{checkpoint_path} belongs to another run ({'; '.join(differences)}); "
                "pass --restart to start over or choose another --out"
            )
        epochs_done = checkpoint.epoch
    return model, train_data, test_data, config, checkpoint_path, epochs_done


def run_train(args) -> int:
    """Train (or resume) and write checkpoint.pt, history.json and samples.png into --out."""
    if launched_by_torchrun():  # one process per GPU (NCCL), or per CPU share (gloo)
        args.device_chosen = init_distributed(torch.device(args.device).type if args.device else None)
    else:
        args.device_chosen = get_device(args.device, verbose=not args.quiet)
    seed_everything(args.seed)
    model, train_data, test_data, config, checkpoint_path, epochs_done = _train_setup(args)
    out = checkpoint_path.parent
    if epochs_done >= args.epochs:
        if is_main_process():
            print(f"{checkpoint_path} has already trained {epochs_done} epochs (--epochs {args.epochs}): nothing to do. "
                  "Pass a larger --epochs to train further, or --restart to start over.")
        cleanup_distributed()
        return 0
    if args.restart and checkpoint_path.exists() and is_main_process():
        print(f"--restart: starting over; {checkpoint_path} will be replaced after the first epoch")
    try:
        history = fit(model, train_data, test_data, config, checkpoint_path=checkpoint_path, resume=not args.restart)
    except ValueError as error:  # raised while training, not by the arguments
        raise TrainingError(str(error)) from error
    if is_main_process():
        atomic_write_text(out / "history.json", json.dumps(history, indent=2))
        save_image_grid(model.sample(64, generator=torch.Generator(model.device).manual_seed(args.seed)), out / "samples.png")
        trained = len(history) - epochs_done
        print(f"trained {trained} epoch{'s' if trained != 1 else ''} ({len(history)} in all); "
              f"wrote {checkpoint_path}, {out / 'history.json'} and {out / 'samples.png'}")
    cleanup_distributed()
    return 0


def _estimate_evaluation_seconds(model, images, args) -> float:
    """Time one batch of the importance-sampled estimate and scale it to the whole test set."""
    batch = to_float(images[: args.batch_size]).to(model.device)
    start = time.perf_counter()
    iwae_log_likelihood(model, batch, args.importance_samples)
    return (time.perf_counter() - start) * len(images) / len(batch)


def run_evaluate(args) -> int:
    """Print (and optionally save) test ELBO, its terms and the IWAE log-likelihood."""
    device = get_device(args.device, verbose=False)
    checkpoint = _load(args.checkpoint, device)
    model = checkpoint.model.eval()
    dataset = args.dataset or checkpoint.train_config.get("dataset")
    if dataset is None:
        raise UsageError("the checkpoint does not record its data set; pass --dataset")
    if args.json:
        _check_writable_folder(Path(args.json).parent)
    images = data_module.load_dataset(dataset, "test", args.data_dir).images
    if args.limit:
        images = images[: args.limit]
    config = TrainConfig(**checkpoint.train_config)
    images = prepare_test_images(images, config)
    seed_everything(args.seed)
    estimate = _estimate_evaluation_seconds(model, images, args)
    if estimate > 60:
        print(f"estimated time for K={args.importance_samples} on {len(images)} images: about {estimate / 60:.0f} minutes "
              "on this device; use --limit N or a smaller -k for a quicker estimate", file=sys.stderr)
    results = {"checkpoint": str(args.checkpoint), "dataset": dataset, "num_images": len(images)}
    results["protocol"] = evaluation_protocol(config)
    dequantized = config.dynamic_dequantization
    results["elbo"] = evaluate_elbo(model, images, seed=args.seed, dequantized=dequantized)
    results["iwae"] = evaluate_log_likelihood(model, images, args.importance_samples, args.batch_size,
                                              progress=sys.stderr.isatty(), dequantized=dequantized)
    elbo, iwae = results["elbo"], results["iwae"]
    print(f"{dataset} test set, {len(images)} images (nats per image; bits per dimension in brackets)")
    print(f"  protocol: {results['protocol']}")
    print(f"  ELBO            {elbo['elbo']:9.2f}   (reconstruction {elbo['recon']:.2f}, KL {elbo['kl']:.2f}) [{elbo['bits_per_dim']:.4f}]")
    print(f"  log p(x), K={args.importance_samples:<5} {iwae['log_likelihood']:9.2f} +- {iwae['standard_error']:.2f}   [{iwae['bits_per_dim']:.4f}]")
    if args.json:
        atomic_write_text(args.json, json.dumps(results, indent=2))
        print(f"wrote {args.json}")
    return 0


def run_sample(args) -> int:
    """Write a PNG grid of prior samples."""
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"the output file must end in .png, got {out.name}")
    checkpoint = _load(args.checkpoint)
    _check_writable_folder(out.parent)  # Path("grid.png").parent is Path(".")
    images = checkpoint.model.eval().sample(args.num, generator=torch.Generator().manual_seed(args.seed))
    path = save_image_grid(images, out, nrow=max(1, int(args.num**0.5)))
    print(f"wrote {path}")
    return 0


class TrainingError(Exception):
    """Training failed for a reason found while it ran (not in the arguments): exit code 1."""


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (0 success, 1 failure while running, 2 usage error, 130 interrupted).

    Every error is one line on stderr that names the problem and the fix; set VAELIB_DEBUG=1 for tracebacks.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"train": run_train, "evaluate": run_evaluate, "sample": run_sample}
    name = f"vaelib {args.command}"
    try:
        return handlers[args.command](args)
    except (UsageError, data_module.DatasetNotFoundError, ValueError) as error:
        return _fail(name, "error", error, 2)
    except (NonFiniteLossError, TrainingError) as error:
        return _fail(name, "training stopped", error, 1)
    except CheckpointError as error:
        return _fail(name, "error", error, 1)
    except OSError as error:  # disk full, permissions changed while running...
        detail = f"{error.strerror or error} ({error.filename})" if error.filename else str(error)
        return _fail(name, "could not write or read a file", detail + "; existing files were left as they were; "
                     "fix the cause and run the same command again", 1)
    except KeyboardInterrupt:
        resume = " run the same command again to resume from the last checkpoint" if args.command == "train" else ""
        print(f"\n{name}: interrupted;{resume}", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: still one line, with a way to see the traceback
        if os.environ.get("VAELIB_DEBUG"):
            raise
        return _fail(name, "unexpected error", f"{type(error).__name__}: {error} (set VAELIB_DEBUG=1 for the traceback "
                     "and please report it)", 1)


def _fail(name: str, kind: str, error, code: int) -> int:
    print(f"{name}: {kind}: {error}", file=sys.stderr)
    return code
