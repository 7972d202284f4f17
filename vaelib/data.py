"""Data sets as in-memory tensors: MNIST, Fashion-MNIST, Frey Face, CIFAR-10 and colour shapes.

Each whole data set is held as one uint8 tensor (MNIST is 47 MB), so a training step
slices a batch and divides by 255: no per-image PIL work in the loop.

The data directory is, in order: the ``data_dir`` argument, the ``VAELIB_DATA_DIR``
environment variable, or a per-user cache folder (``~/.cache/vaelib/data``).
"""

from __future__ import annotations

import gzip
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATA_DIR_ENV_VAR = "VAELIB_DATA_DIR"

# torchvision's folder layout and file names: <root>/MNIST/raw/train-images-idx3-ubyte.gz
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
IDX_DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
FREY_FACE_FILE = "frey_rawface.mat"
FREY_FACE_URL = "https://cs.nyu.edu/~roweis/data/frey_rawface.mat"
FREY_FACE_SHAPE = (28, 20)
FREY_FACE_TEST_FRACTION = 0.1
DATASETS = ("mnist", "fashion-mnist", "frey-face", "cifar10", "shapes")
#: The decoder likelihood that suits each data set: Bernoulli for the (binarized) digits and
#: clothes, a Gaussian for the Frey faces, and the continuous Bernoulli (a proper density on
#: [0, 1]) for 8-bit colour images, which are never binarized.
DEFAULT_LIKELIHOODS = {"mnist": "bernoulli", "fashion-mnist": "bernoulli", "frey-face": "gaussian",
                       "cifar10": "continuous-bernoulli", "shapes": "continuous-bernoulli"}


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are missing and could not be downloaded."""


@dataclass
class ImageData:
    """A whole split of a data set in memory.

    Attributes:
        images: uint8 tensor (N, C, H, W) with values 0..255.
        labels: int64 tensor (N,), or None when the data set has no labels (Frey Face).
        name: the data set's name, e.g. "mnist".
        classes: class names indexed by label, if any.
        factors: float tensor (N, F) of the known generative factors of each image, or None
            (only procedural data have them: "shapes").
        factor_names: the names of the F factor columns.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    name: str
    classes: tuple[str, ...] = ()
    factors: torch.Tensor | None = None
    factor_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W)."""
        return tuple(self.images.shape[1:])

    def subset(self, n: int) -> "ImageData":
        """The first n images (all of them if n is larger)."""
        labels = None if self.labels is None else self.labels[:n]
        factors = None if self.factors is None else self.factors[:n]
        return ImageData(self.images[:n], labels, self.name, self.classes, factors, self.factor_names)

    def float_images(self) -> torch.Tensor:
        """All images as float32 in [0, 1], shape (N, C, H, W)."""
        return to_float(self.images)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images 0..255 -> float32 in [0, 1]; float input is returned as float32 unchanged."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: ``data_dir`` if given, else ``$VAELIB_DATA_DIR``, else ``~/.cache/vaelib/data``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    if os.environ.get(DATA_DIR_ENV_VAR):
        return Path(os.environ[DATA_DIR_ENV_VAR]).expanduser()
    cache_home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache_home / "vaelib" / "data"


# ---------------------------------------------------------------------- IDX (MNIST-style) files
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``), the format of MNIST and Fashion-MNIST, into a uint8 array.

    The header is two zero bytes, a type code (0x08 for unsigned bytes), the number of dimensions,
    then one big-endian int32 per dimension.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number); delete it and download it again")
    type_code, ndim = data[2], data[3]
    if type_code != 0x08:
        raise ValueError(f"{path}: only unsigned-byte IDX files are supported, got type code {type_code:#x}")
    shape = struct.unpack(f">{ndim}i", data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {body.size} bytes; download it again")
    return body.reshape(shape)


def _find_idx_file(raw_dir: Path, stem: str) -> Path | None:
    for candidate in (raw_dir / stem, raw_dir / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def _missing_error(name: str, folder: Path, expected: list[str], reason: str = "") -> DatasetNotFoundError:
    files = ", ".join(expected)
    extra = f" ({reason})" if reason else ""
    return DatasetNotFoundError(
        f"{name} not found in {folder}: expected {files}{extra}. Put the files there, point "
        f"{DATA_DIR_ENV_VAR} (or data_dir=) at a folder that holds them, or pass download=True with a network."
    )


def _download_with_torchvision(name: str, root: Path, train: bool) -> None:
    import torchvision

    cls = {"mnist": torchvision.datasets.MNIST, "fashion-mnist": torchvision.datasets.FashionMNIST}[name]
    cls(str(root), train=train, download=True)


def load_idx_dataset(name: str, split: str = "train", data_dir=None, download: bool = True) -> ImageData:
    """Load MNIST or Fashion-MNIST from torchvision's layout ``<data_dir>/MNIST/raw/*-ubyte[.gz]``.

    Missing files are downloaded through torchvision when ``download`` is true.
    """
    root = resolve_data_dir(data_dir)
    raw_dir = root / IDX_DATASETS[name] / "raw"
    image_stem, label_stem = IDX_FILES[split]
    paths = [_find_idx_file(raw_dir, image_stem), _find_idx_file(raw_dir, label_stem)]
    if None in paths:
        reason = "download=False"
        if download:
            try:
                _download_with_torchvision(name, root, train=split == "train")
            except Exception as error:  # no network, server down...
                reason = f"download failed: {error}"
            paths = [_find_idx_file(raw_dir, image_stem), _find_idx_file(raw_dir, label_stem)]
        if None in paths:
            raise _missing_error(name, raw_dir, [f"{image_stem}.gz", f"{label_stem}.gz"], reason)
    images = torch.from_numpy(read_idx(paths[0]).copy()).unsqueeze(1)  # (N, 28, 28) -> (N, 1, 28, 28)
    labels = torch.from_numpy(read_idx(paths[1]).astype(np.int64))
    if len(images) != len(labels):
        raise ValueError(f"{raw_dir}: {len(images)} images but {len(labels)} labels; the files do not belong together")
    classes = FASHION_CLASSES if name == "fashion-mnist" else tuple(str(d) for d in range(10))
    return ImageData(images, labels, name, classes)


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


# ---------------------------------------------------------------------- Frey Face
def _download_frey_face(path: Path) -> None:
    import urllib.request

    from .files import atomic_write

    with urllib.request.urlopen(FREY_FACE_URL, timeout=60) as response:
        payload = response.read()
    atomic_write(path, lambda temporary: Path(temporary).write_bytes(payload))


def load_frey_face(split: str = "train", data_dir=None, download: bool = True) -> ImageData:
    """Load Frey Face (1965 gray faces, 28 high x 20 wide) from ``<data_dir>/FreyFace/frey_rawface.mat``.

    The file has no train/test split: a fixed random 10% (seed 0) is the test split.
    """
    from scipy.io import loadmat

    folder = resolve_data_dir(data_dir) / "FreyFace"
    path = folder / FREY_FACE_FILE
    if not path.exists():
        reason = "download=False"
        if download:
            try:
                _download_frey_face(path)
            except Exception as error:
                reason = f"download from {FREY_FACE_URL} failed: {error}"
        if not path.exists():
            raise _missing_error("frey-face", folder, [FREY_FACE_FILE], reason)
    faces = loadmat(path)["ff"]  # (560, N): one column per image, flattened row by row
    if faces.shape[0] != FREY_FACE_SHAPE[0] * FREY_FACE_SHAPE[1]:
        raise ValueError(f"{path}: expected 560 pixels per column, got array of shape {faces.shape}")
    images = torch.from_numpy(np.ascontiguousarray(faces.T.reshape(-1, 1, *FREY_FACE_SHAPE)).astype(np.uint8))
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    num_test = max(1, int(round(FREY_FACE_TEST_FRACTION * len(images))))
    chosen = order[:num_test] if split == "test" else order[num_test:]
    return ImageData(images[chosen.sort().values], None, "frey-face")


# ---------------------------------------------------------------------- CIFAR-10
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def _download_cifar10(root: Path) -> None:
    import torchvision

    torchvision.datasets.CIFAR10(str(root), train=True, download=True)  # fetches and extracts all batches


def load_cifar10(split: str = "train", data_dir=None, download: bool = True) -> ImageData:
    """Load CIFAR-10 (3x32x32, 10 classes) from the python batches in ``<data_dir>/cifar-10-batches-py``.

    The files are downloaded through torchvision (163 MB) when missing and ``download`` is true;
    without a network, one :class:`DatasetNotFoundError` says what is missing and how to fix it.
    """
    import pickle

    root = resolve_data_dir(data_dir)
    folder = root / CIFAR10_FOLDER
    needed = [*CIFAR10_FILES[split], "batches.meta"]

    def missing() -> list[str]:
        return [name for name in needed if not (folder / name).exists()]

    if missing():
        reason = "download=False"
        if download:
            try:
                _download_cifar10(root)
            except Exception as error:  # no network, torchvision missing or broken...
                reason = f"download failed: {type(error).__name__}: {error}"
        if missing():
            raise DatasetNotFoundError(
                f"CIFAR-10 is not in {folder} (missing {', '.join(missing())}; {reason}). It is not shipped: "
                f"download it once with a network (vaelib.load_dataset('cifar10', download=True)), or extract "
                f"{CIFAR10_URL} into {root} (or point {DATA_DIR_ENV_VAR} at a folder holding {CIFAR10_FOLDER}). "
                "Offline, vaelib.load_dataset('shapes') gives colour images generated in memory."
            )
    images, labels = [], []
    for name in CIFAR10_FILES[split]:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")  # {"data": (10000, 3072) uint8, "labels": [...]}
        images.append(torch.from_numpy(batch["data"]).view(-1, 3, 32, 32))  # rows are R, G, B planes
        labels.append(torch.tensor(batch["labels"], dtype=torch.int64))
    with open(folder / "batches.meta", "rb") as f:
        classes = tuple(pickle.load(f, encoding="latin1")["label_names"])
    return ImageData(torch.cat(images), torch.cat(labels), "cifar10", classes)


def load_dataset(name: str, split: str = "train", data_dir=None, download: bool = True) -> ImageData:
    """Load a whole split of a data set into memory.

    Args:
        name: "mnist", "fashion-mnist", "frey-face", "cifar10" or "shapes" (colour shapes
            generated in memory with their factors; see :func:`vaelib.generate_shapes`).
        split: "train" or "test".
        data_dir: folder that holds the data; see :func:`resolve_data_dir`.
        download: fetch missing files (MNIST, Fashion-MNIST, CIFAR-10) when a network is available.
    Returns:
        :class:`ImageData` with uint8 images (N, C, H, W).
    """
    name = name.lower().replace("_", "-")
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name in IDX_DATASETS:
        return load_idx_dataset(name, split, data_dir, download)
    if name == "frey-face":
        return load_frey_face(split, data_dir, download)
    if name == "shapes":
        from .shapes import load_shapes  # generated, not read: data_dir and download do not apply

        return load_shapes(split)
    return load_cifar10(split, data_dir, download)


# ---------------------------------------------------------------------- checks, binarization, dequantization
def check_images(images: torch.Tensor, name: str = "images") -> None:
    """Raise ``ValueError`` unless ``images`` is (N, C, H, W), uint8 or float in [0, 1], with no NaN.

    Called once where data enter :func:`vaelib.fit` and the evaluation functions, not at every step.
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(images).__name__}")
    if images.dim() != 4:
        hint = "; add a channel dimension: images.unsqueeze(1)" if images.dim() == 3 else ""
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(images.shape)}{hint}")
    if len(images) == 0:
        raise ValueError(f"{name} is empty: it holds no images")
    if images.dtype == torch.uint8:
        return
    if not images.is_floating_point():
        raise ValueError(f"{name} must be uint8 (0..255) or float in [0, 1], got dtype {images.dtype}")
    low, high = images.min().item(), images.max().item()
    if math.isnan(low) or math.isnan(high) or low < 0 or high > 1:
        hint = " (divide uint8 images by 255)" if high > 1 and not math.isinf(high) else ""
        raise ValueError(f"{name} must lie in [0, 1] with no NaN, got values in [{low:g}, {high:g}]{hint}")


