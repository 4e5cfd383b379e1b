"""TemporalPoseLifter: fitting, prediction structure, determinism, persistence, learning."""

import pickle

import joblib
import numpy as np
import pytest
import torch

from skpose3d import TemporalPoseLifter
from skpose3d.metrics import mpjpe, mpjve

from ._data import cmu_views

FAST = dict(channels=32, n_epochs=2, batch_size=64, random_state=0)


def _toy(rng, n_videos=3, n_frames=(30, 45, 12), n_joints=17, channels=2):
    y = [rng.normal(scale=0.2, size=(n, n_joints, 3)) + [0, 0, 4] for n in n_frames[:n_videos]]
    X = [
        np.concatenate([p[..., :2] / p[..., 2:], np.ones_like(p[..., :1])], -1)[..., :channels]
        for p in y
    ]
    return X, y


def test_predict_returns_the_structure_it_was_given(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    out = lifter.predict(X)
    assert out.dtype == object and out.shape == (3,)
    assert [p.shape for p in out] == [(30, 17, 3), (45, 17, 3), (12, 17, 3)]
    single = lifter.predict(X[1])
    assert isinstance(single, np.ndarray) and single.shape == (45, 17, 3)
    np.testing.assert_allclose(single, out[1], atol=1e-6)
    batch = lifter.predict(np.stack([X[0], X[0]]))
    assert batch.shape == (2, 30, 17, 3)


def test_predictions_are_root_relative_and_one_frame_videos_work(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    pose = lifter.predict([X[0][:1]])[0]
    assert pose.shape == (1, 17, 3)
    np.testing.assert_array_equal(pose[:, 0], 0)


def test_fitted_attributes(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(filter_widths=(3, 5), **FAST).fit(X, y)
    assert lifter.receptive_field_ == 15
    assert lifter.n_iter_ == 2 and len(lifter.history_) == 2
    assert {"loss", "val_mpjpe", "seconds", "lr"} <= set(lifter.history_[0])
    assert lifter.history_[1]["lr"] == pytest.approx(lifter.history_[0]["lr"] * 0.95)
    assert lifter.n_joints_in_ == 17 and lifter.n_channels_in_ == 2


def test_same_random_state_gives_identical_predictions(rng):
    X, y = _toy(rng)
    a = TemporalPoseLifter(**FAST).fit(X, y).predict(X)
    b = TemporalPoseLifter(**FAST).fit(X, y).predict(X)
    c = TemporalPoseLifter(**{**FAST, "random_state": 1}).fit(X, y).predict(X)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa, pb)
    assert not np.allclose(a[0], c[0])


def test_fit_does_not_touch_global_torch_rng(rng):
    X, y = _toy(rng)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    TemporalPoseLifter(**FAST).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_confidence_channel_and_image_size(rng):
    X, y = _toy(rng, channels=3)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    assert lifter.n_channels_in_ == 3
    pixels = [np.concatenate([(v[..., :2] + [1, 1]) * 500, v[..., 2:]], -1) for v in X]
    # The same network given pixels and the image size predicts what it did on normalised input.
    in_pixels = pickle.loads(pickle.dumps(lifter)).set_params(image_size=(1000, 1000))
    for a, b in zip(lifter.predict(X), in_pixels.predict(pixels)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # Fitting on pixels trains on the same normalised input (Amsgrad amplifies float noise in
    # the weights, so compare the training losses).
    refit = TemporalPoseLifter(image_size=(1000, 1000), **FAST).fit(pixels, y)
    assert refit.history_[0]["loss"] == pytest.approx(lifter.history_[0]["loss"], rel=1e-4)


def test_test_time_flip_averages_with_mirrored_prediction(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**{**FAST, "test_time_flip": False}).fit(X, y)
    plain = lifter.predict(X)
    lifter.set_params(test_time_flip=True)
    averaged = lifter.predict(X)
    assert not np.allclose(plain[0], averaged[0])
    # Mirroring the input of a flip-averaged model mirrors its output exactly.
    perm_in = lifter.input_skeleton_.flip_permutation
    mirrored = [v[:, perm_in] * [-1, 1] for v in X]
    perm_out = lifter.output_skeleton_.flip_permutation
    for a, b in zip(lifter.predict(mirrored), averaged):
        np.testing.assert_allclose(a, b[:, perm_out] * [-1, 1, 1], atol=1e-5)


def test_long_video_chunked_prediction_equals_one_pass(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    long_video = rng.normal(scale=0.1, size=(700, 17, 2)).astype(np.float32)
    one_pass = lifter.predict(long_video)
    lifter.set_params(chunk_frames=64)
    np.testing.assert_allclose(lifter.predict(long_video), one_pass, atol=1e-5)


def test_pickle_and_joblib_round_trip(rng, tmp_path):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    expected = lifter.predict(X)
    restored = pickle.loads(pickle.dumps(lifter))
    joblib.dump(lifter, tmp_path / "lifter.joblib")
    from_joblib = joblib.load(tmp_path / "lifter.joblib")
    for a, b, c in zip(expected, restored.predict(X), from_joblib.predict(X)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


def test_score_is_negative_mpjpe(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**FAST).fit(X, y)
    assert lifter.score(X, y) == pytest.approx(-mpjpe(y, lifter.predict(X)))
    assert lifter.score(X, y) < 0


def test_unlabeled_input_is_ignored_with_a_warning(rng):
    X, y = _toy(rng)
    with pytest.warns(UserWarning, match="ignores X2d_unlabeled"):
        TemporalPoseLifter(**FAST).fit(X, y, X2d_unlabeled=X)


def test_warm_start_continues_from_fitted_weights(rng):
    X, y = _toy(rng)
    lifter = TemporalPoseLifter(**{**FAST, "n_epochs": 1, "warm_start": True}).fit(X, y)
    first = lifter.module_.shrink.weight.detach().clone()
    fresh = TemporalPoseLifter(**{**FAST, "n_epochs": 1}).fit(X, y)
    lifter.fit(X, y)
    # A warm start begins from the fitted weights, so it ends elsewhere than a fresh fit.
    assert not torch.equal(lifter.module_.shrink.weight, fresh.module_.shrink.weight)
    assert not torch.equal(lifter.module_.shrink.weight, first)


def test_early_stopping_validates_on_held_out_videos(rng):
    X, y = _toy(rng, n_videos=3)
    lifter = TemporalPoseLifter(
        **{
            **FAST,
            "n_epochs": 30,
            "early_stopping": True,
            "n_iter_no_change": 2,
            "validation_fraction": 0.34,
        }
    ).fit(X, y)
    vals = [row["val_mpjpe"] for row in lifter.history_]
    assert all(v is not None and v > 0 for v in vals)
    best = int(np.argmin(vals))
    assert lifter.n_iter_ <= 30 and (lifter.n_iter_ == 30 or lifter.n_iter_ - 1 - best == 2)


def test_verbose_prints_progress_and_silent_otherwise(rng, capsys, monkeypatch):
    X, y = _toy(rng)
    TemporalPoseLifter(**{**FAST, "verbose": 0}).fit(X, y)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    TemporalPoseLifter(**{**FAST, "verbose": 1}).fit(X, y)
    assert "loss=" in capsys.readouterr().err  # tqdm bar with the current losses
    monkeypatch.setitem(__import__("sys").modules, "tqdm.auto", None)  # tqdm not installed
    TemporalPoseLifter(**{**FAST, "verbose": 1}).fit(X, y)
    assert "epoch 1: loss=" in capsys.readouterr().out


def test_lifter_learns_real_motion_and_temporal_beats_single_frame():
    """CMU motion through one camera with 12 px noise, held-out clips.

    The lifter is far better than predicting the mean pose, and a 27-frame model beats a
    single-frame model on the same noisy input: lower MPJPE and much smoother motion.
    """
    X, y, _ = cmu_views(n_videos=14, max_frames=250, noise_px=12.0, seed=0)
    X_train, y_train, X_test, y_test = X[:11], y[:11], X[11:], y[11:]
    mean_pose = np.concatenate([p - p[:, :1] for p in y_train]).mean(0)
    baseline = mpjpe(y_test, [np.broadcast_to(mean_pose, p.shape) for p in y_test])
    params = dict(
        channels=128, n_epochs=15, batch_size=64, dropout=0.1, learning_rate=3e-3, random_state=0
    )
    temporal = TemporalPoseLifter(filter_widths=(3, 3, 3), **params).fit(X_train, y_train)
    single = TemporalPoseLifter(filter_widths=(1, 1, 1), **params).fit(X_train, y_train)
    pred_temporal, pred_single = temporal.predict(X_test), single.predict(X_test)
    # Seeds 0-3 give 0.52-0.61 x the baseline (15 epochs on 11 clips): 0.7 leaves room.
    assert mpjpe(y_test, pred_temporal) < 0.7 * baseline
    assert mpjpe(y_test, pred_temporal) < mpjpe(y_test, pred_single)
    assert mpjve(y_test, pred_temporal) < 0.5 * mpjve(y_test, pred_single)
