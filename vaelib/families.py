"""The model families, by the name a checkpoint stores: the one place that maps names to classes.

A family is a module beside ``model.py`` (``priors.py`` holds :class:`PriorVAE`, ``flows.py`` :class:`IAFVAE`); it subclasses
:class:`ConvVAE`, sets ``family`` and ``config_class``, and is listed here.
"""

from __future__ import annotations

from .flows import IAFVAE
from .model import ConvVAE
from .priors import PriorVAE

MODEL_FAMILIES = {cls.family: cls for cls in (ConvVAE, PriorVAE, IAFVAE)}


def model_class(family: str) -> type[ConvVAE]:
    """The class of a family name ("conv-vae", "prior-vae", "iaf-vae"); a checkpoint without one is a ConvVAE."""
    if family not in MODEL_FAMILIES:
        raise ValueError(f"unknown model family {family!r}; this vaelib knows {sorted(MODEL_FAMILIES)}")
    return MODEL_FAMILIES[family]


def build_model(config: dict, family: str = "conv-vae") -> ConvVAE:
    """A new model of the family from its config's fields (``model.config.to_dict()``)."""
    return model_class(family)(**config)
