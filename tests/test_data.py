"""The real loaders on tiny files in the real formats, the data directory, and clear errors."""

import gzip

import pytest
import torch

import vaelib
from vaelib.data import read_idx


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_idx_loader_reads_tiny_files(tiny_data_dir, name, folder):
    train = vaelib.load_dataset(name, "train", data_dir=tiny_data_dir, download=False)
    test = vaelib.load_dataset(name, "test", data_dir=tiny_data_dir, download=False)
    assert train.images.shape == (64, 1, 28, 28) and train.images.dtype == torch.uint8
    assert test.images.shape == (32, 1, 28, 28) and test.labels.shape == (32,)
    assert len(train.classes) == 10
    raw = read_idx(tiny_data_dir / folder / "raw" / "train-images-idx3-ubyte.gz")
    assert torch.equal(train.images[:, 0], torch.from_numpy(raw.copy()))


def test_uncompressed_idx_files_are_read_too(tiny_data_dir):
    raw = tiny_data_dir / "MNIST" / "raw"
    for gz in raw.glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    assert len(vaelib.load_dataset("mnist", "train", data_dir=tiny_data_dir, download=False)) == 64


def test_frey_face_loader_splits_and_orients(tiny_data_dir):
    train = vaelib.load_dataset("frey-face", "train", data_dir=tiny_data_dir)
    test = vaelib.load_dataset("frey-face", "test", data_dir=tiny_data_dir)
    assert train.images.shape[1:] == (1, 28, 20) and train.labels is None
    assert len(train) + len(test) == 50 and len(test) == 5
    from scipy.io import loadmat

    faces = loadmat(tiny_data_dir / "FreyFace" / "frey_rawface.mat")["ff"]
    all_images = {tuple(img.flatten().tolist()) for img in torch.cat([train.images, test.images])}
    # column j of the file, read row by row, is one upright 28x20 image
    assert tuple(faces[:, 0].tolist()) in all_images


def test_missing_dataset_error_names_folder_and_files(tmp_path):
    with pytest.raises(vaelib.DatasetNotFoundError) as info:
        vaelib.load_dataset("mnist", "train", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte.gz" in message and "VAELIB_DATA_DIR" in message
    with pytest.raises(vaelib.DatasetNotFoundError, match="frey_rawface.mat"):
        vaelib.load_dataset("frey-face", data_dir=tmp_path, download=False)


def test_failed_download_is_reported_as_missing_dataset(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(vaelib.data, "_download_with_torchvision", no_network)
    monkeypatch.setattr(vaelib.data, "_download_frey_face", no_network)
    with pytest.raises(vaelib.DatasetNotFoundError, match="download failed: network unreachable"):
        vaelib.load_dataset("fashion-mnist", "test", data_dir=tmp_path, download=True)
    with pytest.raises(vaelib.DatasetNotFoundError, match="failed: network unreachable"):
        vaelib.load_dataset("frey-face", data_dir=tmp_path, download=True)


def test_corrupt_idx_file_raises_clear_error(tmp_path):
    bad = tmp_path / "bad-idx"
    bad.write_bytes(b"not an idx file")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    truncated = tmp_path / "short"
    truncated.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 10, 1, 2]))
    with pytest.raises(ValueError, match="truncated"):
        read_idx(truncated)


def test_unknown_dataset_and_split_raise():
    with pytest.raises(ValueError, match="unknown data set"):
        vaelib.load_dataset("imagenet")
    with pytest.raises(ValueError, match="split"):
        vaelib.load_dataset("mnist", "validation")


def test_data_dir_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("VAELIB_DATA_DIR", str(tmp_path / "from-env"))
    assert vaelib.resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert vaelib.resolve_data_dir() == tmp_path / "from-env"
    monkeypatch.delenv("VAELIB_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert vaelib.resolve_data_dir() == tmp_path / "cache" / "vaelib" / "data"


def test_environment_variable_is_used_by_the_loader(tiny_data_dir, monkeypatch):
    monkeypatch.setenv("VAELIB_DATA_DIR", str(tiny_data_dir))
    assert len(vaelib.load_dataset("mnist", "test", download=False)) == 32


def test_binarization_is_binary_with_the_right_mean_and_fixed_by_seed():
    gray = torch.full((2000, 1, 8, 8), 0.3)
    once = vaelib.binarize_once(gray, seed=5)
    assert set(once.unique().tolist()) <= {0.0, 1.0}
    assert abs(once.mean().item() - 0.3) < 0.01
    assert torch.equal(once, vaelib.binarize_once(gray, seed=5))
    assert not torch.equal(once, vaelib.binarize_once(gray, seed=6))


def test_iterate_batches_visits_every_image_once_as_float():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 8, 8).contiguous()
    batches = list(vaelib.iterate_batches(images, 4, generator=torch.Generator().manual_seed(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[:, 0, 0, 0] for b in batches]) * 255
    assert sorted(seen.round().tolist()) == list(range(10))
    assert batches[0].dtype == torch.float32
