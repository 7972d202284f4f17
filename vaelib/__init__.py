"""vaelib: a small, tested Variational Autoencoder library for the VAE book.

The public names below are what the notebooks, scripts and the command line use.
"""

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from .config import VAEConfig
from .data import (
    DatasetNotFoundError,
    ImageData,
    binarize,
    binarize_once,
    iterate_batches,
    load_dataset,
    resolve_data_dir,
    to_float,
)
from .evaluation import bits_per_dim, evaluate_elbo, evaluate_log_likelihood, iwae_log_likelihood
from .generation import encode_means, interpolate, latent_traversal, lerp, manifold_grid, slerp
from .losses import ELBOTerms, bernoulli_nll, elbo_loss, gaussian_kl, gaussian_kl_per_dim, gaussian_nll
from .model import ConvVAE, describe_layers
from .plotting import plot_history, plot_latent_scatter, show_images
from .pretrained import available_pretrained, load_pretrained
from .training import NonFiniteLossError, TrainConfig, fit
from .utils import get_device, is_smoke_mode, seed_everything

__version__ = "0.1.0"

__all__ = [
    "Checkpoint", "CheckpointError", "ConvVAE", "DatasetNotFoundError", "ELBOTerms", "ImageData",
    "NonFiniteLossError", "TrainConfig", "VAEConfig", "available_pretrained", "bernoulli_nll", "binarize",
    "binarize_once", "bits_per_dim", "describe_layers", "elbo_loss", "encode_means", "evaluate_elbo",
    "evaluate_log_likelihood", "fit", "gaussian_kl", "gaussian_kl_per_dim", "gaussian_nll", "get_device",
    "interpolate", "is_smoke_mode", "iterate_batches", "iwae_log_likelihood", "latent_traversal", "lerp",
    "load_checkpoint", "load_dataset", "load_pretrained", "manifold_grid", "plot_history",
    "plot_latent_scatter", "resolve_data_dir", "save_checkpoint", "seed_everything", "show_images", "slerp",
    "to_float",
]
