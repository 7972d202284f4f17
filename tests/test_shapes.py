"""Colour shapes: a deterministic generator with known factors, its loader, CIFAR-10's offline
error, a 3x64x64 model round trip, and the mutual-information scores against references."""

import math
import pickle

import numpy as np
import pytest
import torch

import vaelib
from vaelib.shapes import FACTOR_NAMES, FACTOR_RANGES, SHAPE_NAMES, hue_to_rgb, sample_shape_factors


@pytest.fixture(scope="module")
def shapes():
    return vaelib.generate_shapes(300, seed=3)


def test_same_seed_same_images_and_factors_other_seed_different(shapes):
    again = vaelib.generate_shapes(300, seed=3)
    assert torch.equal(shapes.images, again.images) and torch.equal(shapes.factors, again.factors)
    other = vaelib.generate_shapes(300, seed=4)
    assert not torch.equal(shapes.images, other.images) and not torch.equal(shapes.factors, other.factors)
    # the first images do not depend on how many are drawn
    assert torch.equal(vaelib.generate_shapes(10, seed=3).images, shapes.images[:10])


def test_shapes_dtypes_and_factor_ranges(shapes):
    assert shapes.images.shape == (300, 3, 64, 64) and shapes.images.dtype == torch.uint8
    assert shapes.factors.shape == (300, 6) and shapes.factors.dtype == torch.float32
    assert shapes.factor_names == FACTOR_NAMES and shapes.classes == SHAPE_NAMES
    assert torch.equal(shapes.labels, shapes.factors[:, 0].long())
    assert set(shapes.labels.tolist()) == {0, 1, 2}
    for k, name in enumerate(FACTOR_NAMES):
        low, high = FACTOR_RANGES[name]
        assert low <= shapes.factors[:, k].min() and shapes.factors[:, k].max() <= high, name
    # uniform draws: every continuous factor covers most of its range
    for k, name in enumerate(FACTOR_NAMES[1:], start=1):
        low, high = FACTOR_RANGES[name]
        spread = (shapes.factors[:, k].max() - shapes.factors[:, k].min()) / (high - low)
        assert spread > 0.9, name
    assert vaelib.generate_shapes(5, image_size=32).images.shape == (5, 3, 32, 32)


def test_background_is_black_and_shape_pixels_have_the_factor_colour(shapes):
    images = vaelib.to_float(shapes.images)  # (N, 3, 64, 64)
    colour = hue_to_rgb(shapes.factors[:, 1])  # (N, 3)
    assert (images[:, :, 0, :] == 0).all() and (images[:, :, :, 0] == 0).all()  # the border is background
    brightest = images.amax(1)  # (N, 64, 64)
    inside = brightest > 0.999  # fully covered pixels
    assert (inside.flatten(1).sum(1) > 20).all()  # every shape covers some pixels entirely
    for i in range(len(images)):
        pixels = images[i][:, inside[i]]  # (3, n_inside)
        torch.testing.assert_close(pixels, colour[i, :, None].expand_as(pixels), atol=1 / 255, rtol=0)
    assert colour.amax(1).min() == 1  # full value: the brightest channel is 1
    # the extreme cases too: the largest shapes at the corners of the position range, turned both ways
    corners = torch.tensor([[k, 0.3, 0.16, x, y, a] for k in (0.0, 1.0, 2.0) for x in FACTOR_RANGES["x"]
                            for y in FACTOR_RANGES["y"] for a in FACTOR_RANGES["rotation"]])
    extreme = vaelib.render_shapes(corners)
    for border in (extreme[:, :, 0], extreme[:, :, -1], extreme[:, :, :, 0], extreme[:, :, :, -1]):
        assert border.max() == 0


def test_shape_centroid_is_at_x_y_and_area_matches_scale(shapes):
    coverage = vaelib.to_float(shapes.images).amax(1)  # (N, H, W) in [0, 1]
    centres = (torch.arange(64) + 0.5) / 64
    mass = coverage.sum((1, 2))
    cx = (coverage * centres[None, None, :]).sum((1, 2)) / mass
    cy = (coverage * centres[None, :, None]).sum((1, 2)) / mass
    shape, _, scale, x, y, _ = shapes.factors.T
    # squares and ellipses are symmetric about their centre; a triangle's centroid is its centre too
    assert (cx - x).abs().max() < 0.5 / 64 and (cy - y).abs().max() < 0.5 / 64
    area = mass / 64**2  # in image widths squared
    torch.testing.assert_close(area, math.pi * scale**2, rtol=0.06, atol=0)


