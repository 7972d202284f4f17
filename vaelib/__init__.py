"""vaelib: a small, tested Variational Autoencoder library for the VAE book.

The public names below are what the notebooks, scripts and the command line use.
"""

import os

# torch's CPU threads (OpenMP) busy-wait between operations by default. On a machine where
# anything else runs, a notebook kernel, a test or a build beside training, the spinning threads
# take the cores from each other: a training step measured 3 to 10 times slower with 2 threads
# than with 1. Waiting passively costs little on an idle machine. OpenMP reads this once, when
# torch is first imported, so it takes effect when vaelib is imported before torch (the command
# line, the scripts); the book and the tests set it for their kernels (book/_ext, tests/conftest.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import VAEConfig
from .data import (
    DatasetNotFoundError,
    ImageData,
    binarize,
    binarize_once,
    check_images,
    dequantize,
    dequantize_once,
    iterate_batches,
    load_dataset,
    resolve_data_dir,
    to_float,
)
from .display import glue, show_table, table_html
from .disentanglement import factor_predictability, mutual_information_gap, mutual_information_matrix
from .evaluation import bits_per_dim, evaluate_elbo, evaluate_log_likelihood, iwae_log_likelihood, latent_usage
from .generation import encode_means, interpolate, latent_traversal, lerp, manifold_grid, slerp
from .files import atomic_write, atomic_write_text, save_image_grid
from .losses import (
    ELBOTerms,
    bernoulli_nll,
    continuous_bernoulli_nll,
    elbo_loss,
    gaussian_kl,
    gaussian_kl_per_dim,
    gaussian_log_prob,
    gaussian_nll,
    reconstruction_nll,
)
from .model import ConvVAE, describe_layers
from .families import MODEL_FAMILIES, build_model
from .priors import PriorVAE, PriorVAEConfig
from .flows import IAFVAE, IAFVAEConfig, InverseAutoregressiveFlow
from .objectives import OBJECTIVES, iwae_loss, kl_decomposition, objective_terms, tcvae_loss
from .plotting import plot_history, plot_latent_scatter, show_images
from .pretrained import (
    RECIPES,
    Recipe,
    available_pretrained,
    load_pretrained,
    load_run_summary,
    run_summary,
    train_pretrained,
)
from .shapes import generate_shapes, render_shapes
from .training import NonFiniteLossError, TrainConfig, fit, kl_weight, learning_rate
from .utils import get_device, is_smoke_mode, seed_everything

__version__ = "0.3.0"

__all__ = [
    "atomic_write",
    "atomic_write_text",
    "available_pretrained",
    "bernoulli_nll",
    "binarize",
    "binarize_once",
    "bits_per_dim",
    "check_images",
    "Checkpoint",
    "CheckpointError",
    "continuous_bernoulli_nll",
    "ConvVAE",
    "build_model",
    "MODEL_FAMILIES",
    "PriorVAE",
    "IAFVAE",
    "IAFVAEConfig",
    "InverseAutoregressiveFlow",
    "PriorVAEConfig",
    "DatasetNotFoundError",
    "dequantize",
    "dequantize_once",
    "describe_layers",
    "elbo_loss",
    "ELBOTerms",
    "encode_means",
    "evaluate_elbo",
    "evaluate_log_likelihood",
    "fit",
    "generate_shapes",
    "gaussian_kl",
    "glue",
    "gaussian_kl_per_dim",
    "gaussian_log_prob",
    "gaussian_nll",
    "get_device",
    "ImageData",
    "interpolate",
    "is_smoke_mode",
    "iterate_batches",
    "iwae_log_likelihood",
    "iwae_loss",
    "kl_decomposition",
    "OBJECTIVES",
    "objective_terms",
    "kl_weight",
    "learning_rate",
    "latent_traversal",
    "lerp",
    "latent_usage",
    "load_checkpoint",
    "load_dataset",
    "load_pretrained",
    "load_run_summary",
    "manifold_grid",
    "factor_predictability",
    "mutual_information_gap",
    "mutual_information_matrix",
    "NonFiniteLossError",
    "plot_history",
    "plot_latent_scatter",
    "Recipe",
    "RECIPES",
    "reconstruction_nll",
    "render_shapes",
    "tcvae_loss",
    "resolve_data_dir",
    "run_summary",
    "save_checkpoint",
    "save_image_grid",
    "seed_everything",
    "show_images",
    "show_table",
    "slerp",
    "table_html",
    "to_float",
    "train_pretrained",
    "TrainConfig",
    "VAEConfig",
]