def binarize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw binary images: each pixel is 1 with probability equal to its gray level in [0, 1].

    Dynamic binarization calls this afresh at every step; a fixed test set calls it once with a
    seeded generator. Shapes: (N, C, H, W) -> (N, C, H, W).
    """
    return torch.bernoulli(to_float(images), generator=generator)


def binarize_once(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A fixed binarization of a whole set (for a test set): the same seed gives the same images."""
    return binarize(images, torch.Generator().manual_seed(seed))


def dequantize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform dequantization of 8-bit images: (k + u) / 256 with u ~ U[0, 1), in [0, 1).

    A continuous density p on these values bounds the probability of the discrete image k:
    log P(k) >= E_u[log p((k + u) / 256)] - D log 256 (Theis et al. 2016), so a continuous
    model's numbers become a likelihood of the 8-bit data. Shapes: uint8 (N, C, H, W) -> float.
    """
    if images.dtype != torch.uint8:
        raise ValueError(f"dequantize takes uint8 images (0..255), got dtype {images.dtype}")
    noise = torch.rand(images.shape, generator=generator)
    return (images.float() + noise) / 256


def dequantize_once(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A fixed dequantization of a whole set (for a test set): the same seed gives the same values."""
    return dequantize(images, torch.Generator().manual_seed(seed))


def iterate_batches(
    images: torch.Tensor,
    batch_size: int,
    shuffle: bool = True,
    dynamic_binarization: bool = False,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
    drop_last: bool = False,
    dynamic_dequantization: bool = False,
):
    """Yield float batches (B, C, H, W) in [0, 1] from an in-memory image tensor.

    The one batching helper of the library: training, evaluation and encoding all use it.

    Args:
        images: uint8 or float images (N, C, H, W).
        shuffle: visit the images in a random order drawn from ``generator``.
        dynamic_binarization: replace each batch by a fresh Bernoulli draw (``generator`` too).
        dynamic_dequantization: add fresh uniform noise to each uint8 batch (see :func:`dequantize`).
        device: where the batches go; the slicing happens on the CPU.
    """
    order = torch.randperm(len(images), generator=generator) if shuffle else torch.arange(len(images))
    stop = len(images) - (len(images) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        batch = images[order[start : start + batch_size]]
        if dynamic_dequantization:
            batch = dequantize(batch, generator)
        batch = to_float(batch)
        if dynamic_binarization:
            batch = binarize(batch, generator)
        yield batch.to(device, non_blocking=True)
