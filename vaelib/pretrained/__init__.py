"""The pretrained models: one registry of recipes, and the checkpoints trained from them.

Each name maps to a :class:`Recipe`: the data set, the model config, the training config and a
description. The checkpoints ``<name>.pt`` beside this module (float16 weights) were trained
from these recipes by ``benchmarks/train_pretrained.py``; :func:`load_pretrained` returns the
shipped model, or trains one with the same recipe when the file is missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..checkpoint import Checkpoint, load_checkpoint
from ..data import load_dataset, to_float
from ..evaluation import evaluate_elbo
from ..families import build_model
from ..training import TrainConfig, fit, prepare_test_images
from ..utils import is_smoke_mode

PRETRAINED_DIR = Path(__file__).parent
SMOKE_TRAIN_IMAGES = 512  # what a smoke-mode stand-in trains on when a checkpoint is missing


@dataclass(frozen=True)
class Recipe:
    """How one pretrained model is made.

    Attributes:
        description: one line for readers.
        dataset: the training data's name (see :func:`vaelib.load_dataset`).
        model: keyword arguments of :class:`vaelib.ConvVAE`.
        train: keyword arguments of :class:`vaelib.TrainConfig` (``dataset`` is added).
        train_images: train on the first this many training images (None: all of them).
        ships: what the package ships: "weights" (a checkpoint ``<name>.pt``) or "summary" (only
            ``<name>.json``, the history and measurements a chapter plots; see :func:`run_summary`).
        family: the model family (see :mod:`vaelib.families`): "conv-vae" or "prior-vae".
        starts_from: fine-tune: training starts from the shipped weights of this recipe (same
            ``model``), and the checkpoint's history holds only the fine-tuning epochs.
    """

    description: str
    dataset: str
    model: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    train_images: int | None = None
    ships: str = "weights"
    starts_from: str | None = None
    family: str = "conv-vae"

    def train_config(self, **overrides) -> TrainConfig:
        """The recipe's :class:`TrainConfig`, with ``overrides`` applied."""
        return TrainConfig(**{**self.train, "dataset": self.dataset, **overrides})


# The three colour-shapes models share one network and one training set-up; only the loss differs.
_SHAPES_MODEL = dict(in_channels=3, image_size=64, latent_dim=10, hidden_channels=(32, 32, 64, 64), hidden_dim=256,
                     likelihood="continuous-bernoulli")
_SHAPES_TRAIN = dict(epochs=40, batch_size=32, lr=1e-3, lr_final=1e-5, dynamic_binarization=False,
                     dynamic_dequantization=True)

