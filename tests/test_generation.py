"""Interpolation, traversals, the manifold grid and the plotting helpers."""

import matplotlib
import pytest
import torch

import vaelib

matplotlib.use("Agg")


def test_lerp_and_slerp_start_and_end_at_the_codes():
    z_a, z_b = torch.randn(6), torch.randn(6)
    for path in (vaelib.lerp(z_a, z_b, 7), vaelib.slerp(z_a, z_b, 7)):
        assert path.shape == (7, 6)
        torch.testing.assert_close(path[0], z_a)
        torch.testing.assert_close(path[-1], z_b)


def test_slerp_keeps_the_norm_between_equal_norm_codes():
    z_a = torch.tensor([3.0, 0.0])
    z_b = torch.tensor([0.0, 3.0])
    torch.testing.assert_close(vaelib.slerp(z_a, z_b, 5).norm(dim=1), torch.full((5,), 3.0))
    assert vaelib.lerp(z_a, z_b, 5).norm(dim=1)[2] < 2.2  # the straight line cuts through the middle


def test_interpolate_traversal_and_grid_shapes(small_model):
    x = torch.rand(2, 1, 28, 28)
    for method in ("linear", "spherical"):
        images = vaelib.interpolate(small_model, x[0], x[1], steps=5, method=method)
        assert images.shape == (5, 1, 28, 28)
        torch.testing.assert_close(images[0], small_model.reconstruct(x[:1])[0])
    with pytest.raises(ValueError, match="linear"):
        vaelib.interpolate(small_model, x[0], x[1], method="cubic")
    traversal = vaelib.latent_traversal(small_model, torch.zeros(4), dims=[0, 2], values=[-2, 0, 2])
    assert traversal.shape == (2, 3, 1, 28, 28)
    torch.testing.assert_close(traversal[0, 1], traversal[1, 1])  # both rows pass through z = 0


def test_manifold_grid_needs_two_latent_dimensions(small_model):
    with pytest.raises(ValueError, match="2-D latent space"):
        vaelib.manifold_grid(small_model)
    model = vaelib.ConvVAE(1, 28, latent_dim=2, hidden_channels=(8,), hidden_dim=8)
    grid = vaelib.manifold_grid(model, n=6)
    assert grid.shape == (6, 6, 1, 28, 28)


def test_plotting_helpers_return_figures(small_model):
    from matplotlib.figure import Figure

    assert isinstance(vaelib.show_images(torch.rand(10, 3, 8, 8), nrow=5, title="t"), Figure)
    history = [{"epoch": e, "train_loss": 1.0, "train_recon": 1.0, "train_kl": 0.1, "test_loss": 1.0, "test_recon": 1.0, "test_kl": 0.1} for e in (1, 2)]
    assert isinstance(vaelib.plot_history(history), Figure)
    means = vaelib.encode_means(small_model, torch.rand(20, 1, 28, 28))
    assert means.shape == (20, 4)
    assert isinstance(vaelib.plot_latent_scatter(means[:, :2], torch.arange(20) % 10), Figure)
    with pytest.raises(ValueError, match="N, C, H, W"):
        vaelib.show_images(torch.rand(8, 8))
