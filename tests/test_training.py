"""fit(): it learns, it stops on NaN, it resumes exactly, and KL warm-up follows its schedule."""

import pytest
import torch

import vaelib
import math

from vaelib.training import kl_weight, learning_rate


def quick_config(**overrides):
    settings = dict(epochs=2, batch_size=16, lr=3e-3, progress=False, device="cpu")
    return vaelib.TrainConfig(**(settings | overrides))


def test_short_training_lowers_the_loss(small_model, tiny_images):
    history = vaelib.fit(small_model, tiny_images, tiny_images[:16], quick_config(epochs=6))
    assert len(history) == 6
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 50
    assert history[-1]["test_loss"] < history[0]["test_loss"]
    for key in ("train_recon", "train_kl", "test_recon", "test_kl", "seconds", "beta"):
        assert key in history[-1]


def test_non_finite_loss_stops_with_a_clear_message(small_model, tiny_images):
    with torch.no_grad():
        small_model.to_posterior.bias.fill_(float("nan"))
    with pytest.raises(vaelib.NonFiniteLossError, match="lower the learning rate"):
        vaelib.fit(small_model, tiny_images, config=quick_config())


def test_resuming_gives_the_same_result_as_training_straight_through(tmp_path, tiny_images):
    def new_model():
        vaelib.seed_everything(0)
        return vaelib.ConvVAE(1, 28, latent_dim=4, hidden_channels=(8, 16), hidden_dim=32)

    straight = new_model()
    history_straight = vaelib.fit(straight, tiny_images, tiny_images[:16], quick_config(epochs=4))

    path = tmp_path / "run.pt"
    interrupted = new_model()
    vaelib.fit(interrupted, tiny_images, tiny_images[:16], quick_config(epochs=2), checkpoint_path=path)
    resumed = new_model()  # a fresh process would start from a fresh model
    history_resumed = vaelib.fit(resumed, tiny_images, tiny_images[:16], quick_config(epochs=4), checkpoint_path=path)

    assert [h["epoch"] for h in history_resumed] == [1, 2, 3, 4]
    for key in ("train_loss", "test_loss"):
        assert [h[key] for h in history_resumed] == pytest.approx([h[key] for h in history_straight], rel=1e-5)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_resuming_with_another_config_is_refused(tmp_path, small_model, tiny_images):
    path = tmp_path / "run.pt"
    vaelib.fit(small_model, tiny_images, config=quick_config(epochs=1), checkpoint_path=path)
    other = vaelib.ConvVAE(1, 28, latent_dim=8, hidden_channels=(8, 16), hidden_dim=32)
    with pytest.raises(vaelib.CheckpointError, match="latent_dim: 4 != 8"):
        vaelib.fit(other, tiny_images, config=quick_config(), checkpoint_path=path)


def test_kl_warmup_rises_linearly_to_beta():
    config = vaelib.TrainConfig(beta=2.0, kl_warmup_epochs=2)
    weights = [kl_weight(step, 10, config) for step in (0, 5, 10, 20, 35)]
    assert weights == pytest.approx([0.0, 0.5, 1.0, 2.0, 2.0])
    assert kl_weight(0, 10, vaelib.TrainConfig(beta=0.5)) == 0.5


def test_learning_rate_follows_a_cosine_from_lr_to_lr_final():
    config = vaelib.TrainConfig(epochs=4, lr=1e-3, lr_final=1e-5)
    steps_per_epoch = 10
    expected = [1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + math.cos(math.pi * min(s, 40) / 40)) for s in (0, 10, 20, 30, 40, 55)]
    assert [learning_rate(s, steps_per_epoch, config) for s in (0, 10, 20, 30, 40, 55)] == pytest.approx(expected)
    assert learning_rate(20, steps_per_epoch, config) == pytest.approx((1e-3 + 1e-5) / 2)
    assert learning_rate(123, 10, vaelib.TrainConfig(lr=3e-4)) == 3e-4  # lr_final None: constant


def test_fit_sets_the_scheduled_learning_rate_at_every_step(small_model, tiny_images):
    config = quick_config(epochs=2, lr_final=1e-4)
    history = vaelib.fit(small_model, tiny_images, config=config)
    steps_per_epoch = history[0]["steps"]
    for record in history:  # the rate of the epoch's last step
        last_step = record["epoch"] * steps_per_epoch - 1
        assert record["lr"] == pytest.approx(learning_rate(last_step, steps_per_epoch, config))
    assert history[-1]["lr"] < history[0]["lr"] < config.lr


def test_lr_final_above_lr_is_refused():
    with pytest.raises(ValueError, match="lr_final"):
        vaelib.TrainConfig(lr=1e-3, lr_final=1e-2)


def test_warmup_is_recorded_in_history(small_model, tiny_images):
    history = vaelib.fit(small_model, tiny_images, config=quick_config(epochs=2, kl_warmup_epochs=2))
    assert history[0]["beta"] < 1.0


def test_time_budget_stops_training_early(small_model, tiny_images):
    history = vaelib.fit(small_model, tiny_images, config=quick_config(epochs=50, max_seconds=0.0))
    assert len(history) == 1 and history[0]["steps"] == 1


@pytest.mark.parametrize("field,value", [("epochs", 0), ("batch_size", 0), ("lr", -1.0), ("beta", -1.0)])
def test_bad_train_config_raises(field, value):
    with pytest.raises(ValueError, match=field):
        vaelib.TrainConfig(**{field: value})


def test_gaussian_model_trains_on_gray_images(tiny_images):
    vaelib.seed_everything(0)
    model = vaelib.ConvVAE(1, 28, latent_dim=3, hidden_channels=(8,), hidden_dim=16, likelihood="gaussian")
    gray = tiny_images * 0.8 + 0.1
    history = vaelib.fit(model, gray, config=quick_config(epochs=4, dynamic_binarization=False))
    assert history[-1]["train_loss"] < history[0]["train_loss"]