RECIPES = {
    "mnist": Recipe(
        "MNIST, Bernoulli decoder, 20-D latent space: the book's main model",
        "mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=20, hidden_dim=256),
        train=dict(epochs=30, batch_size=128, lr=1e-3, dynamic_binarization=True),
    ),
    "mnist-large": Recipe(
        "MNIST, Bernoulli decoder, 32-D latent space, wider layers, long training with KL warm-up and "
        "cosine learning-rate decay: the likelihood benchmark's model",
        "mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=32, hidden_dim=512),
        train=dict(epochs=100, batch_size=128, lr=1e-3, lr_final=1e-5, kl_warmup_epochs=10, dynamic_binarization=True),
    ),
    "mnist-2d": Recipe(
        "MNIST, Bernoulli decoder, 2-D latent space: for the manifold grid and scatter plots",
        "mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=2, hidden_dim=128),
        train=dict(epochs=20, batch_size=128, lr=1e-3, dynamic_binarization=True),
    ),
    "fashion-mnist": Recipe(
        "Fashion-MNIST gray levels, dequantized, continuous Bernoulli decoder, 20-D latent space",
        "fashion-mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=20, hidden_dim=128, likelihood="continuous-bernoulli"),
        train=dict(epochs=15, batch_size=128, lr=1e-3, dynamic_binarization=False, dynamic_dequantization=True),
    ),
    "frey-face": Recipe(
        "Frey Face (28x20), dequantized, Gaussian decoder predicting mean and variance from z, 10-D latent space",
        "frey-face",
        model=dict(in_channels=1, image_size=(28, 20), latent_dim=10, hidden_dim=128, likelihood="gaussian",
                   gaussian_variance="decoder", min_log_var=-10.0),
        train=dict(epochs=300, batch_size=100, lr=1e-3, dynamic_binarization=False, dynamic_dequantization=True,
                   kl_warmup_epochs=30),
    ),
    "frey-face-per-pixel": Recipe(
        "Frey Face as frey-face, but one learned variance per pixel shared by all faces, 60 epochs: "
        "chapter 8's comparison of the two Gaussian decoders",
        "frey-face",
        model=dict(in_channels=1, image_size=(28, 20), latent_dim=10, hidden_dim=128, likelihood="gaussian",
                   gaussian_variance="per-pixel", min_log_var=-10.0),
        train=dict(epochs=60, batch_size=100, lr=1e-3, dynamic_binarization=False, dynamic_dequantization=True,
                   kl_warmup_epochs=30),
    ),
    "shapes": Recipe(
        "Colour shapes (3x64x64, known factors), dequantized, continuous Bernoulli decoder, four stride-2 "
        "convolutions, 10-D latent space, beta = 1",
        "shapes",
        model=dict(_SHAPES_MODEL),
        train=dict(_SHAPES_TRAIN),
    ),
    "shapes-beta4": Recipe(
        "The colour-shapes model trained with beta = 4 (a beta-VAE): a heavier KL term",
        "shapes",
        model=dict(_SHAPES_MODEL),
        train=dict(_SHAPES_TRAIN, beta=4.0),
    ),
    "shapes-tcvae": Recipe(
        "The colour-shapes model trained as a beta-TCVAE (Chen et al. 2018): only the total "
        "correlation of the code weighted more, by 6",
        "shapes",
        model=dict(_SHAPES_MODEL),
        train=dict(_SHAPES_TRAIN, objective="tcvae", tc_weight=6.0),
    ),
    "mnist-large-vamp-iwae": Recipe(
        "mnist-large fine-tuned with a VampPrior of 200 pseudo-inputs (Tomczak & Welling 2018) on the "
        "importance-weighted bound with 5 codes per image (Burda et al. 2016): the book's best MNIST model",
        "mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=32, hidden_dim=512, prior="vamp",
                   prior_components=200),
        train=dict(epochs=30, batch_size=128, lr=3e-4, lr_final=1e-5, objective="iwae", num_samples=5,
                   dynamic_binarization=True),
        starts_from="mnist-large",
        family="prior-vae",
    ),
}

# Chapter 5's beta sweep: five small models trained alike but for the KL term. Only their
# summaries ship (a few kB each); `python benchmarks/train_pretrained.py kl-beta-4` re-runs one.
_KL_SWEEP = {
    "kl-beta-0.5": ("beta = 0.5", dict(beta=0.5)),
    "kl-beta-1": ("beta = 1, the ELBO", dict(beta=1.0)),
    "kl-beta-1-warmup": ("beta = 1 with KL warm-up over 3 epochs", dict(beta=1.0, kl_warmup_epochs=3)),
    "kl-beta-4": ("beta = 4", dict(beta=4.0)),
    "kl-beta-16": ("beta = 16", dict(beta=16.0)),
}
for _name, (_what, _train) in _KL_SWEEP.items():
    RECIPES[_name] = Recipe(
        f"chapter 5's beta sweep, {_what}: MNIST, 16-D latent space, 6 epochs on 20,000 images",
        "mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=16, hidden_dim=128),
        train=dict(epochs=6, batch_size=128, lr=1e-3, dynamic_binarization=True, **_train),
        train_images=20_000,
        ships="summary",
    )

