"""Checkpoints: identical outputs after a round trip, atomic writes, clear errors."""

import pytest
import torch

import vaelib
from vaelib.files import atomic_write


def test_round_trip_restores_identical_outputs(tmp_path, small_model):
    x = torch.rand(4, 1, 28, 28)
    history = [{"epoch": 1, "train_loss": 123.0}]
    path = vaelib.save_checkpoint(tmp_path / "model.pt", small_model, history, metrics={"elbo": -100.0})
    loaded = vaelib.load_checkpoint(path)
    assert loaded.model.config == small_model.config
    assert loaded.history == history and loaded.metrics == {"elbo": -100.0} and loaded.epoch == 1
    eps = torch.randn(4, 4)
    for a, b in zip(small_model(x, eps), loaded.model(x, eps)):
        assert torch.equal(a, b)


def test_checkpoint_loads_with_weights_only(tmp_path, small_model):
    path = vaelib.save_checkpoint(tmp_path / "model.pt", small_model)
    payload = torch.load(path, weights_only=True)
    assert payload["model_config"]["latent_dim"] == 4 and "state_dict" in payload


def test_half_precision_checkpoint_is_smaller_and_close(tmp_path, small_model):
    full = vaelib.save_checkpoint(tmp_path / "full.pt", small_model)
    half = vaelib.save_checkpoint(tmp_path / "half.pt", small_model, half_precision=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    model = vaelib.load_checkpoint(half).model
    assert next(model.parameters()).dtype == torch.float32
    z = torch.randn(3, 4)
    torch.testing.assert_close(model.decode(z), small_model.decode(z), atol=1e-2, rtol=1e-2)


def test_corrupt_checkpoint_raises_clear_error(tmp_path, small_model):
    path = vaelib.save_checkpoint(tmp_path / "model.pt", small_model)
    path.write_bytes(path.read_bytes()[:200])  # truncated, as by a crash during a non-atomic copy
    with pytest.raises(vaelib.CheckpointError, match="truncated or corrupt"):
        vaelib.load_checkpoint(path)


def test_foreign_torch_file_is_not_a_checkpoint(tmp_path, small_model):
    path = tmp_path / "weights.pt"
    torch.save(small_model.state_dict(), path)
    with pytest.raises(vaelib.CheckpointError, match="not a vaelib checkpoint"):
        vaelib.load_checkpoint(path)


def test_missing_checkpoint_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        vaelib.load_checkpoint(tmp_path / "nothing.pt")


def test_mismatched_config_raises(tmp_path, small_model):
    path = vaelib.save_checkpoint(tmp_path / "model.pt", small_model)
    other = vaelib.VAEConfig(latent_dim=2, hidden_channels=(8, 16), hidden_dim=32)
    with pytest.raises(vaelib.CheckpointError, match="latent_dim: 2 != 4"):
        vaelib.load_checkpoint(path, expected_config=other)


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("precious")

    def crash(temporary):
        open(temporary, "w").write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