def test_rotation_turns_the_shape_counter_clockwise():
    factors = torch.tensor([[0.0, 0.0, 0.15, 0.5, 0.5, 0.0], [2.0, 0.0, 0.15, 0.5, 0.5, 0.0]])
    upright = vaelib.render_shapes(factors)
    turned = factors.clone()
    turned[:, 5] = math.pi / 2
    # a quarter turn of the square is the same square; the triangle's apex moves from the top to the left
    torch.testing.assert_close(vaelib.render_shapes(turned)[0].float(), upright[0].float(), atol=2, rtol=0)
    triangle = vaelib.render_shapes(turned)[1].float().amax(0)
    torch.testing.assert_close(triangle, torch.rot90(upright[1].float().amax(0), 1, (0, 1)), atol=2, rtol=0)


def test_render_rejects_bad_factors():
    with pytest.raises(ValueError, match="factors must have shape"):
        vaelib.render_shapes(torch.zeros(4, 5))


def test_factor_sampler_is_independent_uniform():
    factors = sample_shape_factors(20_000, torch.Generator().manual_seed(0))
    assert torch.bincount(factors[:, 0].long()).min() > 6_000
    corr = torch.corrcoef(factors.T)
    assert (corr - torch.eye(6)).abs().max() < 0.05


def test_load_dataset_shapes_fixed_splits():
    test = vaelib.load_dataset("shapes", "test")
    assert test.images.shape == (2000, 3, 64, 64) and test.name == "shapes"
    assert torch.equal(test.images[:50], vaelib.generate_shapes(50, seed=1).images)
    subset = test.subset(10)
    assert torch.equal(subset.factors, test.factors[:10]) and subset.factor_names == FACTOR_NAMES
    train = vaelib.load_dataset("shapes", "train")
    assert len(train) == 20_000 and torch.equal(train.images[:50], vaelib.generate_shapes(50, seed=0).images)


def test_other_data_sets_have_no_factors(tiny_data_dir):
    data = vaelib.load_dataset("mnist", "test", data_dir=tiny_data_dir, download=False)
    assert data.factors is None and data.factor_names == () and data.subset(3).factors is None


def test_cifar10_missing_folder_gives_one_clear_error(tmp_path):
    with pytest.raises(vaelib.DatasetNotFoundError) as info:
        vaelib.load_dataset("cifar10", "train", data_dir=tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py") in message and "data_batch_1" in message
    assert "download=False" in message and "download=True" in message and "VAELIB_DATA_DIR" in message
    assert "load_dataset('shapes')" in message


def test_cifar10_failed_download_names_the_failure(tmp_path, monkeypatch):
    def no_network(root):
        raise OSError("network unreachable")

    monkeypatch.setattr(vaelib.data, "_download_cifar10", no_network)
    with pytest.raises(vaelib.DatasetNotFoundError, match="download failed: OSError: network unreachable"):
        vaelib.load_dataset("cifar10", "test", data_dir=tmp_path, download=True)


def test_cifar10_reads_the_python_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (7, 3072), dtype=np.uint8)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": data, "labels": list(range(7))}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)]}, f)
    test = vaelib.load_dataset("cifar10", "test", data_dir=tmp_path, download=False)
    assert test.images.shape == (7, 3, 32, 32) and test.images.dtype == torch.uint8
    # each row holds the red plane, then green, then blue, each row by row
    assert torch.equal(test.images[2, 1, 0], torch.from_numpy(data[2, 1024:1056]))
    assert test.labels.tolist() == list(range(7)) and test.classes[3] == "class3"


def test_colour_model_round_trip_on_shapes(tmp_path, shapes):
    torch.manual_seed(0)
    model = vaelib.ConvVAE(3, 64, latent_dim=8, hidden_channels=(8, 8, 16, 16), hidden_dim=32,
                           likelihood="continuous-bernoulli")
    x = vaelib.dequantize_once(shapes.images[:6], seed=0)
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (6, 8)
    output, _, _ = model(x)
    assert output.shape == (6, 3, 64, 64) and model.sample(2).shape == (2, 3, 64, 64)
    terms = vaelib.elbo_loss(output, mu, log_var, x, **model.likelihood_kwargs())
    assert torch.isfinite(terms.loss)
    path = vaelib.save_checkpoint(tmp_path / "shapes.pt", model, [])
    loaded = vaelib.load_checkpoint(path).model
    eps = torch.randn(6, 8)
    for a, b in zip(model(x, eps), loaded(x, eps)):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------- mutual information and MIG