# Chapter 10's variants: one small architecture, the same 10 epochs, five ways of training it.
_BEYOND = {
    "small-elbo": ("the ELBO, prior N(0, I)", {}, dict(objective="elbo")),
    "small-iwae": ("the importance-weighted bound with k = 5, prior N(0, I)", {},
                   dict(objective="iwae", num_samples=5)),
    "small-mixture": ("the ELBO, a learned mixture of 100 Gaussians as the prior",
                      dict(prior="mixture", prior_components=100), dict(objective="elbo")),
    "small-vamp": ("the ELBO, a VampPrior of 100 pseudo-inputs", dict(prior="vamp", prior_components=100),
                   dict(objective="elbo")),
    "small-iaf": ("the ELBO, q(z|x) an inverse autoregressive flow of 4 steps, prior N(0, I)",
                  dict(flow_steps=4, flow_hidden=128), dict(objective="elbo")),
}
_FAMILY_OF_SETTING = {"prior": "prior-vae", "flow_steps": "iaf-vae"}  # a model setting -> its family
for _name, (_what, _prior, _train) in _BEYOND.items():
    RECIPES[_name] = Recipe(
        f"chapter 10's comparison, {_what}: MNIST, 16-D latent space, 64 hidden units, 10 epochs",
        "mnist",
        model=dict(in_channels=1, image_size=28, latent_dim=16, hidden_dim=64, **_prior),
        train=dict(epochs=10, batch_size=128, lr=1e-3, dynamic_binarization=True, **_train),
        family=next((_FAMILY_OF_SETTING[key] for key in _prior if key in _FAMILY_OF_SETTING), "conv-vae"),
    )

#: The test images a run summary measures: the first ones of MNIST's test set, binarized once (seed 0).
SUMMARY_TEST_IMAGES = 2000
SUMMARY_RECONSTRUCTIONS = 10


def _recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"no pretrained model named {name!r}; choose one of {', '.join(RECIPES)}")
    return RECIPES[name]


def pretrained_path(name: str) -> Path:
    """The file of a shipped checkpoint (it may not exist in a source checkout that lacks weights)."""
    _recipe(name)
    return PRETRAINED_DIR / f"{name}.pt"


def available_pretrained() -> list[str]:
    """Names of the shipped checkpoints that are present."""
    return [name for name in RECIPES if RECIPES[name].ships == "weights" and pretrained_path(name).exists()]


def train_pretrained(name: str, epochs: int | None = None, limit: int | None = None, device=None,
                     progress: bool = True, data_dir=None, checkpoint_path=None) -> Checkpoint:
    """Train a model from its recipe and return it as a :class:`Checkpoint` (nothing is written).

    Args:
        epochs: override the recipe's number of epochs.
        limit: train on the first ``limit`` images only.
        checkpoint_path: save a full-precision checkpoint there after every epoch and resume
            from it if it exists (long runs survive interruption).
    The checkpoint's ``metrics`` hold the test ELBO (see :func:`vaelib.evaluate_elbo`).
    """
    recipe = _recipe(name)
    overrides = {"progress": progress, **({"epochs": epochs} if epochs else {}), **({"device": str(device)} if device else {})}
    config = recipe.train_config(**overrides)
    torch.manual_seed(config.seed)
    train_data = load_dataset(recipe.dataset, "train", data_dir)
    test_data = load_dataset(recipe.dataset, "test", data_dir)
    limit = limit or recipe.train_images
    if limit:
        train_data = train_data.subset(limit)
    model = build_model(recipe.model, recipe.family)
    if recipe.starts_from:
        start = load_pretrained(recipe.starts_from).model.state_dict()
        # The shared encoder and decoder must all be there; a learned prior's own parameters may be new.
        missing, _ = model.load_state_dict(start, strict=False)
        if any(not key.startswith(("prior_", "pseudo_")) for key in missing) or set(start) - set(model.state_dict()):
            raise ValueError(f"{name!r} cannot start from {recipe.starts_from!r}: the models differ")
    if getattr(model.config, "prior", None) == "vamp":  # pseudo-inputs start at training images
        model.initialise_pseudo_inputs(to_float(train_data.images[: model.config.prior_components]))
    history = fit(model, train_data, test_data, config, checkpoint_path=checkpoint_path)
    # A continuous density on dequantized 8-bit pixels becomes a likelihood of the data with the log 256 term.
    metrics = evaluate_elbo(model, prepare_test_images(test_data.images, config), seed=config.seed,
                            dequantized=config.dynamic_dequantization)
    return Checkpoint(model=model.eval(), history=history, metrics=metrics, train_config=asdict(config), epoch=len(history))


