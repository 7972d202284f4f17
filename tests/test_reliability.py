"""Training and the command line never lose a run or mislead the user.

Each test here failed before its fix: a resumed run on another data set, a corrupt or
mismatched checkpoint, a folder given as a checkpoint, a finished run re-run, a NaN step, a
progress bar in a log file, a killed process. Bad input gets one line on stderr, a non-zero
exit status, no traceback, and no existing file is lost.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import vaelib
from vaelib.cli import main

from conftest import make_tiny_mnist

TINY_MODEL = ["--latent-dim", "3", "--hidden-channels", "4", "8", "--hidden-dim", "16", "--device", "cpu"]


def train_args(data_dir, out, epochs=1, dataset="mnist", extra=()):
    return ["train", "--dataset", dataset, "--data-dir", str(data_dir), "--out", str(out), "--epochs", str(epochs),
            "--batch-size", "16", *TINY_MODEL, *extra]


def run_cli(argv, capsys):
    """Run main(argv) in-process: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.fixture
def trained_run(tiny_data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(train_args(tiny_data_dir, out), capsys)[0] == 0
    return out


def test_resuming_with_another_dataset_is_refused_and_the_run_kept(tiny_data_dir, trained_run, capsys):
    before = (trained_run / "checkpoint.pt").read_bytes()
    code, _, err = run_cli(train_args(tiny_data_dir, trained_run, epochs=2, dataset="fashion-mnist"), capsys)
    assert code == 2 and "dataset: 'mnist' != 'fashion-mnist'" in err and "--restart" in err
    assert (trained_run / "checkpoint.pt").read_bytes() == before


def test_resuming_with_another_latent_dim_names_the_difference(tiny_data_dir, trained_run, capsys):
    argv = train_args(tiny_data_dir, trained_run, epochs=2)
    argv[argv.index("--latent-dim") + 1] = "5"
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and "latent_dim: 3 != 5" in err and "--restart" in err and len(err.strip().splitlines()) == 1


def test_resuming_with_another_learning_rate_is_refused(tiny_data_dir, trained_run, capsys):
    code, _, err = run_cli(train_args(tiny_data_dir, trained_run, epochs=2, extra=["--lr", "0.01"]), capsys)
    assert code == 2 and "lr: 0.001 != 0.01" in err


def test_a_corrupt_checkpoint_in_out_suggests_restart_and_is_not_touched(tiny_data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"half a checkpoint")
    code, _, err = run_cli(train_args(tiny_data_dir, out), capsys)
    assert code == 2 and "truncated or corrupt" in err and "--restart" in err
    assert (out / "checkpoint.pt").read_bytes() == b"half a checkpoint"
    assert run_cli(train_args(tiny_data_dir, out, extra=["--restart"]), capsys)[0] == 0
    assert vaelib.load_checkpoint(out / "checkpoint.pt").epoch == 1


def test_a_run_folder_is_accepted_where_a_checkpoint_is_expected(trained_run, tmp_path, capsys):
    png = tmp_path / "grid.png"
    code, out, _ = run_cli(["sample", trained_run, "--num", "4", "--out", png], capsys)
    assert code == 0 and png.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run_cli(["sample", empty], capsys)
    assert code == 2 and "without a checkpoint.pt" in err and "delete" not in err


def test_rerunning_a_finished_run_says_nothing_was_done(tiny_data_dir, trained_run, capsys):
    checkpoint = trained_run / "checkpoint.pt"
    before, mtime = checkpoint.read_bytes(), checkpoint.stat().st_mtime_ns
    code, out, _ = run_cli(train_args(tiny_data_dir, trained_run, epochs=1), capsys)
    assert code == 0 and "nothing to do" in out and "wrote" not in out
    assert checkpoint.read_bytes() == before and checkpoint.stat().st_mtime_ns == mtime


def test_training_further_says_how_many_epochs_it_trained(tiny_data_dir, trained_run, capsys):
    code, out, _ = run_cli(train_args(tiny_data_dir, trained_run, epochs=3), capsys)
    assert code == 0 and "trained 2 epochs (3 in all)" in out


def test_a_shipped_checkpoint_evaluates_without_naming_its_dataset(tiny_data_dir, capsys):
    path = vaelib.pretrained.pretrained_path("mnist-2d")
    code, out, _ = run_cli(["evaluate", path, "--data-dir", tiny_data_dir, "-k", "4", "--limit", "8"], capsys)
    assert code == 0 and "mnist test set, 8 images" in out


def test_no_progress_keeps_the_per_epoch_metrics(tiny_data_dir, tmp_path, capsys):
    code, out, _ = run_cli(train_args(tiny_data_dir, tmp_path / "run", extra=["--no-progress"]), capsys)
    assert code == 0 and "epoch   1: train loss" in out


def test_a_log_file_gets_lines_not_a_progress_bar(tiny_data_dir, tmp_path):
    log = tmp_path / "log.txt"
    argv = train_args(tiny_data_dir, tmp_path / "run", epochs=2)
    with open(log, "w") as stream:
        result = subprocess.run([sys.executable, "-m", "vaelib", *argv], stdout=stream, stderr=subprocess.STDOUT, timeout=300)
    text = log.read_text()
    assert result.returncode == 0
    assert "\r" not in text and "epoch   2: train loss" in text and len(text) < 2000


def test_a_nan_loss_stops_before_the_step_so_the_weights_stay_finite(small_model, tiny_images):
    images = tiny_images.clone()
    with torch.no_grad():
        small_model.to_posterior.weight.mul_(1e30)  # the first loss overflows to inf
    weights = {k: v.clone() for k, v in small_model.state_dict().items()}
    config = vaelib.TrainConfig(epochs=1, batch_size=16, progress=False, device="cpu")
    with pytest.raises(vaelib.NonFiniteLossError):
        vaelib.fit(small_model, images, config=config)
    for name, value in small_model.state_dict().items():
        torch.testing.assert_close(value, weights[name])  # no step was taken


# ---------------------------------------------------------------------------- bad inputs to the API
@pytest.mark.parametrize(
    "images,message",
    [
        (torch.rand(8, 28, 28), "add a channel dimension"),
        (torch.randint(0, 255, (8, 1, 28, 28)), "must be uint8"),
        (torch.full((8, 1, 28, 28), float("nan")), "no NaN"),
        (torch.full((8, 1, 28, 28), float("inf")), r"\[0, 1\]"),
        (torch.rand(0, 1, 28, 28), "empty"),
        (torch.rand(8, 1, 28, 28) * 255, "divide uint8 images by 255"),
    ],
)
def test_fit_and_evaluate_reject_bad_images_with_one_clear_message(small_model, images, message):
    with pytest.raises(ValueError, match=message):
        vaelib.fit(small_model, images, config=vaelib.TrainConfig(epochs=1, progress=False, device="cpu"))
    with pytest.raises(ValueError, match=message):
        vaelib.evaluate_elbo(small_model, images)


def test_a_truncated_checkpoint_is_a_checkpoint_error(trained_run, tmp_path):
    data = (trained_run / "checkpoint.pt").read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(vaelib.CheckpointError, match="truncated or corrupt"):
        vaelib.load_checkpoint(cut)


# ---------------------------------------------------------------------------- bad inputs to the command line
@pytest.mark.parametrize(
    "extra,message",
    [
        (["--batch-size", "-3"], "must be at least 1"),
        (["--lr", "0"], "greater than 0"),
        (["--beta", "-1"], "at least 0"),
        (["--latent-dim", "zero"], "expected a whole number"),
        (["--hidden-channels", "4", "8", "16", "32", "64"], "shrink a side"),
        (["--limit", "0"], "must be at least 1"),
    ],
)
def test_out_of_range_numbers_are_usage_errors(tiny_data_dir, tmp_path, capsys, extra, message):
    code, _, err = run_cli(train_args(tiny_data_dir, tmp_path / "run", extra=extra), capsys)
    assert code == 2 and message in err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_an_output_folder_that_cannot_be_created_fails_before_training(tiny_data_dir, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    code, _, err = run_cli(train_args(tiny_data_dir, blocker / "run"), capsys)
    assert code == 2 and "cannot write to" in err
    code, _, err = run_cli(train_args(tiny_data_dir, blocker), capsys)
    assert code == 2 and "is a file" in err
    assert blocker.read_text() == "keep me"


def test_sample_refuses_a_non_png_output_before_loading_anything(trained_run, tmp_path, capsys):
    code, _, err = run_cli(["sample", trained_run, "--out", tmp_path / "grid.jpg"], capsys)
    assert code == 2 and "must end in .png" in err


def test_a_full_disk_leaves_the_previous_checkpoint_intact(tiny_data_dir, trained_run, tmp_path, capsys):
    checkpoint = (trained_run / "checkpoint.pt").read_bytes()
    size_kb = len(checkpoint) // 1024 + 64  # room for the checkpoint, not for a second copy
    small = tmp_path / "small-disk"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(small)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tiny tmpfs here (needs root in a machine that allows mounts)")
    try:
        out = small / "run"
        out.mkdir()
        (out / "checkpoint.pt").write_bytes(checkpoint)
        (small / "filler").write_bytes(b"0" * (32 * 1024))
        code, _, err = run_cli(train_args(tiny_data_dir, out, epochs=3), capsys)
        assert code == 1 and "No space left on device" in err and "run the same command again" in err
        assert (out / "checkpoint.pt").read_bytes() == checkpoint  # the last good checkpoint survives
        assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt"]  # no temporary file left behind
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


# ---------------------------------------------------------------------------- fault injection
def _train_command(data_dir, out, epochs):
    return [sys.executable, "-m", "vaelib", *train_args(data_dir, out, epochs=epochs, extra=["--quiet"])]


def test_killed_at_any_moment_the_run_resumes_to_the_same_weights(tmp_path):
    """SIGKILL the training process at several points; every time the checkpoint on disk loads,
    and running the same command again ends with exactly the weights of an uninterrupted run."""
    make_tiny_mnist(tmp_path / "data", n_train=1024, n_test=16)
    data_dir, epochs = tmp_path / "data", 4
    reference = tmp_path / "straight"
    subprocess.run(_train_command(data_dir, reference, epochs), check=True, timeout=300, capture_output=True)

    out = tmp_path / "killed"
    kills = 0
    for delay in (2.5, 1.0, 0.5, 0.2):
        process = subprocess.Popen(_train_command(data_dir, out, epochs), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        if (out / "checkpoint.pt").exists():
            vaelib.load_checkpoint(out / "checkpoint.pt")  # never a half-written file
    subprocess.run(_train_command(data_dir, out, epochs), check=True, timeout=300, capture_output=True)
    assert kills >= 1
    expected = vaelib.load_checkpoint(reference / "checkpoint.pt").model.state_dict()
    resumed = vaelib.load_checkpoint(out / "checkpoint.pt")
    assert resumed.epoch == epochs
    for name, value in resumed.model.state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=0, atol=0)