def test_discrete_mutual_information_matches_the_entropy_formula():
    from scipy.stats import entropy

    rng = np.random.default_rng(0)
    a = rng.integers(0, 4, 5000)
    b = (a + rng.integers(0, 2, 5000)) % 5  # depends on a
    joint = np.histogram2d(a, b, bins=(4, 5), range=((0, 4), (0, 5)))[0] / 5000
    expected = entropy(joint.sum(1)) + entropy(joint.sum(0)) - entropy(joint.ravel())
    from vaelib.disentanglement import discrete_mutual_information

    assert discrete_mutual_information(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(expected, abs=1e-12)
    # a variable with itself: its entropy; with an independent one: close to 0
    assert discrete_mutual_information(torch.from_numpy(a), torch.from_numpy(a)) == pytest.approx(entropy(np.bincount(a)))
    c = torch.from_numpy(rng.integers(0, 4, 5000))
    assert discrete_mutual_information(torch.from_numpy(a), c) < 0.01


def test_mig_known_answers():
    generator = torch.Generator().manual_seed(0)
    factors = torch.rand(4000, 3, generator=generator)
    noise = torch.randn(4000, 2, generator=generator)
    # each factor held by one dimension (through a monotone map, shuffled order): MIG near 1
    codes = torch.cat([factors[:, [2, 0, 1]].exp(), noise], dim=1)
    assert vaelib.mutual_information_gap(codes, factors) > 0.97
    mi = vaelib.mutual_information_matrix(codes, factors)
    assert mi.shape == (5, 3) and mi[0, 2] == pytest.approx(math.log(20))  # equal-mass bins: H = log 20
    # every factor copied into two dimensions: the gap, and so the MIG, is exactly 0
    twice = torch.cat([factors, factors * 2], dim=1)
    assert vaelib.mutual_information_gap(twice, factors) == pytest.approx(0, abs=1e-12)
    gaps = vaelib.mutual_information_gap(codes, factors, per_factor=True)
    assert gaps.shape == (3,) and (gaps > 0.95).all()


def test_discrete_factor_keeps_its_values():
    from vaelib.disentanglement import discretize

    values = torch.tensor([[2.0, 0.1], [0.0, 0.5], [2.0, 0.3], [1.0, 0.2]])
    assert discretize(values, bins=3)[:, 0].tolist() == [2, 0, 2, 1]
    assert discretize(values, bins=2)[:, 1].tolist() == [0, 1, 1, 0]  # equal-mass bins by rank


def test_factor_predictability_by_hand_with_one_neighbour():
    # reference rows 0-2, query rows 3-5; 1-D codes, so the nearest reference code is plain to see
    codes = torch.tensor([[0.0], [1.0], [2.0], [0.1], [1.9], [1.2]])
    factors = torch.tensor([[0.0, 10.0], [1.0, 20.0], [2.0, 30.0], [0.0, 10.0], [1.0, 30.0], [1.0, 20.0]])
    scores = vaelib.factor_predictability(codes, factors, neighbours=1, bins=3)
    # predictions for the queries: references 0, 2, 1 -> shape 0, 2, 1 (2 of 3 right);
    # values 10, 30, 20 are exactly right, so R^2 = 1
    assert scores[0].item() == pytest.approx(2 / 3)
    assert scores[1].item() == pytest.approx(1.0)


def test_factor_predictability_tells_a_rotated_code_from_an_empty_one():
    generator = torch.Generator().manual_seed(0)
    n = 4000
    shape = torch.randint(0, 3, (n, 1), generator=generator).float()
    continuous = torch.rand(n, 2, generator=generator)
    factors = torch.cat([shape, continuous], dim=1)
    angle = torch.tensor(0.6)
    rotation = torch.tensor([[angle.cos(), -angle.sin()], [angle.sin(), angle.cos()]])
    # every factor present but mixed across dimensions: a low MIG, yet fully predictable
    mixed = torch.cat([shape * 3, continuous @ rotation], dim=1)
    assert (vaelib.factor_predictability(mixed, factors) > 0.95).all()
    assert vaelib.mutual_information_gap(mixed, factors, per_factor=True)[1:].max() < 0.5
    # a code independent of the factors: chance accuracy and R^2 at or below 0
    empty = torch.randn(n, 3, generator=generator)
    scores = vaelib.factor_predictability(empty, factors)
    assert abs(scores[0].item() - 1 / 3) < 0.05 and (scores[1:] < 0.02).all()