def load_pretrained(name: str, device: str | torch.device = "cpu", train_if_missing: bool = True) -> Checkpoint:
    """A shipped model: ``load_pretrained("mnist").model`` is a trained ConvVAE in eval mode.

    When the checkpoint file is missing (a source checkout without weights) and
    ``train_if_missing`` is true, the model is trained here from the same recipe (in smoke
    mode, one epoch on a few hundred images: a stand-in, not the real model).
    """
    if _recipe(name).ships != "weights":
        raise ValueError(f"only the summary of {name!r} ships, not its weights: use vaelib.load_run_summary({name!r}), "
                         f"or train the model with vaelib.train_pretrained({name!r})")
    path = pretrained_path(name)
    if path.exists():
        checkpoint = load_checkpoint(path, map_location=device)
        checkpoint.model.eval()
        return checkpoint
    if not train_if_missing:
        raise FileNotFoundError(
            f"the pretrained checkpoint {path.name} is missing from {PRETRAINED_DIR}; "
            f"train it with: python benchmarks/train_pretrained.py {name}"
        )
    checkpoint = _train_missing(name, "weights", device)
    checkpoint.model.to(device)
    return checkpoint


def _train_missing(name: str, what: str, device) -> Checkpoint:
    """Train a recipe whose shipped file is missing (in smoke mode, a small stand-in)."""
    smoke = is_smoke_mode()
    print(f"no shipped {what} for {name!r}: training from the recipe" + (" (smoke mode: a small stand-in)" if smoke else ""))
    return train_pretrained(name, epochs=1 if smoke else None, limit=SMOKE_TRAIN_IMAGES if smoke else None,
                            device=device, progress=False)


def summary_path(name: str) -> Path:
    """The file of a shipped run summary (recipes with ``ships="summary"``)."""
    _recipe(name)
    return PRETRAINED_DIR / f"{name}.json"


def run_summary(name: str, checkpoint: Checkpoint) -> dict:
    """What a chapter plots of a trained run, as plain numbers (JSON-ready).

    Measured on the first SUMMARY_TEST_IMAGES test images binarized once with seed 0:
    ``test`` (evaluate_elbo with seed 0: elbo, recon, kl, bits_per_dim), the latent usage of
    :func:`vaelib.latent_usage` (lists of J numbers), and ``reconstructions``: the first
    SUMMARY_RECONSTRUCTIONS test images' reconstructions from the posterior mean, as
    uint8 gray levels (N, C, H, W) in nested lists. Also the recipe and the training history.
    """
    from ..evaluation import latent_usage

    recipe = _recipe(name)
    model = checkpoint.model.float().cpu().eval()
    images = load_dataset(recipe.dataset, "test").images[:SUMMARY_TEST_IMAGES]
    test = prepare_test_images(images, recipe.train_config())
    usage = latent_usage(model, test)
    reconstructions = model.reconstruct(test[:SUMMARY_RECONSTRUCTIONS].float())
    return {
        "name": name,
        "recipe": asdict(recipe),
        "test_images": f"the first {len(test)} MNIST test images, binarized once (seed 0)",
        "test": evaluate_elbo(model, test, seed=0),
        **{key: value.tolist() for key, value in usage.items()},
        "reconstructions": (reconstructions * 255).round().to(torch.uint8).tolist(),
        "history": checkpoint.history,
    }


def load_run_summary(name: str, train_if_missing: bool = True) -> dict:
    """A shipped run summary (see :func:`run_summary`): ``load_run_summary("kl-beta-4")["test"]``.

    When the file is missing and ``train_if_missing`` is true, the run is trained here from its
    recipe and summarised (in smoke mode, one epoch on a few hundred images: a stand-in).
    """
    import json

    path = summary_path(name)
    if path.exists():
        return json.loads(path.read_text())
    if not train_if_missing:
        raise FileNotFoundError(
            f"the run summary {path.name} is missing from {PRETRAINED_DIR}; "
            f"make it with: python benchmarks/train_pretrained.py {name}"
        )
    return run_summary(name, _train_missing(name, "summary", "cpu"))
