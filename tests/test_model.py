"""ConvVAE: shapes for every supported size, configs, and clear errors for bad input."""

import pytest
import torch

import vaelib

SIZES = [(1, (28, 28)), (1, (28, 20)), (3, (32, 32)), (3, (64, 64)), (1, (8, 8)), (2, (9, 13))]


@pytest.mark.parametrize("channels,size", SIZES)
def test_shapes_round_trip_for_every_size(channels, size):
    model = vaelib.ConvVAE(channels, size, latent_dim=5, hidden_channels=(8, 16), hidden_dim=16)
    x = torch.rand(3, channels, *size)
    mu, log_var = model.encode(x)
    assert mu.shape == log_var.shape == (3, 5)
    logits = model.decode(mu)
    assert logits.shape == x.shape
    out, mu2, log_var2 = model(x)
    assert out.shape == x.shape and mu2.shape == (3, 5)
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1
    samples = model.sample(4)
    assert samples.shape == (4, channels, *size) and samples.min() >= 0 and samples.max() <= 1


def test_int_image_size_means_square():
    assert vaelib.ConvVAE(1, 28).config.image_size == (28, 28)


def test_decoder_returns_logits_not_probabilities():
    model = vaelib.ConvVAE(1, 28, latent_dim=2)
    with torch.no_grad():
        model.decoder_conv[-1].bias.fill_(10.0)
    logits = model.decode(torch.zeros(1, 2))
    assert logits.max() > 1  # unbounded, so not sigmoid output


def test_config_round_trip_rebuilds_the_same_architecture():
    model = vaelib.ConvVAE(3, (32, 24), latent_dim=7, hidden_channels=(4, 8, 16), hidden_dim=0)
    rebuilt = vaelib.ConvVAE(**model.config.to_dict())
    assert rebuilt.config == model.config
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


@pytest.mark.parametrize(
    "shape,message",
    [((2, 3, 28, 28), "expected images of shape"), ((2, 1, 32, 32), r"\(batch, 1, 28, 28\)"), ((1, 28, 28), "add a batch dimension")],
)
def test_wrong_input_shape_raises_value_error_naming_expected_shape(shape, message):
    model = vaelib.ConvVAE(1, 28, latent_dim=2)
    with pytest.raises(ValueError, match=message):
        model(torch.rand(*shape))


def test_wrong_latent_shape_raises():
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        vaelib.ConvVAE(1, 28, latent_dim=2).decode(torch.zeros(3, 5))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(image_size=4), "at least 8"),
        (dict(latent_dim=0), "latent_dim"),
        (dict(likelihood="poisson"), "likelihood"),
        (dict(image_size=8, hidden_channels=(4, 4, 4, 4)), "fewer hidden_channels"),
        (dict(hidden_channels=()), "at least one convolution"),
    ],
)
def test_bad_config_raises_value_error(kwargs, message):
    args = dict(in_channels=1, image_size=28, latent_dim=2) | kwargs
    with pytest.raises(ValueError, match=message):
        vaelib.ConvVAE(args.pop("in_channels"), args.pop("image_size"), args.pop("latent_dim"), **args)


def test_describe_layers_ends_at_input_shape_and_counts_all_parameters():
    model = vaelib.ConvVAE(1, (28, 20), latent_dim=3)
    rows = vaelib.describe_layers(model)
    assert rows[-1]["output shape"] == (1, 28, 20)
    assert sum(r["parameters"] for r in rows) == model.num_parameters()


@pytest.mark.parametrize(
    "shape,expected_text",
    [
        ((1, 28, 28), ["one image of shape (1, 28, 28)", "x.unsqueeze(0)"]),
        ((4, 3, 28, 28), ["(batch, 1, 28, 28)", "got (4, 3, 28, 28)"]),
        ((4, 1, 32, 32), ["(batch, 1, 28, 28)", "got (4, 1, 32, 32)"]),
    ],
)
def test_wrong_input_shape_message_names_expected_and_received_shapes(shape, expected_text):
    model = vaelib.ConvVAE(1, 28, latent_dim=2)
    for call in (model, model.encode, model.reconstruct):
        with pytest.raises(ValueError) as error:
            call(torch.rand(*shape))
        for text in expected_text:
            assert text in str(error.value)
